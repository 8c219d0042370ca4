// Deterministic messageIds for imported messages, so that importing the same data twice stores
// it once (the event log drops repeated messageIds).
//
// id = "imp-" + the first 128 bits of SHA-256(source + '\n' + canonical JSON), in hex, where the
// canonical JSON is the message without "messageId", minified, object keys sorted, and source is
// the source's id as the server reports it (so --source by name or by id gives the same ids). It
// depends only on the source and the message content, never on the line number or file order,
// so a re-saved or re-sorted file dedupes too.
//
// Thread-safety: pure functions.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace tessera::importer {

// Minified, sorted keys, invalid UTF-8 replaced by U+FFFD (never throws).
std::string CanonicalJson(const nlohmann::json& value);

// "imp-" + 32 hex digits. A "messageId" member of `message` is ignored.
std::string ImportMessageId(std::string_view source, const nlohmann::json& message);

}  // namespace tessera::importer
