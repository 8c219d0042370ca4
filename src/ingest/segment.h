// The Segment HTTP Tracking API request parser: turns one request body (already decompressed,
// see ingest/gzip.h) into validated, normalised tessera::Event values.
//
// The accepted shapes follow Segment's spec so that @segment/analytics-node and
// @rudderstack/rudder-sdk-node work unchanged: /v1/identify, /v1/track, /v1/page, /v1/screen,
// /v1/group and /v1/alias take one message; /v1/batch (also /v1/b and /v1/import) takes
// {"batch": [...], "sentAt"?, "context"?, "integrations"?, "writeKey"?}.
//
// A request is all-or-nothing: one bad message rejects the whole request, and the Status names
// the message ("batch[3]: track message without \"event\""), so a client never has to guess which
// part of its batch landed.
//
// Thread-safety: every function here is safe to call concurrently (no shared mutable state; the
// JSON parser is thread-local).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/event.h"
#include "core/status.h"
#include "core/time.h"

namespace tessera::ingest {

// Segment's documented limits: 32 KB per message, 500 KB per request.
struct IngestLimits {
  size_t max_message_bytes = 32 * 1024;  // minified JSON of one message, as received
  size_t max_batch_bytes = 500 * 1024;   // the (decompressed) request body, any endpoint
};

// A workspace-defined identifier kind, e.g. {"loyalty_id", {"traits.loyalty_id",
// "context.traits.loyalty_id", "properties.loyalty_id"}}. Paths are dotted keys from the message
// root; "context.*" paths see the batch context merged in. The first path holding a non-empty
// string or a number wins.
struct CustomIdentifierKind {
  std::string kind;
  std::vector<std::string> paths;
};

struct IdentifierConfig {
  std::vector<CustomIdentifierKind> custom;
  std::string default_phone_region = "US";  // for phone numbers without a +country prefix
  // Segment's rule: every message has a userId or an anonymousId. The admin import endpoint
  // turns it off so that records known only by email, phone or a custom id can be loaded; a
  // message must then still carry at least one identifier.
  bool require_user_or_anonymous_id = true;
};

enum class Endpoint { kIdentify, kTrack, kPage, kScreen, kGroup, kAlias, kBatch };

// "/v1/identify" ... "/v1/alias"; "/v1/batch", "/v1/b", "/v1/import" -> kBatch. A single
// trailing '/' is accepted. The query string must already be stripped. Anything else: nullopt.
std::optional<Endpoint> EndpointFromPath(std::string_view path);

struct ParsedRequest {
  std::vector<Event> events;  // in request order
  std::string write_key;      // the body's "writeKey" if present, else empty
};

// Parses and validates one request body. Every event gets an empty source_id (the caller fills
// it), seq 0 and the given received_at.
//
// Errors (the request is rejected as a whole):
//   TooLarge         body over limits.max_batch_bytes, or one message over max_message_bytes
//   InvalidArgument  malformed JSON, a wrong shape or field type, a missing required field;
//                    batch messages are named "batch[i]: ..."
//
// Event fields, per Segment:
//   timestamp   corrected for client clock skew: client_time = "timestamp", else
//               "originalTimestamp"; with a sentAt (the message's, else the batch's) it is
//               received_at - (sentAt - client_time); without sentAt, client_time; without any
//               client time, received_at.
//   message_id  the client's "messageId"; when absent, "gen-" + a 128-bit hash of the message
//               JSON and its batch index, so a retried identical body deduplicates.
//   identifiers see Event::identifiers; the order is user_id, anonymous_id, email, phone,
//               device_id, then config.custom in order.
//   json        the message, minified, with the batch "context" merged in (message keys win) and
//               "type" set to the effective type; a "writeKey" inside a message is dropped so
//               credentials never reach the event log.
Result<ParsedRequest> ParseRequest(Endpoint endpoint, std::string_view body, TimeMs received_at,
                                   const IngestLimits& limits, const IdentifierConfig& config);

// Trims ASCII whitespace and lower-cases ASCII letters. Does not validate.
std::string NormalizeEmail(std::string_view email);

// The number in E.164 ("+14155552671"), or nullopt when libphonenumber cannot parse it or it is
// neither a valid number nor a full-length possible one. default_region (ISO 3166 alpha-2) applies
// to numbers without a leading '+'.
std::optional<std::string> NormalizePhone(std::string_view phone, std::string_view default_region);

}  // namespace tessera::ingest
