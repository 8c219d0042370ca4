// Names, durations, shared checks and Validate() for the condition tree.
#include "audience/condition.h"

#include <charconv>
#include <cmath>

#include "audience/internal.h"

namespace tessera::audience {
namespace {

constexpr std::string_view kOpNames[] = {"eq",     "ne",       "lt",          "le",
                                         "gt",     "ge",       "between",     "in",
                                         "not_in", "contains", "starts_with", "ends_with",
                                         "exists", "missing",  "within_last", "more_than_ago"};
constexpr std::string_view kFnNames[] = {
    "count",          "sum",        "avg",      "min", "max", "first", "last", "most_frequent",
    "distinct_count", "first_time", "last_time"};
constexpr int64_t kUnitMs[] = {1000, 60000, 3600000, 86400000, 604800000};
constexpr char kUnitLetters[] = {'s', 'm', 'h', 'd', 'w'};
// 0000-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z.
constexpr TimeMs kMinDateMs = -62167219200000;
constexpr TimeMs kMaxDateMs = 253402300799999;

bool IsOrdering(Op op) {
  return op == Op::kLt || op == Op::kLe || op == Op::kGt || op == Op::kGe || op == Op::kBetween;
}

size_t Arity(Op op) {
  switch (op) {
    case Op::kBetween:
      return 2;
    case Op::kExists:
    case Op::kMissing:
    case Op::kWithinLast:
    case Op::kMoreThanAgo:
      return 0;
    default:
      return 1;
  }
}

std::string With(std::string_view where, std::string_view what) {
  return std::string(where) + ": " + std::string(what);
}

// Validate(): walks the tree the way the JSON form lays it out, so messages name JSON paths.
class Validator {
 public:
  Status Condition(const audience::Condition& c, const std::string& at, bool in_where, int depth);
  Status Filter(const EventFilter& f, const std::string& at, int depth);
  Status Aggregate(const audience::Aggregate& a, const std::string& at, int depth);

