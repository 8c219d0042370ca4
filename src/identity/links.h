// Linked edges: the probabilistic part of the identity graph.
//
// A deterministic merge (identity_graph.h) folds two profiles into one for good. A linked edge
// instead says "these two profiles are probably one person" (record linkage decided it, or a
// person accepted it in review). It is kept apart from the deterministic graph: both profiles
// keep their own node, record, identifiers and timeline, and readers join them at read time
// (LoadEntity), so removing the edge gives both back exactly as they are.
//
// Storage (Space::kLinks): "a" tessera_id -> the edges of that profile (LinkList), each naming
// the other profile by the tessera_id it had when linked. An edge is stored under both ends.
// Ids are followed through merged_into when read, so a later deterministic merge of either end
// carries its edges along. Linked edges are decisions, not a function of the log: `tessera
// rebuild` does not clear them (tessera_ids are, so the edges still name the same profiles).
//
// Writes go through one owner's StagedWrites (the linkage engine); reads from any thread.
#pragma once

#include <string>
#include <vector>

#include "identity/node.h"
#include "storage/staged_writes.h"

namespace tessera::identity {

struct Link {
  std::string other;        // the other profile (tessera_id when linked)
  double probability = 0;   // the model's match probability
  std::string decided_by;   // "model" or "review"
  std::string review_id;    // the review item, when decided_by == "review"
  TimeMs at = 0;
  std::string explanation;  // JSON text: prior weight and each comparison's level and weight
  bool operator==(const Link&) const = default;
};

std::string LinksKey(std::string_view tessera_id);
std::string EncodeLinks(const std::vector<Link>& links);
Result<std::vector<Link>> DecodeLinks(std::string_view bytes);

// The edges stored under exactly this tessera_id (empty when none).
Result<std::vector<Link>> ReadLinks(storage::Reader* reader, std::string_view tessera_id);

// Adds (or replaces) the edge a-b under both ends. `link.other` is ignored.
// REQUIRES: a != b.
Status AddLink(storage::StagedWrites* staged, const std::string& a, const std::string& b,
               const Link& link);

// An edge between two live profiles, as stored.
struct Edge {
  std::string a, b;          // live tessera_ids of the two ends
  std::string stored_a, stored_b;  // the ids it is stored under
  Link link;                 // as stored under stored_a (link.other == stored_b)
};

// Removes every edge directly between live profiles x and y (stored under any of their
// fragments). Returns the removed edges.
Result<std::vector<Edge>> RemoveLinksBetween(storage::StagedWrites* staged, const Node& x,
                                             const Node& y);

// A linked entity: the live profiles connected to one profile by linked edges.
struct Entity {
  std::vector<Node> members;  // live nodes, sorted by tessera_id; never empty
  std::vector<Edge> edges;    // each edge once, sorted by (a, b)
  // The smallest member id: the same whichever member the entity was read from.
  const std::string& entity_id() const { return members.front().tessera_id; }
  bool Contains(std::string_view tessera_id) const;
};

// The entity of a live node (just the node when it has no edges). At most `max_members`
// members are followed (a guard against a corrupt or runaway graph).
Result<Entity> LoadEntity(storage::Reader* reader, const Node& live, size_t max_members = 1000);

}  // namespace tessera::identity
