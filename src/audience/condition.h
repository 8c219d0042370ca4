// The audience condition language: one closed expression tree (no scripting, no eval), with a
// text form for people and a JSON form for the API, both parsed into the same tree and printed
// back (round-trip: ParseCondition(ToText(c)) == c and FromJson(ToJson(c)) == c for every valid c).
// docs/CONDITIONS.md is the language reference; reference.h holds the semantics as code.
//
// Trees are plain values (copyable, structural ==). The parsers only ever build valid trees
// (Validate() below states what valid means); code that builds trees by hand checks them with
// Validate() before use. Thread-safety: none needed, trees are values.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/event.h"
#include "core/status.h"
#include "core/time.h"

namespace tessera::audience {

// Limits that keep hostile input from exhausting the stack or the evaluator.
inline constexpr int kMaxDepth = 64;                // condition nesting, where-clauses included
inline constexpr size_t kMaxTextBytes = 64 * 1024;  // text form, input and canonical
inline constexpr int kMaxNodes = 10000;             // conditions in one tree
inline constexpr size_t kMaxListValues = 1000;      // values in one `in [...]` list
inline constexpr size_t kMaxSequenceSteps = 8;      // `then` steps
inline constexpr int64_t kMaxDurationMs = 36500LL * 86400000;  // 100 years

// A value that is owned through a pointer but copied and compared as a value; lets the tree
// nest (a Not holds a Condition). Never null, except after being moved from.
template <typename T>
class Box {
 public:
  Box(T value) : p_(std::make_unique<T>(std::move(value))) {}  // NOLINT: implicit by design
  Box(const Box& other) : p_(std::make_unique<T>(*other.p_)) {}
  Box(Box&&) noexcept = default;
  Box& operator=(const Box& other) {
    if (this != &other) p_ = std::make_unique<T>(*other.p_);
    return *this;
  }
  Box& operator=(Box&&) noexcept = default;
  ~Box() = default;

  const T& operator*() const { return *p_; }
  T& operator*() { return *p_; }
  const T* operator->() const { return p_.get(); }
  T* operator->() { return p_.get(); }
  bool operator==(const Box& other) const { return *p_ == *other.p_; }

