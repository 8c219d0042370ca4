#include "linkage/phonetic.h"

#include <gtest/gtest.h>

#include "linkage/testutil.h"

#include <string>
#include <vector>

namespace tessera::linkage {

namespace {

TEST(DoubleMetaphoneTest, ReferenceVectors) {
  const std::string file = "double_metaphone.tsv";
  const std::vector<TsvRow> rows = ReadTestdata(file);
  EXPECT_GT(rows.size(), 150u);
  for (const TsvRow& row : rows) {
    SCOPED_TRACE("testdata/" + file + ":" + std::to_string(row.line));
    ASSERT_EQ(row.fields.size(), 3u);
    const PhoneticCodes codes = DoubleMetaphone(row.fields[0]);
    if (row.fields[1] != "-") {
      EXPECT_EQ(codes.primary, row.fields[1]) << row.fields[0];
    }
    if (row.fields[2] != "-") {
      EXPECT_EQ(codes.alternate, row.fields[2]) << row.fields[0];
    }
  }
}

TEST(DoubleMetaphoneTest, MaxLength) {
  EXPECT_EQ(DoubleMetaphone("jumped", 3), (PhoneticCodes{"JMP", "AMP"}));
  EXPECT_EQ(DoubleMetaphone("jumped", 1), (PhoneticCodes{"J", "A"}));
  // 0: no limit.
  EXPECT_EQ(DoubleMetaphone("Thompson", 0), (PhoneticCodes{"TMPSN", "TMPSN"}));
  EXPECT_EQ(DoubleMetaphone("Thompson", 4), (PhoneticCodes{"TMPS", "TMPS"}));
  EXPECT_EQ(DoubleMetaphone("Schwarzenegger", 0).primary.substr(0, 4),
            DoubleMetaphone("Schwarzenegger").primary);
}

TEST(DoubleMetaphoneTest, EmptyAndLetterless) {
  EXPECT_EQ(DoubleMetaphone(""), PhoneticCodes{});
  EXPECT_EQ(DoubleMetaphone("  \t"), PhoneticCodes{});
  EXPECT_EQ(DoubleMetaphone("1234 - ()"), PhoneticCodes{});
  EXPECT_EQ(DoubleMetaphone("Иванов"), PhoneticCodes{});  // other scripts are dropped
  // Invalid UTF-8 is read as Latin-1: ÿ þ -> "YTH".
  EXPECT_EQ(DoubleMetaphone("\xFF\xFE"), (PhoneticCodes{"A0", "AT"}));
}

TEST(DoubleMetaphoneTest, SurroundingNoiseDoesNotMatter) {
  EXPECT_EQ(DoubleMetaphone("  smith  "), DoubleMetaphone("SMITH"));
  EXPECT_EQ(DoubleMetaphone("smith."), DoubleMetaphone("SMITH"));
  EXPECT_EQ(DoubleMetaphone("Smith"), DoubleMetaphone("Smíth"));
}

TEST(DoubleMetaphoneTest, ArbitraryBytesDoNotCrash) {
  std::string s;
  for (int i = 0; i < 256; ++i) {
    s += static_cast<char>(i);
    (void)DoubleMetaphone(s);
    (void)DoubleMetaphone(std::string(1, static_cast<char>(i)) + "ACH");
  }
}

}  // namespace
}  // namespace tessera::linkage
