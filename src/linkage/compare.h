// Field comparisons: for a pair of records, each comparison gives an agreement level. Level 0 is
// "null" (a value is missing on either side: no evidence either way); levels 1.. are tested in
// order and the first that holds wins; the last level is "else" (disagreement). The levels per
// kind (thresholds t1 > t2 from the settings, defaults in parentheses):
//
//   name       exact · swapped (equals the other record's swap_column) · Jaro-Winkler >= t1 (0.92)
//              · same Double Metaphone code · Jaro-Winkler >= t2 (0.80) · else
//   string     exact · Jaro-Winkler >= t1 (0.92) · Jaro-Winkler >= t2 (0.80) · else
//   address    exact · token-set similarity >= t1 (0.90) · token-set >= t2 (0.70) · else
//   identifier exact · Damerau-Levenshtein 1 · Damerau-Levenshtein 2 · else
//   date       exact · day and month swapped · one typo (Damerau-Levenshtein 1 on the digits)
//              · within 365 days · two typos · else
//   postcode   exact · Damerau-Levenshtein 1 · else
//   email      exact · same local part · Jaro-Winkler >= t1 (0.92) · else
//   phone      exact · same last 7 digits · Damerau-Levenshtein 1 · else
//   exact      exact · else
//
// Level 1 ("exact") is the one the term-frequency adjustment applies to. All levels are
// symmetric in the two records. A pattern packs every comparison's level in 4 bits.
//
// Thread-safety: immutable after construction; Level() may be called from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "linkage/records.h"
#include "linkage/settings.h"

namespace tessera::linkage {

constexpr size_t kMaxComparisons = 16;
constexpr int kExactLevel = 1;
using Pattern = uint64_t;

inline int PatternLevel(Pattern p, size_t comparison) {
  return static_cast<int>((p >> (4 * comparison)) & 0xF);
}

class Comparator {
 public:
  // REQUIRES: settings validated against the input's columns (LinkInput::Build does).
  Comparator(const LinkInput* input, const Settings& settings);

  size_t size() const { return specs_.size(); }
  const std::string& name(size_t c) const { return specs_[c].name; }
  bool tf(size_t c) const { return specs_[c].tf; }
  // Number of levels including the null level 0.
  int LevelCount(size_t c) const { return static_cast<int>(specs_[c].labels.size()); }
  const std::string& LevelLabel(size_t c, int level) const { return specs_[c].labels[level]; }

  int Level(size_t c, uint32_t a, uint32_t b) const { return Level(c, Row(a), Row(b)); }
  Pattern Compare(uint32_t a, uint32_t b) const;
  // For a pair at the exact level of comparison c: the shared value's frequency.
  double Frequency(size_t c, uint32_t a) const;

 private:
  struct Spec {
    std::string name;
    ComparisonKind kind;
    const Column* column;
    const Column* swap = nullptr;
    size_t slot = 0, swap_slot = 0;  // where the value ids sit in a record's row
    bool tf = false;
    double t1 = 0, t2 = 0;
    std::vector<std::string> labels;
  };
  // A record's value ids of every compared column, side by side: one cache line per record
  // instead of one per column.
  const uint32_t* Row(uint32_t record) const { return &rows_[size_t{record} * stride_]; }
  int Level(size_t c, const uint32_t* a, const uint32_t* b) const;
  int NameLevel(const Spec& s, const uint32_t* a, const uint32_t* b) const;
  int DateLevel(const Spec& s, uint32_t va, uint32_t vb) const;

  size_t stride_ = 0;
  std::vector<uint32_t> rows_;
  std::vector<Spec> specs_;
};

}  // namespace tessera::linkage
