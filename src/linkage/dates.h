// Calendar dates for record linkage (dates of birth and the like): strict parsing in a declared
// field order, day arithmetic on the proleptic Gregorian calendar, and the typo helpers the date
// comparison levels use. Thread-safety: all functions are pure and reentrant.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tessera::linkage {

// A calendar date. Valid when 1 <= year <= 9999, 1 <= month <= 12 and 1 <= day <= the month's
// length (February has 29 days in Gregorian leap years: divisible by 4, except centuries not
// divisible by 400).
struct Date {
  int year = 0;
  int month = 0;
  int day = 0;

  bool operator==(const Date&) const = default;
};

// The order of the fields in a source's date strings.
enum class DateOrder { kYmd, kDmy, kMdy };

[[nodiscard]] bool IsLeapYear(int year);
// REQUIRES: 1 <= month <= 12.
[[nodiscard]] int DaysInMonth(int year, int month);
[[nodiscard]] bool IsValidDate(const Date& date);

// Parses a date written in `order`, after trimming ASCII whitespace. Accepted shapes:
//   - 8 digits, compact, in `order`: "19870321" (kYmd), "21031987" (kDmy), "03211987" (kMdy);
//   - three digit fields separated by one separator character, the same twice, '-', '/' or '.':
//     the year field has exactly 4 digits, day and month 1 or 2 ("1987-03-21", "1987/3/21",
//     "21/03/1987", "21-3-1987", "21.03.1987", "3/21/1987");
//   - for kDmy and kMdy also the ISO order year-month-day when the FIRST field has 4 digits
//     ("1987-03-21"): a 4-digit first field cannot be a day or a month.
// Anything else (two-digit years, month names, times, other separators, trailing text) and every
// invalid calendar date ("1987-02-29", "19871345", "0000-01-01") gives nullopt.
[[nodiscard]] std::optional<Date> ParseDate(std::string_view s, DateOrder order);

// "YYYY-MM-DD" (zero-padded).
[[nodiscard]] std::string FormatDate(const Date& date);

// The number of days from 1970-01-01 to `date` (negative before), proleptic Gregorian; Howard
// Hinnant's days_from_civil. 1970-01-01 -> 0, 2000-03-01 -> 11017. REQUIRES: IsValidDate(date)
// (the formula is defined for any year, but day/month overflow is not normalised).
[[nodiscard]] int64_t DaysFromCivil(const Date& date);

// |DaysFromCivil(a) - DaysFromCivil(b)|. REQUIRES: both valid.
[[nodiscard]] int DaysBetween(const Date& a, const Date& b);

// a.day == b.month && a.month == b.day && a.year == b.year && a != b: the day and month were
// swapped ("1987-03-04" vs "1987-04-03"). Symmetric.
[[nodiscard]] bool IsDayMonthSwap(const Date& a, const Date& b);

// The digits of a date string in year-month-day order, for the typo fallback on strings that
// ParseDate rejects (compare two of these with DamerauLevenshteinBounded). When s has one of the
// ParseDate shapes, the fields are reordered to YYYYMMDD with day and month zero-padded, without
// calendar validation: "30/02/1987" (kDmy) -> "19870230". Otherwise: DigitsOnly(s).
[[nodiscard]] std::string DateDigitsYmd(std::string_view s, DateOrder order);

}  // namespace tessera::linkage
