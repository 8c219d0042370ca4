#include "linkage/compare.h"

#include <algorithm>
#include <cstdlib>

#include "linkage/strings.h"

namespace tessera::linkage {
namespace {

std::string Fmt(double t) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%.2f", t);
  return buf;
}

std::string_view LastDigits(std::string_view s, size_t n) {
  return s.size() <= n ? s : s.substr(s.size() - n);
}

std::string_view LocalPart(std::string_view email) {
  size_t at = email.find('@');
  return at == std::string_view::npos ? email : email.substr(0, at);
}

}  // namespace

Comparator::Comparator(const LinkInput* input, const Settings& settings) {
  std::vector<const Column*> slots;
  auto slot_of = [&](const Column* col) {
    auto it = std::find(slots.begin(), slots.end(), col);
    if (it != slots.end()) return static_cast<size_t>(it - slots.begin());
    slots.push_back(col);
    return slots.size() - 1;
  };
  for (const ComparisonSettings& c : settings.comparisons) {
    Spec s;
    s.name = c.column;
    s.kind = c.kind;
    s.column = &input->column(input->ColumnIndex(c.column));
    if (!c.swap_column.empty()) s.swap = &input->column(input->ColumnIndex(c.swap_column));
    s.slot = slot_of(s.column);
    if (s.swap != nullptr) s.swap_slot = slot_of(s.swap);
    s.tf = c.tf;
    double d1 = 0.92, d2 = 0.80;
    if (c.kind == ComparisonKind::kAddress) d1 = 0.90, d2 = 0.70;
    s.t1 = !c.thresholds.empty() ? c.thresholds[0] : d1;
    s.t2 = c.thresholds.size() > 1 ? c.thresholds[1] : d2;
    s.labels = {"null", "exact"};
    switch (c.kind) {
      case ComparisonKind::kName:
        if (s.swap != nullptr) s.labels.push_back("swapped with " + c.swap_column);
        s.labels.push_back("jaro_winkler>=" + Fmt(s.t1));
        s.labels.push_back("same phonetic code");
        s.labels.push_back("jaro_winkler>=" + Fmt(s.t2));
        break;
      case ComparisonKind::kString:
        s.labels.push_back("jaro_winkler>=" + Fmt(s.t1));
        s.labels.push_back("jaro_winkler>=" + Fmt(s.t2));
        break;
      case ComparisonKind::kAddress:
        s.labels.push_back("token_set>=" + Fmt(s.t1));
        s.labels.push_back("token_set>=" + Fmt(s.t2));
        break;
      case ComparisonKind::kIdentifier:
        s.labels.push_back("damerau_levenshtein<=1");
        s.labels.push_back("damerau_levenshtein<=2");
        break;
      case ComparisonKind::kDate:
        s.labels.push_back("day and month swapped");
        s.labels.push_back("one typo");
        s.labels.push_back("within 365 days");
        s.labels.push_back("two typos");
        break;
      case ComparisonKind::kPostcode:
        s.labels.push_back("damerau_levenshtein<=1");
        break;
      case ComparisonKind::kEmail:
        s.labels.push_back("same local part");
        s.labels.push_back("jaro_winkler>=" + Fmt(s.t1));
        break;
      case ComparisonKind::kPhone:
        s.labels.push_back("same last 7 digits");
        s.labels.push_back("damerau_levenshtein<=1");
        break;
      case ComparisonKind::kExact:
        break;
    }
    s.labels.push_back("else");
    specs_.push_back(std::move(s));
  }
  stride_ = slots.size();
  uint32_t n = input->record_count();
  rows_.resize(size_t{n} * stride_);
  for (uint32_t r = 0; r < n; ++r) {
    for (size_t k = 0; k < stride_; ++k) rows_[size_t{r} * stride_ + k] = slots[k]->value[r];
  }
}

