// Linkage settings: which columns are compared and how, which blocking rules generate candidate
// pairs, and the decision thresholds. Loaded from a small JSON file, or inferred from the column
// names when none is given (InferSettings), so `tessera link A.csv B.csv` works out of the box.
//
// JSON form (every key optional except where noted):
//   {"comparisons": [{"column": "given_name", "kind": "name", "tf": true,
//                     "swap_column": "surname", "thresholds": [0.92, 0.8]}, ...],
//    "blocking": [[{"column": "soc_sec_id"}],
//                 [{"column": "date_of_birth"}, {"column": "surname", "transform": "prefix:1"}],
//                 [{"column": "given_name", "right": "surname"},
//                  {"column": "surname", "right": "given_name"}], ...],
//    "threshold": 0.5, "review_low": 0.1, "max_block_pairs": 10000,
//    "random_pairs": 1000000, "max_em_iterations": 100, "cluster_guard": 0.1, "seed": 1,
//    "date_order": "ymd"}
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "linkage/dates.h"

namespace tessera::linkage {

// How one column is compared. Each kind has a fixed list of agreement levels, tested in order;
// the first that holds is the pair's level (see compare.h for the exact list per kind).
enum class ComparisonKind {
  kName,        // person name part: exact, swapped with swap_column, Jaro-Winkler, phonetic
  kString,      // free text: exact, Jaro-Winkler bands
  kAddress,     // street / locality text: exact, token-set similarity bands
  kIdentifier,  // codes and numbers (national ids, house numbers): exact, Damerau-Levenshtein 1, 2
  kDate,        // dates: exact, day/month swapped, one typo, within a year, two typos
  kPostcode,    // postal codes: exact, one edit
  kEmail,       // exact, same local part or close, same domain
  kPhone,       // E.164-ish digits: exact, same last 7 digits, one edit
  kExact,       // categorical: exact or not
};

std::string_view ComparisonKindName(ComparisonKind kind);

struct ComparisonSettings {
  std::string column;
  ComparisonKind kind = ComparisonKind::kString;
  bool tf = false;               // term-frequency adjust the exact level
  std::string swap_column;       // kName: a level for "equals the other record's swap_column"
  std::vector<double> thresholds;  // similarity cut-offs, highest first (kind defaults if empty)
};

// How a blocking key is computed from a column's normalised value.
enum class KeyTransform { kExact, kPrefix, kPhonetic, kYear, kDigits };

struct BlockingKey {
  std::string column;        // the value on the left record
  std::string right_column;  // the value on the right record (defaults to column)
  KeyTransform transform = KeyTransform::kExact;
  int prefix_length = 0;     // kPrefix
};

// Records agree under a rule when every key agrees (and none is empty).
struct BlockingRule {
  std::vector<BlockingKey> keys;
  std::string ToString() const;
};

struct Settings {
  std::vector<ComparisonSettings> comparisons;
  std::vector<BlockingRule> blocking;
  double threshold = 0.5;       // match probability at or above which a pair is linked
  double review_low = 0.1;      // [review_low, threshold) goes to review
  // A larger block is skipped (and reported): a placeholder or very common value ("john smith"
  // among millions) says little, and the other rules still pair those records.
  uint64_t max_block_pairs = 10'000;
  uint64_t random_pairs = 1'000'000;     // sample size for u estimation
  int max_em_iterations = 100;
  double cluster_guard = 0.1;   // clusters join only if no scored pair between them is below it
  uint64_t seed = 1;
  DateOrder date_order = DateOrder::kYmd;
};

// Settings from the JSON form above. Errors name the JSON path.
Result<Settings> ParseSettings(std::string_view json_text);
std::string SettingsToJson(const Settings& settings);

// Defaults from column names (case and punctuation ignored): names, dates of birth, emails,
// phones, postcodes, addresses, localities, national ids and categorical fields get comparisons
// and blocking rules; other columns are listed in *ignored and not compared.
Settings InferSettings(const std::vector<std::string>& columns, std::vector<std::string>* ignored);

// Every column the settings name must exist in `columns`.
Status ValidateSettings(const Settings& settings, const std::vector<std::string>& columns);

}  // namespace tessera::linkage
