// Loads one stored profile as the evaluators see it (reference.h's ProfileView): traits and
// consent from the profile record, identifiers from the identity node, and the track events of
// every fragment's timeline, read from the event log. Only the event names the definitions at
// hand read are loaded (the timeline entry names its event, so the others cost no log read).
//
// Thread-safety: a loader is used by one thread; several loaders may share a store and log.
#pragma once

#include <set>
#include <string>

#include "audience/condition.h"
#include "audience/reference.h"
#include "eventlog/event_log.h"
#include "identity/node.h"
#include "sources/source_registry.h"

namespace tessera::audience {

// Which events a set of definitions reads.
struct EventNeeds {
  bool any = false;             // every track event (Tessera's own only when `system`)
  bool system = false;
  std::set<std::string, std::less<>> names;  // else only these
  void Add(const ConditionDeps& deps);
  bool empty() const { return !any && names.empty(); }
  // Before the source is known (a timeline entry names only its event).
  bool MayWant(std::string_view name) const { return any || names.count(name) > 0; }
  bool Wants(std::string_view name, std::string_view source) const {
    return names.count(name) > 0 || (any && (system || source != kSystemSource));
  }
};

class ProfileLoader {
 public:
  ProfileLoader(storage::Store* store, eventlog::EventLog* log,
                const sources::SourceRegistry* sources)
      : store_(store), log_(log), sources_(sources) {}

  // NotFound when the profile has no record yet (no event has reached it).
  Result<ProfileView> Load(const identity::Node& node, const EventNeeds& needs);

 private:
  Status LoadEvents(const identity::Node& node, const EventNeeds& needs, ProfileView* view);
  std::string Touchpoint(const std::string& source_id);

  storage::Store* const store_;
  eventlog::EventLog* const log_;
  const sources::SourceRegistry* const sources_;
};

}  // namespace tessera::audience
