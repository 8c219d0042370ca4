#include "linkage/normalize.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "linkage/strings.h"
#include "linkage/testutil.h"

namespace tessera::linkage {

namespace {

bool IsValidUtf8(std::string_view s) {
  for (size_t pos = 0; pos < s.size();) {
    char32_t cp;
    const int len = DecodeUtf8(s, pos, &cp);
    if (len == 0) return false;
    pos += static_cast<size_t>(len);
  }
  return true;
}

TEST(NormalizeTest, Cases) {
  const std::string file = "normalize.tsv";
  const std::vector<TsvRow> rows = ReadTestdata(file);
  EXPECT_GT(rows.size(), 50u);
  for (const TsvRow& row : rows) {
    SCOPED_TRACE("testdata/" + file + ":" + std::to_string(row.line));
    ASSERT_GE(row.fields.size(), 2u);
    ASSERT_LE(row.fields.size(), 3u);
    const std::string& function = row.fields[0];
    const std::string& input = row.fields[1];
    const std::string expected = row.fields.size() == 3 ? row.fields[2] : "";
    std::string got;
    if (function == "text") {
      got = NormalizeText(input);
    } else if (function == "name") {
      got = NormalizeName(input);
    } else if (function == "address") {
      got = NormalizeAddress(input);
    } else if (function == "postcode") {
      got = NormalizePostcode(input);
    } else if (function == "digits") {
      got = DigitsOnly(input);
    } else {
      FAIL() << "unknown function " << function;
    }
    EXPECT_EQ(got, expected) << function << "(" << input << ")";
    EXPECT_TRUE(IsValidUtf8(got));
    if (function == "text") {
      EXPECT_EQ(NormalizeText(got), got) << "not idempotent: " << input;
    }
  }
}

// The ASCII fast path and the Unicode path agree on every ASCII byte.
TEST(NormalizeTest, AsciiFastPathMatchesUnicodePath) {
  for (int c = 0; c < 128; ++c) {
    const std::string middle(1, static_cast<char>(c));
    const std::string fast = NormalizeText("x" + middle + "y e");  // pure ASCII
    const std::string slow = NormalizeText("x" + middle + "y é");  // forces the Unicode path
    EXPECT_EQ(fast, slow) << "byte " << c;
  }
}

TEST(NormalizeTest, EveryByteSequenceGivesValidUtf8) {
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  for (size_t start = 0; start < all.size(); start += 7) {
    const std::string s = all.substr(start) + all.substr(0, start);
    for (const std::string& out : {NormalizeText(s), NormalizeName(s), NormalizeAddress(s),
                                   NormalizePostcode(s), DigitsOnly(s)}) {
      EXPECT_TRUE(IsValidUtf8(out)) << start;
      EXPECT_EQ(out.find("  "), std::string::npos);
    }
  }
}

TEST(NormalizeTest, DecodeUtf8Lenient) {
  const std::string s = "a\xC3\xA9\x92\xFF\xE2\x82(\x81";
  size_t pos = 0;
  std::vector<char32_t> got;
  while (pos < s.size()) got.push_back(DecodeUtf8Lenient(s, &pos));
  EXPECT_EQ(got, (std::vector<char32_t>{U'a', 0xE9, 0x2019, 0xFF, 0xFFFD, U'(', 0xFFFD}));
}

TEST(NormalizeTest, Apostrophes) {
  for (const char32_t cp :
       {0x27u, 0x60u, 0xB4u, 0x2BBu, 0x2BCu, 0x2018u, 0x2019u, 0x201Bu, 0x2032u, 0xFF07u}) {
    EXPECT_TRUE(IsApostrophe(cp)) << std::hex << static_cast<uint32_t>(cp);
  }
  EXPECT_FALSE(IsApostrophe(U'"'));
  EXPECT_FALSE(IsApostrophe(U'a'));
}

}  // namespace
}  // namespace tessera::linkage
