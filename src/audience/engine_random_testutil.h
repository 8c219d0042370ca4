// Generators for the randomized differential test of the audience engine
// (engine_random_test.cc): the model of what the pipeline should build from the generated
// messages, the messages themselves, random and targeted definitions, and helpers that describe
// a profile and find when an aggregate's reference value changes.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <random>

#include "audience/engine_testutil.h"
#include "audience/internal.h"
#include "audience/testutil.h"

namespace tessera::audience::testutil {

using nlohmann::json;

// One generated message and what the model learns from it.
struct Message {
  size_t profile = 0;
  Event event;
  std::optional<EventView> track;       // track events: as the engine will see them
  json traits = json::object();         // identify: its traits
  std::map<std::string, bool> consent;  // choices it carries
  bool live = false;  // a track stamped when appended, a little before the clock's now
};

// A profile as the pipeline should build it from the messages appended so far.
struct ModelProfile {
  std::string user;
  bool seen = false;
  std::map<std::string, std::pair<TimeMs, json>> traits;
  std::map<std::string, std::pair<TimeMs, bool>> consent;
  std::vector<Identifier> identifiers;
  std::vector<EventView> events;

  // As profile.cc: the latest timestamp wins; a tie goes to the message applied later.
  void Apply(const Message& m) {
    seen = true;
    const TimeMs at = m.event.timestamp;
    for (const auto& [key, value] : m.traits.items()) {
      auto it = traits.find(key);
      if (it == traits.end() || it->second.first <= at) traits[key] = {at, value};
    }
    for (const auto& [purpose, granted] : m.consent) {
      auto it = consent.find(purpose);
      if (it == consent.end() || it->second.first <= at) consent[purpose] = {at, granted};
    }
    for (const Identifier& id : m.event.identifiers) {
      if (std::find(identifiers.begin(), identifiers.end(), id) == identifiers.end()) {
        identifiers.push_back(id);
      }
    }
    if (m.track) events.push_back(*m.track);
  }
};

struct ModelDefinition {
  Definition def;  // the current version
  bool deleted = false;
};

// The profile as JSON text, events in time order, for failure messages.
inline std::string Describe(const ProfileView& v) {
  json out = {{"traits", v.traits}, {"consent", v.consent}};
  out["identifiers"] = json::array();
  for (const Identifier& id : v.identifiers) out["identifiers"].push_back(id.ToString());
  std::vector<const EventView*> events;
  for (const EventView& e : v.events) events.push_back(&e);
  std::stable_sort(events.begin(), events.end(),
                   [](auto* a, auto* b) { return a->timestamp < b->timestamp; });
  out["events"] = json::array();
  for (const EventView* e : events) {
    out["events"].push_back({{"name", e->name},
                             {"touchpoint", e->touchpoint},
                             {"source", e->source},
                             {"at", FormatIso8601(e->timestamp)},
                             {"properties", e->properties}});
  }
  return out.dump(1, ' ', false, json::error_handler_t::replace);
}

// A value for failure messages (inf and nan, which JSON text cannot show, by name).
inline std::string Show(const std::optional<json>& v) {
  if (!v) return "(no value)";
  if (v->is_number_float() && !std::isfinite(v->get<double>())) {
    return v->get<double>() > 0 ? "inf" : v->get<double>() < 0 ? "-inf" : "nan";
  }
  return v->dump(-1, ' ', false, json::error_handler_t::replace);
}

// Property paths and durations of the tests in a `where`.
inline void WhereTests(const Condition& c, std::vector<Path>* paths,
                       std::set<int64_t>* durations) {
  if (const auto* p = std::get_if<PropertyCondition>(&c.node)) {
    paths->push_back(p->property);
    if (p->test.duration) durations->insert(p->test.duration->Ms());
  } else if (const auto* a = std::get_if<AndCondition>(&c.node)) {
    for (const Condition& child : a->children) WhereTests(child, paths, durations);
  } else if (const auto* o = std::get_if<OrCondition>(&c.node)) {
    for (const Condition& child : o->children) WhereTests(child, paths, durations);
  } else if (const auto* n = std::get_if<NotCondition>(&c.node)) {
    WhereTests(*n->child, paths, durations);
  }
}

// The first instant in (now, horizon] at which the aggregate's reference value changes by time
// alone. Candidates, as in next_change.cc: event timestamps and the dates that the `where` tests
// read, plus 0, the window or a test's duration.
inline std::optional<TimeMs> NextValueChange(const Aggregate& a, const ProfileView& v,
                                             TimeMs now, TimeMs horizon) {
  std::vector<Path> paths;
  std::set<int64_t> durations = {0};
  if (a.window) durations.insert(a.window->Ms());
  if (a.events.where) WhereTests(**a.events.where, &paths, &durations);
  std::set<TimeMs> times;
  for (const EventView& e : v.events) {
    std::vector<TimeMs> bases = {e.timestamp};
    for (const Path& path : paths) {
      const json* cur = &e.properties;
      for (const std::string& segment : path) {
        cur = cur->is_object() && cur->contains(segment) ? &cur->at(segment) : nullptr;
        if (cur == nullptr) break;
      }
      if (cur == nullptr) continue;
      if (auto t = internal::JsonAsTime(*cur)) bases.push_back(*t);
    }
    for (TimeMs b : bases) {
      for (int64_t d : durations) {
        TimeMs t;
        if (!__builtin_add_overflow(b, d, &t) && t > now && t <= horizon) times.insert(t);
      }
    }
  }
  std::optional<json> current = EvaluateAggregateReference(a, v, now);
  for (TimeMs t : times) {
    if (EvaluateAggregateReference(a, v, t) != current) return t;
  }
  return std::nullopt;
}

// Random messages and definitions over the same names, paths and values, so that they meet
// (engine_random_test.cc says what the streams leave out or adapt, and why).
class EngineWorkload {
 public:
  // source_id: the id of the registered source for a touchpoint.
  EngineWorkload(uint64_t seed, int name_pool,
                 std::function<std::string(std::string_view touchpoint)> source_id)
      : gen_(seed), rng_(seed ^ 0x5DEECE66DULL), source_id_(std::move(source_id)) {
    gen_.SetNamePool(name_pool);
  }

