// A Population: an immutable columnar snapshot of many profiles, holding only what a set of
// audience definitions reads (a Projection), for the batch evaluator (batch.h).
//
// Layout (what the evaluator's loops run over):
// - profiles have dense indices 0..size()-1 in order of addition; id(i) is the caller's id
//   (all ids in one buffer: no allocation per profile);
// - one typed Column (column.h) per projected trait path, a row per profile;
// - events CSR-style: profile i's events are rows [offsets[i], offsets[i+1]) of EventTable,
//   sorted by (name code, timestamp), so a named, windowed count is two binary searches;
//   touchpoints and sources are codes; one Column per projected event property path; each event
//   keeps its ordinal (position in order of addition within its profile), because the reference
//   sums and picks values in that order, and floating-point sums depend on it;
// - per projected identifier kind, the number of distinct values per profile;
// - per projected consent purpose, a bit per profile (recorded and granted).
//
// Thread-safety: a built Population is immutable; any number of threads may read it. A
// PopulationBuilder is single-threaded.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "audience/column.h"
#include "audience/condition.h"
#include "audience/membership_bits.h"
#include "audience/reference.h"
#include "core/status.h"

namespace tessera::audience {

// What a population must hold to evaluate some definitions.
struct Projection {
  std::set<Path> traits;    // trait paths read; the builder reads top-level keys path[0]
  bool all_events = false;  // some event filter has no name: every event is kept
  std::set<std::string, std::less<>> event_names;  // otherwise only events of these names
  std::set<Path> properties;  // event property paths read (aggregated or in a where)
  std::set<std::string, std::less<>> identifier_kinds;
  std::set<std::string, std::less<>> consent_purposes;

  bool NeedsEvents() const { return all_events || !event_names.empty(); }
  bool KeepsEvent(std::string_view name) const {
    return all_events || event_names.find(name) != event_names.end();
  }
  // Adds everything other reads.
  void Merge(const Projection& other);
  // What this projection lacks of other ("trait plan, event \"X\""); empty when it covers it.
  std::string Missing(const Projection& other) const;
  bool operator==(const Projection&) const = default;
};

// REQUIRES: conditions and aggregates are valid (Validate()).
Projection ProjectionFor(const std::vector<const Condition*>& conditions,
                         const std::vector<const Aggregate*>& aggregates);

// Touchpoint codes: the index in kTouchpoints, or kOtherTouchpoint for any other text (which no
// filter can name, since filters only take known touchpoints).
inline constexpr uint8_t kOtherTouchpoint = 255;
uint8_t TouchpointCode(std::string_view touchpoint);

// Heterogeneous lookup by string_view in unordered maps keyed by std::string.
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
};
using CodeMap = std::unordered_map<std::string, uint32_t, StringHash, std::equal_to<>>;

// All events of a population; rows grouped by profile (see Population).
struct EventTable {
  std::vector<uint64_t> offsets;    // size()+1 entries; empty when no events are projected
  std::vector<uint32_t> name;       // codes into names
  std::vector<uint8_t> touchpoint;  // TouchpointCode
  std::vector<uint32_t> source;     // codes into sources
  std::vector<TimeMs> timestamp;
  std::vector<uint32_t> ordinal;  // order of addition within the profile, from 0
  std::vector<std::string> names;
  std::vector<std::string> sources;
  CodeMap name_codes;
  CodeMap source_codes;
  std::map<Path, Column> properties;

  size_t size() const { return timestamp.size(); }
};

class Population {
 public:
  Population(Population&&) noexcept = default;
  Population& operator=(Population&&) noexcept = default;
  Population(const Population&) = delete;
  Population& operator=(const Population&) = delete;

  size_t size() const { return id_ends_.size(); }
  std::string_view id(uint32_t index) const {
    size_t begin = index == 0 ? 0 : id_ends_[index - 1];
    return std::string_view(id_chars_).substr(begin, id_ends_[index] - begin);
  }
  const Projection& projection() const { return projection_; }

