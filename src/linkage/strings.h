// String comparators for record linkage: Jaro / Jaro-Winkler, edit distances (Levenshtein, OSA,
// unrestricted Damerau-Levenshtein, with banded "bounded" variants) and token similarities.
//
// Every function takes UTF-8 and measures in Unicode code points, not bytes: "José" has length 4.
// Decoding follows Unicode Table 3-7 (well-formed sequences only: no overlongs, surrogates or
// values above U+10FFFF); every byte that does not start a well-formed sequence counts as one
// U+FFFD on its own, so "\xC3(" is two code points, U+FFFD and '('. No normalisation happens here:
// "é" (U+00E9) and "e\u0301" differ; call the normalize.h functions on both sides first.
//
// Cost: inputs that are pure ASCII skip decoding (and Jaro runs bit-parallel up to 64 bytes).
// Inputs up to 64 code points (for the token functions: 16 tokens and 256 bytes) use stack
// buffers only, no heap allocation; longer ones fall back to the heap. The edit distances first
// drop the common prefix and suffix, which never changes the result.
// Thread-safety: all functions are pure and reentrant.
#pragma once

#include <cstddef>
#include <string_view>

namespace tessera::linkage {

// Decodes the well-formed UTF-8 sequence starting at s[pos] into *cp and returns its length
// (1..4), or returns 0 when s[pos] does not start a well-formed sequence (the caller then treats
// that single byte as invalid). REQUIRES: pos < s.size().
[[nodiscard]] inline int DecodeUtf8(std::string_view s, size_t pos, char32_t* cp) {
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  const unsigned char b0 = byte(pos);
  if (b0 < 0x80) {
    *cp = b0;
    return 1;
  }
  const size_t left = s.size() - pos;
  const auto cont = [&](size_t i) { return (byte(i) & 0xC0) == 0x80; };
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    if (left < 2 || !cont(pos + 1)) return 0;
    *cp = (char32_t{b0} & 0x1F) << 6 | (byte(pos + 1) & 0x3F);
    return 2;
  }
  if (b0 >= 0xE0 && b0 <= 0xEF) {
    if (left < 3 || !cont(pos + 1) || !cont(pos + 2)) return 0;
    const unsigned char b1 = byte(pos + 1);
    if ((b0 == 0xE0 && b1 < 0xA0) || (b0 == 0xED && b1 > 0x9F)) return 0;  // overlong, surrogate
    *cp = (char32_t{b0} & 0x0F) << 12 | (char32_t{b1} & 0x3F) << 6 | (byte(pos + 2) & 0x3F);
    return 3;
  }
  if (b0 >= 0xF0 && b0 <= 0xF4) {
    if (left < 4 || !cont(pos + 1) || !cont(pos + 2) || !cont(pos + 3)) return 0;
    const unsigned char b1 = byte(pos + 1);
    if ((b0 == 0xF0 && b1 < 0x90) || (b0 == 0xF4 && b1 > 0x8F)) return 0;  // overlong, > U+10FFFF
    *cp = (char32_t{b0} & 0x07) << 18 | (char32_t{b1} & 0x3F) << 12 |
          (char32_t{byte(pos + 2)} & 0x3F) << 6 | (byte(pos + 3) & 0x3F);
    return 4;
  }
  return 0;
}

// The number of code points of s under the rule above (each invalid byte counts as one).
[[nodiscard]] size_t CodePointLength(std::string_view s);

// ---- Jaro and Jaro-Winkler ------------------------------------------------------------------

// Jaro similarity in [0, 1] (Jaro 1989, as in Winkler's strcmp95, Apache Commons Text,
// jellyfish, rapidfuzz and so DuckDB's jaro_similarity):
//   window w = max(0, floor(max(|a|, |b|) / 2) - 1);
//   a[i] and b[j] are a match when equal and |i - j| <= w; each a[i], in order, takes the first
//   still unmatched b[j] in its window; m = number of matches;
//   t = floor(h / 2) where h = number of positions k at which the k-th matched character of a
//   differs from the k-th matched character of b (integer halving, as strcmp95 and rapidfuzz do);
//   Jaro = (m/|a| + m/|b| + (m - t)/m) / 3, and 0 when m = 0.
// Two empty strings give 1.0, one empty string gives 0.0. The result is symmetric: the greedy
// matching yields the same m and t in both directions (checked exhaustively over a 3-letter
// alphabet up to length 7 and randomly beyond; strings_test.cc repeats a random check).
[[nodiscard]] double JaroSimilarity(std::string_view a, std::string_view b);