  int Uniform(size_t n) { return static_cast<int>(rng_() % n); }
  bool Chance(int percent) { return Uniform(100) < percent; }
  std::mt19937_64& rng() { return rng_; }

  // ---- Messages ----

  // The messages of profile i (user id `user`), from a random profile around now.
  std::vector<Message> MakeMessages(size_t i, const std::string& user, TimeMs now) {
    ProfileView p = gen_.MakeProfile(now);
    ProfileView rival = gen_.MakeProfile(now);  // traits and consent that compete by timestamp
    std::vector<Message> out;
    for (EventView& e : p.events) {
      // Large numbers under one common key, so that sums can overflow.
      if (Chance(30)) {
        static const double kAmounts[] = {1, 2.5, -1, 1e308, 1.7976931348623157e308, -1e308};
        e.properties["pro"] = kAmounts[Uniform(std::size(kAmounts))];
      }
      CollectPaths(e.name, e.properties, {});
      names_.push_back(e.name);
      if (Chance(25)) {
        e.touchpoint = "other";  // e.source, a pool name, is no registered source
        // Only Tessera writes events from its own source (no source can be given its id).
        if (e.source == kSystemSource) e.source = "unregistered";
      } else {
        e.source = source_id_(e.touchpoint);
      }
      Message m;
      m.profile = i;
      m.live = Chance(50);
      m.event = Track(user, e.name, e.timestamp, e.source, e.properties);
      m.track = std::move(e);
      out.push_back(std::move(m));
    }
    auto identify = [&](json traits) {
      Message m;
      m.profile = i;
      TimeMs at = now + 5 * kDay - static_cast<TimeMs>(rng_() % (105 * kDay));
      m.event = Identify(user, traits, at, source_id_("crm"));
      m.traits = std::move(traits);
      out.push_back(std::move(m));
    };
    json first = json::object(), second = json::object();
    for (const auto& [key, value] : p.traits.items()) (Chance(50) ? first : second)[key] = value;
    if (!first.empty() || out.empty()) identify(first);
    if (!second.empty()) identify(second);
    if (!rival.traits.empty() && Chance(50)) identify(rival.traits);

    for (const Identifier& id : p.identifiers) {
      Identifier unique{id.kind, "p" + std::to_string(i) + "-" + id.value};
      auto& ids = out[Uniform(out.size())].event.identifiers;
      if (std::find(ids.begin(), ids.end(), unique) == ids.end()) ids.push_back(unique);
    }
    std::vector<std::pair<std::string, bool>> choices(p.consent.begin(), p.consent.end());
    if (Chance(50)) choices.insert(choices.end(), rival.consent.begin(), rival.consent.end());
    for (const auto& [purpose, granted] : choices) {
      out[Uniform(out.size())].consent.emplace(purpose, granted);  // one choice per message
    }
    for (Message& m : out) {
      if (!m.consent.empty()) m.event.consent_json = json(m.consent).dump();
    }
    return out;
  }

