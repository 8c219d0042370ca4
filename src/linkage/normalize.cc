#include "linkage/normalize.h"

#include <utf8proc.h>

#include <array>
#include <vector>

#include "linkage/strings.h"

namespace tessera::linkage {
namespace {

// Windows-1252 bytes 0x80..0x9F; U+FFFD where cp1252 leaves the byte undefined.
constexpr char32_t kCp1252High[32] = {
    0x20AC, 0xFFFD, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,  // 0x80
    0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0xFFFD, 0x017D, 0xFFFD,  // 0x88
    0xFFFD, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,  // 0x90
    0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0xFFFD, 0x017E, 0x0178,  // 0x98
};

// NFKD + full case folding + default-ignorables removed, one code point at a time. Canonical
// reordering of combining marks is skipped on purpose: every mark is dropped afterwards.
constexpr utf8proc_option_t kFoldOptions = static_cast<utf8proc_option_t>(
    UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT | UTF8PROC_CASEFOLD | UTF8PROC_IGNORE);

// Accumulates letters/digits with single spaces between runs (no leading/trailing space).
class TextBuilder {
 public:
  explicit TextBuilder(size_t reserve) { out_.reserve(reserve); }

  void Keep(char32_t cp) {
    if (pending_space_ && !out_.empty()) out_ += ' ';
    pending_space_ = false;
    if (cp < 0x80) {
      out_ += static_cast<char>(cp);
      return;
    }
    utf8proc_uint8_t bytes[4];
    const utf8proc_ssize_t n = utf8proc_encode_char(static_cast<utf8proc_int32_t>(cp), bytes);
    out_.append(reinterpret_cast<const char*>(bytes), static_cast<size_t>(n));
  }
  void Separate() { pending_space_ = true; }
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
  bool pending_space_ = false;
};

// Steps 3 and 4 of NormalizeText for one decomposed code point.
void Classify(char32_t cp, TextBuilder& out) {
  if (IsApostrophe(cp)) return;  // e.g. U+FF07 decomposes to U+0027
  switch (utf8proc_category(static_cast<utf8proc_int32_t>(cp))) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_NO:
      out.Keep(cp);
      return;
    case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_MC:
    case UTF8PROC_CATEGORY_ME:
    case UTF8PROC_CATEGORY_CF:
    case UTF8PROC_CATEGORY_CS:
    case UTF8PROC_CATEGORY_CO:
    case UTF8PROC_CATEGORY_CN:
      return;
    default:  // punctuation, symbols, separators, controls
      out.Separate();
      return;
  }
}

void FoldCodePoint(char32_t cp, TextBuilder& out) {
  if (IsApostrophe(cp)) return;             // before NFKD: U+00B4 would decompose to space + U+0301
  constexpr utf8proc_ssize_t kBuffer = 32;  // the longest NFKD + case fold expansion is 18
  utf8proc_int32_t buffer[kBuffer];
  const utf8proc_ssize_t n = utf8proc_decompose_char(static_cast<utf8proc_int32_t>(cp), buffer,
                                                     kBuffer, kFoldOptions, nullptr);
  if (n < 0) {  // only for code points outside Unicode, which DecodeUtf8Lenient never yields
    out.Separate();
    return;
  }
  if (n > kBuffer) {
    std::vector<utf8proc_int32_t> large(static_cast<size_t>(n));
    const utf8proc_ssize_t again = utf8proc_decompose_char(static_cast<utf8proc_int32_t>(cp),
                                                           large.data(), n, kFoldOptions, nullptr);
    for (utf8proc_ssize_t i = 0; i < again && i < n; ++i) {
      Classify(static_cast<char32_t>(large[static_cast<size_t>(i)]), out);
    }
    return;
  }
  for (utf8proc_ssize_t i = 0; i < n; ++i) Classify(static_cast<char32_t>(buffer[i]), out);
}

bool IsAsciiText(std::string_view s) {
  for (const char c : s) {
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  }
  return true;
}

std::vector<std::string_view> SplitTokens(std::string_view text) {  // text is NormalizeText output
  std::vector<std::string_view> tokens;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find(' ', start);
    if (end == std::string_view::npos) end = text.size();
    tokens.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return tokens;
}

std::string JoinTokens(const std::vector<std::string_view>& tokens) {
  std::string out;
  for (const std::string_view token : tokens) {
    if (!out.empty()) out += ' ';
    out += token;
  }
  return out;
}

constexpr std::array<std::string_view, 22> kTitles = {
    "mr",       "mrs", "ms",  "miss", "mx",   "mstr", "dr",  "prof", "professor", "rev",  "revd",
    "reverend", "fr",  "sir", "dame", "lord", "lady", "hon", "mme",  "mlle",      "herr", "frau"};

bool IsTitle(std::string_view token) {
  for (const std::string_view title : kTitles) {
    if (token == title) return true;
  }
  return false;
}

struct Expansion {
  std::string_view abbreviation;
  std::string_view word;
};

constexpr Expansion kStreetWords[] = {
    {"av", "avenue"},    {"ave", "avenue"},    {"blvd", "boulevard"}, {"bvd", "boulevard"},
    {"cct", "circuit"},  {"cir", "circle"},    {"cl", "close"},       {"cres", "crescent"},
    {"crs", "crescent"}, {"ct", "court"},      {"crt", "court"},      {"dr", "drive"},
    {"drv", "drive"},    {"esp", "esplanade"}, {"gdns", "gardens"},   {"gr", "grove"},
    {"hts", "heights"},  {"hwy", "highway"},   {"ln", "lane"},        {"mt", "mount"},
    {"pde", "parade"},   {"pkwy", "parkway"},  {"pl", "place"},       {"rd", "road"},
    {"sq", "square"},    {"st", "street"},     {"tce", "terrace"},    {"ter", "terrace"},
    {"trl", "trail"},
};

}  // namespace

