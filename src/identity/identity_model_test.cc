// Model-based random tests of the identity graph (STYLE.md rule 14). Seeded; the seed is printed.
//  1. With limits out of reach, profiles must be exactly the connected components of "seen in
//     one message" (a union-find model), whatever the order and batching of events.
//  2. With default limits, the graph invariants hold after every step, and the event's
//     highest-priority identifier is always on the profile the event resolves to.
//  3. Replaying the same events into a fresh store gives byte-identical state (rebuild).
#include <gtest/gtest.h>

#include <random>

#include "identity/identity_graph.h"
#include "identity/testutil.h"
#include "storage/memory_store.h"

namespace tessera::identity {
namespace {

using testing::CheckInvariants;
using testing::MakeEvent;

std::vector<Event> RandomEvents(std::mt19937_64& rng, int n) {
  const char* kinds[] = {"user_id", "anonymous_id", "email", "device_id", "phone"};
  std::vector<Event> events;
  for (int i = 0; i < n; ++i) {
    std::vector<Identifier> ids;
    int count = 1 + static_cast<int>(rng() % 3);
    for (int k = 0; k < count; ++k) {
      std::string kind = kinds[rng() % 5];
      Identifier id{kind, kind.substr(0, 1) + std::to_string(rng() % 40)};
      bool dup_kind = false;
      for (const auto& x : ids) dup_kind |= x.kind == id.kind;
      if (!dup_kind) ids.push_back(id);
    }
    events.push_back(MakeEvent(static_cast<uint64_t>(i + 1), ids, 1000 + (rng() % 100000)));
  }
  return events;
}

struct UnionFind {
  std::map<std::string, std::string> parent;
  std::string Find(const std::string& x) {
    if (!parent.count(x)) parent[x] = x;
    if (parent[x] == x) return x;
    return parent[x] = Find(parent[x]);
  }
  void Union(const std::string& a, const std::string& b) { parent[Find(a)] = Find(b); }
};

// Applies events, committing after a random number of them (batching must not matter).
void ApplyAll(const IdentityGraph& graph, storage::Store* store, const std::vector<Event>& events,
              std::mt19937_64& rng, const std::function<void(const Event&, const Resolution&)>& check) {
  storage::StagedWrites staged(store);
  for (const auto& e : events) {
    auto r = graph.Resolve(e, &staged);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    if (rng() % 4 == 0) {
      ASSERT_TRUE(staged.Commit({}).ok());
      if (check) check(e, *r);
    }
  }
  ASSERT_TRUE(staged.Commit({}).ok());
}

uint64_t Seed() {
  uint64_t seed = std::random_device{}();
  if (const char* env = std::getenv("TESSERA_SEED")) seed = std::strtoull(env, nullptr, 10);
  std::printf("seed: %llu (rerun with TESSERA_SEED)\n", static_cast<unsigned long long>(seed));
  return seed;
}

TEST(IdentityModelTest, WithoutLimitsProfilesAreConnectedComponents) {
  uint64_t seed = Seed();
  for (int round = 0; round < 30; ++round) {
    std::mt19937_64 rng(seed + round);
    IdentityConfig config;
    config.limits = {{"user_id", 1000}};
    config.default_limit = 1000;
    IdentityGraph graph(config);
    storage::MemoryStore store;
    auto events = RandomEvents(rng, 150);
    UnionFind uf;
    for (const auto& e : events) {
      for (const auto& id : e.identifiers) uf.Union(id.ToString(), e.identifiers[0].ToString());
    }
    ApplyAll(graph, &store, events, rng, nullptr);
    auto live = CheckInvariants(&store, config);
    std::map<std::string, std::set<std::string>> model_groups, graph_groups;
    for (auto& [id, _] : uf.parent) model_groups[uf.Find(id)].insert(id);
    for (const auto& [tid, node] : live) {
      for (const auto& r : node.identifiers) graph_groups[tid].insert(r.id.ToString());
    }
    std::set<std::set<std::string>> a, b;
    for (auto& [_, g] : model_groups) a.insert(g);
    for (auto& [_, g] : graph_groups) b.insert(g);
    ASSERT_EQ(a, b) << "seed " << seed + round;
  }
}

TEST(IdentityModelTest, DefaultLimitsKeepInvariantsAndRebuildIdentically) {
  uint64_t seed = Seed();
  for (int round = 0; round < 30; ++round) {
    std::mt19937_64 rng(seed + round);
    IdentityConfig config;
    IdentityGraph graph(config);
    auto events = RandomEvents(rng, 200);
    storage::MemoryStore first;
    ApplyAll(graph, &first, events, rng, [&](const Event& e, const Resolution& r) {
      CheckInvariants(&first, config);
      // The top-priority identifier always lands on the resolved profile.
      auto top = std::min_element(e.identifiers.begin(), e.identifiers.end(),
                                  [&](const Identifier& a, const Identifier& b) {
                                    return config.Rank(a.kind) < config.Rank(b.kind);
                                  });
      EXPECT_EQ(*IdentityGraph::Lookup(&first, *top), r.tessera_id) << "seed " << seed + round;
    });
    ASSERT_FALSE(::testing::Test::HasFailure()) << "seed " << seed + round;
    storage::MemoryStore second;
    std::mt19937_64 other_batching(seed + round + 1000);
    ApplyAll(graph, &second, events, other_batching, nullptr);
    auto a = first.NewIterator(storage::Space::kIdentity);
    auto b = second.NewIterator(storage::Space::kIdentity);
    for (a->SeekToFirst(), b->SeekToFirst(); a->Valid() && b->Valid(); a->Next(), b->Next()) {
      ASSERT_EQ(a->key(), b->key()) << "seed " << seed + round;
      ASSERT_EQ(a->value(), b->value()) << "seed " << seed + round;
    }
    ASSERT_EQ(a->Valid(), b->Valid());
  }
}

}  // namespace
}  // namespace tessera::identity
