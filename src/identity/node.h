// The identity graph's record of one profile: its identifiers, the profiles folded into it and
// the history of merges. Stored in Space::kIdentity under "n" + tessera_id.
#pragma once

#include <string>
#include <vector>

#include "core/event.h"

namespace tessera::identity {

struct IdentifierRecord {
  Identifier id;
  TimeMs first_seen = 0;
  TimeMs last_seen = 0;
  bool operator==(const IdentifierRecord&) const = default;
};

// One change to the graph, kept on every profile it touched.
struct MergeRecord {
  // "merge": profile `from` folded into `into`, linked by `identifiers`.
  // "move": `identifiers` left `from` for `into` (a limit forbade merging the two profiles).
  // "drop": `identifiers` were not linked to `into` because a limit was reached.
  std::string action;
  std::string from;
  std::string into;
  std::vector<Identifier> identifiers;
  std::string message_id;
  uint64_t seq = 0;
  TimeMs at = 0;  // receivedAt of the message that caused it
  bool operator==(const MergeRecord&) const = default;
};

struct Node {
  std::string tessera_id;
  std::string merged_into;                  // set once this profile was folded into another
  std::vector<IdentifierRecord> identifiers;
  std::vector<std::string> fragments;       // this id first, then every profile folded into it
  std::vector<MergeRecord> merges;          // oldest first
  TimeMs created_at = 0;

  int CountKind(std::string_view kind) const;
  IdentifierRecord* Find(const Identifier& id);
  bool operator==(const Node&) const = default;
};

std::string EncodeNode(const Node& node);
Result<Node> DecodeNode(std::string_view bytes);

}  // namespace tessera::identity