 private:
  std::unique_ptr<T> p_;
};

// ---- Values ----

// A point in time (UTC ms). Valid from 0000-01-01 to 9999-12-31 (what ISO-8601 text can say).
struct Date {
  TimeMs ms = 0;
  bool operator==(const Date&) const = default;
};

// A literal in a condition. Numbers are finite doubles; strings valid UTF-8.
using Scalar = std::variant<std::string, double, bool, Date>;

enum class TimeUnit : uint8_t { kSecond, kMinute, kHour, kDay, kWeek };

// A length of time as written ("2 days" stays 2 days, not 48 hours, when printed back).
struct Duration {
  int64_t count = 1;  // >= 1, and Ms() <= kMaxDurationMs
  TimeUnit unit = TimeUnit::kDay;
  int64_t Ms() const;
  bool operator==(const Duration&) const = default;
};

// A dotted path into a JSON object: trait "address.city" is {"address", "city"}. Segments are
// non-empty; any text is allowed (the text form quotes segments that are not identifiers).
using Path = std::vector<std::string>;

// ---- Tests: what is checked about one value (a trait, an event property, an aggregate) ----

enum class Op : uint8_t {
  kEq,           // = v             one value
  kNe,           // != v            one value
  kLt,           // < v             one number or date
  kLe,           // <= v
  kGt,           // > v
  kGe,           // >= v
  kBetween,      // between a and b two numbers or two dates, inclusive
  kIn,           // in [v, ...]     1..kMaxListValues values of one type
  kNotIn,        // not in [v, ...]
  kContains,     // contains v      substring of a string, or an element of a list
  kStartsWith,   // starts with "s"
  kEndsWith,     // ends with "s"
  kExists,       // exists          no value
  kMissing,      // missing
  kWithinLast,   // within last D   duration, no value
  kMoreThanAgo,  // more than D ago
};

struct ValueTest {
  Op op = Op::kExists;
  std::vector<Scalar> values;        // as many as the op takes (see Op)
  std::optional<Duration> duration;  // set exactly for kWithinLast and kMoreThanAgo
  bool operator==(const ValueTest&) const = default;
};

// ---- Events ----

struct Condition;

// Which events an event condition or aggregate looks at.
struct EventFilter {
  std::optional<std::string> name;  // the event name; nullopt = any event
  std::optional<std::string>
      touchpoint;                     // web|app|store|call_centre|email|social|billing|crm|other
  std::optional<std::string> source;  // a source id
  // A condition over the event's properties: PropertyCondition and And/Or/Not of them only.
  std::optional<Box<Condition>> where;
  bool operator==(const EventFilter&) const = default;
};

enum class AggregateFn : uint8_t {
  kCount,          // number of matching events                        (no property)
  kSum,            // sum of the property's numeric values; 0 if none
  kAvg,            // mean of the numeric values; absent if none
  kMin,            // smallest numeric value; absent if none
  kMax,            // largest numeric value; absent if none
  kFirst,          // the property's value on the earliest event having it
  kLast,           // ... on the latest event having it
  kMostFrequent,   // the value seen on the most events
  kDistinctCount,  // number of distinct values
  kFirstTime,      // timestamp of the earliest matching event            (no property)
  kLastTime,       // timestamp of the latest matching event             (no property)
};

// A windowed aggregate over the event history. Shared with computed traits, which are named
// aggregates: ParseAggregate / AggregateFromJson read one on its own.
struct Aggregate {
  AggregateFn fn = AggregateFn::kCount;
  Path property;  // under the event's properties; empty exactly for count/first_time/last_time
  EventFilter events;
  std::optional<Duration> window;  // "in last D": events with now - D < timestamp <= now
  bool operator==(const Aggregate&) const = default;
};

// ---- Condition nodes ----

struct TraitCondition {  // trait plan = "pro"
  Path trait;
  ValueTest test;
  bool operator==(const TraitCondition&) const = default;
};

struct PropertyCondition {  // properties.total > 100; only inside an EventFilter's where
  Path property;
  ValueTest test;
  bool operator==(const PropertyCondition&) const = default;
};

// performed "X" at least 3 times in last 30 days; sum of properties.total over "X" > 1000.
// "performed ..." is the text form of a count compared with a whole number.
struct AggregateCondition {
  Aggregate aggregate;
  ValueTest test;
  bool operator==(const AggregateCondition&) const = default;
};

// performed "A" then "B" within 2 days [in last 30 days]: distinct events e1..en matching the
// steps with t1 <= t2 <= ... <= tn <= t1 + within, all inside the window if there is one.
struct SequenceCondition {
  std::vector<EventFilter> steps;  // 2..kMaxSequenceSteps
  Duration within;
  std::optional<Duration> window;
  bool operator==(const SequenceCondition&) const = default;
};

// performed "A" and not "B" within 1 hour [in last 7 days]: some A (inside the window) whose
// `within` has fully passed with no other event matching B in [tA, tA + within].
struct NotFollowedByCondition {
  EventFilter first;
  EventFilter absent;
  Duration within;
  std::optional<Duration> window;
  bool operator==(const NotFollowedByCondition&) const = default;
};

struct AudienceCondition {  // in audience "high-value"
  std::string audience;
  bool operator==(const AudienceCondition&) const = default;
};

// has email (a count >= 1), count of device_id identifiers >= 2. The count is of distinct
// values of that kind; the test compares numbers.
struct IdentifierCondition {
  std::string kind;  // an identifier: [A-Za-z_][A-Za-z0-9_]*
  ValueTest test;
  bool operator==(const IdentifierCondition&) const = default;
};

struct ConsentCondition {  // consented to "email_marketing"
  std::string purpose;
  bool operator==(const ConsentCondition&) const = default;
};

struct AndCondition {  // 2 or more
  std::vector<Condition> children;
  bool operator==(const AndCondition&) const = default;
};
struct OrCondition {  // 2 or more
  std::vector<Condition> children;
  bool operator==(const OrCondition&) const = default;
};
struct NotCondition {
  Box<Condition> child;
  bool operator==(const NotCondition&) const = default;
};

struct Condition {
  using Node =
      std::variant<TraitCondition, PropertyCondition, AggregateCondition, SequenceCondition,
                   NotFollowedByCondition, AudienceCondition, IdentifierCondition, ConsentCondition,
                   AndCondition, OrCondition, NotCondition>;
  Node node;
  bool operator==(const Condition&) const = default;
};

// ---- Names shared by both forms ----

inline constexpr std::string_view kTouchpoints[] = {
    "web", "app", "store", "call_centre", "email", "social", "billing", "crm", "other"};
bool IsTouchpoint(std::string_view name);
// JSON op names: eq ne lt le gt ge between in not_in contains starts_with ends_with exists
// missing within_last more_than_ago.
std::string_view OpName(Op op);
std::optional<Op> OpFromName(std::string_view name);
// count sum avg min max first last most_frequent distinct_count first_time last_time.
std::string_view AggregateFnName(AggregateFn fn);
std::optional<AggregateFn> AggregateFnFromName(std::string_view name);
bool AggregateTakesProperty(AggregateFn fn);
// "30d", "1h", "90m", "45s", "2w" and back; nullopt unless it is a valid Duration.
std::string DurationToCompact(const Duration& d);
std::optional<Duration> DurationFromCompact(std::string_view text);

// ---- Validity ----

// Checks every invariant stated above: arities and types of test values (ordering ops take
// numbers or dates, lists are homogeneous, counts compare numbers, first_time/last_time compare
// dates), non-empty names and path segments, valid UTF-8, known touchpoints, where-clauses
// made only of property conditions (and property conditions nowhere else), and/or with two or
// more children, depth <= kMaxDepth, at most kMaxNodes conditions, canonical text at most
// kMaxTextBytes. InvalidArgument otherwise.
Status Validate(const Condition& condition);
Status Validate(const Aggregate& aggregate);

// ---- Text form (text_parser.cc, text_printer.cc) ----

// Errors are InvalidArgument "line L, column C: expected ..., found ..." (columns count
// characters, both from 1).
Result<Condition> ParseCondition(std::string_view text);
std::string ToText(const Condition& condition);
// An aggregate alone, as computed traits write it: `sum of properties.total over "Order
// Completed" in last 90 days`, `count of any event from touchpoint store`.
Result<Aggregate> ParseAggregate(std::string_view text);
std::string ToText(const Aggregate& aggregate);

// ---- JSON form (json_reader.cc, json_writer.cc) ----

// Canonical JSON (docs/CONDITIONS.md has the schema). Strict: unknown keys, wrong types and
// missing fields are InvalidArgument naming the JSON path: `$.and[1].window.last: expected ...`.
nlohmann::json ToJson(const Condition& condition);
Result<Condition> FromJson(const nlohmann::json& json);
nlohmann::json ToJson(const Aggregate& aggregate);
Result<Aggregate> AggregateFromJson(const nlohmann::json& json);

// Events Tessera writes itself (Audience Entered / Exited) come from this source (touchpoint
// "other"). `any event` does not select them unless the filter names this source: they are not
// customer activity, and counting them would make every audience's entries feed back into every
// definition over any event.
inline constexpr std::string_view kSystemSource = kSystemSourceId;
inline constexpr std::string_view kAudienceEntered = "Audience Entered";
inline constexpr std::string_view kAudienceExited = "Audience Exited";

// Whether a filter's name and source (the rest of the filter aside) select an event of that
// name from that source.
inline bool SelectsNameAndSource(const EventFilter& f, std::string_view name,
                                 std::string_view source) {
  if (f.source && *f.source != source) return false;
  if (f.name) return *f.name == name;
  return f.source || source != kSystemSource;
}

// ---- What a condition reads (dependencies.cc) ----

// Used to index conditions so that a change re-evaluates only the audiences it can affect.
struct ConditionDeps {
  std::set<std::string> events;            // event names read by event conditions
  bool any_event = false;                  // some event condition matches events of any name
  bool system_events = false;              // ... and names source kSystemSource
  // Reads Tessera's own Audience Entered / Exited events: by name, or any event from
  // kSystemSource.
  bool own_events = false;
  std::set<std::string> traits;            // top-level trait keys (first path segment)
  std::set<std::string> audiences;         // audiences whose membership is read
  std::set<std::string> identifier_kinds;  // identifier kinds counted
  std::set<std::string> consent_purposes;
  // The result can change with no new data, by the passage of time alone: a window, a
  // `within last` / `more than ... ago` test, or a `not ... within` deadline.
  bool time_dependent = false;
  bool operator==(const ConditionDeps&) const = default;
};
ConditionDeps Dependencies(const Condition& condition);
ConditionDeps Dependencies(const Aggregate& aggregate);

}  // namespace tessera::audience
