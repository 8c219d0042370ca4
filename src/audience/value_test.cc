// CompiledTest: reference.cc's ApplyTest, restated over ValueRef so that columns need not build
// JSON values. Kept rule for rule in the same order so the two can be read side by side.
#include "audience/value_test.h"

#include <algorithm>
#include <cmath>

#include "audience/internal.h"

namespace tessera::audience {
namespace {

constexpr TimeMs kMinTime = std::numeric_limits<TimeMs>::min();
constexpr TimeMs kMaxTime = std::numeric_limits<TimeMs>::max();
constexpr double kInf = std::numeric_limits<double>::infinity();

TimeMs AddSat(TimeMs a, int64_t b) {
  TimeMs out;
  if (__builtin_add_overflow(a, b, &out)) return b > 0 ? kMaxTime : kMinTime;
  return out;
}

// Typed equality: nullopt when v is not of the operand's type (a type mismatch).
std::optional<bool> Equal(const ValueRef& v, const Scalar& operand) {
  if (auto* s = std::get_if<std::string>(&operand)) {
    if (v.kind != ValueRef::Kind::kString) return std::nullopt;
    return v.string == *s;
  }
  if (auto* d = std::get_if<double>(&operand)) {
    if (v.kind != ValueRef::Kind::kNumber) return std::nullopt;
    return v.number == *d;
  }
  if (auto* b = std::get_if<bool>(&operand)) {
    if (v.kind != ValueRef::Kind::kBool) return std::nullopt;
    return v.boolean == *b;
  }
  if (!v.time) return std::nullopt;
  return *v.time == std::get<Date>(operand).ms;
}

// Ordering of v against a number or date operand: <0, 0, >0; nullopt on a type mismatch.
std::optional<int> Compare(const ValueRef& v, const Scalar& operand) {
  if (auto* d = std::get_if<double>(&operand)) {
    if (v.kind != ValueRef::Kind::kNumber) return std::nullopt;
    return v.number < *d ? -1 : v.number > *d ? 1 : 0;
  }
  if (auto* date = std::get_if<Date>(&operand)) {
    if (!v.time) return std::nullopt;
    return *v.time < date->ms ? -1 : *v.time > date->ms ? 1 : 0;
  }
  return std::nullopt;
}

}  // namespace

std::optional<TimeMs> FloatAsTime(double d) {
  if (!std::isfinite(d) || std::fabs(d) >= 9.2e18) return std::nullopt;
  return static_cast<TimeMs>(std::trunc(d));
}

ValueRef ValueRef::Of(const nlohmann::json& v) {
  ValueRef r;
  if (v.is_string()) {
    r.kind = Kind::kString;
    r.string = v.get_ref<const std::string&>();
    r.time = ParseIso8601(r.string);
  } else if (v.is_number_unsigned()) {
    auto u = v.get<uint64_t>();
    r.kind = Kind::kNumber;
    r.number = v.get<double>();
    if (u <= static_cast<uint64_t>(kMaxTime)) r.time = static_cast<TimeMs>(u);
  } else if (v.is_number_integer()) {
    r.kind = Kind::kNumber;
    r.number = v.get<double>();
    r.time = v.get<int64_t>();
  } else if (v.is_number_float()) {
    double d = v.get<double>();
    if (!std::isnan(d)) {  // NaN is no number to the tests, and no date
      r.kind = Kind::kNumber;
      r.number = d;
      r.time = FloatAsTime(d);
    }
  } else if (v.is_boolean()) {
    r.kind = Kind::kBool;
    r.boolean = v.get<bool>();
  } else if (v.is_array()) {
    r.kind = Kind::kArray;
    r.array = &v;
  }
  return r;
}

CompiledTest::CompiledTest(const ValueTest& test, TimeMs now) : test_(&test), now_(now) {
  reads_strings_ = std::any_of(test.values.begin(), test.values.end(), [](const Scalar& s) {
    return std::holds_alternative<std::string>(s);
  });
  bool ordering = test.op == Op::kEq || test.op == Op::kLt || test.op == Op::kLe ||
                  test.op == Op::kGt || test.op == Op::kGe || test.op == Op::kBetween;
  if (ordering && std::holds_alternative<double>(test.values[0])) {
    double v = std::get<double>(test.values[0]);
    switch (test.op) {
      case Op::kEq:
        number_range_ = Range<double>{v, v};
        break;
      case Op::kLt:  // x < v  <=>  x <= the double just below v (no NaN here)
        number_range_ = Range<double>{-kInf, std::nextafter(v, -kInf)};
        break;
      case Op::kLe:
        number_range_ = Range<double>{-kInf, v};
        break;
      case Op::kGt:
        number_range_ = Range<double>{std::nextafter(v, kInf), kInf};
        break;
      case Op::kGe:
        number_range_ = Range<double>{v, kInf};
        break;
      default:
        number_range_ = Range<double>{v, std::get<double>(test.values[1])};
    }
  } else if (ordering && std::holds_alternative<Date>(test.values[0])) {
    TimeMs d = std::get<Date>(test.values[0]).ms;  // a valid date: d +- 1 cannot overflow
    switch (test.op) {
      case Op::kEq:
        time_range_ = Range<TimeMs>{d, d};
        break;
      case Op::kLt:
        time_range_ = Range<TimeMs>{kMinTime, d - 1};
        break;
      case Op::kLe:
        time_range_ = Range<TimeMs>{kMinTime, d};
        break;
      case Op::kGt:
        time_range_ = Range<TimeMs>{d + 1, kMaxTime};
        break;
      case Op::kGe:
        time_range_ = Range<TimeMs>{d, kMaxTime};
        break;
      default:
        time_range_ = Range<TimeMs>{d, std::get<Date>(test.values[1]).ms};
    }
  } else if (test.op == Op::kWithinLast) {  // now - D < t <= now
    time_range_ = Range<TimeMs>{AddSat(now, -test.duration->Ms()) + 1, now};
  } else if (test.op == Op::kMoreThanAgo) {  // t <= now - D
    time_range_ = Range<TimeMs>{kMinTime, AddSat(now, -test.duration->Ms())};
  }
}

bool CompiledTest::Apply(const ValueRef& v) const {
  const ValueTest& t = *test_;
  auto cmp = [&](size_t i) { return Compare(v, t.values[i]); };
  switch (t.op) {
    case Op::kExists:
      return true;
    case Op::kMissing:
      return false;
    case Op::kEq:
      return Equal(v, t.values[0]) == std::optional<bool>(true);
    case Op::kNe:
      return Equal(v, t.values[0]) == std::optional<bool>(false);
    case Op::kLt:
      return cmp(0) && *cmp(0) < 0;
    case Op::kLe:
      return cmp(0) && *cmp(0) <= 0;
    case Op::kGt:
      return cmp(0) && *cmp(0) > 0;
    case Op::kGe:
      return cmp(0) && *cmp(0) >= 0;
    case Op::kBetween:
      return cmp(0) && cmp(1) && *cmp(0) >= 0 && *cmp(1) <= 0;
    case Op::kIn:
      return std::any_of(t.values.begin(), t.values.end(), [&v](const Scalar& s) {
        return Equal(v, s) == std::optional<bool>(true);
      });
    case Op::kNotIn:
      return std::all_of(t.values.begin(), t.values.end(), [&v](const Scalar& s) {
        return Equal(v, s) == std::optional<bool>(false);
      });
    case Op::kContains: {
      if (v.kind == ValueRef::Kind::kArray) {
        return std::any_of(v.array->begin(), v.array->end(), [&t](const nlohmann::json& e) {
          return Equal(ValueRef::Of(e), t.values[0]) == std::optional<bool>(true);
        });
      }
      const auto* s = std::get_if<std::string>(&t.values[0]);
      return s && v.kind == ValueRef::Kind::kString && v.string.find(*s) != std::string::npos;
    }
    case Op::kStartsWith:
    case Op::kEndsWith: {
      if (v.kind != ValueRef::Kind::kString) return false;
      const std::string& part = std::get<std::string>(t.values[0]);
      return t.op == Op::kStartsWith ? v.string.starts_with(part) : v.string.ends_with(part);
    }
    case Op::kWithinLast:
      return v.time && *v.time > AddSat(now_, -t.duration->Ms()) && *v.time <= now_;
    case Op::kMoreThanAgo:
      return v.time && *v.time <= AddSat(now_, -t.duration->Ms());
  }
  return false;
}

}  // namespace tessera::audience