  // ---- Definitions ----

  // A random aggregate, or (half the time) one targeted at the generated data.
  Aggregate MakeAggregate() { return Chance(50) ? TargetedAggregate() : gen_.MakeAggregate(2); }

  // Computed traits are named ct_0, ct_1, ... in order of creation or renaming.
  std::string NewComputedName() { return ComputedName(computed_names_++); }

  // A random condition; often with a targeted one or a test on a computed trait joined to it.
  // `in audience` reads only the audiences named in `readable`.
  Condition MakeCondition(const std::vector<std::string>& readable) {
    Condition c = gen_.Make(3);
    Adapt(&c, readable);
    auto join = [&](Condition other) {
      std::vector<Condition> both;
      both.push_back(std::move(c));
      both.push_back(std::move(other));
      c = Chance(50) ? Condition{AndCondition{std::move(both)}}
                     : Condition{OrCondition{std::move(both)}};
    };
    if (Chance(35)) c = TargetedCondition();
    if (Chance(30)) join(TargetedCondition());
    if (!readable.empty() && Chance(20)) join(OwnEventCondition(readable));
    if (Chance(30)) {
      join(Condition{TraitCondition{{AnyComputedName()}, ComputedTest()}});
    }
    Status valid = Validate(c);
    EXPECT_TRUE(valid.ok()) << valid.ToString() << "\n" << ToText(c);
    return c;
  }

 private:
  // Remembers where the generated events hold dates and numbers, for TargetedAggregate.
  void CollectPaths(const std::string& name, const json& v, const Path& path) {
    if (v.is_object()) {
      for (const auto& [key, child] : v.items()) {
        Path longer = path;
        longer.push_back(key);
        CollectPaths(name, child, longer);
      }
    } else if (!path.empty() && (v.is_number() || v.is_string())) {
      if (internal::JsonAsTime(v) && !v.is_number_float()) dated_.push_back({name, path});
      if (v.is_number()) numeric_.push_back({name, path});
    }
  }

  // A short duration: the clock crosses many of these between rounds.
  Duration Short() {
    static const TimeUnit kUnits[] = {TimeUnit::kMinute, TimeUnit::kHour, TimeUnit::kDay};
    return Duration{1 + Uniform(90), kUnits[Uniform(std::size(kUnits))]};
  }

  // A filter on a name the generated events have, or any event (20%).
  EventFilter Named() {
    EventFilter f;
    if (!names_.empty() && Chance(80)) f.name = names_[Uniform(names_.size())];
    return f;
  }

  // Random aggregates rarely change as the test's clock moves, rarely test dates inside `where`
  // and rarely add up large numbers: these do, over names and paths the generated events have.
  Aggregate TargetedAggregate() {
    Aggregate a;
    switch (Uniform(3)) {
      case 0: {  // a recency test on a date property inside `where`
        if (dated_.empty()) return gen_.MakeAggregate(2);
        const auto& [name, path] = dated_[Uniform(dated_.size())];
        static const AggregateFn kFns[] = {AggregateFn::kCount, AggregateFn::kFirstTime,
                                           AggregateFn::kLastTime, AggregateFn::kLast,
                                           AggregateFn::kDistinctCount};
        a.fn = kFns[Uniform(std::size(kFns))];
        if (AggregateTakesProperty(a.fn)) a.property = path;
        ValueTest recent{Chance(50) ? Op::kWithinLast : Op::kMoreThanAgo, {}, Short()};
        a.events.where = Condition{PropertyCondition{path, std::move(recent)}};
        if (Chance(80)) a.events.name = name;
        if (Chance(40)) a.window = Short();
        break;
      }
      case 1: {  // a sum or average of (possibly huge) numbers
        if (numeric_.empty()) return gen_.MakeAggregate(2);
        const auto& [name, path] = numeric_[Uniform(numeric_.size())];
        a.fn = Chance(70) ? AggregateFn::kSum : AggregateFn::kAvg;
        a.property = path;
        if (Chance(50)) a.events.name = name;
        if (Chance(40)) a.window = Short();
        break;
      }
      default: {  // a short window
        static const AggregateFn kFns[] = {AggregateFn::kCount, AggregateFn::kFirstTime,
                                           AggregateFn::kLastTime};
        a.fn = kFns[Uniform(std::size(kFns))];
        a.events = Named();
        a.window = Short();
      }
    }
    Status valid = Validate(a);
    EXPECT_TRUE(valid.ok()) << valid.ToString() << "\n" << ToText(a);
    return a;
  }

