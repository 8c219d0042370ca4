// Internals shared by segment_parse.cc and segment_identifiers.cc. Not part of the component's
// public API: include ingest/segment.h instead.
#pragma once

#include <simdjson.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/event.h"
#include "ingest/segment.h"

namespace tessera::ingest::internal {

// The message's "context" with the batch-level "context" shallow-merged under it: a key in the
// message's own context hides the same key in the batch's. Either part may be absent.
// The handles point into the parser's document: valid until the next parse on that parser.
struct ContextView {
  std::optional<simdjson::dom::object> message;
  std::optional<simdjson::dom::object> batch;

  // The value under key (message first), or nullopt when absent or JSON null.
  std::optional<simdjson::dom::element> Get(std::string_view key) const;
};

// One message being parsed: the raw object, its effective type and its merged context.
struct MessageView {
  simdjson::dom::object object;
  MessageType type = MessageType::kTrack;
  ContextView context;
};

// The value at a dotted path ("traits.email", "context.device.id"), or nullopt when any step is
// absent, JSON null or not an object. A leading "context" step goes through the merged context.
std::optional<simdjson::dom::element> Lookup(const MessageView& message, std::string_view path);

// A string as-is, a number as its decimal text (what Segment does for numeric ids); nullopt for
// any other JSON type.
std::optional<std::string> IdText(simdjson::dom::element value);

// The identifiers of a message in Event::identifiers order, without duplicates. user_id and
// anonymous_id are the already validated texts (possibly empty).
std::vector<Identifier> ExtractIdentifiers(const MessageView& message, const std::string& user_id,
                                           const std::string& anonymous_id,
                                           const IdentifierConfig& config);

}  // namespace tessera::ingest::internal
