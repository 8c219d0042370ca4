// Loads one stored profile as the evaluators see it (reference.h's ProfileView): traits and
// consent from the profile record, identifiers from the identity node, and the track events of
// every fragment's timeline, read from the event log. Only the event names the definitions at
// hand read are loaded (the timeline entry names its event, so the others cost no log read).
//
// The live engine evaluates the same profiles again and again as their events arrive, so a
// loader may keep each profile's decoded events (those any definition reads) in an LRU cache
// by tessera_id, in timeline order: a load then reads no timeline and no log, and the engine
// adds each new event it applies to its profile's entry (Apply). An entry says which events it
// holds by seq ("every event of the profile's fragments up to seq `through`"): timelines only
// grow, the pipeline processes the log in order, and Apply checks which of the profile's
// fragments has the event on its timeline.
//
// Partitions: a loader may spread profiles over several partitions (by a hash of the
// tessera_id), each with its own share of the cache, so that several threads can evaluate
// profiles at once, one partition each.
//
// Thread-safety: Loads (and Forgets) of profiles in different partitions may run on different
// threads at once; everything else is called from one thread at a time (while no Load runs). Several
// loaders may share a store and log.
#pragma once

#include <list>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

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
  bool own_events = false;      // some of them read the audiences' own entries and exits
  std::set<std::string, std::less<>> names;  // else only these
  void Add(const ConditionDeps& deps);
  bool empty() const { return !any && names.empty(); }
  bool operator==(const EventNeeds&) const = default;
  // Before the source is known (a timeline entry names only its event).
  bool MayWant(std::string_view name) const { return any || names.count(name) > 0; }
  bool Wants(std::string_view name, std::string_view source) const {
    return names.count(name) > 0 || (any && (system || source != kSystemSource));
  }
};

// Decoded track events per profile, least recently used evicted beyond a byte budget (counted
// roughly as what the entries hold).
class ProfileEventCache {
 public:
  struct Event {
    uint64_t seq;
    uint32_t fragment;  // index into Entry::fragments
    EventView view;
  };
  struct Entry {
    std::vector<std::string> fragments;  // the profile's, as when the entry was read
    std::vector<Event> events;           // timeline order: fragment, then newest first
    uint64_t through = 0;                // holds every wanted event up to this seq
    size_t bytes = 0;
  };
  explicit ProfileEventCache(size_t max_bytes) : max_bytes_(max_bytes) {}
  // nullptr when absent; a hit becomes the most recently used. Valid until the next call.
  Entry* Find(std::string_view tessera_id);
  // Replaces any entry for the profile; evicts others beyond the budget. An entry bigger than
  // the budget is not kept.
  void Insert(const std::string& tessera_id, Entry entry);
  // Adds an event of the entry's fragment `fragment` at its timeline place, as of seq: the
  // entry then holds everything up to seq. REQUIRES: an entry with that fragment is there.
  void Add(const std::string& tessera_id, uint32_t fragment, uint64_t seq, EventView view,
           size_t bytes);
  void Erase(std::string_view tessera_id);
  void Clear();
  bool empty() const { return lru_.empty(); }
  size_t bytes() const { return bytes_; }
  size_t max_bytes() const { return max_bytes_; }

 private:
  using Lru = std::list<std::pair<std::string, Entry>>;
  void Evict();

  const size_t max_bytes_;
  size_t bytes_ = 0;
  Lru lru_;  // most recently used first
  std::unordered_map<std::string_view, Lru::iterator> index_;  // keys point into lru_
};

class ProfileLoader {
 public:
  // cache_bytes: the ProfileEventCaches' budget, shared evenly by the partitions; 0 = no cache.
  ProfileLoader(storage::Store* store, eventlog::EventLog* log,
                const sources::SourceRegistry* sources, size_t cache_bytes = 0,
                size_t partitions = 1);

  size_t partitions() const { return parts_.size(); }
  size_t PartitionOf(std::string_view tessera_id) const {
    return parts_.size() == 1 ? 0 : std::hash<std::string_view>{}(tessera_id) % parts_.size();
  }

  // NotFound when the profile has no record yet (no event has reached it). traits: the
  // top-level traits to read (null: all). The view may borrow its events from the cache: it
  // is valid until the next Load of a profile of the same partition, or Apply.
  Result<ProfileView> Load(const identity::Node& node, const EventNeeds& needs,
                           const std::set<std::string>* traits = nullptr);

  // What the cache keeps: the events `all` wants (what every definition at hand reads), with
  // only these property paths (e.g. Projection::properties; nullopt keeps all properties), so
  // that entries are a fraction of their messages' size. A change empties the cache. Loads
  // must not want more than `all`.
  void Configure(std::optional<std::set<Path>> paths, EventNeeds all);

  // Drops the profile's cached events (its timeline gained events the engine wrote itself).
  // Like Load, per partition.
  void Forget(std::string_view tessera_id) {
    auto& cache = parts_[PartitionOf(tessera_id)].cache;
    if (cache) cache->Erase(tessera_id);
  }

  // The engine applies `e` (in log order), which the pipeline has processed; `node` is the
  // profile it belongs to now. Adds it to the profile's cache entry when it has one. created:
  // `e` created the profile and its timeline holds nothing else (not even an entry or exit the
  // engine wrote): the entry starts with `e`.
  Status Apply(const identity::Node& node, const Event& e, bool created);

  // While one is alive, loads share one timeline iterator (its view as of the first load; the
  // caller reads what it applies before that, as the engine's step does). Seeking it costs far
  // less than a new iterator per profile. Outside a Step, each load reads afresh.
  class Step {
   public:
    explicit Step(ProfileLoader* loader) : loader_(loader) { loader_->in_step_ = true; }
    ~Step() {
      loader_->in_step_ = false;
      for (auto& part : loader_->parts_) part.step_timeline.reset();
    }
    Step(const Step&) = delete;
    Step& operator=(const Step&) = delete;

   private:
    ProfileLoader* const loader_;
  };

 private:
  // Reads the wanted events of the node's fragments from their timelines and the log, in
  // timeline order; *through: the highest seq on those timelines (0 when none); adds what
  // they hold to *bytes.
  struct Part {
    std::unique_ptr<ProfileEventCache> cache;            // null: no cache
    std::unique_ptr<storage::Iterator> step_timeline;  // shared by a step's loads
  };
  Status ReadEvents(Part* part, const identity::Node& node, const EventNeeds& needs,
                    std::vector<ProfileEventCache::Event>* out, uint64_t* through,
                    size_t* bytes);
  void ClearCaches();
  std::string Touchpoint(const std::string& source_id);
  // The track event as evaluators see it; *bytes: roughly what it holds.
  EventView Decode(const Event& e, size_t* bytes);

  storage::Store* const store_;
  eventlog::EventLog* const log_;
  const sources::SourceRegistry* const sources_;
  std::vector<Part> parts_;
  std::optional<std::set<Path>> projection_;
  EventNeeds all_;
  bool in_step_ = false;
};

}  // namespace tessera::audience
