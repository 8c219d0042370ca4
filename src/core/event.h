// The event: one Segment message after ingest has validated and normalised it. This is what the
// event log stores and what every later stage (identity, profile, audiences, journeys) reads.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "core/time.h"

namespace tessera {

enum class MessageType : uint8_t { kIdentify = 0, kTrack, kPage, kScreen, kGroup, kAlias };

// "identify", "track", ...; Parse returns nullopt for anything else.
std::string_view MessageTypeName(MessageType type);
std::optional<MessageType> ParseMessageType(std::string_view name);

// Built-in identifier kinds. Workspaces may configure more (e.g. "loyalty_id").
namespace id_kind {
inline constexpr std::string_view kUserId = "user_id";
inline constexpr std::string_view kAnonymousId = "anonymous_id";
inline constexpr std::string_view kEmail = "email";
inline constexpr std::string_view kPhone = "phone";
inline constexpr std::string_view kDeviceId = "device_id";
inline constexpr std::string_view kTesseraId = "tessera_id";  // addresses a profile, never stored
}  // namespace id_kind

// The source of the events Tessera writes itself (Audience Entered / Exited, ...). They address
// one profile by its tessera_id, link nothing and are not customer activity: they go on the
// profile's timeline but change neither its traits nor its first/last seen, sources or count.
inline constexpr std::string_view kSystemSourceId = "tessera";

// A typed identifier, already normalised (email lower-cased and trimmed, phone in E.164).
struct Identifier {
  std::string kind;
  std::string value;
  bool operator==(const Identifier&) const = default;
  auto operator<=>(const Identifier&) const = default;
  std::string ToString() const { return kind + ":" + value; }
};

struct Event {
  uint64_t seq = 0;            // position in the event log; assigned on append
  std::string source_id;       // the source (write key) it came through
  MessageType type = MessageType::kTrack;
  std::string message_id;      // client's messageId, or one ingest generated
  std::string user_id;         // may be empty
  std::string anonymous_id;    // may be empty
  std::string event;           // track: event name; page/screen: name; empty otherwise
  std::string previous_id;     // alias only
  std::string group_id;        // group only
  TimeMs timestamp = 0;        // corrected for client clock skew (see ingest/segment.h)
  TimeMs received_at = 0;      // server time on arrival
  std::optional<TimeMs> sent_at;             // client's sentAt, if given
  std::optional<TimeMs> original_timestamp;  // client's own timestamp/originalTimestamp, if given
  // Identifiers found in the message, normalised, in message order, without duplicates:
  // userId, anonymousId, traits/context.traits email and phone, context.device.id, custom kinds.
  // An alias's previousId is NOT here; see previous_id.
  std::vector<Identifier> identifiers;
  std::string traits_json;     // identify: the "traits" object as JSON text; else empty
  // context.consent.categoryPreferences ({"purpose": true|false, ...}) as JSON text; else empty.
  // Segment's consent spec: any message may carry the customer's current choices.
  std::string consent_json;
  std::string json;            // the whole message as received (minified JSON), batch context merged

  bool operator==(const Event&) const = default;
};

// Binary record format of an Event in the log. Decode fails with Corruption on bad bytes.
std::string EncodeEvent(const Event& event);
// The same record in two parts, for a writer that encodes events before their seqs are known
// (the event log encodes on the appending threads, and its committer adds the seqs): the head
// (format version and seq) then the body (the rest). head(e.seq) + body(e) == EncodeEvent(e).
void AppendEventHead(std::string* out, uint64_t seq);
void AppendEventBody(std::string* out, const Event& event);
Result<Event> DecodeEvent(std::string_view bytes);

}  // namespace tessera
