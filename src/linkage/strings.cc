#include "linkage/strings.h"

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <utility>

namespace tessera::linkage {
namespace {

constexpr size_t kInlineCodePoints = 64;
constexpr size_t kInlineTokens = 16;
constexpr char32_t kReplacement = 0xFFFD;

// n uninitialised elements: inline when n <= N, else one heap block. Not copyable.
template <typename T, size_t N>
class SmallBuffer {
 public:
  explicit SmallBuffer(size_t n) {
    if (n > N) {
      heap_ = std::make_unique_for_overwrite<T[]>(n);
      data_ = heap_.get();
    }
  }
  SmallBuffer(const SmallBuffer&) = delete;
  SmallBuffer& operator=(const SmallBuffer&) = delete;

  T* data() { return data_; }
  T& operator[](size_t i) { return data_[i]; }

 private:
  T inline_[N];
  std::unique_ptr<T[]> heap_;
  T* data_ = inline_;
};

bool IsAscii(std::string_view s) {
  const char* p = s.data();
  size_t n = s.size();
  uint64_t acc = 0;
  for (; n >= 8; p += 8, n -= 8) {
    uint64_t word;
    std::memcpy(&word, p, 8);
    acc |= word;
  }
  for (; n > 0; ++p, --n) acc |= static_cast<unsigned char>(*p);
  return (acc & 0x8080808080808080ULL) == 0;
}

std::span<const unsigned char> AsBytes(std::string_view s) {
  return {reinterpret_cast<const unsigned char*>(s.data()), s.size()};
}

// The code points of a UTF-8 string (invalid bytes as U+FFFD each): inline up to
// kInlineCodePoints, on the heap beyond.
class CodePoints {
 public:
  explicit CodePoints(std::string_view s) {
    char32_t* out = inline_;
    size_t capacity = kInlineCodePoints;
    size_t n = 0;
    for (size_t pos = 0; pos < s.size();) {
      if (n == capacity) {  // s.size() bytes hold at most s.size() code points
        heap_ = std::make_unique_for_overwrite<char32_t[]>(s.size());
        std::copy(out, out + n, heap_.get());
        out = heap_.get();
        capacity = s.size();
      }
      char32_t cp;
      int len = DecodeUtf8(s, pos, &cp);
      if (len == 0) {
        cp = kReplacement;
        len = 1;
      }
      out[n++] = cp;
      pos += static_cast<size_t>(len);
    }
    data_ = out;
    size_ = n;
  }
  CodePoints(const CodePoints&) = delete;
  CodePoints& operator=(const CodePoints&) = delete;

  std::span<const char32_t> span() const { return {data_, size_}; }