int Comparator::NameLevel(const Spec& s, const uint32_t* a, const uint32_t* b) const {
  const Column& col = *s.column;
  uint32_t va = a[s.slot], vb = b[s.slot];
  int level = 2;
  if (s.swap != nullptr) {
    // Swapped: this column on one side equals the swap column on the other.
    uint32_t sa = a[s.swap_slot], sb = b[s.swap_slot];
    if ((sb != 0 && col.text[va] == s.swap->text[sb]) || (sa != 0 && col.text[vb] == s.swap->text[sa])) {
      return level;
    }
    ++level;
  }
  std::string_view ta = col.text[va], tb = col.text[vb];
  double jw = JaroWinklerSimilarity(ta, tb);
  if (jw >= s.t1) return level;
  ++level;
  const std::string& pa = col.phonetic[va];
  const std::string& pb = col.phonetic[vb];
  const std::string& aa = col.phonetic_alt[va];
  const std::string& ab = col.phonetic_alt[vb];
  if (!pa.empty() && (pa == pb || (!ab.empty() && pa == ab) || (!aa.empty() && (aa == pb || aa == ab)))) {
    return level;
  }
  ++level;
  if (jw >= s.t2) return level;
  return level + 1;
}

int Comparator::DateLevel(const Spec& s, uint32_t va, uint32_t vb) const {
  const Column& col = *s.column;
  int32_t da = col.days[va], db = col.days[vb];
  std::string_view ta = col.text[va], tb = col.text[vb];
  // Day and month swapped: the digit strings are equal with the last two pairs exchanged.
  if (ta.size() == 8 && tb.size() == 8 && ta.substr(0, 4) == tb.substr(0, 4) &&
      ta.substr(4, 2) == tb.substr(6, 2) && ta.substr(6, 2) == tb.substr(4, 2)) {
    return 2;
  }
  int distance = DamerauLevenshteinBounded(ta, tb, 2);
  if (distance <= 1) return 3;
  if (da != Column::kNoDate && db != Column::kNoDate && std::abs(da - db) <= 365) return 4;
  if (distance <= 2) return 5;
  return 6;
}

int Comparator::Level(size_t c, const uint32_t* a, const uint32_t* b) const {
  const Spec& s = specs_[c];
  const Column& col = *s.column;
  uint32_t va = a[s.slot], vb = b[s.slot];
  if (va == 0 || vb == 0) return 0;
  if (va == vb) return kExactLevel;
  std::string_view ta = col.text[va], tb = col.text[vb];
  switch (s.kind) {
    case ComparisonKind::kName:
      return NameLevel(s, a, b);
    case ComparisonKind::kString: {
      double jw = JaroWinklerSimilarity(ta, tb);
      return jw >= s.t1 ? 2 : jw >= s.t2 ? 3 : 4;
    }
    case ComparisonKind::kAddress: {
      double sim = TokenSetSimilarity(ta, tb);
      return sim >= s.t1 ? 2 : sim >= s.t2 ? 3 : 4;
    }
    case ComparisonKind::kIdentifier: {
      int d = DamerauLevenshteinBounded(ta, tb, 2);
      return d <= 1 ? 2 : d <= 2 ? 3 : 4;
    }
    case ComparisonKind::kDate:
      return DateLevel(s, va, vb);
    case ComparisonKind::kPostcode:
      return DamerauLevenshteinBounded(ta, tb, 1) <= 1 ? 2 : 3;
    case ComparisonKind::kEmail:
      if (LocalPart(ta) == LocalPart(tb)) return 2;
      return JaroWinklerSimilarity(ta, tb) >= s.t1 ? 3 : 4;
    case ComparisonKind::kPhone:
      if (ta.size() >= 7 && tb.size() >= 7 && LastDigits(ta, 7) == LastDigits(tb, 7)) return 2;
      return DamerauLevenshteinBounded(ta, tb, 1) <= 1 ? 3 : 4;
    case ComparisonKind::kExact:
      return 2;
  }
  return LevelCount(c) - 1;
}

Pattern Comparator::Compare(uint32_t a, uint32_t b) const {
  const uint32_t* ra = Row(a);
  const uint32_t* rb = Row(b);
  Pattern p = 0;
  for (size_t c = 0; c < specs_.size(); ++c) {
    p |= static_cast<Pattern>(Level(c, ra, rb)) << (4 * c);
  }
  return p;
}

double Comparator::Frequency(size_t c, uint32_t a) const {
  const Column& col = *specs_[c].column;
  return col.Frequency(col.value[a]);
}

}  // namespace tessera::linkage
