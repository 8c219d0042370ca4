#include "linkage/records.h"

#include <absl/container/flat_hash_map.h>
#include <absl/container/flat_hash_set.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <thread>

#include "importer/csv.h"
#include "linkage/normalize.h"
#include "linkage/parallel.h"
#include "linkage/phonetic.h"

namespace tessera::linkage {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

Result<Table> ReadFrom(importer::CsvReader* reader, const std::string& name,
                       const std::string& id_column) {
  Table table;
  table.name = name;
  importer::CsvRecord record;
  TESSERA_ASSIGN_OR_RETURN(bool has_header, reader->Next(&record));
  if (!has_header) return Status::InvalidArgument(name + ": empty file, expected a header row");
  int id_index = -1;
  std::vector<std::string> header;
  for (const std::string& field : record.fields) header.emplace_back(Trim(field));
  for (size_t i = 0; i < header.size(); ++i) {
    if (header[i] == id_column) {
      id_index = static_cast<int>(i);
    } else {
      table.columns.push_back(header[i]);
    }
  }
  if (id_index < 0) {
    return Status::InvalidArgument(name + ": line 1: no id column \"" + id_column + "\" in the header");
  }
  table.values.resize(table.columns.size());
  absl::flat_hash_set<std::string> seen;
  while (true) {
    auto next = reader->Next(&record);
    if (!next.ok()) return Status::InvalidArgument(name + ": " + next.status().message());
    if (!next.value()) break;
    if (record.fields.size() != header.size()) {
      return Status::InvalidArgument(name + ": line " + std::to_string(record.line) + ": " +
                                     std::to_string(record.fields.size()) + " fields, the header has " +
                                     std::to_string(header.size()));
    }
    std::string id(Trim(record.fields[id_index]));
    if (id.empty()) {
      return Status::InvalidArgument(name + ": line " + std::to_string(record.line) + ": empty id");
    }
    if (!seen.insert(id).second) {
      return Status::InvalidArgument(name + ": line " + std::to_string(record.line) +
                                     ": duplicate id \"" + id + "\"");
    }
    table.ids.push_back(std::move(id));
    size_t c = 0;
    for (size_t i = 0; i < record.fields.size(); ++i) {
      if (static_cast<int>(i) == id_index) continue;
      table.values[c++].emplace_back(Trim(record.fields[i]));
    }
  }
  return table;
}

std::string Normalise(ComparisonKind kind, std::string_view raw, DateOrder date_order) {
  switch (kind) {
    case ComparisonKind::kName: return NormalizeName(raw);
    case ComparisonKind::kAddress: return NormalizeAddress(raw);
    case ComparisonKind::kPostcode: return NormalizePostcode(raw);
    case ComparisonKind::kDate: return DateDigitsYmd(raw, date_order);
    case ComparisonKind::kPhone: return DigitsOnly(raw);
    case ComparisonKind::kIdentifier: {
      std::string s = NormalizeText(raw);
      s.erase(std::remove(s.begin(), s.end(), ' '), s.end());
      return s;
    }
    case ComparisonKind::kEmail: {
      std::string s(Trim(raw));
      std::transform(s.begin(), s.end(), s.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      return s;
    }
    case ComparisonKind::kString:
    case ComparisonKind::kExact: return NormalizeText(raw);
  }
  return std::string(raw);
}

struct ColumnPlan {
  std::string name;
  ComparisonKind kind = ComparisonKind::kString;
  bool phonetic = false;
};

// Interns one column of both tables: each distinct raw value is normalised once.
Column BuildColumn(const ColumnPlan& plan, const std::vector<std::string>* left,
                   const std::vector<std::string>* right, DateOrder date_order) {
  Column col;
  col.name = plan.name;
  col.kind = plan.kind;
  col.text.emplace_back();
  absl::flat_hash_map<std::string, uint32_t> by_text;
  absl::flat_hash_map<std::string_view, uint32_t> by_raw;
  std::vector<std::string_view> raw_of_value{""};
  size_t n = left->size() + (right ? right->size() : 0);
  col.value.resize(n);
  for (size_t r = 0; r < n; ++r) {
    std::string_view raw = r < left->size() ? (*left)[r] : (*right)[r - left->size()];
    auto [it, inserted] = by_raw.try_emplace(raw, 0);
    if (inserted) {
      std::string text = Normalise(plan.kind, raw, date_order);
      if (!text.empty()) {
        auto [t, new_text] = by_text.try_emplace(text, static_cast<uint32_t>(col.text.size()));
        if (new_text) {
          col.text.push_back(text);
          raw_of_value.push_back(raw);
        }
        it->second = t->second;
      }
    }
    col.value[r] = it->second;
  }
  col.left_count.assign(col.text.size(), 0);
  col.right_count.assign(col.text.size(), 0);
  for (size_t r = 0; r < n; ++r) {
    uint32_t v = col.value[r];
    if (v == 0) continue;
    if (r < left->size()) {
      ++col.left_count[v];
      ++col.left_present;
    } else {
      ++col.right_count[v];
      ++col.right_present;
    }
  }
  if (plan.kind == ComparisonKind::kDate) {
    col.days.assign(col.text.size(), Column::kNoDate);
    for (size_t v = 1; v < col.text.size(); ++v) {
      if (auto date = ParseDate(raw_of_value[v], date_order)) {
        col.days[v] = static_cast<int32_t>(DaysFromCivil(*date));
      }
    }
  }
  if (plan.phonetic) {
    col.phonetic.resize(col.text.size());
    col.phonetic_alt.resize(col.text.size());
    for (size_t v = 1; v < col.text.size(); ++v) {
      PhoneticCodes codes = DoubleMetaphone(col.text[v]);
      col.phonetic[v] = std::move(codes.primary);
      col.phonetic_alt[v] = std::move(codes.alternate);
    }
  }
  return col;
}

}  // namespace

Result<Table> ReadTable(const std::string& path, const std::string& id_column) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IOError(path + ": cannot open");
  importer::CsvReader reader(&in, importer::CsvOptions{});
  return ReadFrom(&reader, path, id_column);
}