 private:
  char32_t inline_[kInlineCodePoints];
  std::unique_ptr<char32_t[]> heap_;
  const char32_t* data_ = nullptr;
  size_t size_ = 0;
};

// Calls fn(span_a, span_b) on bytes when both strings are ASCII, else on decoded code points.
template <typename Fn>
auto WithCodePoints(std::string_view a, std::string_view b, Fn&& fn) {
  if (IsAscii(a) && IsAscii(b)) return fn(AsBytes(a), AsBytes(b));
  const CodePoints ca(a);
  const CodePoints cb(b);
  return fn(ca.span(), cb.span());
}

// Drops the common prefix and suffix. Exact for Levenshtein (a classic result) and, as checked
// exhaustively over {a,b,c}^<=5 and by the randomized test in strings_test.cc, for OSA and
// unrestricted Damerau-Levenshtein too.
template <typename C>
void StripCommonAffix(std::span<const C>& a, std::span<const C>& b) {
  size_t prefix = 0;
  const size_t limit = std::min(a.size(), b.size());
  while (prefix < limit && a[prefix] == b[prefix]) ++prefix;
  a = a.subspan(prefix);
  b = b.subspan(prefix);
  size_t suffix = 0;
  const size_t limit2 = std::min(a.size(), b.size());
  while (suffix < limit2 && a[a.size() - 1 - suffix] == b[b.size() - 1 - suffix]) ++suffix;
  a = a.first(a.size() - suffix);
  b = b.first(b.size() - suffix);
}

// ---- Jaro ----

double JaroScore(size_t la, size_t lb, size_t matches, size_t out_of_order) {
  if (matches == 0) return 0.0;
  const double m = static_cast<double>(matches);
  const double t = static_cast<double>(out_of_order / 2);  // integer halving (strings.h)
  return (m / static_cast<double>(la) + m / static_cast<double>(lb) + (m - t) / m) / 3.0;
}

size_t JaroWindow(size_t la, size_t lb) {
  const size_t half = std::max(la, lb) / 2;
  return half > 0 ? half - 1 : 0;
}

// Bit-parallel Jaro for ASCII strings of 1..64 bytes: bit j of eq[c] is set when b[j] == c, so
// each a[i] takes the lowest unmatched equal b[j] in its window with a few mask operations. Same
// matching and result as the scalar loop below.
double JaroAscii64(std::span<const unsigned char> a, std::span<const unsigned char> b) {
  const size_t la = a.size();
  const size_t lb = b.size();
  const size_t window = JaroWindow(la, lb);
  uint64_t eq[128];  // only the entries of characters of a and b are initialised and read
  for (const unsigned char c : a) eq[c] = 0;
  for (const unsigned char c : b) eq[c] = 0;
  for (size_t j = 0; j < lb; ++j) eq[b[j]] |= uint64_t{1} << j;
  const auto below = [](size_t n) { return n >= 64 ? ~uint64_t{0} : (uint64_t{1} << n) - 1; };
  uint64_t a_matched = 0;
  uint64_t b_matched = 0;
  for (size_t i = 0; i < la; ++i) {
    const size_t lo = i > window ? i - window : 0;
    const size_t hi = std::min(lb, i + window + 1);  // exclusive
    if (lo >= hi) break;                             // later i have no window left either
    const uint64_t candidates = eq[a[i]] & ~b_matched & below(hi) & ~below(lo);
    if (candidates != 0) {
      b_matched |= candidates & (~candidates + 1);  // lowest set bit
      a_matched |= uint64_t{1} << i;
    }
  }
  const size_t matches = static_cast<size_t>(std::popcount(a_matched));
  size_t out_of_order = 0;
  for (uint64_t am = a_matched, bm = b_matched; am != 0; am &= am - 1, bm &= bm - 1) {
    if (a[static_cast<size_t>(std::countr_zero(am))] !=
        b[static_cast<size_t>(std::countr_zero(bm))]) {
      ++out_of_order;
    }
  }
  return JaroScore(la, lb, matches, out_of_order);
}

template <typename C>
double JaroImpl(std::span<const C> a, std::span<const C> b) {
  const size_t la = a.size();
  const size_t lb = b.size();
  if (la == 0 || lb == 0) return la == lb ? 1.0 : 0.0;
  if constexpr (sizeof(C) == 1) {
    if (la <= 64 && lb <= 64) return JaroAscii64(a, b);
  }
  const size_t window = JaroWindow(la, lb);
  SmallBuffer<bool, kInlineCodePoints> a_matched(la);
  SmallBuffer<bool, kInlineCodePoints> b_matched(lb);
  std::fill_n(a_matched.data(), la, false);
  std::fill_n(b_matched.data(), lb, false);
  size_t matches = 0;
  for (size_t i = 0; i < la; ++i) {
    const size_t lo = i > window ? i - window : 0;
    const size_t hi = std::min(lb, i + window + 1);
    for (size_t j = lo; j < hi; ++j) {
      if (!b_matched[j] && a[i] == b[j]) {
        a_matched[i] = true;
        b_matched[j] = true;
        ++matches;
        break;
      }
    }
  }
  size_t out_of_order = 0;  // h in strings.h
  for (size_t i = 0, j = 0; i < la; ++i) {
    if (!a_matched[i]) continue;
    while (!b_matched[j]) ++j;
    if (a[i] != b[j]) ++out_of_order;
    ++j;
  }
  return JaroScore(la, lb, matches, out_of_order);
}

template <typename C>
double JaroWinklerImpl(std::span<const C> a, std::span<const C> b, double prefix_scale) {
  const double jaro = JaroImpl(a, b);
  if (jaro <= 0.7) return jaro;
  const size_t limit = std::min({a.size(), b.size(), size_t{4}});
  size_t prefix = 0;
  while (prefix < limit && a[prefix] == b[prefix]) ++prefix;
  return jaro + static_cast<double>(prefix) * prefix_scale * (1.0 - jaro);
}

// ---- Edit distances ----
// The banded DPs below return min(distance, max + 1). REQUIRES: 0 <= max <= max(|a|, |b|) and
// ||a| - |b|| <= max. Cells outside the band |i - j| <= max have true values > max, so treating
// them as max + 1 and capping every cell at max + 1 yields exactly min(true value, max + 1) for the
// cells inside; every row minimum is a lower bound of the final distance (also with Lowrance-
// Wagner transpositions, which skip rows but pay at least one per skipped row), hence the exit.

template <typename C>
int LevenshteinBanded(std::span<const C> a, std::span<const C> b, int max) {
  const size_t la = a.size();
  const size_t lb = b.size();
  const int cap = max + 1;
  const size_t band = static_cast<size_t>(max);
  SmallBuffer<int, kInlineCodePoints + 1> row(lb + 1);  // row i, columns 0..lb
  for (size_t j = 0; j <= lb; ++j) row[j] = std::min(static_cast<int>(j), cap);
  for (size_t i = 1; i <= la; ++i) {
    const size_t lo = i > band ? i - band : 1;
    const size_t hi = std::min(lb, i + band);
    int diag = row[lo - 1];  // cell (i-1, lo-1)
    int left = cap;          // cell (i, lo-1): column 0 or outside the band
    if (lo == 1) {
      left = std::min(static_cast<int>(i), cap);
      row[0] = left;
    }
    int row_min = lo == 1 ? left : cap;
    const C ca = a[i - 1];
    for (size_t j = lo; j <= hi; ++j) {
      const int up = row[j];  // cell (i-1, j); never written (still cap) when j = i + max
      int v = diag + (ca == b[j - 1] ? 0 : 1);
      v = std::min(v, std::min(up, left) + 1);
      v = std::min(v, cap);
      diag = up;
      row[j] = v;
      left = v;
      row_min = std::min(row_min, v);
    }
    if (row_min >= cap) return cap;
  }
  return std::min(row[lb], cap);
}

// Lowrance-Wagner over a band stored row by row: row i keeps columns lo(i) .. lo(i) + width - 1,
// lo(i) = max(0, i - max). last_row[c] must be 0 for every character c of a and b; it ends up
// holding the last row whose a-character is c. C is a byte or a dense alphabet id.
template <typename C>
int DamerauBanded(std::span<const C> a, std::span<const C> b, int max, int* last_row) {
  const int la = static_cast<int>(a.size());
  const int lb = static_cast<int>(b.size());
  const int cap = max + 1;
  const size_t width = static_cast<size_t>(std::min(lb, 2 * max) + 1);
  SmallBuffer<int, (kInlineCodePoints + 1) * (kInlineCodePoints + 1)> cells(
      static_cast<size_t>(la + 1) * width);
  const auto lo_of = [max](int i) { return i > max ? i - max : 0; };
  // row(i)[j] is cell (i, j) for lo(i) <= j <= min(lb, i + max). The offset stays inside the
  // buffer: i * width >= i >= lo(i).
  const auto row = [&](int i) {
    return cells.data() + static_cast<size_t>(i) * width - static_cast<size_t>(lo_of(i));
  };
  const auto cell = [&](int i, int j) -> int {  // any cell, cap outside the band
    return (j < lo_of(i) || j > i + max) ? cap : row(i)[j];
  };
  int* cur = row(0);
  for (int j = 0; j <= std::min(lb, max); ++j) cur[j] = j;
  for (int i = 1; i <= la; ++i) {
    const int* prev = cur;  // row i - 1: columns lo(i) - 1 (or 0) .. i - 1 + max are inside
    cur = row(i);
    const int lo = lo_of(i);
    const int hi = std::min(lb, i + max);
    int left = cap;  // cell (i, j - 1); outside the band when j - 1 < lo
    if (lo == 0) {   // column 0 is inside the band: i <= max
      cur[0] = i;
      left = i;
    }
    int row_min = left;
    const C ca = a[static_cast<size_t>(i - 1)];
    int last_col = 0;  // last column l < j of this row with b[l - 1] == ca
    for (int j = std::max(lo, 1); j <= hi; ++j) {
      const C cb = b[static_cast<size_t>(j - 1)];
      const int up = j <= i - 1 + max ? prev[j] : cap;
      int v = prev[j - 1] + (ca == cb ? 0 : 1);
      // Transposition: k = last row with a[k-1] == cb, l = last column with b[l-1] == ca.
      const int k = last_row[cb];
      const int l = last_col;
      if (k > 0 && l > 0) v = std::min(v, cell(k - 1, l - 1) + (i - k - 1) + 1 + (j - l - 1));
      if (ca == cb) last_col = j;
      v = std::min({v, left + 1, up + 1, cap});
      cur[j] = v;
      left = v;
      row_min = std::min(row_min, v);
    }
    last_row[ca] = i;
    if (row_min >= cap) return cap;
  }
  return std::min(cur[lb], cap);
}

template <typename C>
int OsaImpl(std::span<const C> a, std::span<const C> b) {
  StripCommonAffix(a, b);
  const size_t la = a.size();
  const size_t lb = b.size();
  if (la == 0 || lb == 0) return static_cast<int>(la + lb);
  SmallBuffer<int, 3 * (kInlineCodePoints + 1)> rows(3 * (lb + 1));
  int* prev2 = rows.data();  // row i-2
  int* prev = prev2 + (lb + 1);
  int* cur = prev + (lb + 1);
  for (size_t j = 0; j <= lb; ++j) prev[j] = static_cast<int>(j);
  for (size_t i = 1; i <= la; ++i) {
    cur[0] = static_cast<int>(i);
    for (size_t j = 1; j <= lb; ++j) {
      int v = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      v = std::min(v, std::min(prev[j], cur[j - 1]) + 1);
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        v = std::min(v, prev2[j - 2] + 1);
      }
      cur[j] = v;
    }
    int* recycled = prev2;
    prev2 = prev;
    prev = cur;
    cur = recycled;
  }
  return prev[lb];
}

// Clamps max to [0, longest] (a distance never exceeds the longer length).
int ClampMax(int max, size_t la, size_t lb) {
  const size_t longest = std::max(la, lb);
  if (max < 0) return 0;
  return static_cast<size_t>(max) > longest ? static_cast<int>(longest) : max;
}

// max < 0: unbounded.
template <typename C>
int Levenshtein(std::span<const C> a, std::span<const C> b, int max) {
  StripCommonAffix(a, b);
  max =
      max < 0 ? static_cast<int>(std::max(a.size(), b.size())) : ClampMax(max, a.size(), b.size());
  const size_t diff = a.size() > b.size() ? a.size() - b.size() : b.size() - a.size();
  if (diff > static_cast<size_t>(max)) return max + 1;
  if (a.empty() || b.empty()) return static_cast<int>(diff);
  return LevenshteinBanded(a, b, max);
}

// max < 0: unbounded.
int DamerauLevenshtein(std::string_view a_text, std::string_view b_text, int max) {
  const auto prepare = [&](auto& a, auto& b) -> int {  // returns -1 to run the DP
    StripCommonAffix(a, b);
    max = max < 0 ? static_cast<int>(std::max(a.size(), b.size()))
                  : ClampMax(max, a.size(), b.size());
    const size_t diff = a.size() > b.size() ? a.size() - b.size() : b.size() - a.size();
    if (diff > static_cast<size_t>(max)) return max + 1;
    if (a.empty() || b.empty()) return static_cast<int>(diff);
    return -1;
  };
  if (IsAscii(a_text) && IsAscii(b_text)) {
    std::span<const unsigned char> a = AsBytes(a_text);
    std::span<const unsigned char> b = AsBytes(b_text);
    if (const int done = prepare(a, b); done >= 0) return done;
    int last_row[128];  // only the entries of characters present are read: zero just those
    for (const unsigned char c : a) last_row[c] = 0;
    for (const unsigned char c : b) last_row[c] = 0;
    return DamerauBanded(a, b, max, last_row);
  }
  const CodePoints ca(a_text);
  const CodePoints cb(b_text);
  std::span<const char32_t> a = ca.span();
  std::span<const char32_t> b = cb.span();
  if (const int done = prepare(a, b); done >= 0) return done;
  // Map code points to dense ids 0..alphabet-1 so that the last-row table stays small.
  const size_t n = a.size() + b.size();
  SmallBuffer<char32_t, 2 * kInlineCodePoints> alphabet(n);
  std::copy(a.begin(), a.end(), alphabet.data());
  std::copy(b.begin(), b.end(), alphabet.data() + a.size());
  std::sort(alphabet.data(), alphabet.data() + n);
  const size_t distinct =
      static_cast<size_t>(std::unique(alphabet.data(), alphabet.data() + n) - alphabet.data());
  SmallBuffer<uint32_t, 2 * kInlineCodePoints> ids(n);
  for (size_t i = 0; i < n; ++i) {
    const char32_t cp = i < a.size() ? a[i] : b[i - a.size()];
    ids[i] = static_cast<uint32_t>(
        std::lower_bound(alphabet.data(), alphabet.data() + distinct, cp) - alphabet.data());
  }
  SmallBuffer<int, 2 * kInlineCodePoints> last_row(distinct);
  std::fill_n(last_row.data(), distinct, 0);
  return DamerauBanded(std::span<const uint32_t>(ids.data(), a.size()),
                       std::span<const uint32_t>(ids.data() + a.size(), b.size()), max,
                       last_row.data());
}

// ---- Tokens ----

// The tokens of s (runs of non-' ' bytes), in order.
class Tokens {
 public:
  explicit Tokens(std::string_view s) : tokens_(CountTokens(s)) {
    size_t n = 0;
    size_t pos = 0;
    while (pos < s.size()) {
      while (pos < s.size() && s[pos] == ' ') ++pos;
      const size_t start = pos;
      while (pos < s.size() && s[pos] != ' ') ++pos;
      if (pos > start) tokens_[n++] = s.substr(start, pos - start);
    }
    size_ = n;
  }