// Jaro-Winkler similarity (Winkler 1990): with J = JaroSimilarity(a, b) and l the length of the
// common prefix of a and b in code points, capped at 4:
//   JW = J + l * prefix_scale * (1 - J)   when J > 0.7 (Winkler's boost threshold),
//   JW = J                                otherwise.
// REQUIRES: 0 <= prefix_scale <= 0.25 (so that JW <= 1); 0.1 is Winkler's value.
// Winkler's published tables add further adjustments (similar-character credit, long-string
// rule: the "McLa"/"Lynch" columns) that are NOT applied here.
[[nodiscard]] double JaroWinklerSimilarity(std::string_view a, std::string_view b,
                                           double prefix_scale = 0.1);

// ---- Edit distances --------------------------------------------------------------------------
// All are symmetric, 0 iff a == b (as code point sequences), and at most max(|a|, |b|).

// Levenshtein distance: the minimum number of single code point insertions, deletions and
// substitutions turning a into b.
[[nodiscard]] int LevenshteinDistance(std::string_view a, std::string_view b);

// Optimal string alignment distance (restricted Damerau-Levenshtein): Levenshtein plus the
// transposition of two adjacent code points, with no substring edited more than once.
// OSA("ca", "abc") = 3. Not a metric (the triangle inequality can fail).
[[nodiscard]] int OsaDistance(std::string_view a, std::string_view b);

// Unrestricted Damerau-Levenshtein distance (Lowrance and Wagner 1975): Levenshtein plus
// transpositions of adjacent code points, where later edits may touch transposed characters.
// DL("ca", "abc") = 2 ("ca" -> "ac" -> "abc"). This is the definition of DuckDB's
// damerau_levenshtein (which Splink uses); DuckDB counts bytes, this counts code points, so the
// two agree on ASCII. Cost: O(|a| * |b|) time and ints of memory after the common prefix and
// suffix are dropped (stack up to 64 x 64); use the bounded variant where a cap will do.
[[nodiscard]] int DamerauLevenshteinDistance(std::string_view a, std::string_view b);

// min(LevenshteinDistance(a, b), max + 1): returns the distance when it is <= max, else max + 1.
// Computes only the diagonal band |i - j| <= max of the DP matrix and stops as soon as a whole row
// of the band exceeds max, so the cost is O(min(|a|, |b|) * max) and a length difference above
// max costs O(1) after decoding. A negative max is treated as 0.
[[nodiscard]] int LevenshteinBounded(std::string_view a, std::string_view b, int max);

// min(DamerauLevenshteinDistance(a, b), max + 1), banded and with early exit as above.
[[nodiscard]] int DamerauLevenshteinBounded(std::string_view a, std::string_view b, int max);

// ---- Token similarities ----------------------------------------------------------------------
// For already-normalised strings (normalize.h): tokens are the maximal runs of characters other
// than the ASCII space ' '; empty tokens do not exist ("  a  b " has the two tokens "a", "b").
// For all three: two strings without tokens give 1.0, exactly one without tokens gives 0.0.

// Jaccard similarity of the token SETS (duplicates count once): |A ∩ B| / |A ∪ B|, comparing
// tokens byte for byte.
[[nodiscard]] double TokenJaccard(std::string_view a, std::string_view b);

// Fuzzy token-set similarity, robust to word order, extra words and small typos in words. Its
// definition: let A and B be the token lists (duplicates kept) with |A| <= |B| (on a tie, A is
// the byte-wise smaller string, which makes the score exactly symmetric). Pair each token of A
// with a distinct token of B greedily: repeatedly take the unpaired (A token, B token) with the
// highest JaroWinklerSimilarity (ties: lowest A index, then lowest B index) until every A token
// is paired. The score is the mean JW over those |A| pairs.
// Why: it is the symmetric Monge-Elkan measure with Jaro-Winkler as inner measure, averaged over
// the shorter list, except that each B token can be used once. Plain Monge-Elkan would score
// "smith smith" vs "smith jones" 1.0; here it is (1 + JW("smith", "jones")) / 2.
// Extra tokens of the longer list are NOT penalised: "john smith" vs "john paul smith" is 1.0.
// Pair it with TokenJaccard or an exact-match level when missing words should cost something.
[[nodiscard]] double TokenSetSimilarity(std::string_view a, std::string_view b);

// JaroWinklerSimilarity (prefix scale 0.1) of the two strings rebuilt with their tokens sorted
// byte-wise and joined by single spaces: "smith john" vs "john smith" is 1.0. For names whose
// parts are swapped; unlike TokenSetSimilarity, extra or missing tokens lower the score.
[[nodiscard]] double TokenSortJaroWinkler(std::string_view a, std::string_view b);

}  // namespace tessera::linkage
