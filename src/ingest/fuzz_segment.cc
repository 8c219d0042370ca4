// libFuzzer target: ParseRequest on arbitrary bytes, for every endpoint, both identifier modes.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "ingest/segment.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tessera::ingest;
  std::string_view body(reinterpret_cast<const char*>(data), size);
  IngestLimits limits;
  IdentifierConfig config;
  config.custom.push_back({"loyalty_id", {"traits.loyalty_id", "context.traits.loyalty_id"}});
  for (Endpoint e : {Endpoint::kIdentify, Endpoint::kTrack, Endpoint::kPage, Endpoint::kScreen,
                     Endpoint::kGroup, Endpoint::kAlias, Endpoint::kBatch}) {
    config.require_user_or_anonymous_id = size % 2 == 0;
    auto r = ParseRequest(e, body, 1700000000000, limits, config);
    if (r.ok()) {
      for (const auto& ev : r->events) {
        if (ev.message_id.empty()) __builtin_trap();  // every event has a messageId
      }
    }
  }
  return 0;
}
