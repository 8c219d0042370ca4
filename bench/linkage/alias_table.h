// Walker/Vose alias table: draws index i with probability weight[i] / sum(weights) in O(1).
// Immutable after construction, so one table may be shared by threads (each with its own Rng).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "bench/linkage/rng.h"

namespace tessera::bench::linkgen {

class AliasTable {
 public:
  AliasTable() = default;
  // Weights must be >= 0 with a positive sum; an empty span gives an empty table.
  explicit AliasTable(std::span<const double> weights);

  // REQUIRES: !empty().
  uint32_t Sample(Rng& rng) const {
    const uint32_t i = static_cast<uint32_t>(rng.Below(threshold_.size()));
    return (rng.Next() >> 11) < threshold_[i] ? i : alias_[i];
  }

  bool empty() const { return threshold_.empty(); }
  size_t size() const { return threshold_.size(); }

 private:
  std::vector<uint64_t> threshold_;  // keep i when a 53-bit draw is below; else alias_[i]
  std::vector<uint32_t> alias_;
};

}  // namespace tessera::bench::linkgen