 private:
  Status TestOf(const ValueTest& t, internal::ValueKind kind, const std::string& at);
  Status Window(const std::optional<Duration>& w, const std::string& at);
  int nodes_ = 0;
};

Status CheckName(const std::string& s, const std::string& at) {
  if (s.empty()) return Status::InvalidArgument(With(at, "expected a non-empty string"));
  if (!internal::IsValidUtf8(s)) return Status::InvalidArgument(With(at, "invalid UTF-8"));
  return Status::Ok();
}

Status CheckPath(const Path& p, const std::string& at) {
  if (p.empty()) return Status::InvalidArgument(With(at, "expected a non-empty path"));
  for (const std::string& segment : p) TESSERA_RETURN_IF_ERROR(CheckName(segment, at));
  return Status::Ok();
}

Status Validator::TestOf(const ValueTest& t, internal::ValueKind kind, const std::string& at) {
  if (auto problem = internal::CheckTest(t, kind)) {
    std::string msg = "expected " + problem->expected;
    if (!problem->found.empty()) msg += ", found " + problem->found;
    return Status::InvalidArgument(With(at, msg));
  }
  return Status::Ok();
}

Status Validator::Window(const std::optional<Duration>& w, const std::string& at) {
  if (!w) return Status::Ok();
  if (auto msg = internal::CheckDuration(*w)) {
    return Status::InvalidArgument(With(at, "expected " + *msg));
  }
  return Status::Ok();
}

Status Validator::Filter(const EventFilter& f, const std::string& at, int depth) {
  if (f.name) TESSERA_RETURN_IF_ERROR(CheckName(*f.name, at + ".event"));
  if (f.touchpoint && !IsTouchpoint(*f.touchpoint)) {
    return Status::InvalidArgument(With(at + ".touchpoint", "unknown touchpoint"));
  }
  if (f.source) TESSERA_RETURN_IF_ERROR(CheckName(*f.source, at + ".source"));
  if (f.where) return Condition(**f.where, at + ".where", true, depth + 1);
  return Status::Ok();
}

Status Validator::Aggregate(const audience::Aggregate& a, const std::string& at, int depth) {
  if (AggregateTakesProperty(a.fn)) {
    TESSERA_RETURN_IF_ERROR(CheckPath(a.property, at + ".of"));
  } else if (!a.property.empty()) {
    return Status::InvalidArgument(With(at + ".of", "this aggregate takes no property"));
  }
  TESSERA_RETURN_IF_ERROR(Window(a.window, at + ".window"));
  return Filter(a.events, at, depth);
}

Status Validator::Condition(const audience::Condition& c, const std::string& at, bool in_where,
                            int depth) {
  if (depth > kMaxDepth) {
    return Status::InvalidArgument(
        With(at, "conditions nest more than " + std::to_string(kMaxDepth) + " levels deep"));
  }
  if (++nodes_ > kMaxNodes) {
    return Status::InvalidArgument(
        With(at, "more than " + std::to_string(kMaxNodes) + " conditions"));
  }
  const auto& node = c.node;
  bool logical = std::holds_alternative<AndCondition>(node) ||
                 std::holds_alternative<OrCondition>(node) ||
                 std::holds_alternative<NotCondition>(node);
  if (!logical && in_where != std::holds_alternative<PropertyCondition>(node)) {
    return Status::InvalidArgument(
        With(at, in_where ? "only property conditions are allowed inside where"
                          : "property conditions are allowed only inside where"));
  }
  using internal::ValueKind;
  if (auto* n = std::get_if<TraitCondition>(&node)) {
    TESSERA_RETURN_IF_ERROR(CheckPath(n->trait, at + ".trait"));
    return TestOf(n->test, ValueKind::kAny, at);
  }
  if (auto* n = std::get_if<PropertyCondition>(&node)) {
    TESSERA_RETURN_IF_ERROR(CheckPath(n->property, at + ".property"));
    return TestOf(n->test, ValueKind::kAny, at);
  }
  if (auto* n = std::get_if<AggregateCondition>(&node)) {
    TESSERA_RETURN_IF_ERROR(Aggregate(n->aggregate, at, depth));
    return TestOf(n->test, internal::ResultKind(n->aggregate.fn), at);
  }
  if (auto* n = std::get_if<SequenceCondition>(&node)) {
    if (n->steps.size() < 2 || n->steps.size() > kMaxSequenceSteps) {
      return Status::InvalidArgument(With(at + ".sequence", "expected 2 to 8 steps"));
    }
    for (size_t i = 0; i < n->steps.size(); ++i) {
      TESSERA_RETURN_IF_ERROR(
          Filter(n->steps[i], at + ".sequence[" + std::to_string(i) + "]", depth));
    }
    TESSERA_RETURN_IF_ERROR(Window(n->within, at + ".within"));
    return Window(n->window, at + ".window");
  }
  if (auto* n = std::get_if<NotFollowedByCondition>(&node)) {
    TESSERA_RETURN_IF_ERROR(Filter(n->first, at + ".performed", depth));
    TESSERA_RETURN_IF_ERROR(Filter(n->absent, at + ".and_not", depth));
    TESSERA_RETURN_IF_ERROR(Window(n->within, at + ".within"));
    return Window(n->window, at + ".window");
  }
  if (auto* n = std::get_if<AudienceCondition>(&node)) {
    return CheckName(n->audience, at + ".audience");
  }
  if (auto* n = std::get_if<IdentifierCondition>(&node)) {
    if (!internal::IsIdentifier(n->kind)) {
      return Status::InvalidArgument(
          With(at + ".identifier", "expected an identifier kind like device_id"));
    }
    return TestOf(n->test, ValueKind::kNumber, at);
  }
  if (auto* n = std::get_if<ConsentCondition>(&node)) {
    return CheckName(n->purpose, at + ".consent");
  }
  if (auto* n = std::get_if<NotCondition>(&node)) {
    return Condition(*n->child, at + ".not", in_where, depth + 1);
  }
  const auto& children = std::holds_alternative<AndCondition>(node)
                             ? std::get<AndCondition>(node).children
                             : std::get<OrCondition>(node).children;
  std::string key = std::holds_alternative<AndCondition>(node) ? ".and" : ".or";
  if (children.size() < 2) {
    return Status::InvalidArgument(With(at + key, "expected at least 2 conditions"));
  }
  for (size_t i = 0; i < children.size(); ++i) {
    TESSERA_RETURN_IF_ERROR(
        Condition(children[i], at + key + "[" + std::to_string(i) + "]", in_where, depth + 1));
  }
  return Status::Ok();
}

}  // namespace

int64_t Duration::Ms() const { return count * kUnitMs[static_cast<int>(unit)]; }

bool IsTouchpoint(std::string_view name) {
  for (std::string_view t : kTouchpoints) {
    if (t == name) return true;
  }
  return false;
}

std::string_view OpName(Op op) { return kOpNames[static_cast<int>(op)]; }

std::optional<Op> OpFromName(std::string_view name) {
  for (size_t i = 0; i < std::size(kOpNames); ++i) {
    if (kOpNames[i] == name) return static_cast<Op>(i);
  }
  return std::nullopt;
}

std::string_view AggregateFnName(AggregateFn fn) { return kFnNames[static_cast<int>(fn)]; }

std::optional<AggregateFn> AggregateFnFromName(std::string_view name) {
  for (size_t i = 0; i < std::size(kFnNames); ++i) {
    if (kFnNames[i] == name) return static_cast<AggregateFn>(i);
  }
  return std::nullopt;
}

bool AggregateTakesProperty(AggregateFn fn) {
  return fn != AggregateFn::kCount && fn != AggregateFn::kFirstTime && fn != AggregateFn::kLastTime;
}

std::string DurationToCompact(const Duration& d) {
  return std::to_string(d.count) + kUnitLetters[static_cast<int>(d.unit)];
}

std::optional<Duration> DurationFromCompact(std::string_view text) {
  if (text.size() < 2 || text.size() > 11 || text[0] == '0') return std::nullopt;
  Duration d;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size() - 1, d.count);
  if (ec != std::errc() || end != text.data() + text.size() - 1) return std::nullopt;
  bool found = false;
  for (size_t i = 0; i < std::size(kUnitLetters); ++i) {
    if (text.back() == kUnitLetters[i]) {
      d.unit = static_cast<TimeUnit>(i);
      found = true;
    }
  }
  if (!found || internal::CheckDuration(d)) return std::nullopt;
  return d;
}