  size_t size() const { return size_; }
  std::string_view operator[](size_t i) { return tokens_[i]; }
  std::string_view* begin() { return tokens_.data(); }
  std::string_view* end() { return tokens_.data() + size_; }

 private:
  static size_t CountTokens(std::string_view s) {
    size_t n = 0;
    for (size_t i = 0; i < s.size(); ++i) {
      if (s[i] != ' ' && (i == 0 || s[i - 1] == ' ')) ++n;
    }
    return n;
  }

  SmallBuffer<std::string_view, kInlineTokens> tokens_;
  size_t size_ = 0;
};

// The tokens sorted byte-wise and joined by single spaces, written to out (which must hold
// s.size() bytes); returns the joined string.
std::string_view SortedTokens(std::string_view s, char* out) {
  Tokens tokens(s);
  std::sort(tokens.begin(), tokens.end());
  size_t n = 0;
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (i > 0) out[n++] = ' ';
    std::memcpy(out + n, tokens[i].data(), tokens[i].size());
    n += tokens[i].size();
  }
  return {out, n};
}

}  // namespace

size_t CodePointLength(std::string_view s) {
  if (IsAscii(s)) return s.size();
  size_t n = 0;
  for (size_t pos = 0; pos < s.size(); ++n) {
    char32_t cp;
    const int len = DecodeUtf8(s, pos, &cp);
    pos += len == 0 ? 1 : static_cast<size_t>(len);
  }
  return n;
}

