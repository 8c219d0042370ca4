// Conditions as PostgreSQL (sql.h). Aggregates, identifier counts, consent and membership
// become `p.id IN (SELECT profile_id ... GROUP BY profile_id HAVING test)`: the form an index on
// events(name, ts, profile_id) serves, rather than a correlated subquery per profile. Profiles
// without a matching row get the aggregate of nothing, so when the test holds for that (count
// < 3, sum = 0, missing) the form turns into `p.id NOT IN (... HAVING NOT test)`.
#include "audience/sql.h"

#include <charconv>

#include "audience/reference.h"

namespace tessera::audience {
namespace {

TimeMs AddSat(TimeMs a, int64_t b) {
  TimeMs out;
  if (__builtin_add_overflow(a, b, &out)) return b > 0 ? INT64_MAX : INT64_MIN;
  return out;
}

std::string Quote(std::string_view s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

std::string Float(double d) {
  char buf[32];
  auto end = std::to_chars(buf, buf + sizeof buf, d).ptr;  // shortest text that reads back as d
  return "'" + std::string(buf, end) + "'::float8";
}

std::string Join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (const std::string& p : parts) out += (out.empty() ? "" : std::string(sep)) + p;
  return "(" + out + ")";
}

// A value in SQL: jsonb (a trait or property, SQL NULL when absent), or a float8 or bigint
// computed by an aggregate (NULL when it has no value).
struct SqlValue {
  enum class Kind { kJsonb, kFloat, kInt };
  Kind kind;
  std::string expr;
  std::string text;  // kJsonb: the value as text (`->>`, which expression indexes match)
};

SqlValue Lookup(std::string_view root, const Path& path) {
  std::string prefix(root);
  for (size_t i = 0; i + 1 < path.size(); ++i)
    prefix = "(" + prefix + " -> " + Quote(path[i]) + ")";
  return {SqlValue::Kind::kJsonb, "(" + prefix + " -> " + Quote(path.back()) + ")",
          "(" + prefix + " ->> " + Quote(path.back()) + ")"};
}

// The value read as a date (epoch ms), NULL when it is none.
std::string TimeOf(const SqlValue& v) {
  switch (v.kind) {
    case SqlValue::Kind::kJsonb:
      return "tessera_time(" + v.expr + ")";
    case SqlValue::Kind::kFloat:
      return "(CASE WHEN abs(" + v.expr + ") < 9.2e18 THEN trunc(" + v.expr + ")::bigint END)";
    case SqlValue::Kind::kInt:
      break;
  }
  return v.expr;
}

// v <op> operand, typed: false on a type mismatch or a missing value.
std::string Compare(const SqlValue& v, const Scalar& operand, std::string_view op) {
  const std::string& e = v.expr;
  const std::string o = " " + std::string(op) + " ";
  if (const auto* date = std::get_if<Date>(&operand)) {
    return "COALESCE(" + TimeOf(v) + o + std::to_string(date->ms) + ", false)";
  }
  const auto* d = std::get_if<double>(&operand);
  if (v.kind == SqlValue::Kind::kFloat)
    return d ? "COALESCE(" + e + o + Float(*d) + ", false)" : "false";
  if (v.kind == SqlValue::Kind::kInt) {
    return d ? "COALESCE((" + e + ")::float8" + o + Float(*d) + ", false)" : "false";
  }
  if (const auto* s = std::get_if<std::string>(&operand)) {
    return "(" + e + " IS NOT NULL AND jsonb_typeof(" + e + ") = 'string' AND " + v.text + o +
           Quote(*s) + ")";
  }
  if (d) {
    return "(CASE WHEN jsonb_typeof(" + e + ") = 'number' THEN (" + e + ")::float8" + o +
           Float(*d) + " ELSE false END)";
  }
  return "(CASE WHEN jsonb_typeof(" + e + ") = 'boolean' THEN (" + e + ")::boolean" + o +
         (std::get<bool>(operand) ? "true" : "false") + " ELSE false END)";
}

std::string TestSql(const ValueTest& t, const SqlValue& v, TimeMs now) {
  const std::string& e = v.expr;
  const bool json = v.kind == SqlValue::Kind::kJsonb;
  const std::string missing =
      json ? "(" + e + " IS NULL OR jsonb_typeof(" + e + ") = 'null')" : "(" + e + " IS NULL)";
  auto each = [&](std::string_view op) {
    std::vector<std::string> parts;
    for (const Scalar& s : t.values) parts.push_back(Compare(v, s, op));
    return parts;
  };
  auto string_op = [&](const std::string& then) {
    return json ? "(CASE WHEN jsonb_typeof(" + e + ") = 'string' THEN " + then + " ELSE false END)"
                : std::string("false");
  };
  switch (t.op) {
    case Op::kExists:
      return "(NOT " + missing + ")";
    case Op::kMissing:
      return missing;
    case Op::kEq:
      return Compare(v, t.values[0], "=");
    case Op::kNe:
      return Compare(v, t.values[0], "<>");
    case Op::kLt:
      return Compare(v, t.values[0], "<");
    case Op::kLe:
      return Compare(v, t.values[0], "<=");
    case Op::kGt:
      return Compare(v, t.values[0], ">");
    case Op::kGe:
      return Compare(v, t.values[0], ">=");
    case Op::kBetween:
      return "(" + Compare(v, t.values[0], ">=") + " AND " + Compare(v, t.values[1], "<=") + ")";
    case Op::kIn:
      return Join(each("="), " OR ");
    case Op::kNotIn:
      return Join(each("<>"), " AND ");
    case Op::kContains: {
      if (!json) return "false";
      SqlValue element{SqlValue::Kind::kJsonb, "x.e", "(x.e #>> '{}')"};
      const auto* s = std::get_if<std::string>(&t.values[0]);
      return "(CASE WHEN jsonb_typeof(" + e + ") = 'array' THEN EXISTS (SELECT 1 FROM " +
             "jsonb_array_elements(" + e + ") AS x(e) WHERE " + Compare(element, t.values[0], "=") +
             ") WHEN jsonb_typeof(" + e + ") = 'string' THEN " +
             (s ? "strpos(" + e + " #>> '{}', " + Quote(*s) + ") > 0" : "false") +
             " ELSE false END)";
    }
    case Op::kStartsWith:
      return string_op("starts_with(" + e + " #>> '{}', " +
                       Quote(std::get<std::string>(t.values[0])) + ")");
    case Op::kEndsWith: {
      std::string s = Quote(std::get<std::string>(t.values[0]));
      return string_op("right(" + e + " #>> '{}', char_length(" + s + ")) = " + s);
    }
    case Op::kWithinLast: {
      std::string time = TimeOf(v);
      return "COALESCE(" + time + " > " + std::to_string(AddSat(now, -t.duration->Ms())) + " AND " +
             time + " <= " + std::to_string(now) + ", false)";
    }
    case Op::kMoreThanAgo:
      return "COALESCE(" + TimeOf(v) + " <= " + std::to_string(AddSat(now, -t.duration->Ms())) +
             ", false)";
  }
  return "false";
}

class Translator {
 public:
  explicit Translator(TimeMs now) : now_(now) {}

