#include "linkage/dates.h"

#include <date/date.h>
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

namespace tessera::linkage {
namespace {

struct ParseCase {
  const char* text;
  DateOrder order;
  std::optional<Date> want;
};

TEST(DatesTest, ParsesAcceptedShapes) {
  const Date d{1987, 3, 21};
  const ParseCase cases[] = {
      {"19870321", DateOrder::kYmd, d},
      {"1987-03-21", DateOrder::kYmd, d},
      {"1987/3/21", DateOrder::kYmd, d},
      {"1987.03.21", DateOrder::kYmd, d},
      {"  1987-03-21\t", DateOrder::kYmd, d},
      {"21/03/1987", DateOrder::kDmy, d},
      {"21-3-1987", DateOrder::kDmy, d},
      {"21.03.1987", DateOrder::kDmy, d},
      {"21031987", DateOrder::kDmy, d},
      {"3/21/1987", DateOrder::kMdy, d},
      {"03-21-1987", DateOrder::kMdy, d},
      {"03211987", DateOrder::kMdy, d},
      // A 4-digit first field is read year-month-day in every order.
      {"1987-03-21", DateOrder::kDmy, d},
      {"1987-03-21", DateOrder::kMdy, d},
      {"1987/3/21", DateOrder::kDmy, d},
      // Day-first vs month-first is the caller's declaration.
      {"04/03/1987", DateOrder::kDmy, Date{1987, 3, 4}},
      {"04/03/1987", DateOrder::kMdy, Date{1987, 4, 3}},
  };
  for (const ParseCase& c : cases) {
    EXPECT_EQ(ParseDate(c.text, c.order), c.want)
        << c.text << " order " << static_cast<int>(c.order);
  }
}

TEST(DatesTest, RejectsInvalid) {
  const ParseCase cases[] = {
      {"1987-02-30", DateOrder::kYmd, std::nullopt},  // Feb 30
      {"1987-02-29", DateOrder::kYmd, std::nullopt},  // not a leap year
      {"1900-02-29", DateOrder::kYmd, std::nullopt},  // century, not divisible by 400
      {"19871345", DateOrder::kYmd, std::nullopt},    // month 13
      {"1987-04-31", DateOrder::kYmd, std::nullopt},  // April has 30 days
      {"1987-00-10", DateOrder::kYmd, std::nullopt},
      {"1987-01-00", DateOrder::kYmd, std::nullopt},
      {"0000-01-01", DateOrder::kYmd, std::nullopt},  // year 0
      {"21/03/1987", DateOrder::kYmd, std::nullopt},  // wrong order
      {"19870321", DateOrder::kDmy, std::nullopt},    // compact form is read in its own order
      {"21/03/87", DateOrder::kDmy, std::nullopt},    // two-digit year
      {"1987-03/21", DateOrder::kYmd, std::nullopt},  // mixed separators
      {"1987-03-21T00:00:00", DateOrder::kYmd, std::nullopt},
      {"1987-03-21-01", DateOrder::kYmd, std::nullopt},
      {"1987 03 21", DateOrder::kYmd, std::nullopt},
      {"1987--21", DateOrder::kYmd, std::nullopt},
      {"1987-003-21", DateOrder::kYmd, std::nullopt},
      {"198703210", DateOrder::kYmd, std::nullopt},
      {"21 March 1987", DateOrder::kDmy, std::nullopt},
      {"", DateOrder::kYmd, std::nullopt},
      {"-", DateOrder::kYmd, std::nullopt},
      {"--", DateOrder::kYmd, std::nullopt},
  };
  for (const ParseCase& c : cases) {
    EXPECT_EQ(ParseDate(c.text, c.order), c.want) << c.text;
  }
}

TEST(DatesTest, LeapYears) {
  EXPECT_TRUE(IsLeapYear(2000));
  EXPECT_TRUE(IsLeapYear(1988));
  EXPECT_FALSE(IsLeapYear(1900));
  EXPECT_FALSE(IsLeapYear(1987));
  EXPECT_EQ(ParseDate("2000-02-29", DateOrder::kYmd), (Date{2000, 2, 29}));
  EXPECT_EQ(ParseDate("29/02/1988", DateOrder::kDmy), (Date{1988, 2, 29}));
  EXPECT_EQ(DaysInMonth(2024, 2), 29);
  EXPECT_EQ(DaysInMonth(2023, 2), 28);
  EXPECT_EQ(DaysInMonth(2023, 12), 31);
}

TEST(DatesTest, DaysFromCivilMatchesDateLibrary) {
  EXPECT_EQ(DaysFromCivil({1970, 1, 1}), 0);
  EXPECT_EQ(DaysFromCivil({2000, 3, 1}), 11017);
  EXPECT_EQ(DaysFromCivil({1969, 12, 31}), -1);
  // Every day from 0001-01-01 to 9999-12-31 in steps of 7 (all months, leap days, era edges).
  const date::sys_days first = date::year{1} / date::January / 1;
  const date::sys_days last = date::year{9999} / date::December / 31;
  for (date::sys_days day = first; day <= last; day += date::days{7}) {
    const date::year_month_day ymd{day};
    const Date d{static_cast<int>(ymd.year()), static_cast<int>(static_cast<unsigned>(ymd.month())),
                 static_cast<int>(static_cast<unsigned>(ymd.day()))};
    ASSERT_TRUE(IsValidDate(d)) << FormatDate(d);
    ASSERT_EQ(DaysFromCivil(d), day.time_since_epoch().count()) << FormatDate(d);
  }
}

TEST(DatesTest, DaysBetweenAndSwaps) {
  const Date a{1987, 3, 4};
  const Date b{1987, 4, 3};
  EXPECT_EQ(DaysBetween(a, b), 30);
  EXPECT_EQ(DaysBetween(b, a), 30);
  EXPECT_EQ(DaysBetween(a, a), 0);
  EXPECT_EQ(DaysBetween({2000, 2, 28}, {2000, 3, 1}), 2);
  EXPECT_EQ(DaysBetween({1999, 2, 28}, {1999, 3, 1}), 1);
  EXPECT_EQ(DaysBetween({1, 1, 1}, {9999, 12, 31}), 3652058);

  EXPECT_TRUE(IsDayMonthSwap(a, b));
  EXPECT_TRUE(IsDayMonthSwap(b, a));
  EXPECT_FALSE(IsDayMonthSwap(a, a));
  EXPECT_FALSE(IsDayMonthSwap({1987, 5, 5}, {1987, 5, 5}));  // identical
  EXPECT_FALSE(IsDayMonthSwap({1987, 3, 4}, {1988, 4, 3}));  // other year
  EXPECT_FALSE(IsDayMonthSwap({1987, 3, 4}, {1987, 4, 4}));
}

TEST(DatesTest, FormatAndDigits) {
  EXPECT_EQ(FormatDate({1987, 3, 21}), "1987-03-21");
  EXPECT_EQ(FormatDate({1, 1, 1}), "0001-01-01");
  EXPECT_EQ(DateDigitsYmd("21/03/1987", DateOrder::kDmy), "19870321");
  EXPECT_EQ(DateDigitsYmd("3/21/1987", DateOrder::kMdy), "19870321");
  EXPECT_EQ(DateDigitsYmd("1987-3-21", DateOrder::kYmd), "19870321");
  // Shaped but invalid: reordered without validation.
  EXPECT_EQ(DateDigitsYmd("30/02/1987", DateOrder::kDmy), "19870230");
  EXPECT_EQ(DateDigitsYmd("19871345", DateOrder::kYmd), "19871345");
  // Not a date shape: the digits as they come.
  EXPECT_EQ(DateDigitsYmd("21 March 1987", DateOrder::kDmy), "211987");
  EXPECT_EQ(DateDigitsYmd("", DateOrder::kDmy), "");
}

}  // namespace
}  // namespace tessera::linkage