  // nullptr unless the path is projected.
  const Column* trait(const Path& path) const;
  const EventTable& events() const { return events_; }
  // Distinct values of that kind per profile; nullptr unless the kind is projected.
  const std::vector<uint32_t>* identifier_counts(std::string_view kind) const;
  // Profiles with that purpose recorded and granted; nullptr unless the purpose is projected.
  const MembershipBits* consent(std::string_view purpose) const;

  // Heap bytes held (approximate: containers' capacity, long strings, not allocator overhead).
  size_t MemoryBytes() const;

 private:
  friend class PopulationBuilder;
  Population() = default;

  Projection projection_;
  std::string id_chars_;           // all ids, back to back
  std::vector<uint64_t> id_ends_;  // where each id ends in id_chars_
  std::map<Path, Column> traits_;
  EventTable events_;
  std::map<std::string, std::vector<uint32_t>, std::less<>> identifier_counts_;
  std::map<std::string, MembershipBits, std::less<>> consent_;
};

// Builds a Population. Everything outside the projection is dropped on the way in. The typed
// AddTrait*/AddEvent overloads are the bulk-loading path: no JSON object per profile.
// REQUIRES (all methods taking an index): index was returned by AddProfile.
class PopulationBuilder {
 public:
  explicit PopulationBuilder(Projection projection);

  // A new profile with no data; returns its dense index (0, 1, 2, ... in order of calls).
  uint32_t AddProfile(std::string_view id);
  // A profile from a ProfileView, as the reference evaluator would see it.
  uint32_t AddProfile(std::string_view id, const ProfileView& view);

  // Sets top-level trait `key`; a later call for the same key replaces the value.
  void AddTraitJson(uint32_t index, std::string_view key, const nlohmann::json& value);
  void AddTraitString(uint32_t index, std::string_view key, std::string_view value);
  void AddTraitInt(uint32_t index, std::string_view key, int64_t value);
  void AddTraitNumber(uint32_t index, std::string_view key, double value);
  void AddTraitBool(uint32_t index, std::string_view key, bool value);

  void AddEvent(uint32_t index, std::string_view name, std::string_view touchpoint,
                std::string_view source, TimeMs timestamp, const nlohmann::json& properties);
  // properties_json: the properties object as JSON text, parsed only when the projection reads
  // properties. InvalidArgument (and nothing added) when it does not parse.
  Status AddEventJson(uint32_t index, std::string_view name, std::string_view touchpoint,
                      std::string_view source, TimeMs timestamp, std::string_view properties_json);

  // Duplicates count once.
  void AddIdentifier(uint32_t index, std::string_view kind, std::string_view value);
  // A later call for the same purpose replaces the answer.
  void SetConsent(uint32_t index, std::string_view purpose, bool granted);

  Population Build() &&;

 private:
  struct TraitTarget {
    Path rest;  // the path below the top-level key
    Column* column;
  };
  // Calls set(column, rest) for each column fed by top-level `key`, its row `index` in place.
  template <typename F>
  void ForEachTarget(uint32_t index, std::string_view key, F&& set);
  // The same for a scalar value: set(column) where the path is `key` itself, missing elsewhere.
  template <typename F>
  void SetScalar(uint32_t index, std::string_view key, F&& set);
  // Appends an event row; returns it. REQUIRES: the projection keeps events named `name`.
  size_t AppendEvent(uint32_t index, std::string_view name, std::string_view touchpoint,
                     std::string_view source, TimeMs timestamp);
  void SetProperties(size_t row, const nlohmann::json& properties);
  void CheckIndex(uint32_t index) const;

  Population population_;
  std::map<std::string, std::vector<TraitTarget>, std::less<>> targets_;
  std::vector<uint32_t> event_profile_;  // per event row, in order of addition
  // kind -> (profile, value) pairs, deduplicated at Build.
  std::map<std::string, std::vector<std::pair<uint32_t, std::string>>, std::less<>> identifiers_;
  std::map<std::string, std::vector<uint8_t>, std::less<>> consent_;  // 1 = granted
};

}  // namespace tessera::audience