  // Time-dependent conditions over the generated names with short durations.
  Condition TargetedCondition() {
    switch (Uniform(4)) {
      case 0: {
        ValueTest t{Op::kGe, {static_cast<double>(1 + Uniform(2))}, std::nullopt};
        return Condition{AggregateCondition{{AggregateFn::kCount, {}, Named(), Short()}, t}};
      }
      case 1: {
        ValueTest t{Chance(50) ? Op::kWithinLast : Op::kMoreThanAgo, {}, Short()};
        return Condition{
            AggregateCondition{{AggregateFn::kLastTime, {}, Named(), std::nullopt}, t}};
      }
      case 2: {
        NotFollowedByCondition n{Named(), Named(), Short(), std::nullopt};
        if (Chance(50)) n.window = Short();
        return Condition{std::move(n)};
      }
      default: {
        SequenceCondition q{{Named(), Named()}, Short(), std::nullopt};
        if (Chance(50)) q.window = Short();
        return Condition{std::move(q)};
      }
    }
  }

  // Tessera's own events by name: performed "Audience Entered" (or Exited) where
  // properties.audience_name is one of `names`, at least once or twice, sometimes in a short
  // window. Its answer changes in the step after the other audience's entry or exit.
  Condition OwnEventCondition(const std::vector<std::string>& names) {
    EventFilter f;
    f.name = std::string(Chance(70) ? kAudienceEntered : kAudienceExited);
    f.where = Condition{PropertyCondition{
        {"audience_name"}, {Op::kEq, {names[Uniform(names.size())]}, std::nullopt}}};
    std::optional<Duration> window;
    if (Chance(40)) window = Short();
    ValueTest t{Op::kGe, {static_cast<double>(1 + Uniform(2))}, std::nullopt};
    return Condition{AggregateCondition{{AggregateFn::kCount, {}, std::move(f), window}, t}};
  }

  std::string ComputedName(size_t k) const { return "ct_" + std::to_string(k); }
  // A computed trait's name, existing, gone or yet to come.
  std::string AnyComputedName() { return ComputedName(Uniform(computed_names_ + 2)); }

  // A test on a computed trait's value, of the kinds its values have (numbers, epoch ms).
  ValueTest ComputedTest() {
    switch (Uniform(6)) {
      case 0:
        return {Op::kExists, {}, std::nullopt};
      case 1:
        return {Op::kMissing, {}, std::nullopt};
      case 2:
        return {Op::kGe, {static_cast<double>(Uniform(4))}, std::nullopt};
      case 3:
        return {Op::kLt, {static_cast<double>(Uniform(4))}, std::nullopt};
      case 4:
        return {Op::kWithinLast, {}, Duration{1 + Uniform(10), TimeUnit::kDay}};
      default:
        return {Op::kMoreThanAgo, {}, Duration{1 + Uniform(48), TimeUnit::kHour}};
    }
  }

  // Points `in audience` at the audiences named in `names`, and some traits at computed traits
  // (existing or yet to come).
  void Adapt(Condition* c, const std::vector<std::string>& names) {
    if (auto* a = std::get_if<AudienceCondition>(&c->node)) {
      if (names.empty()) {
        c->node = ConsentCondition{"pro"};
      } else {
        a->audience = names[Uniform(names.size())];
      }
    } else if (auto* t = std::get_if<TraitCondition>(&c->node)) {
      if (Chance(30)) t->trait = {AnyComputedName()};
    } else if (auto* n = std::get_if<AndCondition>(&c->node)) {
      for (Condition& child : n->children) Adapt(&child, names);
    } else if (auto* o = std::get_if<OrCondition>(&c->node)) {
      for (Condition& child : o->children) Adapt(&child, names);
    } else if (auto* x = std::get_if<NotCondition>(&c->node)) {
      Adapt(&*x->child, names);
    }
  }

  RandomConditions gen_;
  std::mt19937_64 rng_;
  const std::function<std::string(std::string_view)> source_id_;
  size_t computed_names_ = 0;
  std::vector<std::string> names_;                     // of the generated track events
  std::vector<std::pair<std::string, Path>> dated_;    // (event name, property path)
  std::vector<std::pair<std::string, Path>> numeric_;  // (event name, property path)
};

}  // namespace tessera::audience::testutil
