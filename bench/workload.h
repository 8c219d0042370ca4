// The benchmark workload: Segment batches of ~1 KB messages, mixed identifies and tracks over a
// population of customers, as an SDK would send them. Deterministic for a given seed.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace tessera::bench {

struct Workload {
  uint64_t customers = 1'000'000;
  size_t batch_messages = 100;
  size_t message_bytes = 1000;  // approximate minified size of one message
  double identify_share = 0.3;
  uint64_t seed = 1;
};

// Builds `batches` request bodies. Message ids are unique across calls with different `first`.
std::vector<std::string> MakeBatches(const Workload& w, size_t batches, uint64_t first_message);

}  // namespace tessera::bench
