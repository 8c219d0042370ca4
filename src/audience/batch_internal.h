// The batch evaluator's compiled plan, shared by batch.cc (the tree, traits, threads) and
// batch_events.cc (event filters, aggregates, sequences). Not part of the API.
//
// A condition is compiled once per EvaluateBatch call into a PlanNode tree that holds resolved
// columns, dictionary codes and prepared tests; worker threads then read the plan concurrently.
// The only state written after compilation is ColumnTest's memo, through relaxed atomics: every
// writer stores the same deterministic answer, so any interleaving is correct.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "audience/column.h"
#include "audience/condition.h"
#include "audience/population.h"
#include "audience/value_test.h"

namespace tessera::audience::batch {

inline constexpr TimeMs kMinTime = std::numeric_limits<TimeMs>::min();
inline constexpr TimeMs kMaxTime = std::numeric_limits<TimeMs>::max();

TimeMs AddSat(TimeMs a, int64_t b);

// Events with lo <= timestamp <= hi: `in last D` is [now - D + 1, now]; no window is everything.
Range<TimeMs> WindowRange(const std::optional<Duration>& window, TimeMs now);

// The answer of a test for a number computed from the data (a count, a sum, an identifier
// count), whose date reading is `time`. A NaN sum (inf - inf) is no number, as in JSON.
bool TestNumber(const CompiledTest& test, double x, std::optional<TimeMs> time);

// A test over every row of one column. String answers are memoised per dictionary entry.
class ColumnTest {
 public:
  // REQUIRES: test and column outlive the ColumnTest.
  ColumnTest(const ValueTest& test, const Column& column, TimeMs now);
  bool Row(size_t row) const;
  const CompiledTest& test() const { return test_; }

 private:
  bool Slow(size_t row) const;

  CompiledTest test_;
  const Column& column_;
  bool bool_answers_[2];
  std::unique_ptr<std::atomic<uint8_t>[]> memo_;  // per string code: 0 unknown, 1 false, 2 true
};

// A where clause over event property columns.
struct WhereNode {
  enum class Kind : uint8_t { kTest, kAnd, kOr, kNot };
  Kind kind = Kind::kTest;
  std::unique_ptr<ColumnTest> test;
  std::vector<WhereNode> children;

  bool Matches(size_t row) const;
};

struct FilterPlan {
  bool never = false;  // names an event or a source the population has none of
  std::optional<uint32_t> name;
  std::optional<uint8_t> touchpoint;
  std::optional<uint32_t> source;
  std::optional<uint32_t> not_source;  // `any event` skips Tessera's own (kSystemSource)
  std::optional<WhereNode> where;

  bool HasRest() const { return touchpoint || source || not_source || where; }
  // Everything but the name. REQUIRES: !never.
  bool MatchesRest(const EventTable& events, size_t row) const {
    return (!touchpoint || events.touchpoint[row] == *touchpoint) &&
           (!source || events.source[row] == *source) &&
           (!not_source || events.source[row] != *not_source) && (!where || where->Matches(row));
  }
  bool Matches(const EventTable& events, size_t row) const {
    return !never && (!name || events.name[row] == *name) && MatchesRest(events, row);
  }
};

// Rows of one profile that may match a filter inside a window: for a named filter, the rows of
// that name inside the window (sorted by timestamp); otherwise all of the profile's rows.
struct Candidates {
  size_t begin;
  size_t end;
  bool exact;  // every row in [begin, end) has the name and is in the window
};
Candidates CandidatesOf(const FilterPlan& f, Range<TimeMs> window, const EventTable& events,
                        uint32_t profile);

// Calls fn(row) for each event of the profile matching f inside window.
template <typename F>
void ForEachMatch(const FilterPlan& f, Range<TimeMs> window, const EventTable& events,
                  uint32_t profile, F&& fn) {
  if (f.never) return;
  Candidates c = CandidatesOf(f, window, events, profile);
  for (size_t row = c.begin; row < c.end; ++row) {
    if ((c.exact || window.Contains(events.timestamp[row])) && f.MatchesRest(events, row)) {
      fn(row);
    }
  }
}

struct AggregatePlan {
  const Aggregate* aggregate = nullptr;
  FilterPlan filter;
  Range<TimeMs> window{kMinTime, kMaxTime};
  const Column* property = nullptr;  // set for aggregates of a property
};

// An aggregate's value for one profile: none, an integer, a double, or a property value found
// on an event row.
struct AggregateValue {
  enum class Kind : uint8_t { kNone, kInt, kFloat, kRow };
  Kind kind = Kind::kNone;
  int64_t integer = 0;
  double number = 0;
  size_t row = 0;
};

// Per-thread buffers for the per-profile paths.
struct EventScratch {
  std::vector<size_t> rows;
  std::vector<std::pair<TimeMs, size_t>> steps[kMaxSequenceSteps];
  std::vector<TimeMs> times;
};

AggregateValue ComputeAggregate(const AggregatePlan& plan, const EventTable& events,
                                uint32_t profile, EventScratch* scratch);
std::optional<nlohmann::json> AggregateJson(const AggregatePlan& plan, const AggregateValue& v);

struct AggregateConditionPlan {
  AggregatePlan aggregate;
  std::optional<CompiledTest> test;      // for counts, sums, times...
  std::unique_ptr<ColumnTest> row_test;  // for first/last/most_frequent: a property value
  bool Test(const AggregateValue& v) const;
};

struct SequencePlan {
  std::vector<FilterPlan> steps;
  int64_t within_ms = 0;
  Range<TimeMs> window{kMinTime, kMaxTime};
};
bool MatchesSequence(const SequencePlan& plan, const EventTable& events, uint32_t profile,
                     EventScratch* scratch);

struct NotFollowedByPlan {
  FilterPlan first;
  FilterPlan absent;
  int64_t within_ms = 0;
  Range<TimeMs> window{kMinTime, kMaxTime};
};
bool MatchesNotFollowedBy(const NotFollowedByPlan& plan, const EventTable& events, uint32_t profile,
                          TimeMs now, EventScratch* scratch);

// Compilation of the event parts (batch_events.cc).
FilterPlan CompileFilter(const EventFilter& f, const Population& population, TimeMs now);
AggregatePlan CompileAggregate(const Aggregate& a, const Population& population, TimeMs now);

}  // namespace tessera::audience::batch
