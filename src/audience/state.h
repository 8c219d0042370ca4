// The audience engine's derived state: who is in which audience (and since when, and why),
// computed trait values, durable timers and the outbox of entered/exited events. Like identity
// and profiles it is derived from the event log (and the catalog), so `tessera rebuild` clears
// it and the engine recomputes it.
//
// Storage (Space::kAudiences), written only by the engine thread, read from any thread:
//   "cursor"                         -> u64 BE: the last log seq the engine has applied
//   "format"                         -> varint: the layout version below (kFormatVersion)
//   "P" tessera_id                   -> ProfileState: all the profile's memberships (kept after
//                                       an exit), computed values and timers, so an evaluation
//                                       reads one key and writes it at most once
//   "m" def_id \0 tessera_id         -> entered_at (only while a member: the member list)
//   "h" tessera_id \0 i64 BE at, def_id \0 u64 BE n -> history entry JSON, oldest first
//   "V" def_id \0 tessera_id         -> "" (the profiles having a value of the computed trait;
//                                       the value is in the record. Format 2 repeated it here)
//   "w" i64 BE at, tessera_id       -> "" (the profile's earliest timer: wake-ups in firing
//                                       order; the record says which definitions are due)
//   "o" u64 BE n                     -> a group of Events waiting to be appended to the log
//                                       together (the outbox; a step's entries and exits)
//   "s" def_id                       -> DefinitionState
// The secondary keys ("m", "V", "w") are written only when what they index changes; the
// engine never reads them while evaluating a profile. A deleted definition's timers stay in
// the records until they fire (and are dropped then).
//
// Format 1 (no "format" key) kept memberships in "r" tessera_id \0 def_id, values in
// "v" tessera_id \0 def_id and timers in "t" i64 BE at, def_id \0 tessera_id (+ "T" def_id
// \0 tessera_id -> at), read and written one key at a time; MigrateFormat1 folds them into
// "P" records and "w" keys. Format 2 kept one event per "o" key; MigrateFormat2 makes each a
// group of one.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
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
std::string EncodeMembership(const Membership& m);  // format 1's "r" value
Result<Membership> DecodeMembership(std::string_view bytes);

// Everything the engine keeps per profile and definition, in one record ("P").
struct ProfileState {
  std::map<std::string, Membership, std::less<>> memberships;  // audiences with a record
  std::map<std::string, std::string, std::less<>> values;      // computed trait value JSON
  std::map<std::string, TimeMs, std::less<>> timers;           // the one timer per definition
  bool empty() const { return memberships.empty() && values.empty() && timers.empty(); }
  // The earliest timer (the profile's "w" key), if any.
  std::optional<TimeMs> wake() const;
  bool operator==(const ProfileState&) const = default;
};
std::string EncodeProfileState(const ProfileState& s);
Result<ProfileState> DecodeProfileState(std::string_view bytes);

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
inline constexpr std::string_view kFormatKey = "format";
inline constexpr uint64_t kFormatVersion = 3;
// One outbox group ("o" key), also the most the engine appends to the log at once.
inline constexpr size_t kOutboxGroupEvents = 1000;
inline constexpr size_t kOutboxGroupBytes = 4 << 20;
// A time as 8 bytes whose byte order is time order (negative times first).
void PutTime(std::string* dst, TimeMs at);
TimeMs DecodeTime(const char* p);
bool HasPrefix(std::string_view s, std::string_view prefix);
std::string ProfileStateKey(std::string_view tessera_id);
std::string MembershipKey(std::string_view tessera_id, std::string_view def_id);  // format 1
std::string MemberKey(std::string_view def_id, std::string_view tessera_id);
std::string HistoryPrefix(std::string_view tessera_id);
std::string HistoryKey(std::string_view tessera_id, TimeMs at, std::string_view def_id,
                       uint64_t n);
std::string ValueKey(std::string_view tessera_id, std::string_view def_id);  // format 1
std::string ValueByDefKey(std::string_view def_id, std::string_view tessera_id);
std::string WakeKey(TimeMs at, std::string_view tessera_id);
std::string TimerKey(TimeMs at, std::string_view def_id, std::string_view tessera_id);  // format 1
std::string TimerIndexKey(std::string_view def_id, std::string_view tessera_id);        // format 1
std::string OutboxKey(uint64_t n);
std::string EncodeOutboxGroup(std::span<const Event> events);
Result<std::vector<Event>> DecodeOutboxGroup(std::string_view bytes);
// The number of events in an encoded group, without decoding them.
Result<uint64_t> OutboxGroupSize(std::string_view bytes);
std::string StateKey(std::string_view def_id);
std::string EncodeFormat(uint64_t version);

// The profile's record; an empty one when it has none.
Result<ProfileState> ReadProfileState(storage::Reader* reader, std::string_view tessera_id);

// The layout version of the stored state: kFormatVersion, 1 for a data dir written before the
// "format" key existed (it has a cursor), 0 when there is no state at all.
Result<uint64_t> ReadFormat(storage::Store* store);
// Rewrites format 1 state as format 2 (MigrateFormat2 goes on from there), `batch_keys` old
// keys per write, and writes the format key last. Each write moves some old keys into their
// profiles' records and deletes them (the "w" keys are written from the records at the end),
// so a crash part way leaves a state that a second run completes.
Status MigrateFormat1(storage::Store* store, size_t batch_keys = 10000);
// Rewrites format 2's outbox (an event per key) as groups of one, in one write with the format
// key.
Status MigrateFormat2(storage::Store* store);

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
