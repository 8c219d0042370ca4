#include "bench/linkage/corruptor.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

#include "bench/linkage/edit_ops.h"
#include "core/check.h"

namespace tessera::bench::linkgen {
namespace {

bool IsDigitField(Field f) {
  return f == kStreetNumber || f == kPostcode || f == kDateOfBirth || f == kSocSecId;
}

int WordCount(const std::string& v) {
  if (v.empty()) return 0;
  return 1 + static_cast<int>(std::count(v.begin(), v.end(), ' '));
}

}  // namespace

// Calibrated on FEBRL4 (dataset4a vs dataset4b): see README.md for the numbers.
std::array<FieldProfile, kNumFields> CorruptOptions::DefaultFieldProfiles() {
  std::array<FieldProfile, kNumFields> p{};
  auto set = [&](Field f, double select, double new_value,
                 std::initializer_list<std::pair<Op, double>> ops) {
    p[f].select = select;
    p[f].new_value = new_value;
    for (const auto& [op, w] : ops) p[f].ops[op] = w;
  };
  set(kGivenName, 0.132, 0.3,
      {{kKeyboard, 0.20},
       {kInsert, 0.05},
       {kDelete, 0.07},
       {kTranspose, 0.04},
       {kOcr, 0.03},
       {kPhonetic, 0.06},
       {kMisspell, 0.12},
       {kReplace, 0.32},
       {kMissing, 0.10},
       {kSplitWord, 0.01},
       {kLeadingSpace, 0.003}});
  set(kSurname, 0.134, 0.3,
      {{kKeyboard, 0.27},
       {kInsert, 0.08},
       {kDelete, 0.09},
       {kTranspose, 0.04},
       {kOcr, 0.03},
       {kPhonetic, 0.08},
       {kMisspell, 0.08},
       {kReplace, 0.24},
       {kMissing, 0.05},
       {kSplitWord, 0.02},
       {kMergeWords, 0.02},
       {kLeadingSpace, 0.002}});
  set(kStreetNumber, 0.070, 0.3,
      {{kKeyboard, 0.15},
       {kInsert, 0.04},
       {kDelete, 0.04},
       {kTranspose, 0.03},
       {kOcr, 0.02},
       {kReplace, 0.55},
       {kMissing, 0.17}});
  set(kAddress1, 0.185, 0.3,
      {{kKeyboard, 0.36},
       {kInsert, 0.11},
       {kDelete, 0.13},
       {kTranspose, 0.05},
       {kOcr, 0.04},
       {kPhonetic, 0.07},
       {kReplace, 0.09},
       {kMissing, 0.07},
       {kSplitWord, 0.03},
       {kMergeWords, 0.03},
       {kSwapWords, 0.02}});
  set(kAddress2, 0.212, 0.3,
      {{kKeyboard, 0.29},
       {kInsert, 0.09},
       {kDelete, 0.11},
       {kTranspose, 0.04},
       {kOcr, 0.03},
       {kPhonetic, 0.05},
       {kReplace, 0.06},
       {kMissing, 0.22},
       {kSplitWord, 0.04},
       {kMergeWords, 0.03},
       {kSwapWords, 0.04}});
  set(kSuburb, 0.116, 0.3,
      {{kKeyboard, 0.25},
       {kInsert, 0.10},
       {kDelete, 0.12},
       {kTranspose, 0.05},
       {kOcr, 0.04},
       {kPhonetic, 0.08},
       {kMisspell, 0.08},
       {kReplace, 0.15},
       {kMissing, 0.05},
       {kSplitWord, 0.03},
       {kMergeWords, 0.03},
       {kSwapWords, 0.02}});
  set(kPostcode, 0.074, 0.3,
      {{kKeyboard, 0.47}, {kTranspose, 0.40}, {kOcr, 0.08}, {kReplace, 0.05}});
  set(kState, 0.021, 0.3,
      {{kKeyboard, 0.30},
       {kInsert, 0.08},
       {kDelete, 0.07},
       {kTranspose, 0.02},
       {kReplace, 0.28},
       {kMissing, 0.25}});
  set(kDateOfBirth, 0.039, 0.3,
      {{kKeyboard, 0.10},
       {kTranspose, 0.07},
       {kSwapDayMonth, 0.18},
       {kYearTypo, 0.08},
       {kReplace, 0.35},
       {kMissing, 0.22}});
  set(kSocSecId, 0.039, 0.3,
      {{kKeyboard, 0.45}, {kTranspose, 0.15}, {kOcr, 0.02}, {kReplace, 0.38}});
  return p;
}

void CorruptionLog::Merge(const CorruptionLog& o) {
  records += o.records;
  name_swaps += o.name_swaps;
  address_swaps += o.address_swaps;
  for (int f = 0; f < kNumFields; ++f) {
    for (int op = 0; op < kNumOps; ++op) ops[f][op] += o.ops[f][op];
  }
  for (size_t k = 0; k < mods_per_record.size(); ++k) mods_per_record[k] += o.mods_per_record[k];
}

std::string CorruptionLog::Report() const {
  std::string out;
  char buf[256];
  const double n = records > 0 ? static_cast<double>(records) : 1;
  out += "modifications per duplicate:";
  for (size_t k = 1; k < mods_per_record.size(); ++k) {
    if (mods_per_record[k] == 0) continue;
    std::snprintf(buf, sizeof(buf), "  %zu: %.1f%%", k, 100.0 * mods_per_record[k] / n);
    out += buf;
  }
  std::snprintf(buf, sizeof(buf), "\nfield swaps: names %.1f%%, address_1/address_2 %.1f%%\n",
                100.0 * name_swaps / n, 100.0 * address_swaps / n);
  out += buf;
  out += "operations per 100 duplicates (rows: field, columns: operation):\n";
  std::snprintf(buf, sizeof(buf), "%-14s", "");
  out += buf;
  std::array<bool, kNumOps> used{};
  for (int f = 0; f < kNumFields; ++f) {
    for (int op = 0; op < kNumOps; ++op) used[op] = used[op] || ops[f][op] > 0;
  }
  for (int op = 0; op < kNumOps; ++op) {
    if (!used[op]) continue;
    std::snprintf(buf, sizeof(buf), " %11.11s", kOpNames[op].data());
    out += buf;
  }
  out += "\n";
  for (int f = 0; f < kNumFields; ++f) {
    std::snprintf(buf, sizeof(buf), "%-14s", kFieldNames[f].data());
    out += buf;
    for (int op = 0; op < kNumOps; ++op) {
      if (!used[op]) continue;
      std::snprintf(buf, sizeof(buf), " %11.2f", 100.0 * ops[f][op] / n);
      out += buf;
    }
    out += "\n";
  }
  return out;
}

Corruptor::Corruptor(const Model& model, const CorruptOptions& options)
    : model_(model), options_(options) {
  std::array<double, kNumFields> select{};
  for (int f = 0; f < kNumFields; ++f) {
    select[f] = options_.fields[f].select;
    std::array<double, kNumOps> ops = options_.fields[f].ops;
    ops[kNewValue] = 0;
    double sum = 0;
    for (double w : ops) sum += w;
    if (sum <= 0) select[f] = 0;  // nothing to do in this field
    op_tables_[f] = AliasTable(ops);
  }
  field_table_ = AliasTable(select);
  // P(k) for k = 1..max: 1 + Poisson(mean), truncated.
  const int max_mods = std::max(1, options_.max_mod_per_record);
  std::vector<double> p(max_mods);
  const double lambda = std::max(0.0, options_.extra_mods_mean);
  double term = std::exp(-lambda);
  for (int k = 0; k < max_mods; ++k) {
    p[k] = term;
    term *= lambda / (k + 1);
  }
  mod_count_table_ = AliasTable(p);
}

int Corruptor::DrawModCount(Rng& rng) const {
  return 1 + static_cast<int>(mod_count_table_.Sample(rng));
}

const Vocab* Corruptor::VocabFor(Field f) const {
  switch (f) {
    case kGivenName:
    case kSurname:
    case kStreetNumber:
    case kAddress1:
    case kAddress2:
      return &model_.vocab(f);
    case kSuburb:
      return &model_.locations().suburbs();
    default:
      return nullptr;
  }
}

bool Corruptor::Replace(Field f, std::string* v, Rng& rng) const {
  for (int attempt = 0; attempt < 8; ++attempt) {
    std::string next;
    const Locations& loc = model_.locations();
    switch (f) {
      case kPostcode:
        next = loc.postcode(loc.DrawIndex(rng));
        break;
      case kState:
        next = loc.DrawState(rng);
        break;
      case kDateOfBirth:
        next = Model::RandomDate(rng);
        break;
      case kSocSecId:
        next = Model::RandomSsid(rng);
        break;
      default:
        next = VocabFor(f)->Draw(rng);
        break;
    }
    if (next != *v) {
      *v = std::move(next);
      return true;
    }
  }
  return false;
}

bool Corruptor::Misspell(Field f, std::string* v, Rng& rng) const {
  const Vocab* vocab = VocabFor(f);
  if (vocab != nullptr) {
    const int64_t i = vocab->Find(*v);
    if (i >= 0) {
      const auto near = vocab->Near(static_cast<uint32_t>(i));
      if (!near.empty()) {
        *v = vocab->value(near[rng.Below(near.size())]);
        return true;
      }
    }
  }
  // No close vocabulary value: a phonetic variation, else a keyboard slip.
  return Apply(f, kPhonetic, v, rng) || Apply(f, kKeyboard, v, rng);
}

bool Corruptor::Apply(Field f, Op op, std::string* v, Rng& rng) const {
  const bool digit = IsDigitField(f);
  if (v->empty() && op != kNewValue) return false;
  switch (op) {
    case kKeyboard: {
      const int pos = ErrorPosition(v->size(), 0, rng);
      if ((*v)[pos] == ' ') return false;
      (*v)[pos] = KeyboardTypo((*v)[pos], digit, rng);
      return true;
    }
    case kInsert: {
      const int pos = ErrorPosition(v->size(), 1, rng);
      // Half the time a neighbour of the key next to it (a fat finger), else any character.
      const char near = (*v)[std::min<size_t>(pos, v->size() - 1)];
      const char c = (rng.Chance(0.5) && near != ' ') ? KeyboardTypo(near, digit, rng)
                                                      : RandomOther('\0', digit, rng);
      v->insert(v->begin() + pos, c);
      return true;
    }
    case kDelete: {
      if (v->size() < 2) return false;
      v->erase(ErrorPosition(v->size(), 0, rng), 1);
      return true;
    }
    case kTranspose: {
      if (v->size() < 2) return false;
      const int pos = ErrorPosition(v->size(), -1, rng);
      if ((*v)[pos] == (*v)[pos + 1]) return false;
      std::swap((*v)[pos], (*v)[pos + 1]);
      return true;
    }
    case kOcr:
      return ApplyOcr(v, digit, rng);
    case kPhonetic:
      return !digit && ApplyPhonetic(v, rng);
    case kMisspell:
      return Misspell(f, v, rng);
    case kReplace:
      return Replace(f, v, rng);
    case kMissing:
      v->clear();
      return true;
    case kSplitWord: {
      if (v->size() < 4) return false;
      for (int attempt = 0; attempt < 4; ++attempt) {
        const int pos = ErrorPosition(v->size(), 0, rng);
        if (pos < 2 || pos > static_cast<int>(v->size()) - 2) continue;
        if ((*v)[pos - 1] == ' ' || (*v)[pos] == ' ') continue;
        v->insert(v->begin() + pos, ' ');
        return true;
      }
      return false;
    }
    case kMergeWords: {
      const int words = WordCount(*v);
      if (words < 2) return false;
      size_t pos = v->find(' ');
      for (uint64_t k = rng.Below(words - 1); k > 0; --k) pos = v->find(' ', pos + 1);
      v->erase(pos, 1);
      return true;
    }
    case kSwapWords: {
      const int words = WordCount(*v);
      if (words < 2) return false;
      std::vector<std::string> parts;
      size_t start = 0;
      for (size_t sp = v->find(' ');; sp = v->find(' ', start)) {
        parts.push_back(v->substr(start, sp == std::string::npos ? std::string::npos : sp - start));
        if (sp == std::string::npos) break;
        start = sp + 1;
      }
      const size_t i = rng.Below(parts.size() - 1);
      if (parts[i] == parts[i + 1]) return false;
      std::swap(parts[i], parts[i + 1]);
      v->clear();
      for (size_t k = 0; k < parts.size(); ++k) {
        if (k > 0) v->push_back(' ');
        v->append(parts[k]);
      }
      return true;
    }
    case kLeadingSpace:
      if ((*v)[0] == ' ') return false;
      v->insert(v->begin(), ' ');
      return true;
    case kSwapDayMonth: {
      if (f != kDateOfBirth || !Model::IsValidDate(*v)) return Apply(f, kKeyboard, v, rng);
      const std::string month = v->substr(4, 2), day = v->substr(6, 2);
      if (day > "12" || day == month) return Apply(f, kKeyboard, v, rng);
      v->replace(4, 2, day);
      v->replace(6, 2, month);
      return true;
    }
    case kYearTypo: {
      if (f != kDateOfBirth || v->size() != 8) return Apply(f, kKeyboard, v, rng);
      const int kind = static_cast<int>(rng.Below(3));
      if (kind == 0 && (*v)[2] != (*v)[3]) {
        std::swap((*v)[2], (*v)[3]);  // 1975 -> 1957
        return true;
      }
      const int pos = kind == 1 ? 2 : 3;  // decade or year digit, off by one
      const char c = (*v)[pos];
      if (c < '0' || c > '9') return false;
      const char up = c == '9' ? '8' : static_cast<char>(c + 1);
      const char down = c == '0' ? '1' : static_cast<char>(c - 1);
      (*v)[pos] = rng.Chance(0.5) ? up : down;
      return true;
    }
    case kNewValue:
      if (!v->empty()) return false;
      return Replace(f, v, rng);
    case kNumOps:
      break;
  }
  return false;
}

void Corruptor::Corrupt(const Record& org, Rng& rng, Record* dup, CorruptionLog* log) const {
  for (int attempt = 0;; ++attempt) {
    *dup = org;
    const int target = DrawModCount(rng);
    int mods = 0;
    int name_swaps = 0, address_swaps = 0;
    std::array<int, kNumFields> field_mods{};
    std::array<std::array<uint8_t, kNumOps>, kNumFields> ops{};

    // Field swaps first (two modifications each), in random order as FEBRL does.
    const bool names_first = rng.Chance(0.5);
    for (int k = 0; k < 2; ++k) {
      const bool names = (k == 0) == names_first;
      const Field a = names ? kGivenName : kAddress1;
      const Field b = names ? kSurname : kAddress2;
      const double p = names ? options_.swap_names : options_.swap_addresses;
      if (!rng.Chance(p) || target - mods < 2) continue;
      if (dup->f[a].empty() || dup->f[b].empty() || dup->f[a] == dup->f[b]) continue;
      std::swap(dup->f[a], dup->f[b]);
      mods += 2;
      ++field_mods[a];
      ++field_mods[b];
      (names ? name_swaps : address_swaps) = 1;
    }

    for (int guard = 0; mods < target && guard < 1000; ++guard) {
      const auto f = static_cast<Field>(field_table_.Sample(rng));
      // A field gets its modifications in one visit (FEBRL4 rarely edits a field twice); it is
      // picked again only if no other field can be (guard past kNumFields * 20 draws).
      const int room = options_.max_mod_per_field - field_mods[f];
      if (room <= 0 || (field_mods[f] > 0 && guard < kNumFields * 20)) continue;
      // One modification, and more while a coin with field_extra_mod says so (FEBRL4 shows
      // about 1 in 14 modified fields with two edits).
      const int most = std::min(room, target - mods);
      int n = 1;
      while (n < most && rng.Chance(options_.field_extra_mod)) ++n;
      for (int m = 0; m < n; ++m) {
        Op op;
        if (dup->f[f].empty()) {
          if (!rng.Chance(options_.fields[f].new_value)) continue;
          op = kNewValue;
        } else {
          op = static_cast<Op>(op_tables_[f].Sample(rng));
        }
        if (Apply(f, op, &dup->f[f], rng)) {
          ++mods;
          ++field_mods[f];
          ++ops[f][op];
        }
      }
    }
    if (dup->f != org.f) {
      if (log != nullptr) {
        ++log->records;
        log->name_swaps += name_swaps;
        log->address_swaps += address_swaps;
        ++log->mods_per_record[std::min<size_t>(mods, log->mods_per_record.size() - 1)];
        for (int f = 0; f < kNumFields; ++f) {
          for (int op = 0; op < kNumOps; ++op) log->ops[f][op] += ops[f][op];
        }
      }
      return;
    }
    TESSERA_CHECK(attempt < 100, "corruptor cannot change a record");
  }
}

}  // namespace tessera::bench::linkgen
