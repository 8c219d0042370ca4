// libFuzzer target: the gzip request path (DecodeBody, then ParseRequest on what it yields).
#include <cstddef>
#include <cstdint>
#include <string>

#include "ingest/gzip.h"
#include "ingest/segment.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tessera::ingest;
  std::string body(reinterpret_cast<const char*>(data), size);
  IngestLimits limits;
  auto decoded = DecodeBody("gzip", body, limits.max_batch_bytes);
  if (decoded.ok()) {
    if (decoded->size() > limits.max_batch_bytes) __builtin_trap();
    auto r = ParseRequest(Endpoint::kBatch, *decoded, 1700000000000, limits, IdentifierConfig{});
    (void)r.ok();
  }
  return 0;
}
