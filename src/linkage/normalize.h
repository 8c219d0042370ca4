// Field normalisers for record linkage, applied once per record before any comparison, so that
// the comparators (strings.h) see canonical text: "Zoë  Ñúñez" and "zoe nunez" compare equal.
//
// Input is UTF-8. Bytes that do not form well-formed UTF-8 (Unicode Table 3-7) never fail and
// never crash. A lead byte (0xC2..0xF4) followed by continuation bytes (0x80..0xBF) that do not
// complete a valid sequence is broken UTF-8 (e.g. cut mid-character): the lead byte and up to the
// continuation bytes its sequence would need become one U+FFFD, a symbol, hence a space. Any other
// invalid byte is read as the Windows-1252 character of that value (0xA0..0xFF are Latin-1,
// 0x80..0x9F cp1252 punctuation such as U+2019 for 0x92; the five bytes cp1252 leaves undefined
// become U+FFFD). That recovers Latin-1/cp1252 exports: "M\xFCller" -> "muller",
// "Jos\xE9" -> "jose", "O\x92Brien" -> "obrien". The output is always valid UTF-8.
//
// Thread-safety: all functions are pure and reentrant.
#pragma once

#include <string>
#include <string_view>

namespace tessera::linkage {

// Decodes the code point at s[*pos] and advances *pos past it: a well-formed UTF-8 sequence as
// itself, broken UTF-8 and other invalid bytes as described above. REQUIRES: *pos < s.size().
[[nodiscard]] char32_t DecodeUtf8Lenient(std::string_view s, size_t* pos);

// True for the apostrophe-like code points NormalizeText removes without a trace: U+0027 ',
// U+0060 `, U+00B4 ´, U+02BB ʻ, U+02BC ʼ, U+2018 ‘, U+2019 ’, U+201B ‛, U+2032 ′, U+FF07 ＇.
[[nodiscard]] bool IsApostrophe(char32_t cp);

// The canonical form of free text:
//   1. decode (invalid bytes as above);
//   2. apostrophes (IsApostrophe) are removed: "O'Brien" -> "obrien", "D’Arcy" -> "darcy";
//   3. every other code point is mapped through NFKD (compatibility decomposition: "ﬁ" -> "fi",
//      "²" -> "2", full-width forms to ASCII), Unicode full case folding ("Straße" -> "strasse")
//      and removal of default-ignorable code points (soft hyphen, zero-width joiner ...);
//   4. of the result, letters (L*) and numbers (N*) are kept; combining marks (M*: accents,
//      including spacing marks of Indic scripts), format (Cf), private-use, surrogate and
//      unassigned code points are dropped; everything else (punctuation P*, symbols S*,
//      separators Z*, controls Cc such as tab and newline) becomes a space;
//   5. runs of spaces collapse to one and leading/trailing spaces are trimmed.
// So the output is lower-case letters/digits in tokens separated by single ' '. Pure-ASCII input
// takes a fast path with the same result. Examples: "Zoë Ñúñez" -> "zoe nunez",
// "  Smith-Jones, J.R. " -> "smith jones j r", "Ⅻ" -> "xii".
[[nodiscard]] std::string NormalizeText(std::string_view s);

// NormalizeText, then the title/honorific tokens below are removed, but only when at least one
// other token remains ("Mr Smith" -> "smith", "Miss" -> "miss"):
//   mr mrs ms miss mx mstr dr prof professor rev revd reverend fr sir dame lord lady hon
//   mme mlle herr frau
// Generational suffixes (jr, sr, ii, iii) are kept: they tell father and son apart.
[[nodiscard]] std::string NormalizeName(std::string_view s);

// NormalizeText, then these whole tokens are expanded (anywhere in the string):
//   av ave -> avenue     blvd bvd -> boulevard  cct -> circuit    cir -> circle
//   cl -> close          cres crs -> crescent   ct crt -> court   dr drv -> drive
//   esp -> esplanade     gdns -> gardens        gr -> grove       hts -> heights
//   hwy -> highway       ln -> lane             mt -> mount       pde -> parade
//   pkwy -> parkway      pl -> place            rd -> road        sq -> square
//   st -> street         tce ter -> terrace     trl -> trail
// "st" is ALWAYS read as street, also in "St Kilda Rd" -> "street kilda road" (both records get
// the same rewrite, so "Saint"/"St" mismatches remain, consistently). Directions (n, e, s, w)
// and unit words (apt, unit, flat) are left alone.
[[nodiscard]] std::string NormalizeAddress(std::string_view s);

// NormalizeText with the spaces removed and letters upper-cased (ASCII and, via the Unicode
// simple upper-case mapping, others): " sw1a-1aa " -> "SW1A1AA", "2000" -> "2000".
[[nodiscard]] std::string NormalizePostcode(std::string_view s);

// The ASCII digits '0'..'9' of s, in order; everything else (including non-ASCII digits) is
// dropped: "+61 (02) 9876-5432" -> "610298765432".
[[nodiscard]] std::string DigitsOnly(std::string_view s);

}  // namespace tessera::linkage
