// The batch evaluator's event side: filters, aggregates, sequences and "A and not B within".
// Counts and first/last times of a named filter are answered from the (name, timestamp) order
// alone; the other aggregates visit the matching rows in order of addition (ordinal), the order
// the reference sums and breaks ties in.
#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "audience/batch_internal.h"

namespace tessera::audience::batch {
namespace {

WhereNode CompileWhere(const Condition& c, const EventTable& events, TimeMs now) {
  WhereNode node;
  if (const auto* p = std::get_if<PropertyCondition>(&c.node)) {
    node.test = std::make_unique<ColumnTest>(p->test, events.properties.at(p->property), now);
    return node;
  }
  const std::vector<Condition>* children = nullptr;
  if (const auto* a = std::get_if<AndCondition>(&c.node)) {
    node.kind = WhereNode::Kind::kAnd;
    children = &a->children;
  } else if (const auto* o = std::get_if<OrCondition>(&c.node)) {
    node.kind = WhereNode::Kind::kOr;
    children = &o->children;
  } else {
    node.kind = WhereNode::Kind::kNot;
    node.children.push_back(CompileWhere(*std::get<NotCondition>(c.node).child, events, now));
    return node;
  }
  for (const Condition& child : *children)
    node.children.push_back(CompileWhere(child, events, now));
  return node;
}

// reference.cc's value key: canonical JSON with every number as a double, so 1 and 1.0 agree.
nlohmann::json Normalised(const nlohmann::json& v) {
  if (v.is_number()) return nlohmann::json(v.get<double>());
  if (v.is_array()) {
    nlohmann::json out = nlohmann::json::array();
    for (const nlohmann::json& e : v) out.push_back(Normalised(e));
    return out;
  }
  if (v.is_object()) {
    nlohmann::json out = nlohmann::json::object();
    for (const auto& item : v.items()) out[item.key()] = Normalised(item.value());
    return out;
  }
  return v;
}

std::string ValueKey(const Column& column, size_t row) {
  return Normalised(column.ToJson(row))
      .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// A property value read as a number, as the reference's AsNumber does.
std::optional<double> NumberOf(const Column& column, size_t row) {
  switch (column.type(row)) {
    case ValueType::kInt:
      return static_cast<double>(column.int_value(row));
    case ValueType::kFloat:
      return column.float_value(row);
    case ValueType::kJson: {
      ValueRef r = ValueRef::Of(column.json_value(row));
      if (r.kind == ValueRef::Kind::kNumber) return r.number;
      return std::nullopt;
    }
    default:
      return std::nullopt;
  }
}

AggregateValue Int(int64_t v) { return {AggregateValue::Kind::kInt, v, 0, 0}; }
// A non-finite result (a sum that overflowed) is no value, as in the reference.
AggregateValue Float(double v) {
  if (!std::isfinite(v)) return {};
  return {AggregateValue::Kind::kFloat, 0, v, 0};
}
AggregateValue Row(size_t row) { return {AggregateValue::Kind::kRow, 0, 0, row}; }

// sum/avg/min/max/first/last/most_frequent/distinct_count over rows, in order of addition.
AggregateValue PropertyAggregate(AggregateFn fn, const Column& column, const EventTable& events,
                                 const std::vector<size_t>& rows) {
  double sum = 0;
  size_t numbers = 0;
  std::optional<double> min, max;
  for (size_t row : rows) {
    std::optional<double> n = NumberOf(column, row);
    if (!n) continue;
    sum += *n;
    ++numbers;
    if (!min || *n < *min) min = n;  // the first of equals, like std::min_element
    if (!max || *max < *n) max = n;  // likewise std::max_element
  }
  switch (fn) {
    case AggregateFn::kSum:
      return Float(sum);
    case AggregateFn::kAvg:
      return numbers == 0 ? AggregateValue{} : Float(sum / static_cast<double>(numbers));
    case AggregateFn::kMin:
      return min ? Float(*min) : AggregateValue{};
    case AggregateFn::kMax:
      return max ? Float(*max) : AggregateValue{};
    case AggregateFn::kFirst:
    case AggregateFn::kLast: {
      // Earliest (latest) event; equal timestamps: the smallest (largest) value key.
      const bool first = fn == AggregateFn::kFirst;
      std::optional<size_t> best;
      for (size_t row : rows) {
        if (!best) {
          best = row;
          continue;
        }
        TimeMs t = events.timestamp[row], bt = events.timestamp[*best];
        bool earlier = t < bt || (t == bt && ValueKey(column, row) < ValueKey(column, *best));
        bool later = t > bt || (t == bt && ValueKey(column, row) > ValueKey(column, *best));
        if (first ? earlier : later) best = row;
      }
      return best ? Row(*best) : AggregateValue{};
    }
    case AggregateFn::kMostFrequent: {
      // Most events; ties: the value seen most recently; then the smallest value key.
      struct Tally {
        int64_t count = 0;
        TimeMs latest = kMinTime;
        size_t row = 0;
      };
      std::map<std::string, Tally> tallies;
      for (size_t row : rows) {
        Tally& t = tallies[ValueKey(column, row)];
        ++t.count;
        t.latest = std::max(t.latest, events.timestamp[row]);
        t.row = row;
      }
      const Tally* best = nullptr;
      for (const auto& [key, t] : tallies) {
        if (best == nullptr || t.count > best->count ||
            (t.count == best->count && t.latest > best->latest)) {
          best = &t;
        }
      }
      return best ? Row(best->row) : AggregateValue{};
    }
    case AggregateFn::kDistinctCount: {
      std::set<std::string> keys;
      for (size_t row : rows) keys.insert(ValueKey(column, row));
      return Int(static_cast<int64_t>(keys.size()));
    }
    default:
      return {};
  }
}

// Sequences: greedy by timestamp groups. Given the first step's time T1, assigning every step
// as early as possible is optimal (an earlier step never blocks a later one, since only
// timestamps order steps), and within one timestamp the steps matched form a prefix of the
// remaining steps, found by bipartite matching (steps to distinct events at that instant).
class SequenceMatcher {
 public:
  SequenceMatcher(const SequencePlan& plan, EventScratch* scratch)
      : n_(plan.steps.size()), within_(plan.within_ms), steps_(scratch->steps) {}

  bool FromStart(TimeMs t1) {
    TimeMs deadline = AddSat(t1, within_);
    size_t k = 0;
    for (TimeMs t = t1;;) {
      k += PrefixAt(t, k);
      if (k == n_) return true;
      const auto& c = steps_[k];
      auto next = std::upper_bound(c.begin(), c.end(), std::make_pair(t, SIZE_MAX));
      if (next == c.end() || next->first > deadline) return false;
      t = next->first;
    }
  }

 private:
  using Span = std::pair<const std::pair<TimeMs, size_t>*, const std::pair<TimeMs, size_t>*>;

  // How many of steps k, k+1, ... can take distinct events stamped exactly t.
  size_t PrefixAt(TimeMs t, size_t k) {
    matched_.clear();
    size_t j = k;
    for (; j < n_; ++j) {
      const auto& c = steps_[j];
      auto lo = std::lower_bound(c.begin(), c.end(), std::make_pair(t, size_t{0}));
      auto hi = std::upper_bound(lo, c.end(), std::make_pair(t, SIZE_MAX));
      spans_[j] = {c.data() + (lo - c.begin()), c.data() + (hi - c.begin())};
      visited_.clear();
      if (!Augment(j)) break;
    }
    return j - k;
  }

  // Kuhn's augmenting path from step j.
  bool Augment(size_t j) {
    for (const auto* e = spans_[j].first; e != spans_[j].second; ++e) {
      size_t row = e->second;
      if (std::find(visited_.begin(), visited_.end(), row) != visited_.end()) continue;
      visited_.push_back(row);
      auto owner = std::find_if(matched_.begin(), matched_.end(),
                                [row](const auto& m) { return m.first == row; });
      if (owner == matched_.end()) {
        matched_.emplace_back(row, j);
        return true;
      }
      if (Augment(owner->second)) {
        // Augment may have appended, so find the row's entry again before re-pointing it.
        for (auto& m : matched_) {
          if (m.first == row) m.second = j;
        }
        return true;
      }
    }
    return false;
  }

  size_t n_;
  int64_t within_;
  std::vector<std::pair<TimeMs, size_t>>* steps_;
  Span spans_[kMaxSequenceSteps];
  std::vector<std::pair<size_t, size_t>> matched_;  // (row, step)
  std::vector<size_t> visited_;
};

}  // namespace

TimeMs AddSat(TimeMs a, int64_t b) {
  TimeMs out;
  if (__builtin_add_overflow(a, b, &out)) return b > 0 ? kMaxTime : kMinTime;
  return out;
}

Range<TimeMs> WindowRange(const std::optional<Duration>& window, TimeMs now) {
  if (!window) return {kMinTime, kMaxTime};
  return {AddSat(now, -window->Ms()) + 1, now};  // durations are positive: no overflow
}

bool TestNumber(const CompiledTest& test, double x, std::optional<TimeMs> time) {
  if (std::isnan(x)) return test.Apply(ValueRef{});  // NaN is no number: like an object
  if (test.number_range()) return test.number_range()->Contains(x);
  if (test.time_range()) return time && test.time_range()->Contains(*time);
  ValueRef r;
  r.kind = ValueRef::Kind::kNumber;
  r.number = x;
  r.time = time;
  return test.Apply(r);
}

bool WhereNode::Matches(size_t row) const {
  switch (kind) {
    case Kind::kTest:
      return test->Row(row);
    case Kind::kAnd:
      return std::all_of(children.begin(), children.end(),
                         [row](const WhereNode& c) { return c.Matches(row); });
    case Kind::kOr:
      return std::any_of(children.begin(), children.end(),
                         [row](const WhereNode& c) { return c.Matches(row); });
    case Kind::kNot:
      return !children[0].Matches(row);
  }
  return false;
}

FilterPlan CompileFilter(const EventFilter& f, const Population& population, TimeMs now) {
  const EventTable& events = population.events();
  FilterPlan plan;
  if (f.name) {
    auto it = events.name_codes.find(*f.name);
    plan.never = it == events.name_codes.end();
    if (!plan.never) plan.name = it->second;
  }
  if (f.touchpoint) plan.touchpoint = TouchpointCode(*f.touchpoint);
  if (f.source) {
    auto it = events.source_codes.find(*f.source);
    if (it == events.source_codes.end()) {
      plan.never = true;
    } else {
      plan.source = it->second;
    }
  }
  if (!f.name && !f.source) {
    auto it = events.source_codes.find(kSystemSource);
    if (it != events.source_codes.end()) plan.not_source = it->second;
  }
  if (f.where) plan.where = CompileWhere(**f.where, events, now);
  return plan;
}

AggregatePlan CompileAggregate(const Aggregate& a, const Population& population, TimeMs now) {
  AggregatePlan plan;
  plan.aggregate = &a;
  plan.filter = CompileFilter(a.events, population, now);
  plan.window = WindowRange(a.window, now);
  if (!a.property.empty()) plan.property = &population.events().properties.at(a.property);
  return plan;
}

Candidates CandidatesOf(const FilterPlan& f, Range<TimeMs> window, const EventTable& events,
                        uint32_t profile) {
  size_t begin = events.offsets[profile];
  size_t end = events.offsets[profile + 1];
  if (!f.name) return {begin, end, false};
  const uint32_t* names = events.name.data();
  auto [lo, hi] = std::equal_range(names + begin, names + end, *f.name);
  const TimeMs* ts = events.timestamp.data();
  const TimeMs* from = std::lower_bound(ts + (lo - names), ts + (hi - names), window.lo);
  const TimeMs* to = std::upper_bound(from, ts + (hi - names), window.hi);
  return {static_cast<size_t>(from - ts), static_cast<size_t>(to - ts), true};
}

AggregateValue ComputeAggregate(const AggregatePlan& plan, const EventTable& events,
                                uint32_t profile, EventScratch* scratch) {
  const FilterPlan& f = plan.filter;
  const AggregateFn fn = plan.aggregate->fn;
  if (fn == AggregateFn::kCount || fn == AggregateFn::kFirstTime || fn == AggregateFn::kLastTime) {
    if (f.never) return fn == AggregateFn::kCount ? Int(0) : AggregateValue{};
    Candidates c = CandidatesOf(f, plan.window, events, profile);
    if (c.exact && !f.HasRest()) {  // the rows are exactly the matches, sorted by time
      if (fn == AggregateFn::kCount) return Int(static_cast<int64_t>(c.end - c.begin));
      if (c.begin == c.end) return {};
      return Int(events.timestamp[fn == AggregateFn::kFirstTime ? c.begin : c.end - 1]);
    }
    int64_t count = 0;
    std::optional<TimeMs> first, last;
    ForEachMatch(f, plan.window, events, profile, [&](size_t row) {
      TimeMs t = events.timestamp[row];
      ++count;
      if (!first || t < *first) first = t;
      if (!last || t > *last) last = t;
    });
    if (fn == AggregateFn::kCount) return Int(count);
    std::optional<TimeMs> t = fn == AggregateFn::kFirstTime ? first : last;
    return t ? Int(*t) : AggregateValue{};
  }
  std::vector<size_t>& rows = scratch->rows;
  rows.clear();
  ForEachMatch(f, plan.window, events, profile, [&](size_t row) {
    if (plan.property->type(row) != ValueType::kMissing) rows.push_back(row);
  });
  std::sort(rows.begin(), rows.end(),
            [&events](size_t a, size_t b) { return events.ordinal[a] < events.ordinal[b]; });
  return PropertyAggregate(fn, *plan.property, events, rows);
}

std::optional<nlohmann::json> AggregateJson(const AggregatePlan& plan, const AggregateValue& v) {
  switch (v.kind) {
    case AggregateValue::Kind::kInt:
      return nlohmann::json(v.integer);
    case AggregateValue::Kind::kFloat:
      return nlohmann::json(v.number);
    case AggregateValue::Kind::kRow:
      return plan.property->ToJson(v.row);
    case AggregateValue::Kind::kNone:
      break;
  }
  return std::nullopt;
}

bool AggregateConditionPlan::Test(const AggregateValue& v) const {
  switch (v.kind) {
    case AggregateValue::Kind::kInt:
      return TestNumber(*test, static_cast<double>(v.integer), v.integer);
    case AggregateValue::Kind::kFloat:
      return TestNumber(*test, v.number, FloatAsTime(v.number));
    case AggregateValue::Kind::kRow:
      return row_test->Row(v.row);
    case AggregateValue::Kind::kNone:
      break;
  }
  return test->OnMissing();
}

bool MatchesSequence(const SequencePlan& plan, const EventTable& events, uint32_t profile,
                     EventScratch* scratch) {
  for (size_t k = 0; k < plan.steps.size(); ++k) {
    auto& c = scratch->steps[k];
    c.clear();
    const FilterPlan& step = plan.steps[k];
    ForEachMatch(step, plan.window, events, profile,
                 [&](size_t row) { c.emplace_back(events.timestamp[row], row); });
    if (c.empty()) return false;
    if (!step.name) std::sort(c.begin(), c.end());  // a name's rows come sorted by time
  }
  SequenceMatcher matcher(plan, scratch);
  const auto& starts = scratch->steps[0];
  for (size_t i = 0; i < starts.size();) {
    TimeMs t1 = starts[i].first;
    if (matcher.FromStart(t1)) return true;
    while (i < starts.size() && starts[i].first == t1) ++i;
  }
  return false;
}

bool MatchesNotFollowedBy(const NotFollowedByPlan& plan, const EventTable& events, uint32_t profile,
                          TimeMs now, EventScratch* scratch) {
  std::vector<TimeMs>& b_times = scratch->times;
  b_times.clear();
  ForEachMatch(plan.absent, {kMinTime, kMaxTime}, events, profile,
               [&](size_t row) { b_times.push_back(events.timestamp[row]); });
  std::sort(b_times.begin(), b_times.end());
  bool found = false;
  ForEachMatch(plan.first, plan.window, events, profile, [&](size_t row) {
    TimeMs a = events.timestamp[row];
    TimeMs deadline = AddSat(a, plan.within_ms);
    if (found || deadline > now) return;  // qualifies only once `within` has fully passed
    auto count = std::upper_bound(b_times.begin(), b_times.end(), deadline) -
                 std::lower_bound(b_times.begin(), b_times.end(), a);
    if (plan.absent.Matches(events, row)) --count;  // the A event itself is no B
    found = count == 0;
  });
  return found;
}

}  // namespace tessera::audience::batch