  Result<std::string> Translate(const Condition& c) {
    return std::visit([this](const auto& n) { return Node(n); }, c.node);
  }

 private:
  // Does the test hold for a profile with no events, identifiers...?
  bool HoldsForNothing(const Condition& c) const {
    return EvaluateReference(c, ProfileView(), now_, StaticMembership());
  }
  static std::string InGroups(bool holds_for_nothing, const std::string& from_where,
                              const std::string& test) {
    return "(p.id " + std::string(holds_for_nothing ? "NOT IN" : "IN") + " (SELECT " + from_where +
           " HAVING " + (holds_for_nothing ? "NOT " : "") + test + "))";
  }

  std::string Where(const Condition& c, const std::string& alias) {
    if (const auto* p = std::get_if<PropertyCondition>(&c.node)) {
      return TestSql(p->test, Lookup(alias + ".properties", p->property), now_);
    }
    if (const auto* n = std::get_if<NotCondition>(&c.node))
      return "(NOT " + Where(*n->child, alias) + ")";
    const auto* a = std::get_if<AndCondition>(&c.node);
    const std::vector<Condition>& children =
        a ? a->children : std::get<OrCondition>(c.node).children;
    std::vector<std::string> parts;
    for (const Condition& child : children) parts.push_back(Where(child, alias));
    return Join(parts, a ? " AND " : " OR ");
  }

  std::string Filter(const EventFilter& f, const std::optional<Duration>& window,
                     const std::string& alias) {
    std::vector<std::string> parts = {"TRUE"};
    if (f.name) parts.push_back(alias + ".name = " + Quote(*f.name));
    if (f.touchpoint) parts.push_back(alias + ".touchpoint = " + Quote(*f.touchpoint));
    if (f.source) parts.push_back(alias + ".source = " + Quote(*f.source));
    if (!f.name && !f.source) parts.push_back(alias + ".source <> " + Quote(kSystemSource));
    if (f.where) parts.push_back(Where(**f.where, alias));
    if (window) {
      parts.push_back(alias + ".ts > " + std::to_string(AddSat(now_, -window->Ms())) + " AND " +
                      alias + ".ts <= " + std::to_string(now_));
    }
    return Join(parts, " AND ");
  }

