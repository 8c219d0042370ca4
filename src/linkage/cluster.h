// Clustering of linked pairs into entities: connected components over the pairs at or above the
// threshold, joined strongest pair first, with a guard against chaining: two clusters are not
// joined when any scored pair between them is below the guard probability (A~B and B~C do not
// make A and C one entity when A and C were compared and clearly differ).
#pragma once

#include <cstdint>
#include <vector>

#include "linkage/blocking.h"

namespace tessera::linkage {

struct WeightedPair {
  RecordPair pair;
  double probability = 0;
};

// Per record, its cluster id: the smallest record index in its cluster. `links` are the pairs at
// or above the threshold; `low` are compared pairs below the guard (only those between records
// that appear in `links` matter).
std::vector<uint32_t> Cluster(uint32_t record_count, std::vector<WeightedPair> links,
                              const std::vector<RecordPair>& low);

}  // namespace tessera::linkage
