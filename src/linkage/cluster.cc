#include "linkage/cluster.h"

#include <absl/container/flat_hash_map.h>

#include <algorithm>
#include <numeric>

namespace tessera::linkage {

std::vector<uint32_t> Cluster(uint32_t record_count, std::vector<WeightedPair> links,
                              const std::vector<RecordPair>& low) {
  std::sort(links.begin(), links.end(), [](const WeightedPair& x, const WeightedPair& y) {
    if (x.probability != y.probability) return x.probability > y.probability;
    return x.pair < y.pair;
  });
  std::vector<uint32_t> parent(record_count);
  std::iota(parent.begin(), parent.end(), 0);
  auto find = [&](uint32_t x) {
    while (parent[x] != x) {
      parent[x] = parent[parent[x]];
      x = parent[x];
    }
    return x;
  };
  absl::flat_hash_map<uint32_t, std::vector<uint32_t>> members;  // root -> records (non-singletons)
  absl::flat_hash_map<uint32_t, std::vector<uint32_t>> apart;    // record -> low-scored partners
  for (const RecordPair& p : low) {
    apart[p.a].push_back(p.b);
    apart[p.b].push_back(p.a);
  }
  auto members_of = [&](uint32_t root) {
    auto [it, inserted] = members.try_emplace(root);
    if (inserted) it->second.push_back(root);
  };
  for (const WeightedPair& link : links) {
    uint32_t ra = find(link.pair.a), rb = find(link.pair.b);
    if (ra == rb) continue;
    members_of(ra);
    members_of(rb);  // both inserted before taking references (insertion may rehash)
    std::vector<uint32_t>& ma = members[ra];
    std::vector<uint32_t>& mb = members[rb];
    const std::vector<uint32_t>& smaller = ma.size() <= mb.size() ? ma : mb;
    uint32_t other = ma.size() <= mb.size() ? rb : ra;
    bool blocked = false;
    for (uint32_t r : smaller) {
      auto it = apart.find(r);
      if (it == apart.end()) continue;
      for (uint32_t partner : it->second) {
        if (find(partner) == other) {
          blocked = true;
          break;
        }
      }
      if (blocked) break;
    }
    if (blocked) continue;
    // Union: the larger cluster's root stays.
    uint32_t keep = ma.size() >= mb.size() ? ra : rb, gone = keep == ra ? rb : ra;
    std::vector<uint32_t> moved = std::move(members[gone]);
    members.erase(gone);
    parent[gone] = keep;
    std::vector<uint32_t>& kept = members[keep];
    kept.insert(kept.end(), moved.begin(), moved.end());
  }
  std::vector<uint32_t> cluster(record_count);
  for (uint32_t r = 0; r < record_count; ++r) cluster[r] = r;
  for (const auto& [root, list] : members) {
    uint32_t id = *std::min_element(list.begin(), list.end());
    for (uint32_t r : list) cluster[r] = id;
  }
  return cluster;
}

}  // namespace tessera::linkage
