// Helpers shared by the text and JSON readers and writers and by Validate(). Not part of the API.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "audience/condition.h"

namespace tessera::audience::internal {

// What a test compares: anything (traits, properties, first/last/most frequent values), numbers
// (counts, sums, identifier counts) or dates (first_time/last_time).
enum class ValueKind { kAny, kNumber, kTime };
ValueKind ResultKind(AggregateFn fn);

// Why a test is invalid. value_index >= 0: that value; kOpIndex: the op does not apply here
// (e.g. `contains` on a count); kDurationIndex: the duration; kShapeIndex: wrong number of
// values or a missing/extra duration (the text grammar cannot produce those).
struct TestProblem {
  static constexpr int kOpIndex = -1;
  static constexpr int kDurationIndex = -2;
  static constexpr int kShapeIndex = -3;
  int value_index = kShapeIndex;
  std::string expected;  // "a number or a date", ...
  std::string found;     // "a string", ... (empty for kOpIndex)
};
std::optional<TestProblem> CheckTest(const ValueTest& test, ValueKind kind);

// Every valid tree's canonical text fits in kMaxTextBytes, so whatever one form accepts the
// other accepts too. Checked on the canonical text after parsing either form.
Status CheckTextSize(const std::string& canonical_text);

// What was expected ("a duration from ...") when d is out of range; nullopt when valid.
std::optional<std::string> CheckDuration(const Duration& d);
bool IsValidUtf8(std::string_view s);
bool IsIdentifier(std::string_view s);             // [A-Za-z_][A-Za-z0-9_]*
bool IsValidDate(TimeMs ms);                       // 0000-01-01 .. 9999-12-31
std::string_view ScalarTypeName(const Scalar& v);  // "a string", "a number", ...
// Canonical date text: "2024-05-01" at midnight UTC, else "2024-05-01T10:00:00.000Z".
std::string DateText(TimeMs ms);
// Shortest text that reads back to the same double ("100", "0.1", "1e+100").
std::string NumberText(double v);
// Describes the allowed ops for kind, for "expected ..." messages.
std::string_view AllowedOps(ValueKind kind);

// A date-like JSON value as epoch ms: an ISO-8601 string, or a number of milliseconds (fractions
// dropped). nullopt for anything else. The evaluators' one definition of "a date in the data".
std::optional<TimeMs> JsonAsTime(const nlohmann::json& v);

}  // namespace tessera::audience::internal