double JaroSimilarity(std::string_view a, std::string_view b) {
  if (a == b) return 1.0;
  return WithCodePoints(a, b, [](auto sa, auto sb) { return JaroImpl(sa, sb); });
}

double JaroWinklerSimilarity(std::string_view a, std::string_view b, double prefix_scale) {
  if (a == b) return 1.0;
  return WithCodePoints(
      a, b, [prefix_scale](auto sa, auto sb) { return JaroWinklerImpl(sa, sb, prefix_scale); });
}

int LevenshteinDistance(std::string_view a, std::string_view b) {
  if (a == b) return 0;
  return WithCodePoints(a, b, [](auto sa, auto sb) { return Levenshtein(sa, sb, -1); });
}

int LevenshteinBounded(std::string_view a, std::string_view b, int max) {
  if (a == b) return 0;
  max = std::max(max, 0);
  return WithCodePoints(a, b, [max](auto sa, auto sb) { return Levenshtein(sa, sb, max); });
}

int OsaDistance(std::string_view a, std::string_view b) {
  if (a == b) return 0;
  return WithCodePoints(a, b, [](auto sa, auto sb) { return OsaImpl(sa, sb); });
}

int DamerauLevenshteinDistance(std::string_view a, std::string_view b) {
  if (a == b) return 0;
  return DamerauLevenshtein(a, b, -1);
}