  Result<std::string> Node(const TraitCondition& n) {
    return TestSql(n.test, Lookup("p.traits", n.trait), now_);
  }
  Result<std::string> Node(const PropertyCondition&) { return std::string("false"); }
  Result<std::string> Node(const AggregateCondition& n) {
    const Aggregate& a = n.aggregate;
    std::string number;
    if (!a.property.empty()) {
      std::string v = Lookup("e.properties", a.property).expr;
      number = "(CASE WHEN jsonb_typeof(" + v + ") = 'number' THEN (" + v + ")::float8 END)";
    }
    SqlValue value{SqlValue::Kind::kFloat, "", ""};
    switch (a.fn) {
      case AggregateFn::kCount:
        value = {SqlValue::Kind::kInt, "count(*)", ""};
        break;
      case AggregateFn::kSum:
        value.expr = "COALESCE(sum(" + number + " ORDER BY e.id), 0)";
        break;
      case AggregateFn::kAvg:
        value.expr = "(sum(" + number + " ORDER BY e.id) / NULLIF(count(" + number + "), 0))";
        break;
      case AggregateFn::kMin:
      case AggregateFn::kMax:
        value.expr = std::string(a.fn == AggregateFn::kMin ? "min(" : "max(") + number + ")";
        break;
      case AggregateFn::kFirstTime:
      case AggregateFn::kLastTime:
        value = {SqlValue::Kind::kInt, a.fn == AggregateFn::kFirstTime ? "min(e.ts)" : "max(e.ts)",
                 ""};
        break;
      default:
        return Status::Unsupported("no SQL for aggregate " + std::string(AggregateFnName(a.fn)));
    }
    return InGroups(HoldsForNothing(Condition{n}),
                    "e.profile_id FROM events e WHERE " + Filter(a.events, a.window, "e") +
                        " GROUP BY e.profile_id",
                    TestSql(n.test, value, now_));
  }
  Result<std::string> Node(const SequenceCondition& n) {
    std::vector<std::string> from, where;
    for (size_t k = 0; k < n.steps.size(); ++k) {
      std::string s = "s" + std::to_string(k);
      from.push_back("events " + s);
      where.push_back(s + ".profile_id = p.id");
      where.push_back(Filter(n.steps[k], n.window, s));
      if (k == 0) continue;
      std::string prev = "s" + std::to_string(k - 1);
      where.push_back(s + ".ts >= " + prev + ".ts AND " + s + ".ts <= s0.ts + " +
                      std::to_string(n.within.Ms()));
      for (size_t j = 0; j < k; ++j) where.push_back(s + ".id <> s" + std::to_string(j) + ".id");
    }
    std::string tables;
    for (const std::string& f : from) tables += (tables.empty() ? "" : ", ") + f;
    return "EXISTS (SELECT 1 FROM " + tables + " WHERE " + Join(where, " AND ") + ")";
  }
  Result<std::string> Node(const NotFollowedByCondition& n) {
    std::string within = std::to_string(n.within.Ms());
    return "EXISTS (SELECT 1 FROM events a WHERE a.profile_id = p.id AND " +
           Filter(n.first, n.window, "a") + " AND a.ts + " + within +
           " <= " + std::to_string(now_) +
           " AND NOT EXISTS (SELECT 1 FROM events b WHERE b.profile_id = p.id AND b.id <> a.id"
           " AND b.ts >= a.ts AND b.ts <= a.ts + " +
           within + " AND " + Filter(n.absent, std::nullopt, "b") + "))";
  }
  Result<std::string> Node(const AudienceCondition& n) {
    return "(p.id IN (SELECT m.profile_id FROM audience_members m WHERE m.audience = " +
           Quote(n.audience) + "))";
  }
  Result<std::string> Node(const IdentifierCondition& n) {
    SqlValue count{SqlValue::Kind::kInt, "count(DISTINCT i.value)", ""};
    return InGroups(HoldsForNothing(Condition{n}),
                    "i.profile_id FROM identifiers i WHERE i.kind = " + Quote(n.kind) +
                        " GROUP BY i.profile_id",
                    TestSql(n.test, count, now_));
  }
  Result<std::string> Node(const ConsentCondition& n) {
    return "(p.id IN (SELECT c.profile_id FROM consent c WHERE c.purpose = " + Quote(n.purpose) +
           " AND c.granted))";
  }
  Result<std::string> Node(const AndCondition& n) { return Children(n.children, " AND "); }
  Result<std::string> Node(const OrCondition& n) { return Children(n.children, " OR "); }
  Result<std::string> Node(const NotCondition& n) {
    TESSERA_ASSIGN_OR_RETURN(std::string child, Translate(*n.child));
    return "(NOT " + child + ")";
  }

