#include "bench/linkage/edit_distance.h"

#include <algorithm>
#include <cstdlib>
#include <vector>

namespace tessera::bench::linkgen {

int BoundedOsaDistance(std::string_view a, std::string_view b, int cap) {
  if (a == b) return 0;
  const int n = static_cast<int>(a.size()), m = static_cast<int>(b.size());
  if (std::abs(n - m) > cap || n >= 256 || m >= 256) return cap + 1;
  thread_local std::vector<int> rows;
  rows.assign(3 * (m + 1), 0);
  int* prev2 = rows.data();
  int* prev = prev2 + (m + 1);
  int* cur = prev + (m + 1);
  for (int j = 0; j <= m; ++j) prev[j] = j;
  for (int i = 1; i <= n; ++i) {
    cur[0] = i;
    int row_min = cur[0];
    for (int j = 1; j <= m; ++j) {
      const int cost = a[i - 1] == b[j - 1] ? 0 : 1;
      int d = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d = std::min(d, prev2[j - 2] + 1);
      }
      cur[j] = d;
      row_min = std::min(row_min, d);
    }
    if (row_min > cap) return cap + 1;
    int* t = prev2;
    prev2 = prev;
    prev = cur;
    cur = t;
  }
  return std::min(prev[m], cap + 1);
}

}  // namespace tessera::bench::linkgen
