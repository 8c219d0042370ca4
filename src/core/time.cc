#include "core/time.h"

#include <date/date.h>

#include <charconv>
#include <chrono>

namespace tessera {
namespace {

bool ReadInt(std::string_view s, size_t pos, size_t len, int* out) {
  if (pos + len > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + len; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

class SystemClock final : public Clock {
 public:
  TimeMs NowMs() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

}  // namespace

std::optional<TimeMs> ParseIso8601(std::string_view s) {
  int y, mo, d;
  if (!ReadInt(s, 0, 4, &y) || s.size() < 10 || s[4] != '-' || !ReadInt(s, 5, 2, &mo) ||
      s[7] != '-' || !ReadInt(s, 8, 2, &d)) {
    return std::nullopt;
  }
  date::year_month_day ymd{date::year{y}, date::month{static_cast<unsigned>(mo)},
                           date::day{static_cast<unsigned>(d)}};
  if (!ymd.ok()) return std::nullopt;
  int64_t days = date::sys_days(ymd).time_since_epoch().count();
  int64_t ms = days * 86400000LL;
  if (s.size() == 10) return ms;
  if (s[10] != 'T' && s[10] != 't' && s[10] != ' ') return std::nullopt;
  int h, mi, sec = 0;
  if (!ReadInt(s, 11, 2, &h) || s.size() < 16 || s[13] != ':' || !ReadInt(s, 14, 2, &mi)) {
    return std::nullopt;
  }
  size_t pos = 16;
  if (pos < s.size() && s[pos] == ':') {
    if (!ReadInt(s, 17, 2, &sec)) return std::nullopt;
    pos = 19;
  }
  if (h > 23 || mi > 59 || sec > 60) return std::nullopt;
  int64_t frac_ms = 0;
  if (pos < s.size() && (s[pos] == '.' || s[pos] == ',')) {
    ++pos;
    size_t start = pos;
    int digits = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (digits < 3) frac_ms = frac_ms * 10 + (s[pos] - '0');
      ++digits;
      ++pos;
    }
    if (pos == start) return std::nullopt;
    for (; digits < 3; ++digits) frac_ms *= 10;
  }
  int64_t offset_min = 0;
  if (pos == s.size()) {
    // No zone designator: read as UTC, as Segment does.
  } else if (s[pos] == 'Z' || s[pos] == 'z') {
    ++pos;
  } else if (s[pos] == '+' || s[pos] == '-') {
    int sign = s[pos] == '-' ? -1 : 1;
    int oh, om = 0;
    if (!ReadInt(s, pos + 1, 2, &oh)) return std::nullopt;
    pos += 3;
    if (pos < s.size() && s[pos] == ':') ++pos;
    if (pos < s.size()) {
      if (!ReadInt(s, pos, 2, &om)) return std::nullopt;
      pos += 2;
    }
    if (oh > 23 || om > 59) return std::nullopt;
    offset_min = sign * (oh * 60 + om);
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;
  ms += ((h * 60LL + mi) * 60LL + sec) * 1000LL + frac_ms - offset_min * 60000LL;
  return ms;
}

std::string FormatIso8601(TimeMs ms) {
  // By hand rather than date::format (an ostringstream per call): API responses format many.
  int64_t days = ms >= 0 ? ms / 86400000 : -((-ms + 86399999) / 86400000);
  int64_t in_day = ms - days * 86400000;
  date::year_month_day ymd{date::sys_days{date::days{days}}};
  int year = static_cast<int>(ymd.year());
  if (year < 0 || year > 9999) {
    return date::format("%FT%TZ", std::chrono::sys_time<std::chrono::milliseconds>{
                                      std::chrono::milliseconds{ms}});
  }
  char buf[25];
  auto put = [&buf](int pos, int64_t value, int width) {
    for (int i = width - 1; i >= 0; --i, value /= 10) buf[pos + i] = static_cast<char>('0' + value % 10);
  };
  put(0, year, 4);
  buf[4] = '-';
  put(5, static_cast<unsigned>(ymd.month()), 2);
  buf[7] = '-';
  put(8, static_cast<unsigned>(ymd.day()), 2);
  buf[10] = 'T';
  put(11, in_day / 3600000, 2);
  buf[13] = ':';
  put(14, in_day / 60000 % 60, 2);
  buf[16] = ':';
  put(17, in_day / 1000 % 60, 2);
  buf[19] = '.';
  put(20, in_day % 1000, 3);
  buf[23] = 'Z';
  return std::string(buf, 24);
}

const Clock& Clock::System() {
  static const SystemClock clock;
  return clock;
}

}  // namespace tessera
