#include "bench/linkage/edit_ops.h"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <string_view>

namespace tessera::bench::linkgen {
namespace {

// ---- Keyboard (QWERTY) neighbours ------------------------------------------------------------

struct Keyboard {
  std::array<std::string, 128> row;  // left/right neighbours
  std::array<std::string, 128> col;  // neighbours in the rows above and below (letters only)

  Keyboard() {
    static constexpr std::string_view kRows[] = {"1234567890", "qwertyuiop", "asdfghjkl",
                                                 "zxcvbnm"};
    static constexpr int kOffset4[] = {0, 2, 3, 5};  // row stagger in quarter keys
    for (int r = 0; r < 4; ++r) {
      const std::string_view keys = kRows[r];
      for (size_t i = 0; i < keys.size(); ++i) {
        const auto c = static_cast<unsigned char>(keys[i]);
        if (i > 0) row[c].push_back(keys[i - 1]);
        if (i + 1 < keys.size()) row[c].push_back(keys[i + 1]);
        if (r == 0) continue;
        const int x = static_cast<int>(i) * 4 + kOffset4[r];
        for (int r2 : {r - 1, r + 1}) {
          if (r2 < 1 || r2 > 3) continue;
          for (size_t j = 0; j < kRows[r2].size(); ++j) {
            const int x2 = static_cast<int>(j) * 4 + kOffset4[r2];
            if (std::abs(x2 - x) <= 3) col[c].push_back(kRows[r2][j]);
          }
        }
      }
    }
  }
};

const Keyboard& Keys() {
  static const Keyboard k;
  return k;
}

// ---- Rewrite rules (OCR, phonetic) ------------------------------------------------------------

enum class Anchor { kAny, kStart, kEnd, kInside };

struct Rule {
  std::string_view from, to;
  Anchor anchor = Anchor::kAny;
};

// clang-format off
constexpr Rule kOcrLetterRules[] = {
    {"s", "5"}, {"o", "0"}, {"l", "1"}, {"i", "1"}, {"b", "8"}, {"z", "2"}, {"g", "9"},
    {"m", "rn"}, {"rn", "m"}, {"cl", "d"}, {"d", "cl"}, {"w", "vv"}, {"vv", "w"}, {"u", "v"},
    {"v", "u"}, {"h", "b"}, {"e", "c"}, {"c", "e"}, {"n", "h"}, {"ri", "n"}, {"li", "h"},
};
constexpr Rule kOcrDigitRules[] = {
    {"0", "8"}, {"8", "0"}, {"1", "7"}, {"7", "1"}, {"3", "8"}, {"8", "3"}, {"5", "6"},
    {"6", "5"}, {"6", "8"}, {"8", "6"}, {"9", "8"}, {"8", "9"}, {"5", "8"}, {"4", "9"},
};
constexpr Rule kOcrDigitToLetterRules[] = {{"5", "s"}, {"0", "o"}, {"1", "l"}, {"8", "b"}};

constexpr Rule kPhoneticRules[] = {
    {"ph", "f"},   {"f", "ph"},   {"ck", "k"},   {"k", "ck", Anchor::kInside},
    {"c", "k"},    {"k", "c"},    {"ie", "y", Anchor::kEnd},  {"y", "ie", Anchor::kEnd},
    {"ey", "y", Anchor::kEnd},    {"y", "ey", Anchor::kEnd},  {"ee", "ea"}, {"ea", "ee"},
    {"ou", "ow"},  {"ow", "ou"},  {"z", "s"},    {"s", "z", Anchor::kInside},
    {"x", "ks"},   {"ks", "x"},   {"qu", "kw"},  {"gh", "g"},  {"th", "t"},  {"sch", "sh"},
    {"sh", "sch"}, {"ll", "l"},   {"l", "ll", Anchor::kInside}, {"tt", "t"},
    {"t", "tt", Anchor::kInside}, {"nn", "n"},  {"n", "nn", Anchor::kInside}, {"ss", "s"},
    {"mm", "m"},   {"rr", "r"},   {"ae", "e"},   {"ai", "ay"}, {"ay", "ai"}, {"ei", "ie"},
    {"ie", "ei"},  {"oo", "u"},   {"mac", "mc", Anchor::kStart}, {"mc", "mac", Anchor::kStart},
    {"wh", "w", Anchor::kStart},  {"kn", "n", Anchor::kStart},   {"dt", "t", Anchor::kEnd},
    {"son", "sen", Anchor::kEnd}, {"sen", "son", Anchor::kEnd},  {"man", "mann", Anchor::kEnd},
    {"mann", "man", Anchor::kEnd}, {"i", "y", Anchor::kInside},  {"y", "i", Anchor::kInside},
    {"er", "a", Anchor::kEnd},    {"a", "er", Anchor::kEnd},    {"ine", "yn", Anchor::kEnd},
    {"yn", "ine", Anchor::kEnd},  {"eigh", "ay"}, {"g", "j", Anchor::kStart},
    {"j", "g", Anchor::kStart},
};
// clang-format on

bool AnchorOk(Anchor a, size_t pos, size_t len, size_t from_len) {
  switch (a) {
    case Anchor::kAny:
      return true;
    case Anchor::kStart:
      return pos == 0;
    case Anchor::kEnd:
      return pos + from_len == len;
    case Anchor::kInside:
      return pos > 0 && pos + from_len < len;
  }
  return false;
}

// Applies one rule at one occurrence, chosen uniformly among all (rule, position) matches.
template <size_t N>
bool ApplyRandomRule(const Rule (&rules)[N], std::string* v, Rng& rng) {
  struct Match {
    uint16_t rule, pos;
  };
  Match matches[256];
  int n = 0;
  for (size_t r = 0; r < N && n < 256; ++r) {
    const Rule& rule = rules[r];
    for (size_t pos = v->find(rule.from); pos != std::string::npos && n < 256;
         pos = v->find(rule.from, pos + 1)) {
      if (AnchorOk(rule.anchor, pos, v->size(), rule.from.size())) {
        matches[n++] = {static_cast<uint16_t>(r), static_cast<uint16_t>(pos)};
      }
    }
  }
  if (n == 0) return false;
  const Match m = matches[rng.Below(n)];
  v->replace(m.pos, rules[m.rule].from.size(), rules[m.rule].to);
  return true;
}

}  // namespace

char RandomOther(char c, bool digit, Rng& rng) {
  const int n = digit ? 10 : 26;
  const char base = digit ? '0' : 'a';
  char out;
  do {
    out = static_cast<char>(base + rng.Below(n));
  } while (out == c);
  return out;
}

// FEBRL's mix: 40% a key in the same row, 30% in the same column (letters), else any other.
char KeyboardTypo(char c, bool digit, Rng& rng) {
  const auto u = static_cast<unsigned char>(c);
  const double x = rng.Unit();
  if (u < 128) {
    const std::string& row = Keys().row[u];
    const std::string& col = Keys().col[u];
    if (x < 0.4 && !row.empty()) return row[rng.Below(row.size())];
    if (!digit && x < 0.7 && !col.empty()) return col[rng.Below(col.size())];
  }
  return RandomOther(c, digit, rng);
}

// FEBRL's error position: Gauss(mean (len + offset) / 2 + 1, sd 1), clamped to
// [0, len - 1 + offset]. The Gaussian is a 7-point table, so no floating point decides it.
int ErrorPosition(size_t len, int offset, Rng& rng) {
  static constexpr int kCumulative[] = {6, 67, 309, 691, 933, 994, 1000};  // per mille, -3..+3
  const int max_pos = static_cast<int>(len) - 1 + offset;
  if (len == 0 || max_pos < 0) return -1;
  const int u = static_cast<int>(rng.Below(1000));
  int k = 0;
  while (u >= kCumulative[k]) ++k;
  const int pos = (static_cast<int>(len) + offset) / 2 + 1 + (k - 3);
  return std::clamp(pos, 0, max_pos);
}

bool ApplyOcr(std::string* v, bool digit, Rng& rng) {
  if (!digit) return ApplyRandomRule(kOcrLetterRules, v, rng);
  if (rng.Chance(0.2)) return ApplyRandomRule(kOcrDigitToLetterRules, v, rng);
  return ApplyRandomRule(kOcrDigitRules, v, rng);
}

bool ApplyPhonetic(std::string* v, Rng& rng) { return ApplyRandomRule(kPhoneticRules, v, rng); }

}  // namespace tessera::bench::linkgen
