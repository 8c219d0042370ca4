// Text form printer: the canonical text of a condition. Parentheses appear exactly where the
// tree nests (an `or` under an `and`, an `and` under an `and`, a compound under `not` or after
// `where`), so ParseCondition(ToText(c)) rebuilds the same tree.
#include <cmath>

#include "audience/condition.h"
#include "audience/internal.h"
#include "audience/lexer.h"

namespace tessera::audience {
namespace {

using internal::Quote;

std::string Segment(const std::string& s) { return internal::IsIdentifier(s) ? s : Quote(s); }

std::string PathText(const Path& path) {
  std::string out;
  for (const std::string& segment : path) out += (out.empty() ? "" : ".") + Segment(segment);
  return out;
}

std::string ScalarText(const Scalar& v) {
  if (auto* s = std::get_if<std::string>(&v)) return Quote(*s);
  if (auto* d = std::get_if<double>(&v)) return internal::NumberText(*d);
  if (auto* b = std::get_if<bool>(&v)) return *b ? "true" : "false";
  return "date " + Quote(internal::DateText(std::get<Date>(v).ms));
}

std::string DurationText(const Duration& d) {
  static constexpr std::string_view kUnits[] = {"second", "minute", "hour", "day", "week"};
  return std::to_string(d.count) + " " + std::string(kUnits[static_cast<int>(d.unit)]) +
         (d.count == 1 ? "" : "s");
}

std::string TestText(const ValueTest& t) {
  static constexpr std::string_view kSymbols[] = {"=", "!=", "<", "<=", ">", ">="};
  auto value = [&t](size_t i) { return ScalarText(t.values[i]); };
  switch (t.op) {
    case Op::kEq:
    case Op::kNe:
    case Op::kLt:
    case Op::kLe:
    case Op::kGt:
    case Op::kGe:
      return std::string(kSymbols[static_cast<int>(t.op)]) + " " + value(0);
    case Op::kBetween:
      return "between " + value(0) + " and " + value(1);
    case Op::kIn:
    case Op::kNotIn: {
      std::string out = t.op == Op::kIn ? "in [" : "not in [";
      for (size_t i = 0; i < t.values.size(); ++i) out += (i ? ", " : "") + value(i);
      return out + "]";
    }
    case Op::kContains:
      return "contains " + value(0);
    case Op::kStartsWith:
      return "starts with " + value(0);
    case Op::kEndsWith:
      return "ends with " + value(0);
    case Op::kExists:
      return "exists";
    case Op::kMissing:
      return "missing";
    case Op::kWithinLast:
      return "within last " + DurationText(*t.duration);
    case Op::kMoreThanAgo:
      return "more than " + DurationText(*t.duration) + " ago";
  }
  return "";
}

bool IsCompound(const Condition& c) {
  return std::holds_alternative<AndCondition>(c.node) ||
         std::holds_alternative<OrCondition>(c.node);
}

// "at least 3 times" for a count test the `performed` form can say; "" for the default
// (at least once); nullopt when only `count of ... <test>` can say it.
std::optional<std::string> CountPhrase(const ValueTest& t) {
  static constexpr std::string_view kPhrases[] = {"exactly", "",          "fewer than",
                                                  "at most", "more than", "at least"};
  if (t.op == Op::kNe || static_cast<int>(t.op) > static_cast<int>(Op::kGe) ||
      t.values.size() != 1) {
    return std::nullopt;
  }
  const double* n = std::get_if<double>(&t.values[0]);
  if (n == nullptr || !(*n >= 0 && *n <= 1e9) || std::floor(*n) != *n) return std::nullopt;
  if (t.op == Op::kGe && *n == 1) return "";
  auto count = static_cast<int64_t>(*n);
  return std::string(kPhrases[static_cast<int>(t.op)]) + " " + std::to_string(count) +
         (count == 1 ? " time" : " times");
}

class Printer {
 public:
  std::string Text(const Condition& c) {
    return std::visit([this](const auto& n) { return Node(n); }, c.node);
  }

