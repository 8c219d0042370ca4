#include "linkage/dates.h"

#include <array>
#include <cstdio>

#include "linkage/normalize.h"

namespace tessera::linkage {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

bool AllDigits(std::string_view s) {
  for (const char c : s) {
    if (!IsDigit(c)) return false;
  }
  return !s.empty();
}

int ToInt(std::string_view digits) {  // REQUIRES: AllDigits, at most 4 digits
  int v = 0;
  for (const char c : digits) v = v * 10 + (c - '0');
  return v;
}

std::string_view TrimAscii(std::string_view s) {
  const auto space = [](char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
  };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

// Splits s into year, month, day by the shapes ParseDate accepts, without calendar checks.
bool SplitDate(std::string_view s, DateOrder order, Date* out) {
  s = TrimAscii(s);
  std::array<std::string_view, 3> fields;
  if (s.size() == 8 && AllDigits(s)) {
    if (order == DateOrder::kYmd) {
      fields = {s.substr(0, 4), s.substr(4, 2), s.substr(6, 2)};
    } else {
      fields = {s.substr(0, 2), s.substr(2, 2), s.substr(4, 4)};
    }
  } else {
    size_t first = 0;
    while (first < s.size() && IsDigit(s[first])) ++first;
    if (first == s.size()) return false;
    const char sep = s[first];
    if (sep != '-' && sep != '/' && sep != '.') return false;
    const size_t second = s.find(sep, first + 1);
    if (second == std::string_view::npos) return false;
    fields[0] = s.substr(0, first);
    fields[1] = s.substr(first + 1, second - first - 1);
    fields[2] = s.substr(second + 1);
    for (const std::string_view f : fields) {
      if (!AllDigits(f)) return false;  // also rejects a third separator
    }
  }
  // Field roles: the year is 4 digits, day and month 1-2.
  const bool year_first = order == DateOrder::kYmd || fields[0].size() == 4;
  // Indices of the year, month and day fields.
  std::array<int, 3> role = {0, 1, 2};
  if (!year_first)
    role = order == DateOrder::kDmy ? std::array<int, 3>{2, 1, 0} : std::array<int, 3>{2, 0, 1};
  const std::string_view year = fields[role[0]];
  const std::string_view month = fields[role[1]];
  const std::string_view day = fields[role[2]];
  if (year.size() != 4 || month.size() > 2 || day.size() > 2) return false;
  *out = Date{ToInt(year), ToInt(month), ToInt(day)};
  return true;
}

}  // namespace

bool IsLeapYear(int year) { return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0; }

int DaysInMonth(int year, int month) {
  constexpr int kDays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && IsLeapYear(year) ? 29 : kDays[month - 1];
}

bool IsValidDate(const Date& date) {
  return date.year >= 1 && date.year <= 9999 && date.month >= 1 && date.month <= 12 &&
         date.day >= 1 && date.day <= DaysInMonth(date.year, date.month);
}

std::optional<Date> ParseDate(std::string_view s, DateOrder order) {
  Date date;
  if (!SplitDate(s, order, &date) || !IsValidDate(date)) return std::nullopt;
  return date;
}

std::string FormatDate(const Date& date) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%04d-%02d-%02d", date.year, date.month, date.day);
  return buffer;
}

int64_t DaysFromCivil(const Date& date) {
  // Hinnant: count from 0000-03-01 in 400-year eras (146097 days each) so that the leap day is
  // the last day of the shifted year; then rebase to 1970-01-01.
  const int64_t y = date.year - (date.month <= 2 ? 1 : 0);
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t year_of_era = y - era * 400;                                       // [0, 399]
  const int64_t shifted_month = date.month > 2 ? date.month - 3 : date.month + 9;  // Mar = 0
  const int64_t day_of_year = (153 * shifted_month + 2) / 5 + date.day - 1;        // [0, 365]
  const int64_t day_of_era =
      year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;  // [0, 146096]
  return era * 146097 + day_of_era - 719468;
}

int DaysBetween(const Date& a, const Date& b) {
  const int64_t d = DaysFromCivil(a) - DaysFromCivil(b);
  return static_cast<int>(d < 0 ? -d : d);
}

bool IsDayMonthSwap(const Date& a, const Date& b) {
  return a.year == b.year && a.day == b.month && a.month == b.day && !(a == b);
}

std::string DateDigitsYmd(std::string_view s, DateOrder order) {
  Date date;
  if (!SplitDate(s, order, &date)) return DigitsOnly(s);
  char buffer[16];
  std::snprintf(buffer, sizeof(buffer), "%04d%02d%02d", date.year, date.month, date.day);
  return buffer;
}

}  // namespace tessera::linkage
