// The audience engine's derived state: who is in which audience (and since when, and why),
// computed trait values, durable timers and the outbox of entered/exited events. Like identity
// and profiles it is derived from the event log (and the catalog), so `tessera rebuild` clears
// it and the engine recomputes it.
//
// Storage (Space::kAudiences), written only by the engine thread, read from any thread:
//   "cursor"                         -> u64 BE: the last log seq the engine has applied
//   "r" tessera_id \0 def_id         -> Membership (audiences; kept after an exit)
//   "m" def_id \0 tessera_id         -> entered_at (only while a member: the member list)
//   "h" tessera_id \0 i64 BE at, def_id \0 u64 BE n -> history entry JSON, oldest first
//   "v" tessera_id \0 def_id         -> computed trait value JSON
//   "V" def_id \0 tessera_id         -> the same value (the list of profiles having one)
//   "t" i64 BE at, def_id \0 tessera_id -> "" (timers in firing order)
//   "T" def_id \0 tessera_id         -> i64 BE at (the profile's one timer for the definition)
//   "o" u64 BE n                     -> an Event waiting to be appended to the log (outbox)
//   "s" def_id                       -> DefinitionState
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/event.h"
#include "storage/store.h"

namespace tessera::audience::state {

struct Membership {
  bool member = false;
  uint64_t version = 0;     // the definition version that decided the last transition
  TimeMs entered_at = 0;    // of the current stay, when a member
  uint64_t transitions = 0; // entries + exits so far: names the next event's messageId
  bool operator==(const Membership&) const = default;
};
std::string EncodeMembership(const Membership& m);
Result<Membership> DecodeMembership(std::string_view bytes);

// Progress of a definition's backfill over all profiles, and its size.
struct DefinitionState {
  std::string name;            // for the exit events if the definition is deleted
  uint64_t version = 0;        // the version being (or last) backfilled
  bool backfilling = false;
  std::string backfill_after;  // last profile (tessera_id) backfilled; "" = from the start
  uint64_t backfilled = 0;     // profiles evaluated by the backfill so far
  uint64_t size = 0;           // members (audiences) or profiles with a value (computed traits)
  TimeMs backfill_started = 0;
  TimeMs backfill_finished = 0;
  bool operator==(const DefinitionState&) const = default;
};
std::string EncodeDefinitionState(const DefinitionState& s);
Result<DefinitionState> DecodeDefinitionState(std::string_view bytes);

inline constexpr std::string_view kCursorKey = "cursor";
// A time as 8 bytes whose byte order is time order (negative times first).
void PutTime(std::string* dst, TimeMs at);
TimeMs DecodeTime(const char* p);
bool HasPrefix(std::string_view s, std::string_view prefix);
std::string MembershipKey(std::string_view tessera_id, std::string_view def_id);
std::string MemberKey(std::string_view def_id, std::string_view tessera_id);
std::string HistoryPrefix(std::string_view tessera_id);
std::string HistoryKey(std::string_view tessera_id, TimeMs at, std::string_view def_id,
                       uint64_t n);
std::string ValueKey(std::string_view tessera_id, std::string_view def_id);
std::string ValueByDefKey(std::string_view def_id, std::string_view tessera_id);
std::string TimerKey(TimeMs at, std::string_view def_id, std::string_view tessera_id);
std::string TimerIndexKey(std::string_view def_id, std::string_view tessera_id);
std::string OutboxKey(uint64_t n);
std::string StateKey(std::string_view def_id);

// ---- Reads for the API (any thread) ----

struct ProfileMembership {
  std::string def_id;
  Membership membership;
};
// Every audience the profile has a record for (members and former members).
Result<std::vector<ProfileMembership>> ReadMemberships(storage::Store* store,
                                                       std::string_view tessera_id);
// Computed trait values of a profile: def_id -> value.
Result<std::vector<std::pair<std::string, nlohmann::json>>> ReadValues(storage::Store* store,
                                                                       std::string_view tessera_id);
// History entries of a profile, oldest first.
Result<std::vector<nlohmann::json>> ReadHistory(storage::Store* store, std::string_view tessera_id);

struct MemberPage {
  // tessera_id and entered_at (audiences) or value (computed traits)
  std::vector<std::pair<std::string, nlohmann::json>> members;
  std::string next_cursor;  // the last tessera_id returned, when there may be more
};
// Members of an audience (or the profiles with a value of a computed trait), by tessera_id,
// after `cursor`. limit 0 = all.
Result<MemberPage> ReadMembers(storage::Store* store, std::string_view def_id, bool computed,
                               size_t limit, std::string_view cursor);
Result<std::optional<DefinitionState>> ReadDefinitionState(storage::Store* store,
                                                           std::string_view def_id);

}  // namespace tessera::audience::state
