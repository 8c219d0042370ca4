// The unified profile: traits with provenance, the sources that know the person, first and last
// seen, and the cross-touchpoint timeline. Derived from the event log by the pipeline, keyed by
// the live tessera_id that identity resolved.
//
// Storage: Space::kProfiles "p" tessera_id -> Profile record.
//          Space::kTimeline fragment_id + inverted time + inverted seq -> TimelineValue
//          (newest first; the value lets readers filter by type and name without the log).
// A timeline entry stays under the profile id it was first recorded under (a "fragment"); a
// merged profile lists all its fragments, so merges never rewrite history.
//
// Apply() runs on the single pipeline worker through its StagedWrites; reads from any thread.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/event.h"
#include "storage/staged_writes.h"

namespace tessera::profile {

struct TraitValue {
  std::string json;        // the value as JSON text
  TimeMs at = 0;           // corrected timestamp of the message that set it
  std::string source_id;
  std::string message_id;
  bool operator==(const TraitValue&) const = default;
};

// A customer's choice for one consent purpose (Segment's context.consent.categoryPreferences).
struct ConsentValue {
  bool granted = false;
  TimeMs at = 0;  // corrected timestamp of the message that said so
  std::string source_id;
  std::string message_id;
  bool operator==(const ConsentValue&) const = default;
};

struct Profile {
  std::string tessera_id;
  std::map<std::string, TraitValue> traits;
  std::map<std::string, ConsentValue> consent;  // purpose -> latest choice (by timestamp)
  std::vector<std::string> sources;  // sorted, unique
  TimeMs first_seen = 0;
  TimeMs last_seen = 0;
  uint64_t event_count = 0;
  bool operator==(const Profile&) const = default;
};

std::string EncodeProfile(const Profile& p);
Result<Profile> DecodeProfile(std::string_view bytes);

// Applies one event to `tessera_id`'s profile, first folding in the profiles identity merged into
// it for this event (traits last-writer-wins by timestamp, provenance kept).
Status ApplyEvent(const Event& event, const std::string& tessera_id,
                  const std::vector<std::string>& merged, storage::StagedWrites* staged);

// Only the timeline entry: what the pipeline does with Tessera's own events (kSystemSourceId)
// for a profile that exists.
void AddToTimeline(const Event& event, const std::string& tessera_id,
                   storage::StagedWrites* staged);

// Folds `from` into `into` as a merge does: traits and consent last-writer-wins by timestamp
// (ties keep `into`'s), sources united, first/last seen widened, event counts added. Readers
// use it to show linked profiles as one (identity/links.h) without storing the fold.
void FoldProfile(Profile* into, Profile from);

// NotFound when no event has reached the profile yet.
Result<Profile> LoadProfile(storage::Reader* reader, std::string_view tessera_id);

// What a timeline entry says about its event without reading the log. Entries written before
// values were kept decode as nullopt; entries written before `system` was kept say false.
// Tessera's own events that are not in the log (an audience's entries and exits) are `stored`:
// the event (EncodeEvent) is kept in kStoredEventSpace under StoredEventKey(seq), written with
// the entry, and the key's seq is not a log position (IsStoredSeq).
struct TimelineValue {
  MessageType type = MessageType::kTrack;
  std::string_view name;  // Event::event, in the decoded bytes
  bool system = false;    // from kSystemSourceId
  bool stored = false;    // not in the log
};
std::string EncodeTimelineValue(const Event& event);
// The entry of a stored event (event.seq: see kStoredSeqBase).
std::string EncodeStoredTimelineValue(const Event& event);
std::optional<TimelineValue> DecodeTimelineValue(std::string_view bytes);
// Seqs of stored events: above every log position, in the order made. (Below 2^53, so that
// JavaScript reads them exactly.)
inline constexpr uint64_t kStoredSeqBase = uint64_t{1} << 52;
inline constexpr uint64_t kStoredSeqSpan = uint64_t{1} << 52;
inline bool IsStoredSeq(uint64_t seq) { return seq >= kStoredSeqBase; }
// Where stored events are kept: apart from the timeline, so that timeline scans stay small,
// and from the audience engine's state, whose point reads it would slow.
inline constexpr storage::Space kStoredEventSpace = storage::Space::kStoredEvents;
std::string StoredEventKey(uint64_t seq);
// The event of a timeline entry: stored, or else read from the log by seq.
template <typename Log>
Result<Event> TimelineEvent(storage::Reader* store, Log* log, uint64_t seq,
                            std::string_view value) {
  auto v = DecodeTimelineValue(value);
  if (!v || !v->stored) return log->ReadOne(seq);
  std::string bytes;
  TESSERA_RETURN_IF_ERROR(store->Get(kStoredEventSpace, StoredEventKey(seq), &bytes));
  return DecodeEvent(bytes);
}
// The seq of a timeline key (fragment + 16 bytes).
uint64_t TimelineKeySeq(std::string_view key);

struct TimelinePage {
  std::vector<uint64_t> seqs;       // newest first
  std::vector<std::string> values;  // the entries' values, as seqs
  std::string next_cursor;          // empty when there is no more
};
// Reads up to `limit` entries across the fragments, newest first, after `cursor` (from an
// earlier page; empty for the first). InvalidArgument for a malformed cursor.
Result<TimelinePage> ReadTimeline(storage::Store* store, const std::vector<std::string>& fragments,
                                  size_t limit, std::string_view cursor);

std::string ProfileKey(std::string_view tessera_id);
std::string TimelineKey(std::string_view fragment, TimeMs at, uint64_t seq);

}  // namespace tessera::profile
