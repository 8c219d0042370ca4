// JSON form reader: strict. Every error names the JSON path of the offending value:
// `$.and[1].window.last: expected a duration like "30d"`. Never throws: types are checked before
// every access.
#include <algorithm>
#include <cmath>

#include "audience/condition.h"
#include "audience/internal.h"

namespace tessera::audience {
namespace {

using internal::ValueKind;
using nlohmann::json;

constexpr std::string_view kConditionKinds[] = {"and",      "or",         "not",      "trait",
                                                "property", "aggregate",  "sequence", "and_not",
                                                "audience", "identifier", "consent"};
constexpr std::string_view kFilterKeys[] = {"event", "touchpoint", "source", "where"};

Status Error(const std::string& at, std::string_view message) {
  return Status::InvalidArgument(at + ": " + std::string(message));
}

std::string Key(const std::string& at, const std::string& key) {
  if (internal::IsIdentifier(key)) return at + "." + key;
  return at + "[" + json(key).dump(-1, ' ', false, json::error_handler_t::replace) + "]";
}

std::string Index(const std::string& at, size_t i) { return at + "[" + std::to_string(i) + "]"; }

// Fails on the first key of obj that is not in allowed.
Status CheckKeys(const json& obj, const std::string& at,
                 const std::vector<std::string_view>& allowed) {
  for (const auto& item : obj.items()) {
    bool known = false;
    for (std::string_view a : allowed) known |= a == item.key();
    if (!known) {
      std::string list;
      for (std::string_view a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
      return Error(Key(at, item.key()), "unknown key (allowed here: " + list + ")");
    }
  }
  return Status::Ok();
}

Result<std::string> NonEmptyString(const json& j, const std::string& at) {
  if (!j.is_string() || j.get_ref<const std::string&>().empty()) {
    return Error(at, "expected a non-empty string");
  }
  const std::string& s = j.get_ref<const std::string&>();
  if (!internal::IsValidUtf8(s)) return Error(at, "invalid UTF-8");
  return s;
}

Result<Path> ReadPath(const json& j, const std::string& at) {
  static constexpr std::string_view kExpected =
      "expected a path like \"address.city\" (or [\"key.with.dots\", \"city\"])";
  Path path;
  if (j.is_string()) {
    const std::string& s = j.get_ref<const std::string&>();
    size_t start = 0;
    while (true) {
      size_t dot = s.find('.', start);
      path.push_back(s.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
      if (path.back().empty()) return Error(at, kExpected);
      if (dot == std::string::npos) break;
      start = dot + 1;
    }
  } else if (j.is_array() && !j.empty()) {
    for (size_t i = 0; i < j.size(); ++i) {
      TESSERA_ASSIGN_OR_RETURN(std::string segment, NonEmptyString(j[i], Index(at, i)));
      path.push_back(std::move(segment));
    }
  } else {
    return Error(at, kExpected);
  }
  if (j.is_string() && !internal::IsValidUtf8(j.get_ref<const std::string&>())) {
    return Error(at, "invalid UTF-8");
  }
  return path;
}

Result<Duration> ReadDuration(const json& j, const std::string& at) {
  std::optional<Duration> d;
  if (j.is_string()) d = DurationFromCompact(j.get_ref<const std::string&>());
  if (!d) {
    return Error(at,
                 "expected a duration like \"30d\" (a whole number and s, m, h, d or w; "
                 "at most 36500 days)");
  }
  return *d;
}

Result<Duration> ReadWindow(const json& j, const std::string& at) {
  if (!j.is_object()) return Error(at, "expected an object like {\"last\": \"30d\"}");
  TESSERA_RETURN_IF_ERROR(CheckKeys(j, at, {"last"}));
  if (!j.contains("last")) return Error(Key(at, "last"), "missing");
  return ReadDuration(j["last"], Key(at, "last"));
}

Result<Scalar> ReadScalar(const json& j, const std::string& at) {
  if (j.is_string()) {
    if (!internal::IsValidUtf8(j.get_ref<const std::string&>())) return Error(at, "invalid UTF-8");
    return Scalar(j.get<std::string>());
  }
  if (j.is_number_integer() && !j.is_number_unsigned())
    return Scalar(static_cast<double>(j.get<int64_t>()));
  if (j.is_number_unsigned()) return Scalar(static_cast<double>(j.get<uint64_t>()));
  if (j.is_number_float()) {
    double d = j.get<double>();
    if (!std::isfinite(d)) return Error(at, "expected a finite number");
    return Scalar(d);
  }
  if (j.is_boolean()) return Scalar(j.get<bool>());
  if (j.is_object() && j.size() == 1 && j.contains("date")) {
    const json& text = j["date"];
    std::optional<TimeMs> ms;
    if (text.is_string()) ms = ParseIso8601(text.get_ref<const std::string&>());
    if (!ms || !internal::IsValidDate(*ms)) {
      return Error(Key(at, "date"),
                   "expected an ISO-8601 date like \"2024-05-01\" or "
                   "\"2024-05-01T10:00:00Z\"");
    }
    return Scalar(Date{*ms});
  }
  return Error(at, "expected a string, a number, true, false or {\"date\": \"2024-05-01\"}");
}

class Reader {
 public:
  Result<Condition> ReadCondition(const json& j, const std::string& at, bool in_where, int depth);
  Result<Aggregate> ReadAggregate(const json& j, const std::string& at, int depth,
                                  std::vector<std::string_view>* keys);

 private:
  Result<ValueTest> ReadTest(const json& j, const std::string& at, ValueKind kind,
                             std::vector<std::string_view> keys);
  Status ReadFilter(const json& j, const std::string& at, int depth, EventFilter* f);
  Result<EventFilter> ReadStep(const json& j, const std::string& at, int depth);
  Result<Condition> ReadNode(const json& j, const std::string& at, std::string_view kind,
                             int depth);
  int nodes_ = 0;
};

Result<ValueTest> Reader::ReadTest(const json& j, const std::string& at, ValueKind kind,
                                   std::vector<std::string_view> keys) {
  if (!j.contains("op")) return Error(Key(at, "op"), "missing");
  std::optional<Op> op;
  if (j["op"].is_string()) op = OpFromName(j["op"].get_ref<const std::string&>());
  if (!op) {
    return Error(Key(at, "op"),
                 "expected one of eq, ne, lt, le, gt, ge, between, in, not_in, contains, "
                 "starts_with, ends_with, exists, missing, within_last, more_than_ago");
  }
  ValueTest test;
  test.op = *op;
  std::vector<std::string> value_paths;
  keys.push_back("op");
  if (*op == Op::kBetween) {
    keys.insert(keys.end(), {"low", "high"});
  } else if (*op == Op::kIn || *op == Op::kNotIn) {
    keys.push_back("values");
  } else if (*op == Op::kWithinLast || *op == Op::kMoreThanAgo) {
    keys.push_back("duration");
  } else if (*op != Op::kExists && *op != Op::kMissing) {
    keys.push_back("value");
  }
  TESSERA_RETURN_IF_ERROR(CheckKeys(j, at, keys));
  for (std::string_view key : {"value", "low", "high"}) {
    std::string name(key);
    if (!j.contains(name) && std::find(keys.begin(), keys.end(), key) != keys.end()) {
      return Error(Key(at, name), "missing");
    }
    if (!j.contains(name)) continue;
    value_paths.push_back(Key(at, name));
    TESSERA_ASSIGN_OR_RETURN(Scalar v, ReadScalar(j[name], value_paths.back()));
    test.values.push_back(std::move(v));
  }
  if (*op == Op::kIn || *op == Op::kNotIn) {
    std::string list_at = Key(at, "values");
    if (!j.contains("values")) return Error(list_at, "missing");
    const json& list = j["values"];
    if (!list.is_array() || list.empty() || list.size() > kMaxListValues) {
      return Error(list_at,
                   "expected a list of 1 to " + std::to_string(kMaxListValues) + " values");
    }
    for (size_t i = 0; i < list.size(); ++i) {
      value_paths.push_back(Index(list_at, i));
      TESSERA_ASSIGN_OR_RETURN(Scalar v, ReadScalar(list[i], value_paths.back()));
      test.values.push_back(std::move(v));
    }
  }
  if (*op == Op::kWithinLast || *op == Op::kMoreThanAgo) {
    if (!j.contains("duration")) return Error(Key(at, "duration"), "missing");
    TESSERA_ASSIGN_OR_RETURN(test.duration, ReadDuration(j["duration"], Key(at, "duration")));
  }
  if (auto problem = internal::CheckTest(test, kind)) {
    if (problem->value_index >= 0) {
      return Error(value_paths[static_cast<size_t>(problem->value_index)],
                   "expected " + problem->expected + ", found " + problem->found);
    }
    return Error(Key(at, "op"), "expected " + problem->expected);
  }
  return test;
}

Status Reader::ReadFilter(const json& j, const std::string& at, int depth, EventFilter* f) {
  if (j.contains("event")) {
    TESSERA_ASSIGN_OR_RETURN(f->name, NonEmptyString(j["event"], Key(at, "event")));
  }
  if (j.contains("touchpoint")) {
    const json& t = j["touchpoint"];
    if (!t.is_string() || !IsTouchpoint(t.get_ref<const std::string&>())) {
      return Error(Key(at, "touchpoint"),
                   "expected one of web, app, store, call_centre, email, "
                   "social, billing, crm, other");
    }
    f->touchpoint = t.get<std::string>();
  }
  if (j.contains("source")) {
    TESSERA_ASSIGN_OR_RETURN(f->source, NonEmptyString(j["source"], Key(at, "source")));
  }
  if (j.contains("where")) {
    TESSERA_ASSIGN_OR_RETURN(Condition where,
                             ReadCondition(j["where"], Key(at, "where"), true, depth + 1));
    f->where = std::move(where);
  }
  return Status::Ok();
}

Result<EventFilter> Reader::ReadStep(const json& j, const std::string& at, int depth) {
  if (!j.is_object()) return Error(at, "expected an object like {\"event\": \"Order Completed\"}");
  TESSERA_RETURN_IF_ERROR(CheckKeys(
      j, at, std::vector<std::string_view>(std::begin(kFilterKeys), std::end(kFilterKeys))));
  EventFilter f;
  TESSERA_RETURN_IF_ERROR(ReadFilter(j, at, depth, &f));
  return f;
}

Result<Aggregate> Reader::ReadAggregate(const json& j, const std::string& at, int depth,
                                        std::vector<std::string_view>* keys) {
  std::optional<AggregateFn> fn;
  if (j["aggregate"].is_string())
    fn = AggregateFnFromName(j["aggregate"].get_ref<const std::string&>());
  if (!fn) {
    return Error(Key(at, "aggregate"),
                 "expected one of count, sum, avg, min, max, first, last, "
                 "most_frequent, distinct_count, first_time, last_time");
  }
  keys->insert(keys->end(), {"aggregate", "window"});
  keys->insert(keys->end(), std::begin(kFilterKeys), std::end(kFilterKeys));
  if (AggregateTakesProperty(*fn)) keys->push_back("of");
  Aggregate a;
  a.fn = *fn;
  if (AggregateTakesProperty(*fn)) {
    if (!j.contains("of")) return Error(Key(at, "of"), "missing (the property to aggregate)");
    TESSERA_ASSIGN_OR_RETURN(a.property, ReadPath(j["of"], Key(at, "of")));
  }
  if (j.contains("window")) {
    TESSERA_ASSIGN_OR_RETURN(a.window, ReadWindow(j["window"], Key(at, "window")));
  }
  TESSERA_RETURN_IF_ERROR(ReadFilter(j, at, depth, &a.events));
  return a;
}

Result<Condition> Reader::ReadCondition(const json& j, const std::string& at, bool in_where,
                                        int depth) {
  if (depth > kMaxDepth) {
    return Error(at, "conditions nest more than " + std::to_string(kMaxDepth) + " levels deep");
  }
  if (++nodes_ > kMaxNodes)
    return Error(at, "more than " + std::to_string(kMaxNodes) + " conditions");
  if (!j.is_object()) return Error(at, "expected an object (a condition)");
  std::string_view kind;
  for (std::string_view k : kConditionKinds) {
    if (!j.contains(std::string(k))) continue;
    if (!kind.empty()) {
      return Error(at, "\"" + std::string(kind) + "\" and \"" + std::string(k) +
                           "\" cannot be in one condition");
    }
    kind = k;
  }
  if (kind.empty()) {
    return Error(at, in_where ? "expected a property condition: an object with \"property\", "
                                "\"and\", \"or\" or \"not\""
                              : "expected a condition: an object with one of \"and\", \"or\", "
                                "\"not\", \"trait\", \"aggregate\", \"sequence\", \"and_not\", "
                                "\"audience\", \"identifier\", \"consent\"");
  }
  bool logical = kind == "and" || kind == "or" || kind == "not";
  if (in_where && !logical && kind != "property") {
    return Error(Key(at, std::string(kind)), "only property conditions are allowed inside where");
  }
  if (!in_where && kind == "property") {
    return Error(Key(at, "property"), "property conditions are allowed only inside where");
  }
  if (!logical) return ReadNode(j, at, kind, depth);
  std::string key(kind);
  TESSERA_RETURN_IF_ERROR(CheckKeys(j, at, {kind}));
  if (kind == "not") {
    TESSERA_ASSIGN_OR_RETURN(Condition child,
                             ReadCondition(j[key], Key(at, key), in_where, depth + 1));
    return Condition{NotCondition{std::move(child)}};
  }
  const json& list = j[key];
  if (!list.is_array() || list.size() < 2) {
    return Error(Key(at, key), "expected a list of at least 2 conditions");
  }
  std::vector<Condition> children;
  for (size_t i = 0; i < list.size(); ++i) {
    TESSERA_ASSIGN_OR_RETURN(Condition child,
                             ReadCondition(list[i], Index(Key(at, key), i), in_where, depth + 1));
    children.push_back(std::move(child));
  }
  if (kind == "and") return Condition{AndCondition{std::move(children)}};
  return Condition{OrCondition{std::move(children)}};
}

Result<Condition> Reader::ReadNode(const json& j, const std::string& at, std::string_view kind,
                                   int depth) {
  std::string key(kind);
  const json& v = j[key];
  if (kind == "trait" || kind == "property") {
    TESSERA_ASSIGN_OR_RETURN(ValueTest test, ReadTest(j, at, ValueKind::kAny, {kind}));
    TESSERA_ASSIGN_OR_RETURN(Path path, ReadPath(v, Key(at, key)));
    if (kind == "trait") return Condition{TraitCondition{std::move(path), std::move(test)}};
    return Condition{PropertyCondition{std::move(path), std::move(test)}};
  }
  if (kind == "aggregate") {
    std::vector<std::string_view> keys;
    TESSERA_ASSIGN_OR_RETURN(Aggregate a, ReadAggregate(j, at, depth, &keys));
    TESSERA_ASSIGN_OR_RETURN(ValueTest test, ReadTest(j, at, internal::ResultKind(a.fn), keys));
    return Condition{AggregateCondition{std::move(a), std::move(test)}};
  }
  if (kind == "identifier") {
    TESSERA_ASSIGN_OR_RETURN(ValueTest test, ReadTest(j, at, ValueKind::kNumber, {kind}));
    if (!v.is_string() || !internal::IsIdentifier(v.get_ref<const std::string&>())) {
      return Error(Key(at, key), "expected an identifier kind like \"device_id\"");
    }
    return Condition{IdentifierCondition{v.get<std::string>(), std::move(test)}};
  }
  if (kind == "audience" || kind == "consent") {
    TESSERA_RETURN_IF_ERROR(CheckKeys(j, at, {kind}));
    TESSERA_ASSIGN_OR_RETURN(std::string name, NonEmptyString(v, Key(at, key)));
    if (kind == "audience") return Condition{AudienceCondition{std::move(name)}};
    return Condition{ConsentCondition{std::move(name)}};
  }
  // sequence / and_not
  std::vector<std::string_view> keys = {"within", "window"};
  keys.push_back(kind == "sequence" ? "sequence" : "performed");
  if (kind == "and_not") keys.push_back("and_not");
  TESSERA_RETURN_IF_ERROR(CheckKeys(j, at, keys));
  if (!j.contains("within")) return Error(Key(at, "within"), "missing");
  TESSERA_ASSIGN_OR_RETURN(Duration within, ReadDuration(j["within"], Key(at, "within")));
  std::optional<Duration> window;
  if (j.contains("window")) {
    TESSERA_ASSIGN_OR_RETURN(window, ReadWindow(j["window"], Key(at, "window")));
  }
  if (kind == "sequence") {
    if (!v.is_array() || v.size() < 2 || v.size() > kMaxSequenceSteps) {
      return Error(Key(at, key), "expected a list of 2 to " + std::to_string(kMaxSequenceSteps) +
                                     " steps like {\"event\": \"Order Completed\"}");
    }
    SequenceCondition s{{}, within, window};
    for (size_t i = 0; i < v.size(); ++i) {
      TESSERA_ASSIGN_OR_RETURN(EventFilter step, ReadStep(v[i], Index(Key(at, key), i), depth));
      s.steps.push_back(std::move(step));
    }
    return Condition{std::move(s)};
  }
  if (!j.contains("performed")) return Error(Key(at, "performed"), "missing");
  TESSERA_ASSIGN_OR_RETURN(EventFilter first,
                           ReadStep(j["performed"], Key(at, "performed"), depth));
  TESSERA_ASSIGN_OR_RETURN(EventFilter absent, ReadStep(v, Key(at, key), depth));
  return Condition{NotFollowedByCondition{std::move(first), std::move(absent), within, window}};
}

}  // namespace

Result<Condition> FromJson(const nlohmann::json& json) {
  TESSERA_ASSIGN_OR_RETURN(Condition c, Reader().ReadCondition(json, "$", false, 1));
  if (Status s = internal::CheckTextSize(ToText(c)); !s.ok()) return Error("$", s.message());
  return c;
}

Result<Aggregate> AggregateFromJson(const nlohmann::json& j) {
  if (!j.is_object() || !j.contains("aggregate")) {
    return Error("$", "expected an object like {\"aggregate\": \"count\", \"event\": \"...\"}");
  }
  std::vector<std::string_view> keys;
  Reader reader;
  TESSERA_ASSIGN_OR_RETURN(Aggregate a, reader.ReadAggregate(j, "$", 0, &keys));
  TESSERA_RETURN_IF_ERROR(CheckKeys(j, "$", keys));
  if (Status s = internal::CheckTextSize(ToText(a)); !s.ok()) return Error("$", s.message());
  return a;
}

}  // namespace tessera::audience
