#include "core/time.h"

#include <gtest/gtest.h>

namespace tessera {
namespace {

struct Case {
  const char* text;
  std::optional<TimeMs> want;
};

TEST(TimeTest, ParsesIso8601Forms) {
  const Case cases[] = {
      {"1970-01-01T00:00:00Z", 0},
      {"1970-01-01T00:00:00.123Z", 123},
      {"1970-01-01T00:00:00.1Z", 100},
      {"1970-01-01T00:00:00.123456789Z", 123},
      {"1970-01-01T01:00:00+01:00", 0},
      {"1970-01-01T01:00:00+0100", 0},
      {"1969-12-31T23:00:00-01:00", 0},
      {"1970-01-02", 86400000},
      {"1970-01-01 00:00:01", 1000},
      {"2024-02-29T12:00:00Z", 1709208000000},
      {"2023-02-29T12:00:00Z", std::nullopt},
      {"2024-13-01T00:00:00Z", std::nullopt},
      {"2024-01-01T25:00:00Z", std::nullopt},
      {"2024-01-01T00:00:00Zjunk", std::nullopt},
      {"not a date", std::nullopt},
      {"", std::nullopt},
      {"2024-01-01T00:00:00.Z", std::nullopt},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(ParseIso8601(c.text), c.want) << c.text;
  }
}

TEST(TimeTest, FormatRoundTrips) {
  EXPECT_EQ(FormatIso8601(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(FormatIso8601(1709208000123), "2024-02-29T12:00:00.123Z");
  EXPECT_EQ(ParseIso8601(FormatIso8601(1709208000123)), 1709208000123);
  EXPECT_EQ(FormatIso8601(-1000), "1969-12-31T23:59:59.000Z");
  EXPECT_EQ(FormatIso8601(-1), "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(FormatIso8601(253402300799999), "9999-12-31T23:59:59.999Z");
  // Every millisecond offset of a day and a spread of days round-trip through the parser.
  for (int64_t ms = -86400000LL * 800; ms < 86400000LL * 800; ms += 86400000LL * 7 + 3600123) {
    ASSERT_EQ(ParseIso8601(FormatIso8601(ms)), ms) << FormatIso8601(ms);
  }
}

}  // namespace
}  // namespace tessera
