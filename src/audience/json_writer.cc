// JSON form writer: the canonical JSON of a condition (schema in docs/CONDITIONS.md).
#include <cmath>

#include "audience/condition.h"
#include "audience/internal.h"

namespace tessera::audience {
namespace {

using nlohmann::json;

json PathJson(const Path& path) {
  bool dotted = true;
  for (const std::string& segment : path) dotted &= segment.find('.') == std::string::npos;
  if (!dotted) return path;
  std::string out;
  for (const std::string& segment : path) out += (out.empty() ? "" : ".") + segment;
  return out;
}

json ScalarJson(const Scalar& v) {
  if (auto* s = std::get_if<std::string>(&v)) return *s;
  if (auto* d = std::get_if<double>(&v)) {
    // Whole numbers print as integers ("3", not "3.0"); both read back as the same double.
    if (std::trunc(*d) == *d && std::fabs(*d) < 9007199254740992.0) return static_cast<int64_t>(*d);
    return *d;
  }
  if (auto* b = std::get_if<bool>(&v)) return *b;
  return json{{"date", internal::DateText(std::get<Date>(v).ms)}};
}

json WindowJson(const Duration& d) { return json{{"last", DurationToCompact(d)}}; }

void AddTest(const ValueTest& t, json* out) {
  (*out)["op"] = OpName(t.op);
  switch (t.op) {
    case Op::kBetween:
      (*out)["low"] = ScalarJson(t.values[0]);
      (*out)["high"] = ScalarJson(t.values[1]);
      break;
    case Op::kIn:
    case Op::kNotIn: {
      json values = json::array();
      for (const Scalar& v : t.values) values.push_back(ScalarJson(v));
      (*out)["values"] = std::move(values);
      break;
    }
    case Op::kExists:
    case Op::kMissing:
      break;
    case Op::kWithinLast:
    case Op::kMoreThanAgo:
      (*out)["duration"] = DurationToCompact(*t.duration);
      break;
    default:
      (*out)["value"] = ScalarJson(t.values[0]);
  }
}

void AddFilter(const EventFilter& f, json* out) {
  if (f.name) (*out)["event"] = *f.name;
  if (f.touchpoint) (*out)["touchpoint"] = *f.touchpoint;
  if (f.source) (*out)["source"] = *f.source;
  if (f.where) (*out)["where"] = ToJson(**f.where);
}

json StepJson(const EventFilter& f) {
  json out = json::object();
  AddFilter(f, &out);
  return out;
}

void AddTail(const Duration& within, const std::optional<Duration>& window, json* out) {
  (*out)["within"] = DurationToCompact(within);
  if (window) (*out)["window"] = WindowJson(*window);
}

struct Writer {
  json operator()(const TraitCondition& n) const {
    json out{{"trait", PathJson(n.trait)}};
    AddTest(n.test, &out);
    return out;
  }
  json operator()(const PropertyCondition& n) const {
    json out{{"property", PathJson(n.property)}};
    AddTest(n.test, &out);
    return out;
  }
  json operator()(const AggregateCondition& n) const {
    json out = ToJson(n.aggregate);
    AddTest(n.test, &out);
    return out;
  }
  json operator()(const SequenceCondition& n) const {
    json steps = json::array();
    for (const EventFilter& step : n.steps) steps.push_back(StepJson(step));
    json out{{"sequence", std::move(steps)}};
    AddTail(n.within, n.window, &out);
    return out;
  }
  json operator()(const NotFollowedByCondition& n) const {
    json out{{"performed", StepJson(n.first)}, {"and_not", StepJson(n.absent)}};
    AddTail(n.within, n.window, &out);
    return out;
  }
  json operator()(const AudienceCondition& n) const { return json{{"audience", n.audience}}; }
  json operator()(const IdentifierCondition& n) const {
    json out{{"identifier", n.kind}};
    AddTest(n.test, &out);
    return out;
  }
  json operator()(const ConsentCondition& n) const { return json{{"consent", n.purpose}}; }
  json operator()(const AndCondition& n) const { return json{{"and", Children(n.children)}}; }
  json operator()(const OrCondition& n) const { return json{{"or", Children(n.children)}}; }
  json operator()(const NotCondition& n) const { return json{{"not", ToJson(*n.child)}}; }

  static json Children(const std::vector<Condition>& children) {
    json out = json::array();
    for (const Condition& c : children) out.push_back(ToJson(c));
    return out;
  }
};

}  // namespace

nlohmann::json ToJson(const Condition& condition) { return std::visit(Writer(), condition.node); }

nlohmann::json ToJson(const Aggregate& a) {
  json out{{"aggregate", AggregateFnName(a.fn)}};
  if (!a.property.empty()) out["of"] = PathJson(a.property);
  AddFilter(a.events, &out);
  if (a.window) out["window"] = WindowJson(*a.window);
  return out;
}

}  // namespace tessera::audience
