// Helpers for identity tests: build events and check the graph's invariants over a whole store.
#pragma once

#include <gtest/gtest.h>

#include "identity/identity_graph.h"
#include "storage/store.h"

namespace tessera::identity::testing {

inline Event MakeEvent(uint64_t seq, std::vector<Identifier> ids, TimeMs ts = 1000) {
  Event e;
  e.seq = seq;
  e.message_id = "m" + std::to_string(seq);
  e.type = MessageType::kIdentify;
  e.timestamp = ts;
  e.received_at = ts;
  e.identifiers = std::move(ids);
  return e;
}

// Every identifier points at a live node that lists it, every live node's identifiers point
// back at it, folded nodes own nothing, and no node exceeds a limit. Returns the live nodes.
inline std::map<std::string, Node> CheckInvariants(storage::Store* store,
                                                   const IdentityConfig& config) {
  std::map<std::string, Node> live;
  std::map<std::string, std::string> folded_into;  // folded tessera id -> merged_into
  std::map<std::string, std::string> owner_of;  // IdKey -> tessera id
  auto it = store->NewIterator(storage::Space::kIdentity);
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    std::string key(it->key());
    if (key[0] == 'i') {
      owner_of[key] = std::string(it->value());
    } else {
      auto node = DecodeNode(it->value());
      EXPECT_TRUE(node.ok());
      if (!node.ok()) continue;
      if (node->merged_into.empty()) {
        live[node->tessera_id] = *node;
      } else {
        EXPECT_TRUE(node->identifiers.empty()) << node->tessera_id;
        folded_into[node->tessera_id] = node->merged_into;
        EXPECT_TRUE(node->fragments.empty()) << node->tessera_id;
      }
    }
  }
  for (const auto& [key, owner] : owner_of) {
    auto n = live.find(owner);
    EXPECT_NE(n, live.end()) << "identifier points at a missing or folded profile: " << owner;
  }
  for (const auto& [id, into] : folded_into) {
    EXPECT_TRUE(live.count(into)) << id << " points at " << into << ", not a live profile";
  }
  for (const auto& [id, node] : live) {
    EXPECT_FALSE(node.fragments.empty());
    EXPECT_EQ(node.fragments[0], id);
    std::map<std::string, int> counts;
    for (const auto& r : node.identifiers) {
      EXPECT_EQ(owner_of[IdentityGraph::IdKey(r.id)], id) << r.id.ToString();
      EXPECT_LE(r.first_seen, r.last_seen);
      ++counts[r.id.kind];
    }
    for (const auto& [kind, n] : counts) EXPECT_LE(n, config.Limit(kind)) << kind << " on " << id;
  }
  return live;
}

}  // namespace tessera::identity::testing
