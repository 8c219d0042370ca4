// A ValueTest prepared for the batch evaluator: the reference evaluator's typed semantics
// (docs/CONDITIONS.md "Values and types", "Missing values") over a ValueRef, a view of one value
// that columns build without a JSON object, plus precomputed ranges that let numeric and date
// comparisons skip the generic path in tight loops.
//
// Thread-safety: a CompiledTest is immutable after construction; share it freely.
#pragma once

#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>

#include "audience/condition.h"
#include "core/time.h"

namespace tessera::audience {

// One present (not missing, not null) value, as the tests read it.
struct ValueRef {
  enum class Kind : uint8_t {
    kNumber,  // a JSON number that is not NaN: compared as a double
    kString,
    kBool,
    kArray,  // `contains` looks at its elements
    kOther,  // objects, NaN, JSON null inside an array: only `exists` holds
  };
  Kind kind = Kind::kOther;
  double number = 0;           // kNumber
  std::optional<TimeMs> time;  // the value read as a date (internal::JsonAsTime), any kind
  std::string_view string;     // kString
  bool boolean = false;        // kBool
  const nlohmann::json* array = nullptr;  // kArray

  // REQUIRES: v outlives the ValueRef (strings and arrays are borrowed).
  static ValueRef Of(const nlohmann::json& v);
};

// JsonAsTime of a JSON float: whole milliseconds, fractions dropped; none when out of range.
std::optional<TimeMs> FloatAsTime(double d);

// An inclusive range; empty when lo > hi.
template <typename T>
struct Range {
  T lo;
  T hi;
  bool Contains(T v) const { return lo <= v && v <= hi; }
};

class CompiledTest {
 public:
  // REQUIRES: test is valid for where it appears (Validate()). Keeps a pointer to test.
  CompiledTest(const ValueTest& test, TimeMs now);

  // The answer for a missing value (absent or JSON null).
  bool OnMissing() const { return test_->op == Op::kMissing; }
  // The answer for a present value.
  bool Apply(const ValueRef& v) const;

  // When set, the answer for a number is number_range()->Contains(x), whatever its date reading;
  // for values that are not numbers, use Apply (it is false unless the value is a number).
  const std::optional<Range<double>>& number_range() const { return number_range_; }
  // When set, the answer for any present value is: it reads as a date t and time_range()
  // contains t.
  const std::optional<Range<TimeMs>>& time_range() const { return time_range_; }
  // Whether Apply looks at string contents (otherwise a ValueRef's string may be left empty).
  bool reads_strings() const { return reads_strings_; }

 private:
  const ValueTest* test_;
  TimeMs now_;
  std::optional<Range<double>> number_range_;
  std::optional<Range<TimeMs>> time_range_;
  bool reads_strings_ = false;
};

}  // namespace tessera::audience