Result<Table> ParseTable(const std::string& name, std::string data, const std::string& id_column) {
  importer::CsvReader reader(std::move(data), importer::CsvOptions{});
  return ReadFrom(&reader, name, id_column);
}

double Column::Frequency(uint32_t v) const {
  if (dedupe) return left_present == 0 ? 0 : static_cast<double>(left_count[v]) / left_present;
  uint64_t present = left_present + right_present;
  return present == 0 ? 0 : static_cast<double>(left_count[v] + right_count[v]) / present;
}

Result<LinkInput> LinkInput::Build(const Table* left, const Table* right, const Settings& settings,
                                   bool parallel) {
  LinkInput in;
  in.left_ = left;
  in.right_ = right;
  in.dedupe_ = right == nullptr;
  in.left_count_ = static_cast<uint32_t>(left->ids.size());
  in.right_count_ = right ? static_cast<uint32_t>(right->ids.size()) : 0;
  if (right != nullptr) {
    for (const std::string& c : left->columns) {
      if (std::find(right->columns.begin(), right->columns.end(), c) == right->columns.end()) {
        return Status::InvalidArgument(right->name + ": no column \"" + c + "\" (" + left->name +
                                       " has it; both files need the same columns)");
      }
    }
  }
  TESSERA_RETURN_IF_ERROR(ValidateSettings(settings, left->columns));
  // Which columns to prepare, each once, with the first comparison's kind.
  std::vector<ColumnPlan> plans;
  auto plan_for = [&](const std::string& name) -> ColumnPlan& {
    for (ColumnPlan& p : plans) {
      if (p.name == name) return p;
    }
    plans.push_back({.name = name});
    return plans.back();
  };
  for (const ComparisonSettings& c : settings.comparisons) {
    bool is_new = std::none_of(plans.begin(), plans.end(), [&](const ColumnPlan& p) { return p.name == c.column; });
    ColumnPlan& p = plan_for(c.column);
    if (is_new) p.kind = c.kind;
    if (c.kind == ComparisonKind::kName) p.phonetic = true;
    if (!c.swap_column.empty()) plan_for(c.swap_column);
  }
  for (const BlockingRule& rule : settings.blocking) {
    for (const BlockingKey& k : rule.keys) {
      plan_for(k.column).phonetic |= k.transform == KeyTransform::kPhonetic;
      if (!k.right_column.empty()) {
        plan_for(k.right_column).phonetic |= k.transform == KeyTransform::kPhonetic;
      }
    }
  }
  in.columns_.resize(plans.size());
  auto build = [&](size_t i) {
    auto index_in = [&](const Table* t) {
      return std::find(t->columns.begin(), t->columns.end(), plans[i].name) - t->columns.begin();
    };
    const std::vector<std::string>* l = &left->values[index_in(left)];
    const std::vector<std::string>* r = right ? &right->values[index_in(right)] : nullptr;
    in.columns_[i] = BuildColumn(plans[i], l, r, settings.date_order);
    in.columns_[i].dedupe = in.dedupe_;
  };
  if (parallel) {
    ParallelFor(plans.size(), build);
  } else {
    for (size_t i = 0; i < plans.size(); ++i) build(i);
  }
  return in;
}

const std::string& LinkInput::id(uint32_t record) const {
  return record < left_count_ ? left_->ids[record] : right_->ids[record - left_count_];
}

int LinkInput::ColumnIndex(std::string_view name) const {
  for (size_t i = 0; i < columns_.size(); ++i) {
    if (columns_[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

uint64_t LinkInput::AllPairs() const {
  if (dedupe_) return static_cast<uint64_t>(left_count_) * (left_count_ - (left_count_ > 0)) / 2;
  return static_cast<uint64_t>(left_count_) * right_count_;
}

}  // namespace tessera::linkage