char32_t DecodeUtf8Lenient(std::string_view s, size_t* pos) {
  char32_t cp;
  const int len = DecodeUtf8(s, *pos, &cp);
  if (len > 0) {
    *pos += static_cast<size_t>(len);
    return cp;
  }
  const auto byte_at = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  const auto continuation = [&](size_t i) { return i < s.size() && (byte_at(i) & 0xC0) == 0x80; };
  const unsigned char lead = byte_at(*pos);
  if (lead >= 0xC2 && lead <= 0xF4 && continuation(*pos + 1)) {   // broken UTF-8
    const size_t needed = lead < 0xE0 ? 1 : lead < 0xF0 ? 2 : 3;  // continuation bytes
    size_t taken = 0;
    ++*pos;
    while (taken < needed && continuation(*pos)) {
      ++*pos;
      ++taken;
    }
    return 0xFFFD;
  }
  ++*pos;
  return lead >= 0xA0 ? char32_t{lead} : kCp1252High[lead - 0x80];  // invalid bytes are >= 0x80
}

bool IsApostrophe(char32_t cp) {
  switch (cp) {
    case 0x0027:
    case 0x0060:
    case 0x00B4:
    case 0x02BB:
    case 0x02BC:
    case 0x2018:
    case 0x2019:
    case 0x201B:
    case 0x2032:
    case 0xFF07:
      return true;
    default:
      return false;
  }
}

std::string NormalizeText(std::string_view s) {
  TextBuilder out(s.size());
  if (IsAsciiText(s)) {
    for (const char c : s) {
      if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
        out.Keep(static_cast<char32_t>(c));
      } else if (c >= 'A' && c <= 'Z') {
        out.Keep(static_cast<char32_t>(c - 'A' + 'a'));
      } else if (c != '\'' && c != '`') {
        out.Separate();
      }
    }
    return out.Take();
  }
  for (size_t pos = 0; pos < s.size();) FoldCodePoint(DecodeUtf8Lenient(s, &pos), out);
  return out.Take();
}

std::string NormalizeName(std::string_view s) {
  std::string text = NormalizeText(s);
  std::vector<std::string_view> tokens = SplitTokens(text);
  std::vector<std::string_view> kept;
  for (const std::string_view token : tokens) {
    if (!IsTitle(token)) kept.push_back(token);
  }
  if (kept.empty() || kept.size() == tokens.size()) return text;
  return JoinTokens(kept);
}

std::string NormalizeAddress(std::string_view s) {
  const std::string text = NormalizeText(s);
  std::vector<std::string_view> tokens = SplitTokens(text);
  for (std::string_view& token : tokens) {
    for (const Expansion& e : kStreetWords) {
      if (token == e.abbreviation) {
        token = e.word;
        break;
      }
    }
  }
  return JoinTokens(tokens);
}

std::string NormalizePostcode(std::string_view s) {
  const std::string text = NormalizeText(s);
  std::string out;
  out.reserve(text.size());
  for (size_t pos = 0; pos < text.size();) {
    const char c = text[pos];
    if (static_cast<unsigned char>(c) < 0x80) {
      ++pos;
      if (c == ' ') continue;
      out += (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
      continue;
    }
    char32_t cp;
    const int len = DecodeUtf8(text, pos, &cp);  // NormalizeText output is valid UTF-8
    pos += static_cast<size_t>(len > 0 ? len : 1);
    utf8proc_uint8_t bytes[4];
    const utf8proc_ssize_t n =
        utf8proc_encode_char(utf8proc_toupper(static_cast<utf8proc_int32_t>(cp)), bytes);
    out.append(reinterpret_cast<const char*>(bytes), static_cast<size_t>(n));
  }
  return out;
}

std::string DigitsOnly(std::string_view s) {
  std::string out;
  for (const char c : s) {
    if (c >= '0' && c <= '9') out += c;
  }
  return out;
}

}  // namespace tessera::linkage
