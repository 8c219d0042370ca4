// Tests for strings.h: reference values from files in testdata/ (jaro_winkler.tsv,
// edit_distance.tsv) and a randomized cross-check of every edit distance against plain
// full-matrix DPs.
#include "linkage/strings.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "linkage/testutil.h"

// Counts operator new calls so that a test can check that short inputs never allocate (every heap
// allocation of strings.cc goes through operator new).
namespace {
std::atomic<long> g_new_calls{0};
}  // namespace

// Out of line: GCC would otherwise inline the pair and warn that free() meets operator new.
[[gnu::noinline]] void* operator new(size_t n) {
  g_new_calls.fetch_add(1, std::memory_order_relaxed);
  void* p = std::malloc(n == 0 ? 1 : n);
  if (p == nullptr) std::abort();
  return p;
}
[[gnu::noinline]] void operator delete(void* p) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete(void* p, size_t) noexcept { std::free(p); }

namespace tessera::linkage {


namespace {

std::string Where(const std::string& file, const TsvRow& row) {
  return "testdata/" + file + ":" + std::to_string(row.line);
}

// Half a unit in the last decimal place written: "0.944" -> 0.0005.
double ToleranceOf(const std::string& written) {
  const size_t dot = written.find('.');
  const int decimals = dot == std::string::npos ? 0 : static_cast<int>(written.size() - dot - 1);
  return 0.5 * std::pow(10.0, -decimals) + 1e-12;
}

TEST(JaroWinklerTest, ReferenceValues) {
  const std::string file = "jaro_winkler.tsv";
  const std::vector<TsvRow> rows = ReadTestdata(file);
  EXPECT_GT(rows.size(), 20u);
  for (const TsvRow& row : rows) {
    SCOPED_TRACE(Where(file, row));
    ASSERT_EQ(row.fields.size(), 4u);
    const std::string& a = row.fields[0];
    const std::string& b = row.fields[1];
    const double jaro = std::stod(row.fields[2]);
    const double jw = std::stod(row.fields[3]);
    EXPECT_NEAR(JaroSimilarity(a, b), jaro, ToleranceOf(row.fields[2])) << a << " / " << b;
    EXPECT_NEAR(JaroWinklerSimilarity(a, b), jw, ToleranceOf(row.fields[3])) << a << " / " << b;
    // Symmetric.
    EXPECT_EQ(JaroSimilarity(a, b), JaroSimilarity(b, a)) << a << " / " << b;
    EXPECT_EQ(JaroWinklerSimilarity(a, b), JaroWinklerSimilarity(b, a)) << a << " / " << b;
  }
}

TEST(JaroWinklerTest, PrefixScale) {
  // MARTHA/MARHTA: Jaro 17/18, prefix 3.
  const double jaro = 17.0 / 18.0;
  EXPECT_DOUBLE_EQ(JaroWinklerSimilarity("MARTHA", "MARHTA", 0.0), jaro);
  EXPECT_DOUBLE_EQ(JaroWinklerSimilarity("MARTHA", "MARHTA", 0.25), jaro + 3 * 0.25 * (1 - jaro));
  // The prefix counts code points: "é" is one.
  EXPECT_DOUBLE_EQ(JaroWinklerSimilarity("éabcd", "éabce"),
                   JaroWinklerSimilarity("xabcd", "xabce"));
}

TEST(JaroWinklerTest, CountsCodePointsNotBytes) {
  // "José" has 4 code points and 5 bytes; byte-wise it would not be 3 matches of 4.
  EXPECT_DOUBLE_EQ(JaroSimilarity("José", "Jose"), (0.75 + 0.75 + 1.0) / 3.0);
  EXPECT_DOUBLE_EQ(JaroSimilarity("日本語", "日本"), (2.0 / 3.0 + 1.0 + 1.0) / 3.0);
  // An invalid byte is one U+FFFD: two different invalid bytes compare equal.
  EXPECT_DOUBLE_EQ(JaroSimilarity("a\xFFz", "a\xFEz"), 1.0);
  EXPECT_EQ(CodePointLength("a\xFFz"), 3u);
  EXPECT_EQ(CodePointLength("\xC3("), 2u);             // truncated 2-byte sequence
  EXPECT_EQ(CodePointLength("\xE0\x80\x80"), 3u);      // overlong
  EXPECT_EQ(CodePointLength("\xED\xA0\x80"), 3u);      // surrogate
  EXPECT_EQ(CodePointLength("\xF4\x90\x80\x80"), 4u);  // above U+10FFFF
  EXPECT_EQ(CodePointLength("€𝄞é"), 3u);
}

TEST(EditDistanceTest, ReferenceValues) {
  const std::string file = "edit_distance.tsv";
  const std::vector<TsvRow> rows = ReadTestdata(file);
  EXPECT_GT(rows.size(), 20u);
  for (const TsvRow& row : rows) {
    SCOPED_TRACE(Where(file, row));
    ASSERT_EQ(row.fields.size(), 5u);
    const std::string& a = row.fields[0];
    const std::string& b = row.fields[1];
    const int lev = std::stoi(row.fields[2]);
    const int osa = std::stoi(row.fields[3]);
    const int dl = std::stoi(row.fields[4]);
    EXPECT_EQ(LevenshteinDistance(a, b), lev);
    EXPECT_EQ(LevenshteinDistance(b, a), lev);
    EXPECT_EQ(OsaDistance(a, b), osa);
    EXPECT_EQ(OsaDistance(b, a), osa);
    EXPECT_EQ(DamerauLevenshteinDistance(a, b), dl);
    EXPECT_EQ(DamerauLevenshteinDistance(b, a), dl);
    for (int max = -1; max <= lev + 1; ++max) {
      EXPECT_EQ(LevenshteinBounded(a, b, max), std::min(lev, std::max(max, 0) + 1)) << max;
    }
    for (int max = -1; max <= dl + 1; ++max) {
      EXPECT_EQ(DamerauLevenshteinBounded(a, b, max), std::min(dl, std::max(max, 0) + 1)) << max;
    }
  }
}

TEST(EditDistanceTest, BoundedHugeMax) {
  EXPECT_EQ(LevenshteinBounded("abc", "xyz", 1 << 30), 3);
  EXPECT_EQ(DamerauLevenshteinBounded("abc", "xyz", 2147483647), 3);
  EXPECT_EQ(DamerauLevenshteinBounded("abc", "abcdefgh", 2), 3);  // length difference alone
}

// ---- Randomized cross-check against textbook DPs on code point vectors ----

using CodePointString = std::u32string;

std::string ToUtf8(const CodePointString& s) {
  std::string out;
  for (const char32_t cp : s) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }
  return out;
}

using Matrix = std::vector<std::vector<int>>;

Matrix BaseMatrix(size_t la, size_t lb) {
  Matrix d(la + 1, std::vector<int>(lb + 1));
  for (size_t i = 0; i <= la; ++i) d[i][0] = static_cast<int>(i);
  for (size_t j = 0; j <= lb; ++j) d[0][j] = static_cast<int>(j);
  return d;
}

int ReferenceLevenshtein(const CodePointString& a, const CodePointString& b) {
  Matrix d = BaseMatrix(a.size(), b.size());
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      d[i][j] = std::min(
          {d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    }
  }
  return d[a.size()][b.size()];
}

int ReferenceOsa(const CodePointString& a, const CodePointString& b) {
  Matrix d = BaseMatrix(a.size(), b.size());
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      d[i][j] = std::min(
          {d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

// Lowrance-Wagner in the textbook form with the extra sentinel row and column.
int ReferenceDamerau(const CodePointString& a, const CodePointString& b) {
  const size_t la = a.size();
  const size_t lb = b.size();
  const int inf = static_cast<int>(la + lb);
  Matrix d(la + 2, std::vector<int>(lb + 2, 0));
  d[0][0] = inf;
  for (size_t i = 0; i <= la; ++i) {
    d[i + 1][0] = inf;
    d[i + 1][1] = static_cast<int>(i);
  }
  for (size_t j = 0; j <= lb; ++j) {
    d[0][j + 1] = inf;
    d[1][j + 1] = static_cast<int>(j);
  }
  std::vector<std::pair<char32_t, size_t>> last_row;  // character -> last row, linear lookup
  const auto row_of = [&](char32_t c) -> size_t {
    for (const auto& [ch, row] : last_row) {
      if (ch == c) return row;
    }
    return 0;
  };
  for (size_t i = 1; i <= la; ++i) {
    size_t db = 0;
    for (size_t j = 1; j <= lb; ++j) {
      const size_t k = row_of(b[j - 1]);
      const size_t l = db;
      int cost = 1;
      if (a[i - 1] == b[j - 1]) {
        cost = 0;
        db = j;
      }
      d[i + 1][j + 1] = std::min({d[i][j] + cost, d[i + 1][j] + 1, d[i][j + 1] + 1,
                                  d[k][l] + static_cast<int>((i - k - 1) + 1 + (j - l - 1))});
    }
    bool found = false;
    for (auto& [ch, row] : last_row) {
      if (ch == a[i - 1]) {
        row = i;
        found = true;
      }
    }
    if (!found) last_row.emplace_back(a[i - 1], i);
  }
  return d[la + 1][lb + 1];
}

// Jaro exactly as strings.h defines it, on code points.
double ReferenceJaro(const CodePointString& a, const CodePointString& b) {
  const size_t la = a.size();
  const size_t lb = b.size();
  if (la == 0 || lb == 0) return la == lb ? 1.0 : 0.0;
  const size_t half = std::max(la, lb) / 2;
  const size_t window = half > 0 ? half - 1 : 0;
  std::vector<bool> a_matched(la), b_matched(lb);
  size_t m = 0;
  for (size_t i = 0; i < la; ++i) {
    for (size_t j = i > window ? i - window : 0; j < std::min(lb, i + window + 1); ++j) {
      if (!b_matched[j] && a[i] == b[j]) {
        a_matched[i] = b_matched[j] = true;
        ++m;
        break;
      }
    }
  }
  if (m == 0) return 0.0;
  std::u32string a_seq, b_seq;
  for (size_t i = 0; i < la; ++i) {
    if (a_matched[i]) a_seq += a[i];
  }
  for (size_t j = 0; j < lb; ++j) {
    if (b_matched[j]) b_seq += b[j];
  }
  size_t h = 0;
  for (size_t k = 0; k < m; ++k) h += a_seq[k] != b_seq[k] ? 1 : 0;
  const double md = static_cast<double>(m);
  const double t = static_cast<double>(h / 2);
  return (md / static_cast<double>(la) + md / static_cast<double>(lb) + (md - t) / md) / 3.0;
}

uint64_t TestSeed() {
  if (const char* s = std::getenv("TESSERA_TEST_SEED"); s != nullptr && *s != '\0') {
    return std::strtoull(s, nullptr, 10);
  }
  return std::random_device{}();
}

TEST(StringsRandomTest, AgainstReferenceImplementations) {
  const uint64_t seed = TestSeed();
  std::cout << "StringsRandomTest seed=" << seed << " (rerun with TESSERA_TEST_SEED=" << seed
            << ")\n";
  SCOPED_TRACE("seed=" + std::to_string(seed));
  std::mt19937_64 rng(seed);
  // Small alphabets make transpositions and repeats frequent; in `mixed`, two are non-ASCII.
  const std::vector<char32_t> ascii = {U'a', U'b', U'c', U'd', U'e'};
  const std::vector<char32_t> mixed = {U'a', U'b', U'\u00E9', U'\u65E5'};
  for (int iteration = 0; iteration < 6000; ++iteration) {
    const std::vector<char32_t>& alphabet = iteration % 2 == 0 ? ascii : mixed;
    // Mostly short strings; some around the 64 code point stack buffers and bit-parallel limit.
    const size_t max_len = iteration % 50 == 0 ? 90 : iteration % 10 == 1 ? 68 : 9;
    const auto random_string = [&] {
      CodePointString s(rng() % (max_len + 1), U'a');
      for (char32_t& c : s) c = alphabet[rng() % alphabet.size()];
      return s;
    };
    const CodePointString a = random_string();
    const CodePointString b = random_string();
    const std::string ua = ToUtf8(a);
    const std::string ub = ToUtf8(b);
    const int lev = ReferenceLevenshtein(a, b);
    const int osa = ReferenceOsa(a, b);
    const int dl = ReferenceDamerau(a, b);
    ASSERT_EQ(LevenshteinDistance(ua, ub), lev) << ua << " / " << ub;
    ASSERT_EQ(OsaDistance(ua, ub), osa) << ua << " / " << ub;
    ASSERT_EQ(DamerauLevenshteinDistance(ua, ub), dl) << ua << " / " << ub;
    for (int max = 0; max <= 5; ++max) {
      ASSERT_EQ(LevenshteinBounded(ua, ub, max), std::min(lev, max + 1)) << ua << " / " << ub;
      ASSERT_EQ(DamerauLevenshteinBounded(ua, ub, max), std::min(dl, max + 1))
          << ua << " / " << ub << " max=" << max;
    }
    ASSERT_DOUBLE_EQ(JaroSimilarity(ua, ub), ReferenceJaro(a, b)) << ua << " / " << ub;
    ASSERT_EQ(JaroSimilarity(ua, ub), JaroSimilarity(ub, ua)) << ua << " / " << ub;
    ASSERT_EQ(JaroWinklerSimilarity(ua, ub), JaroWinklerSimilarity(ub, ua)) << ua << " / " << ub;
  }
}

TEST(StringsAllocationTest, InputsUpTo64CodePointsDoNotAllocate) {
  std::string cyrillic;  // 64 code points, 128 bytes
  for (int i = 0; i < 64; ++i) cyrillic += i % 2 == 0 ? "ж" : "ю";
  std::string cyrillic2 = cyrillic;
  cyrillic2.replace(0, 2, "я");
  const std::string ascii(64, 'a');
  const std::string ascii2 = "b" + std::string(62, 'a') + "c";
  const std::string name_a = "jonathan smyth";
  const std::string name_b = "smith johnathan";
  const std::vector<std::pair<const std::string*, const std::string*>> pairs = {
      {&cyrillic, &cyrillic2}, {&ascii, &ascii2}, {&name_a, &name_b}, {&ascii, &cyrillic}};
  const long before = g_new_calls.load();
  double sink = 0;
  for (const auto& [a, b] : pairs) {
    sink += JaroSimilarity(*a, *b) + JaroWinklerSimilarity(*a, *b) + LevenshteinDistance(*a, *b) +
            OsaDistance(*a, *b) + DamerauLevenshteinDistance(*a, *b) +
            LevenshteinBounded(*a, *b, 3) + DamerauLevenshteinBounded(*a, *b, 3) +
            TokenJaccard(*a, *b) + TokenSetSimilarity(*a, *b) + TokenSortJaroWinkler(*a, *b) +
            static_cast<double>(CodePointLength(*a));
  }
  EXPECT_EQ(g_new_calls.load() - before, 0) << sink;
  // The counter works: longer inputs do use the heap.
  const std::string long_a = "x" + std::string(100, 'a');
  const std::string long_b = "y" + std::string(100, 'b');
  EXPECT_EQ(LevenshteinDistance(long_a, long_b), 101);
  EXPECT_GT(g_new_calls.load() - before, 0);
}

// ---- Tokens ----

TEST(TokenTest, Jaccard) {
  EXPECT_DOUBLE_EQ(TokenJaccard("", ""), 1.0);
  EXPECT_DOUBLE_EQ(TokenJaccard("  ", ""), 1.0);
  EXPECT_DOUBLE_EQ(TokenJaccard("a", ""), 0.0);
  EXPECT_DOUBLE_EQ(TokenJaccard("john smith", "smith john"), 1.0);
  EXPECT_DOUBLE_EQ(TokenJaccard("john smith", "john paul smith"), 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(TokenJaccard("a a b", "a b b"), 1.0);  // sets
  EXPECT_DOUBLE_EQ(TokenJaccard("a b", "c d"), 0.0);
  EXPECT_DOUBLE_EQ(TokenJaccard("  a   b ", "b c"), 1.0 / 3.0);
}

TEST(TokenTest, TokenSetSimilarity) {
  EXPECT_DOUBLE_EQ(TokenSetSimilarity("", ""), 1.0);
  EXPECT_DOUBLE_EQ(TokenSetSimilarity("", "a"), 0.0);
  EXPECT_DOUBLE_EQ(TokenSetSimilarity("john smith", "smith john"), 1.0);
  // Extra words in the longer list are not penalised.
  EXPECT_DOUBLE_EQ(TokenSetSimilarity("john smith", "john paul smith"), 1.0);
  // Typos: the mean of the per-token Jaro-Winkler of the best distinct pairs.
  EXPECT_DOUBLE_EQ(
      TokenSetSimilarity("jon smith", "smyth john"),
      (JaroWinklerSimilarity("jon", "john") + JaroWinklerSimilarity("smith", "smyth")) / 2.0);
  // One-to-one: "smith" of the other list is used once.
  EXPECT_DOUBLE_EQ(TokenSetSimilarity("smith smith", "smith jones"),
                   (1.0 + JaroWinklerSimilarity("smith", "jones")) / 2.0);
  // Symmetric, also with ties.
  for (const auto& [a, b] :
       std::vector<std::pair<std::string, std::string>>{{"ab ba", "ab ba"},
                                                        {"aa ab", "ab aa"},
                                                        {"mary ann", "ann marie"},
                                                        {"x y z", "z y"},
                                                        {"jon smith", "smyth john"}}) {
    EXPECT_EQ(TokenSetSimilarity(a, b), TokenSetSimilarity(b, a)) << a << " / " << b;
  }
}

TEST(TokenTest, TokenSortJaroWinkler) {
  EXPECT_DOUBLE_EQ(TokenSortJaroWinkler("", ""), 1.0);
  EXPECT_DOUBLE_EQ(TokenSortJaroWinkler("", "a"), 0.0);
  EXPECT_DOUBLE_EQ(TokenSortJaroWinkler("smith  john", "john smith"), 1.0);
  EXPECT_DOUBLE_EQ(TokenSortJaroWinkler("smith john", "john paul smith"),
                   JaroWinklerSimilarity("john smith", "john paul smith"));
  EXPECT_DOUBLE_EQ(TokenSortJaroWinkler("zoe nunez", "nunez zoe"), 1.0);
}

TEST(TokenTest, ManyTokensUseTheHeap) {
  std::string a;
  std::string b;
  for (int i = 0; i < 40; ++i) {
    a += "tok" + std::to_string(i) + " ";
    b += "tok" + std::to_string(39 - i) + " ";
  }
  EXPECT_DOUBLE_EQ(TokenJaccard(a, b), 1.0);
  EXPECT_DOUBLE_EQ(TokenSetSimilarity(a, b), 1.0);
  EXPECT_DOUBLE_EQ(TokenSortJaroWinkler(a, b), 1.0);
  EXPECT_DOUBLE_EQ(TokenSetSimilarity(a + "extra", b), 1.0);
  EXPECT_LT(TokenJaccard(a + "extra", b), 1.0);
}

}  // namespace
}  // namespace tessera::linkage