int DamerauLevenshteinBounded(std::string_view a, std::string_view b, int max) {
  if (a == b) return 0;
  return DamerauLevenshtein(a, b, std::max(max, 0));
}

double TokenJaccard(std::string_view a, std::string_view b) {
  Tokens ta(a);
  Tokens tb(b);
  if (ta.size() == 0 || tb.size() == 0) return ta.size() == tb.size() ? 1.0 : 0.0;
  const auto first_occurrence = [](Tokens& t, size_t i) {
    for (size_t k = 0; k < i; ++k) {
      if (t[k] == t[i]) return false;
    }
    return true;
  };
  size_t distinct_a = 0;
  size_t distinct_b = 0;
  size_t common = 0;
  for (size_t i = 0; i < ta.size(); ++i) {
    if (!first_occurrence(ta, i)) continue;
    ++distinct_a;
    for (size_t j = 0; j < tb.size(); ++j) {
      if (ta[i] == tb[j]) {
        ++common;
        break;
      }
    }
  }
  for (size_t j = 0; j < tb.size(); ++j) {
    if (first_occurrence(tb, j)) ++distinct_b;
  }
  return static_cast<double>(common) / static_cast<double>(distinct_a + distinct_b - common);
}

double TokenSetSimilarity(std::string_view a, std::string_view b) {
  Tokens ta(a);
  Tokens tb(b);
  if (ta.size() == 0 || tb.size() == 0) return ta.size() == tb.size() ? 1.0 : 0.0;
  const bool swap = ta.size() > tb.size() || (ta.size() == tb.size() && b < a);
  Tokens& short_list = swap ? tb : ta;
  Tokens& long_list = swap ? ta : tb;
  const size_t n = short_list.size();
  const size_t m = long_list.size();

  SmallBuffer<double, kInlineTokens * kInlineTokens> score(n * m);
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = 0; j < m; ++j) {
      score[i * m + j] = JaroWinklerSimilarity(short_list[i], long_list[j]);
    }
  }
  SmallBuffer<bool, kInlineTokens> used_short(n);
  SmallBuffer<bool, kInlineTokens> used_long(m);
  std::fill_n(used_short.data(), n, false);
  std::fill_n(used_long.data(), m, false);
  double sum = 0.0;
  for (size_t round = 0; round < n; ++round) {
    size_t best_i = 0;
    size_t best_j = 0;
    double best = -1.0;
    for (size_t i = 0; i < n; ++i) {
      if (used_short[i]) continue;
      for (size_t j = 0; j < m; ++j) {
        if (!used_long[j] && score[i * m + j] > best) {
          best = score[i * m + j];
          best_i = i;
          best_j = j;
        }
      }
    }
    used_short[best_i] = true;
    used_long[best_j] = true;
    sum += best;
  }
  return sum / static_cast<double>(n);
}

double TokenSortJaroWinkler(std::string_view a, std::string_view b) {
  SmallBuffer<char, 256> a_buffer(a.size());
  SmallBuffer<char, 256> b_buffer(b.size());
  const std::string_view sorted_a = SortedTokens(a, a_buffer.data());
  const std::string_view sorted_b = SortedTokens(b, b_buffer.data());
  return JaroWinklerSimilarity(sorted_a, sorted_b);
}

}  // namespace tessera::linkage
