// Phonetic codes for names: Lawrence Philips' Double Metaphone (C/C++ Users Journal, June 2000),
// following the rules of his published C++ original, including the Germanic, Slavic, Spanish,
// Italian, French, Greek and Chinese special cases. Thread-safety: pure and reentrant.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace tessera::linkage {

struct PhoneticCodes {
  std::string primary;
  // The alternate pronunciation's code; equal to primary when no rule offered an alternative
  // (as Apache Commons Codec returns it; the C++ original returned "" then). Two names "sound
  // alike" when any of primary/alternate of one equals any of the other's.
  std::string alternate;

  bool operator==(const PhoneticCodes&) const = default;
};

// Double Metaphone codes of `word`, each truncated to max_length characters (0: no limit; the
// algorithm's customary length is 4). Code alphabet: A (initial vowel), F H J K L M N P R S T X
// (as in "sh"), 0 (zero: "th").
//
// Input preparation, which the original left to the caller (it expected upper-case Latin-1):
// the text is decoded like NormalizeText does (invalid bytes as Windows-1252), apostrophes are
// removed ("O'Brien" = "OBrien"), Ç/ç and Ñ/ñ are kept as the original's own cases (Ç -> S,
// Ñ -> N), every other letter is NFKD-decomposed and case-folded with its accents stripped
// ("José" = "JOSE"), æ/œ/ø/ł/đ/ð/þ/ı become AE/OE/O/L/D/D/TH/I, letters of other scripts are
// dropped, and every run of anything else (spaces, digits, punctuation) becomes one space,
// trimmed at both ends. Spaces matter: several rules look at word boundaries ("san jose",
// "van ...", "mac gregor"), so pass one name part, or a multi-word name as written.
// Empty or letterless input gives two empty codes.
[[nodiscard]] PhoneticCodes DoubleMetaphone(std::string_view word, size_t max_length = 4);

}  // namespace tessera::linkage