  Result<std::string> Children(const std::vector<Condition>& children, std::string_view sep) {
    std::vector<std::string> parts;
    for (const Condition& c : children) {
      TESSERA_ASSIGN_OR_RETURN(std::string part, Translate(c));
      parts.push_back(std::move(part));
    }
    return Join(parts, sep);
  }

  const TimeMs now_;
};

}  // namespace

std::string SqlSchema() {
  return R"sql(
CREATE TABLE profiles (id integer NOT NULL, traits jsonb NOT NULL);
CREATE TABLE events (id bigint NOT NULL, profile_id integer NOT NULL, name text NOT NULL,
                     touchpoint text NOT NULL, source text NOT NULL, ts bigint NOT NULL,
                     properties jsonb NOT NULL);
CREATE TABLE identifiers (profile_id integer NOT NULL, kind text NOT NULL, value text NOT NULL);
CREATE TABLE consent (profile_id integer NOT NULL, purpose text NOT NULL, granted boolean NOT NULL);
CREATE TABLE audience_members (audience text NOT NULL, profile_id integer NOT NULL);

-- internal::JsonAsTime: epoch ms from a number (fractions dropped) or from ISO-8601 text as
-- core/time.cc's ParseIso8601 reads it; NULL for anything else.
CREATE FUNCTION tessera_time(v jsonb) RETURNS bigint LANGUAGE plpgsql IMMUTABLE AS $fn$
DECLARE
  m text[];
  y int; mo int; d int; h int; mi int; sec int;
  frac bigint := 0;
  off int := 0;
  era int; yoe int; doy int;
BEGIN
  IF jsonb_typeof(v) = 'number' THEN
    IF abs(v::float8) < 9.2e18 THEN RETURN trunc(v::float8)::bigint; END IF;
    RETURN NULL;
  END IF;
  IF jsonb_typeof(v) IS DISTINCT FROM 'string' THEN RETURN NULL; END IF;
  m := regexp_match(v #>> '{}', '^([0-9]{4})-([0-9]{2})-([0-9]{2})(?:[Tt ]([0-9]{2}):([0-9]{2})'
       '(?::([0-9]{2}))?(?:[.,]([0-9]+))?(?:([Zz])|([+-])([0-9]{2})(?::?([0-9]{2})|:)?)?)?$');
  IF m IS NULL THEN RETURN NULL; END IF;
  y := m[1]::int; mo := m[2]::int; d := m[3]::int;
  h := coalesce(m[4]::int, 0); mi := coalesce(m[5]::int, 0); sec := coalesce(m[6]::int, 0);
  IF mo < 1 OR mo > 12 OR d < 1 OR h > 23 OR mi > 59 OR sec > 60 THEN RETURN NULL; END IF;
  IF d > (CASE WHEN mo = 2 THEN
              (CASE WHEN y % 4 = 0 AND (y % 100 <> 0 OR y % 400 = 0) THEN 29 ELSE 28 END)
            WHEN mo IN (4, 6, 9, 11) THEN 30 ELSE 31 END) THEN
    RETURN NULL;
  END IF;
  IF m[7] IS NOT NULL THEN frac := rpad(left(m[7], 3), 3, '0')::bigint; END IF;
  IF m[9] IS NOT NULL THEN
    IF m[10]::int > 23 OR coalesce(m[11]::int, 0) > 59 THEN RETURN NULL; END IF;
    off := (m[10]::int * 60 + coalesce(m[11]::int, 0)) * CASE WHEN m[9] = '-' THEN -1 ELSE 1 END;
  END IF;
  -- days_from_civil (H. Hinnant)
  IF mo <= 2 THEN y := y - 1; END IF;
  era := floor(y / 400.0)::int;
  yoe := y - era * 400;
  doy := (153 * (mo + CASE WHEN mo > 2 THEN -3 ELSE 9 END) + 2) / 5 + d - 1;
  RETURN ((era::bigint * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468) * 86400000)
         + ((h * 60 + mi) * 60 + sec)::bigint * 1000 + frac - off::bigint * 60000;
END
$fn$;
)sql";
}

Result<std::string> ConditionToSql(const Condition& condition, TimeMs now) {
  return Translator(now).Translate(condition);
}

Result<std::string> AudienceSql(const Condition& condition, TimeMs now) {
  TESSERA_ASSIGN_OR_RETURN(std::string where, ConditionToSql(condition, now));
  return "SELECT p.id FROM profiles p WHERE " + where + " ORDER BY p.id";
}

std::string CsvField(std::string_view text) {
  std::string out = "\"";
  for (char c : text) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

}  // namespace tessera::audience
