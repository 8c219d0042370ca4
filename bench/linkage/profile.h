// Measures how duplicates differ from their originals, field by field, the same way for our
// output and for FEBRL's files, so the two corruption profiles can be compared (README.md).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "bench/linkage/record.h"

namespace tessera::bench::linkgen {

// How a duplicate's field differs from the original's.
enum DiffKind : int {
  kDiffMissing = 0,  // emptied
  kDiffNew,          // filled in
  kDiffEdit1,        // OSA distance 1
  kDiffEdit2,        // OSA distance 2 (and longer than 3 characters)
  kDiffReplaced,     // anything further
  kDiffSwapped,      // part of a given_name/surname or address_1/address_2 swap
  kNumDiffKinds,
};

class CorruptionProfile {
 public:
  // One true pair: the original (or first record) and a duplicate.
  void Add(const Record& org, const Record& dup);
  void Merge(const CorruptionProfile& o);

  uint64_t pairs() const { return pairs_; }
  // Share of pairs with exactly k fields differing (k = 0..kNumFields).
  double FieldsModifiedShare(int k) const;
  // Share of pairs where field f differs.
  double FieldModifiedShare(Field f) const;

  // Text report of one profile, or of two side by side ("ours" vs "reference").
  std::string Report(std::string_view title) const;
  static std::string Compare(const CorruptionProfile& ours, std::string_view ours_title,
                             const CorruptionProfile& ref, std::string_view ref_title);

 private:
  uint64_t pairs_ = 0;
  std::array<uint64_t, kNumFields + 1> fields_modified_{};
  std::array<std::array<uint64_t, kNumDiffKinds>, kNumFields> kinds_{};
  std::array<uint64_t, kNumFields> empty_org_{}, empty_dup_{};
  uint64_t name_swaps_ = 0, address_swaps_ = 0, leading_space_ = 0, invalid_dates_ = 0;
};

}  // namespace tessera::bench::linkgen
