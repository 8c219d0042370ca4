// The duplicate corruptor, after FEBRL's data set generator (dsgen/generate.py): a duplicate is
// a copy of its original with 1..max_mod_per_record modifications, at most max_mod_per_field in
// one field. Fields are picked by a per-field selection probability, then an operation by the
// field's operation probabilities (tables in corruptor.cc, explained in README.md).
// Immutable after construction: share freely between threads, each with its own Rng.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "bench/linkage/alias_table.h"
#include "bench/linkage/model.h"
#include "bench/linkage/record.h"
#include "bench/linkage/rng.h"

namespace tessera::bench::linkgen {

enum Op : int {
  kKeyboard = 0,  // substitute a character with a neighbouring key (or a random one)
  kInsert,        // insert a character
  kDelete,        // delete a character
  kTranspose,     // swap two adjacent characters
  kOcr,           // OCR confusion: 5<->s, 0<->o, 1<->l, 8<->b, m<->rn, cl<->d ...
  kPhonetic,      // phonetic variation: ph<->f, c<->k, ie<->y, mac<->mc ...
  kMisspell,      // another vocabulary value at edit distance 1-2 (katherine/catherine)
  kReplace,       // another value drawn from the vocabulary by frequency
  kMissing,       // value removed
  kSplitWord,     // insert a space inside a word
  kMergeWords,    // delete a space
  kSwapWords,     // swap two adjacent words
  kLeadingSpace,  // an extra leading space
  kSwapDayMonth,  // date: YYYYDDMM for YYYYMMDD (only when the day is <= 12)
  kYearTypo,      // date: a typo in the year's last two digits
  kNewValue,      // a missing value filled in (chosen only for empty fields)
  kNumOps,
};

inline constexpr std::array<std::string_view, kNumOps> kOpNames = {
    "keyboard",   "insert",       "delete",    "transpose",  "ocr",   "phonetic",
    "misspell",   "replace",      "missing",   "split_word", "merge", "swap_words",
    "lead_space", "swap_day_mon", "year_typo", "new_value"};

// How one field is corrupted once selected.
struct FieldProfile {
  double select = 0;                  // relative chance that a modification goes to this field
  std::array<double, kNumOps> ops{};  // relative chance of each operation (kNewValue unused)
  double new_value = 0;               // chance that a pick of an empty field fills it
};

struct CorruptOptions {
  int max_mod_per_field = 2;
  int max_mod_per_record = 4;
  // Modifications per record = 1 + Poisson(extra_mods_mean), redrawn above max_mod_per_record.
  double extra_mods_mean = 1.3;
  // Chance that a field picked for modification takes one more (up to max_mod_per_field).
  double field_extra_mod = 0.1;
  // Field swaps count as two modifications, so they are tried only in duplicates due >= 2.
  double swap_names = 0.06;       // given_name <-> surname
  double swap_addresses = 0.035;  // address_1 <-> address_2
  std::array<FieldProfile, kNumFields> fields = DefaultFieldProfiles();

  static std::array<FieldProfile, kNumFields> DefaultFieldProfiles();
};

// What the corruptor did (only changes that altered a value are counted).
struct CorruptionLog {
  uint64_t records = 0;
  uint64_t name_swaps = 0;
  uint64_t address_swaps = 0;
  std::array<std::array<uint64_t, kNumOps>, kNumFields> ops{};
  std::array<uint64_t, 16> mods_per_record{};  // by number of modifications

  void Merge(const CorruptionLog& o);
  std::string Report() const;
};

class Corruptor {
 public:
  Corruptor(const Model& model, const CorruptOptions& options);

  // *dup = org with modifications; dup->f != org.f on return (a record whose changes all
  // cancelled is redone). log may be null.
  void Corrupt(const Record& org, Rng& rng, Record* dup, CorruptionLog* log) const;

  // One operation on one value; true if the value changed. Exposed for tests.
  bool Apply(Field f, Op op, std::string* v, Rng& rng) const;

 private:
  int DrawModCount(Rng& rng) const;
  bool Replace(Field f, std::string* v, Rng& rng) const;
  bool Misspell(Field f, std::string* v, Rng& rng) const;
  const Vocab* VocabFor(Field f) const;

  const Model& model_;
  CorruptOptions options_;
  AliasTable field_table_;
  std::array<AliasTable, kNumFields> op_tables_;
  AliasTable mod_count_table_;  // index k-1 for k modifications
};

}  // namespace tessera::bench::linkgen