  // The aggregate without its test. force_where_parens when a test follows, for readability.
  std::string AggregateText(const Aggregate& a, bool force_where_parens) {
    std::string out;
    std::string events = EventName(a.events);
    switch (a.fn) {
      case AggregateFn::kCount:
        out = "count of " + events;
        break;
      case AggregateFn::kFirstTime:
      case AggregateFn::kLastTime:
        out = std::string(a.fn == AggregateFn::kFirstTime ? "first" : "last") + " time performed " +
              events;
        break;
      default: {
        static constexpr std::string_view kWords[] = {
            "", "sum", "avg", "min", "max", "first", "last", "most frequent", "distinct count"};
        out = std::string(kWords[static_cast<int>(a.fn)]) + " of properties." +
              PathText(a.property) + " over " + events;
      }
    }
    return out + Filters(a.events, a.window, force_where_parens);
  }

 private:
  std::string Child(const Condition& c, bool parens) {
    return parens ? "(" + Text(c) + ")" : Text(c);
  }

  static std::string EventName(const EventFilter& f) {
    return f.name ? Quote(*f.name) : std::string("any event");
  }

  std::string Where(const Condition& c, bool force_parens) {
    return " where " + Child(c, force_parens || IsCompound(c));
  }

  std::string Filters(const EventFilter& f, const std::optional<Duration>& window,
                      bool force_where_parens) {
    std::string out;
    if (f.touchpoint) out += " from touchpoint " + *f.touchpoint;
    if (f.source) out += " from source " + Quote(*f.source);
    if (window) out += " in last " + DurationText(*window);
    if (f.where) out += Where(**f.where, force_where_parens);
    return out;
  }

  std::string Step(const EventFilter& f) { return EventName(f) + Filters(f, std::nullopt, false); }

  std::string Tail(const Duration& within, const std::optional<Duration>& window) {
    return " within " + DurationText(within) + (window ? " in last " + DurationText(*window) : "");
  }

  std::string Node(const TraitCondition& n) {
    return "trait " + PathText(n.trait) + " " + TestText(n.test);
  }
  std::string Node(const PropertyCondition& n) {
    return "properties." + PathText(n.property) + " " + TestText(n.test);
  }
  std::string Node(const AggregateCondition& n) {
    const Aggregate& a = n.aggregate;
    if (a.fn == AggregateFn::kCount) {
      if (std::optional<std::string> phrase = CountPhrase(n.test)) {
        std::string out = "performed " + EventName(a.events);
        if (!phrase->empty()) out += " " + *phrase;
        return out + Filters(a.events, a.window, false);
      }
    }
    return AggregateText(a, true) + " " + TestText(n.test);
  }
  std::string Node(const SequenceCondition& n) {
    std::string out = "performed " + Step(n.steps[0]);
    for (size_t i = 1; i < n.steps.size(); ++i) out += " then " + Step(n.steps[i]);
    return out + Tail(n.within, n.window);
  }
  std::string Node(const NotFollowedByCondition& n) {
    return "performed " + Step(n.first) + " and not " + Step(n.absent) + Tail(n.within, n.window);
  }
  std::string Node(const AudienceCondition& n) { return "in audience " + Quote(n.audience); }
  std::string Node(const IdentifierCondition& n) {
    if (n.test == ValueTest{Op::kGe, {1.0}, std::nullopt}) return "has " + n.kind;
    return "count of " + n.kind + " identifiers " + TestText(n.test);
  }
  std::string Node(const ConsentCondition& n) { return "consented to " + Quote(n.purpose); }
  std::string Node(const AndCondition& n) {
    std::string out;
    for (const Condition& c : n.children) {
      out += (out.empty() ? "" : " and ") + Child(c, IsCompound(c));
    }
    return out;
  }
  std::string Node(const OrCondition& n) {
    std::string out;
    for (const Condition& c : n.children) {
      out += (out.empty() ? "" : " or ") + Child(c, std::holds_alternative<OrCondition>(c.node));
    }
    return out;
  }
  std::string Node(const NotCondition& n) { return "not " + Child(*n.child, IsCompound(*n.child)); }
};

}  // namespace

std::string ToText(const Condition& condition) { return Printer().Text(condition); }

std::string ToText(const Aggregate& aggregate) { return Printer().AggregateText(aggregate, false); }

}  // namespace tessera::audience
