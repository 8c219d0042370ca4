// Optimal-string-alignment (restricted Damerau-Levenshtein) distance, capped.
#pragma once

#include <string_view>

namespace tessera::bench::linkgen {

// The OSA distance between a and b if it is <= cap, else cap + 1. REQUIRES: cap < 16 and
// a.size(), b.size() < 256. Longer inputs return cap + 1 unless equal.
int BoundedOsaDistance(std::string_view a, std::string_view b, int cap);

}  // namespace tessera::bench::linkgen
