// Loads one stored profile as the evaluators see it (reference.h's ProfileView): traits and
// consent from the profile record, identifiers from the identity node, and the track events of
// every fragment's timeline, read from the event log. Only the event names the definitions at
// hand read are loaded (the timeline entry names its event, so the others cost no log read).
// Events are immutable, so a loader may keep the ones it decoded in an LRU cache by seq (the
// live engine evaluates the same profiles again and again as their events arrive).
//
// Thread-safety: a loader is used by one thread; several loaders may share a store and log.
#pragma once

#include <list>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>

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

// Decoded track events by log seq, least recently used evicted beyond a byte budget (counted
// as the events' message sizes, an upper bound of what they hold).
class EventCache {
 public:
  explicit EventCache(size_t max_bytes) : max_bytes_(max_bytes) {}
  // nullptr when absent; a hit becomes the most recently used.
  const EventView* Find(uint64_t seq);
  void Insert(uint64_t seq, EventView event, size_t bytes);
  size_t bytes() const { return bytes_; }
  size_t max_bytes() const { return max_bytes_; }

 private:
  struct Entry {
    uint64_t seq;
    EventView event;
    size_t bytes;
  };
  const size_t max_bytes_;
  size_t bytes_ = 0;
  std::list<Entry> lru_;  // most recently used first
  std::unordered_map<uint64_t, std::list<Entry>::iterator> index_;
};

class ProfileLoader {
 public:
  // cache_bytes: the EventCache's budget; 0 = no cache.
  ProfileLoader(storage::Store* store, eventlog::EventLog* log,
                const sources::SourceRegistry* sources, size_t cache_bytes = 0)
      : store_(store),
        log_(log),
        sources_(sources),
        cache_(cache_bytes > 0 ? std::make_unique<EventCache>(cache_bytes) : nullptr) {}

  // NotFound when the profile has no record yet (no event has reached it).
  Result<ProfileView> Load(const identity::Node& node, const EventNeeds& needs);

  // Events keep only these property paths (what every definition at hand reads, e.g.
  // Projection::properties), so that cached events are a fraction of their message's size;
  // nullopt (the default) keeps all properties. A different projection empties the cache.
  void SetPropertyProjection(std::optional<std::set<Path>> paths);

  // An event the caller read from the log anyway (the engine, applying it): decoded into the
  // cache now if `needs` (what all definitions read) wants it, so that evaluations need not
  // read it again. Without a cache, nothing.
  void Prime(const Event& e, const EventNeeds& needs);

  // While one is alive, loads share one timeline iterator (its view as of the first load; the
  // caller reads what it applies before that, as the engine's step does). Seeking it costs far
  // less than a new iterator per profile. Outside a Step, each load reads afresh.
  class Step {
   public:
    explicit Step(ProfileLoader* loader) : loader_(loader) { loader_->in_step_ = true; }
    ~Step() {
      loader_->in_step_ = false;
      loader_->step_timeline_.reset();
    }
    Step(const Step&) = delete;
    Step& operator=(const Step&) = delete;

   private:
    ProfileLoader* const loader_;
  };

 private:
  Status LoadEvents(const identity::Node& node, const EventNeeds& needs, ProfileView* view);
  // The event at seq decoded (from the cache when there); nullopt when it is not a track, or
  // is one of Tessera's own that `needs` does not want.
  Result<std::optional<EventView>> ReadTrackEvent(uint64_t seq, const EventNeeds& needs);
  std::string Touchpoint(const std::string& source_id);
  // The track event as evaluators see it; *bytes: what it costs in the cache.
  EventView Decode(const Event& e, size_t* bytes);

  storage::Store* const store_;
  eventlog::EventLog* const log_;
  const sources::SourceRegistry* const sources_;
  std::unique_ptr<EventCache> cache_;
  std::optional<std::set<Path>> projection_;
  bool in_step_ = false;
  std::unique_ptr<storage::Iterator> step_timeline_;  // shared by a step's loads
};

}  // namespace tessera::audience