Status Validate(const Condition& condition) {
  TESSERA_RETURN_IF_ERROR(Validator().Condition(condition, "$", false, 1));
  Status size = internal::CheckTextSize(ToText(condition));
  return size.ok() ? size : Status::InvalidArgument(With("$", size.message()));
}

Status Validate(const Aggregate& aggregate) {
  TESSERA_RETURN_IF_ERROR(Validator().Aggregate(aggregate, "$", 0));
  Status size = internal::CheckTextSize(ToText(aggregate));
  return size.ok() ? size : Status::InvalidArgument(With("$", size.message()));
}

namespace internal {

Status CheckTextSize(const std::string& canonical_text) {
  if (canonical_text.size() <= kMaxTextBytes) return Status::Ok();
  return Status::InvalidArgument("too large: the text form is longer than " +
                                 std::to_string(kMaxTextBytes) + " bytes");
}

ValueKind ResultKind(AggregateFn fn) {
  switch (fn) {
    case AggregateFn::kFirst:
    case AggregateFn::kLast:
    case AggregateFn::kMostFrequent:
      return ValueKind::kAny;
    case AggregateFn::kFirstTime:
    case AggregateFn::kLastTime:
      return ValueKind::kTime;
    default:
      return ValueKind::kNumber;
  }
}

std::string_view AllowedOps(ValueKind kind) {
  switch (kind) {
    case ValueKind::kNumber:
      return "a comparison of numbers (=, !=, <, <=, >, >=, between, in, not in, exists, missing)";
    case ValueKind::kTime:
      return "a comparison of dates (=, !=, <, <=, >, >=, between, in, not in, exists, missing, "
             "within last, more than ... ago)";
    case ValueKind::kAny:
      break;
  }
  return "a comparison";
}

std::optional<TestProblem> CheckTest(const ValueTest& t, ValueKind kind) {
  bool recency = t.op == Op::kWithinLast || t.op == Op::kMoreThanAgo;
  bool list = t.op == Op::kIn || t.op == Op::kNotIn;
  bool shape_ok = list ? !t.values.empty() && t.values.size() <= kMaxListValues
                       : t.values.size() == Arity(t.op);
  if (!shape_ok || recency != t.duration.has_value()) {
    std::string expected = list               ? "a list of 1 to 1000 values"
                           : recency          ? "a duration and no value"
                           : Arity(t.op) == 0 ? "no value"
                           : Arity(t.op) == 2 ? "two values"
                                              : "one value";
    return TestProblem{TestProblem::kShapeIndex, expected, ""};
  }
  bool string_op = t.op == Op::kContains || t.op == Op::kStartsWith || t.op == Op::kEndsWith;
  if ((kind == ValueKind::kNumber && (string_op || recency)) ||
      (kind == ValueKind::kTime && string_op)) {
    return TestProblem{TestProblem::kOpIndex, std::string(AllowedOps(kind)), ""};
  }
  if (t.duration) {
    if (auto msg = CheckDuration(*t.duration)) {
      return TestProblem{TestProblem::kDurationIndex, *msg, ""};
    }
  }
  for (size_t i = 0; i < t.values.size(); ++i) {
    const Scalar& v = t.values[i];
    auto problem = [&](std::string expected) {
      return TestProblem{static_cast<int>(i), std::move(expected), std::string(ScalarTypeName(v))};
    };
    if (auto* s = std::get_if<std::string>(&v); s && !IsValidUtf8(*s)) {
      return TestProblem{static_cast<int>(i), "valid UTF-8", "invalid UTF-8"};
    }
    if (auto* d = std::get_if<double>(&v); d && !std::isfinite(*d))
      return problem("a finite number");
    if (auto* d = std::get_if<Date>(&v); d && !IsValidDate(d->ms)) {
      return problem("a date between 0000-01-01 and 9999-12-31");
    }
    bool number = std::holds_alternative<double>(v), date = std::holds_alternative<Date>(v);
    if (kind == ValueKind::kNumber && !number) return problem("a number");
    if (kind == ValueKind::kTime && !date) return problem("a date, like date \"2024-05-01\"");
    if (IsOrdering(t.op) && !number && !date) return problem("a number or a date");
    if ((t.op == Op::kStartsWith || t.op == Op::kEndsWith) &&
        !std::holds_alternative<std::string>(v)) {
      return problem("a string");
    }
    if (i > 0 && v.index() != t.values[0].index()) {
      std::string type(ScalarTypeName(t.values[0]));
      return problem(t.op == Op::kBetween ? type + ", like the lower bound"
                                          : type + ", like the first value in the list");
    }
  }
  return std::nullopt;
}

std::optional<std::string> CheckDuration(const Duration& d) {
  if (d.count < 1 || d.count > kMaxDurationMs / 1000 ||
      d.count > kMaxDurationMs / kUnitMs[static_cast<int>(d.unit)]) {
    return "a duration from 1 second to 36500 days";
  }
  return std::nullopt;
}

bool IsValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    int extra;
    uint32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      extra = 1, cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2, cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      extra = 3, cp = c & 0x07;
    } else {
      return false;
    }
    if (i + extra >= s.size()) return false;
    for (int k = 1; k <= extra; ++k) {
      auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    static constexpr uint32_t kMinForLength[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMinForLength[extra] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += extra + 1;
  }
  return true;
}

bool IsIdentifier(std::string_view s) {
  if (s.empty()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

bool IsValidDate(TimeMs ms) { return ms >= kMinDateMs && ms <= kMaxDateMs; }

std::string_view ScalarTypeName(const Scalar& v) {
  static constexpr std::string_view kNames[] = {"a string", "a number", "a boolean", "a date"};
  return kNames[v.index()];
}

std::string DateText(TimeMs ms) {
  std::string text = FormatIso8601(ms);
  if (ms % 86400000 == 0) text.resize(10);
  return text;
}

std::string NumberText(double v) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  TESSERA_CHECK(ec == std::errc(), "to_chars(double) failed");
  return std::string(buf, end);
}

}  // namespace internal
}  // namespace tessera::audience
