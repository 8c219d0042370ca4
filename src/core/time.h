// Time in Tessera: milliseconds since the Unix epoch, UTC, as int64. ISO-8601 in and out.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tessera {

using TimeMs = int64_t;

// Parses ISO-8601 / RFC 3339 date-times: "2024-05-01T10:00:00Z", fractional seconds of any
// length, "+02:00"/"+0200" offsets, a space instead of 'T', or a bare date "2024-05-01".
std::optional<TimeMs> ParseIso8601(std::string_view text);

// "2024-05-01T10:00:00.123Z".
std::string FormatIso8601(TimeMs ms);

// A source of the current time; tests substitute their own.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimeMs NowMs() const = 0;
  static const Clock& System();
};

}  // namespace tessera
