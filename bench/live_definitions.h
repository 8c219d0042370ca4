// The definitions of the live-cost benchmark (issue 4: "100 active audiences and 20 computed
// traits cost at most 30 % of ingest throughput"): audiences and computed traits over the
// ingest workload's events and traits (workload.h), of the kinds departments write: traits,
// windowed counts, sums and maxima with filters, A-and-not-B, identity facts, audiences on
// computed traits. Deterministic.
#pragma once

#include <string>
#include <vector>

namespace tessera::bench {

struct Definition {
  bool computed_trait = false;  // else an audience
  std::string name;
  std::string text;  // the condition or the aggregate, text form
};

// Computed traits first (audiences read some of them by name).
std::vector<Definition> LiveDefinitions(int audiences, int computed_traits);

}  // namespace tessera::bench
