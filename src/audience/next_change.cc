// NextChange(): when the reference answer can next change by the passage of time alone.
//
// Every way the evaluator reads `now` is a threshold "now >= b + d", where b is an event
// timestamp or a date found in the data (a trait, or an event property the condition reads) and d
// is 0 or one of the condition's durations (only events that some filter of the condition
// selects count, so only theirs are bases):
//   window (now - W, now]          an event at e is inside iff now >= e and not now >= e + W
//   within last D on a date t      now >= t and not now >= t + D
//   more than D ago on a date t    now >= t + D
//   A and not B within D           A's deadline passed iff now >= tA + D
// (first_time/last_time are event timestamps; first/last/most_frequent are property values;
// numeric aggregates cannot be compared with durations.) So the answer is constant between
// consecutive candidates b + d, and the first candidate after now where it differs is exact.
// The same holds for an aggregate's value alone (a computed trait): its window and the recency
// tests of its `where` are the only ways it reads `now`.
#include <algorithm>

#include "audience/internal.h"
#include "audience/reference.h"

namespace tessera::audience {
namespace {

// What a condition or aggregate reads of time: its durations and the paths whose dates give
// bases, and whether it reads `now` at all (Dependencies().time_dependent, found on the same
// walk).
class Candidates {
 public:
  void Condition(const audience::Condition& c) {
    std::visit([this](const auto& n) { Node(n); }, c.node);
  }
  void Aggregate(const audience::Aggregate& a) {
    Filter(a.events);
    Window(a.window);
  }
  // After the walk: durations sorted, once each.
  void Finish() {
    std::sort(durations.begin(), durations.end());
    durations.erase(std::unique(durations.begin(), durations.end()), durations.end());
  }

  // Does some event filter of the condition select this event? Others never count, whatever
  // the time, so their timestamps are no candidates.
  bool Selects(const EventView& e) const {
    for (const EventFilter* f : filters) {
      if (SelectsNameAndSource(*f, e.name, e.source) &&
          (!f->touchpoint || e.touchpoint == *f->touchpoint)) {
        return true;
      }
    }
    return false;
  }

  bool time_dependent = false;
  std::vector<const EventFilter*> filters;
  std::vector<int64_t> durations = {0};
  std::vector<const Path*> trait_paths;
  std::vector<const Path*> property_paths;

 private:
  void Window(const std::optional<Duration>& d) {
    if (!d) return;
    durations.push_back(d->Ms());
    time_dependent = true;
  }
  void TestDuration(const audience::ValueTest& t) {
    if (t.op == Op::kWithinLast || t.op == Op::kMoreThanAgo) time_dependent = true;
    if (t.duration) durations.push_back(t.duration->Ms());
  }
  void Filter(const EventFilter& f) {
    filters.push_back(&f);
    if (f.where) Condition(**f.where);
  }
  void Node(const TraitCondition& n) {
    trait_paths.push_back(&n.trait);
    TestDuration(n.test);
  }
  void Node(const PropertyCondition& n) {
    property_paths.push_back(&n.property);
    TestDuration(n.test);
  }
  void Node(const AggregateCondition& n) {
    if (!n.aggregate.property.empty()) property_paths.push_back(&n.aggregate.property);
    Filter(n.aggregate.events);
    Window(n.aggregate.window);
    TestDuration(n.test);
  }
  void Node(const SequenceCondition& n) {
    for (const EventFilter& step : n.steps) Filter(step);
    durations.push_back(n.within.Ms());
    Window(n.window);
  }
  void Node(const NotFollowedByCondition& n) {
    Filter(n.first);
    Filter(n.absent);
    durations.push_back(n.within.Ms());
    time_dependent = true;  // the `within` deadline passes with time
    Window(n.window);
  }
  void Node(const AudienceCondition&) {}
  void Node(const IdentifierCondition&) {}
  void Node(const ConsentCondition&) {}
  void Node(const AndCondition& n) {
    for (const audience::Condition& c : n.children) Condition(c);
  }
  void Node(const OrCondition& n) {
    for (const audience::Condition& c : n.children) Condition(c);
  }
  void Node(const NotCondition& n) { Condition(*n.child); }
};

const nlohmann::json* Lookup(const nlohmann::json& root, const Path& path) {
  const nlohmann::json* cur = &root;
  for (const std::string& segment : path) {
    if (!cur->is_object()) return nullptr;
    auto it = cur->find(segment);
    if (it == cur->end()) return nullptr;
    cur = &*it;
  }
  return cur;
}

// Every b + d after now, ascending. Only events some filter selects give bases.
std::vector<TimeMs> Times(const Candidates& c, const ProfileView& profile, TimeMs now) {
  std::vector<TimeMs> bases;
  for (const EventView& e : EventsOf(profile)) {
    if (!c.Selects(e)) continue;
    bases.push_back(e.timestamp);
    for (const Path* path : c.property_paths) {
      if (const nlohmann::json* v = Lookup(e.properties, *path)) {
        if (auto t = internal::JsonAsTime(*v)) bases.push_back(*t);
      }
    }
  }
  for (const Path* path : c.trait_paths) {
    if (const nlohmann::json* v = Lookup(profile.traits, *path)) {
      if (auto t = internal::JsonAsTime(*v)) bases.push_back(*t);
    }
  }
  std::vector<TimeMs> times;
  times.reserve(bases.size() * c.durations.size());
  for (TimeMs b : bases) {
    for (int64_t d : c.durations) {
      TimeMs t;
      if (!__builtin_add_overflow(b, d, &t) && t > now) times.push_back(t);
    }
  }
  std::sort(times.begin(), times.end());
  times.erase(std::unique(times.begin(), times.end()), times.end());
  return times;
}

}  // namespace

std::optional<TimeMs> NextChange(const Condition& condition, const ProfileView& profile, TimeMs now,
                                 const AudienceMembership& membership, std::optional<bool> at_now) {
  Candidates c;
  c.Condition(condition);
  if (!c.time_dependent) return std::nullopt;
  c.Finish();
  const bool current = at_now ? *at_now : EvaluateReference(condition, profile, now, membership);
  for (TimeMs t : Times(c, profile, now)) {
    if (EvaluateReference(condition, profile, t, membership) != current) return t;
  }
  return std::nullopt;
}

std::optional<TimeMs> NextAggregateChange(const Aggregate& aggregate, const ProfileView& profile,
                                          TimeMs now, const std::optional<nlohmann::json>* at_now) {
  Candidates c;
  c.Aggregate(aggregate);
  if (!c.time_dependent) return std::nullopt;
  c.Finish();
  const std::optional<nlohmann::json> current =
      at_now ? *at_now : EvaluateAggregateReference(aggregate, profile, now);
  for (TimeMs t : Times(c, profile, now)) {
    if (EvaluateAggregateReference(aggregate, profile, t) != current) return t;
  }
  return std::nullopt;
}

}  // namespace tessera::audience
