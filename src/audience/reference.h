// The reference evaluator: the semantics of the condition language as plain, obviously-correct
// code over an in-memory profile. It is the oracle that the optimised live and batch evaluators
// are tested against (differentially), not the hot path: it scans the whole history, and
// sequences are found by backtracking. docs/CONDITIONS.md states the same rules in prose.
//
// Every function here is pure: the result depends only on its arguments.
// REQUIRES: conditions and aggregates are valid (Validate()); the parsers only build valid ones.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "audience/condition.h"
#include "core/event.h"
#include "core/time.h"

namespace tessera::audience {

// One event of the profile's history.
struct EventView {
  std::string name;        // track event name
  std::string touchpoint;  // of the source it came through: web, app, store, ...
  std::string source;      // source id
  TimeMs timestamp = 0;
  nlohmann::json properties = nlohmann::json::object();
};

// A profile as the reference evaluator sees it. Events may be in any order.
struct ProfileView {
  nlohmann::json traits = nlohmann::json::object();
  std::vector<Identifier> identifiers;  // {kind, value}; duplicates count once
  std::map<std::string, bool> consent;  // purpose -> granted
  std::vector<EventView> events;
  // Instead of `events`: events kept elsewhere (a loader's cache), valid as long as their
  // keeper leaves them alone. Read either through EventsOf.
  std::vector<const EventView*> borrowed;
};

// The events of a profile, wherever they are kept.
class EventsOf {
 public:
  explicit EventsOf(const ProfileView& p) : p_(p) {}
  size_t size() const { return p_.borrowed.empty() ? p_.events.size() : p_.borrowed.size(); }
  const EventView& operator[](size_t i) const {
    return p_.borrowed.empty() ? p_.events[i] : *p_.borrowed[i];
  }
  struct Iterator {
    const EventsOf* list;
    size_t i;
    const EventView& operator*() const { return (*list)[i]; }
    Iterator& operator++() {
      ++i;
      return *this;
    }
    bool operator!=(const Iterator& other) const { return i != other.i; }
  };
  Iterator begin() const { return {this, 0}; }
  Iterator end() const { return {this, size()}; }

 private:
  const ProfileView& p_;
};

// Answers `in audience "x"`: is this profile currently a member of audience x (by name or id)?
class AudienceMembership {
 public:
  virtual ~AudienceMembership() = default;
  virtual bool IsMember(std::string_view audience) const = 0;
};

// Membership from a fixed set; the default is a member of nothing.
class StaticMembership final : public AudienceMembership {
 public:
  StaticMembership() = default;
  explicit StaticMembership(std::set<std::string, std::less<>> members)
      : members_(std::move(members)) {}
  bool IsMember(std::string_view audience) const override {
    return members_.find(audience) != members_.end();
  }

 private:
  std::set<std::string, std::less<>> members_;
};

// Is the profile in the audience defined by condition, at time now?
bool EvaluateReference(const Condition& condition, const ProfileView& profile, TimeMs now,
                       const AudienceMembership& membership);

// The aggregate's value at time now, or nullopt when it has none (avg/min/max/first/last/
// most_frequent/first_time/last_time over no values, and a sum/avg/min/max that is not finite,
// as when a sum overflows: JSON has no infinity). count and distinct_count are integers,
// sum/avg/min/max doubles, first/last/most_frequent the property value as found (any JSON),
// first_time/last_time epoch ms. This is what a
// computed trait built on the aggregate holds.
std::optional<nlohmann::json> EvaluateAggregateReference(const Aggregate& aggregate,
                                                         const ProfileView& profile, TimeMs now);

// The earliest time after now at which EvaluateReference's answer changes with no new data
// (no new events, traits, identifiers, consent or membership changes): an event leaving or
// entering a window, a `more than N days ago` coming true, a `within last` going false, a
// `not ... within` deadline passing. nullopt when it never changes. This is when a durable timer
// should re-evaluate the profile. `at_now`: the answer at now, when the caller has it already.
std::optional<TimeMs> NextChange(const Condition& condition, const ProfileView& profile, TimeMs now,
                                 const AudienceMembership& membership,
                                 std::optional<bool> at_now = std::nullopt);

// The same for an aggregate's value (a computed trait's): the earliest time after now at which
// EvaluateAggregateReference's answer differs with no new data, as an event enters or leaves the
// window or a date its `where` tests crosses a `within last` / `more than ... ago` threshold.
// nullopt when it never changes. `at_now`: the value at now, when the caller has it already.
std::optional<TimeMs> NextAggregateChange(const Aggregate& aggregate, const ProfileView& profile,
                                          TimeMs now,
                                          const std::optional<nlohmann::json>* at_now = nullptr);

}  // namespace tessera::audience
