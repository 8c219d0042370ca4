#include "bench/linkage/alias_table.h"

#include <cmath>

namespace tessera::bench::linkgen {

AliasTable::AliasTable(std::span<const double> weights) {
  const size_t n = weights.size();
  if (n == 0) return;
  double sum = 0;
  for (double w : weights) sum += w;
  std::vector<double> scaled(n);
  std::vector<uint32_t> small, large;
  for (size_t i = 0; i < n; ++i) {
    scaled[i] = sum > 0 ? weights[i] * static_cast<double>(n) / sum : 1.0;
    (scaled[i] < 1.0 ? small : large).push_back(static_cast<uint32_t>(i));
  }
  threshold_.assign(n, 0);
  alias_.resize(n);
  for (size_t i = 0; i < n; ++i) alias_[i] = static_cast<uint32_t>(i);
  constexpr double kOne = 0x1p53;
  while (!small.empty() && !large.empty()) {
    const uint32_t s = small.back();
    small.pop_back();
    const uint32_t l = large.back();
    threshold_[s] = static_cast<uint64_t>(std::llround(scaled[s] * kOne));
    alias_[s] = l;
    scaled[l] = (scaled[l] + scaled[s]) - 1.0;
    if (scaled[l] < 1.0) {
      large.pop_back();
      small.push_back(l);
    }
  }
  // Left-overs are 1 up to rounding: always keep them.
  for (uint32_t i : large) threshold_[i] = static_cast<uint64_t>(kOne);
  for (uint32_t i : small) threshold_[i] = static_cast<uint64_t>(kOne);
}

}  // namespace tessera::bench::linkgen
