// The deterministic identity graph: which identifiers belong to which profile.
//
// Identifiers seen together in one message link into one profile (stable tessera_id); `alias`
// links previousId to userId. Merges obey per-kind limits (default: one user_id, five of each
// other kind) and a priority order of kinds (user_id > email > phone > custom > device_id >
// anonymous_id). When folding two profiles together would break a limit, the lower-priority
// identifier of the message moves to the profile of the message's highest-priority identifier
// (so a shared device follows the user who used it last), or is dropped if that profile is full.
// Every merge, move and drop is recorded on the profiles involved.
//
// Storage (Space::kIdentity): "i" kind \0 value -> tessera_id; "n" tessera_id -> Node.
// A folded profile keeps its node with merged_into set, so old tessera_ids still resolve; a
// merge re-points every profile folded earlier, so merged_into always names a live profile.
//
// Resolve() is called by one shard worker at a time, through its StagedWrites; the static read
// functions may be called from any thread.
#pragma once

#include <map>

#include "identity/node.h"
#include "storage/staged_writes.h"

namespace tessera::identity {

struct IdentityConfig {
  std::map<std::string, int, std::less<>> limits = {{"user_id", 1}};
  int default_limit = 5;
  // Highest priority first. Kinds not listed rank just above device_id.
  std::vector<std::string> priority = {"user_id", "email", "phone", "device_id", "anonymous_id"};

  int Limit(std::string_view kind) const;
  int Rank(std::string_view kind) const;  // smaller is higher priority
};

struct Resolution {
  std::string tessera_id;              // the profile the event belongs to
  bool created = false;                // a new profile was made for it
  std::vector<std::string> merged;     // profiles folded into tessera_id by this event
  std::vector<MergeRecord> changes;    // merges, moves and drops this event caused
};

class IdentityGraph {
 public:
  explicit IdentityGraph(IdentityConfig config) : config_(std::move(config)) {}

  // REQUIRES: event.seq > 0 and the event has at least one identifier (or is an alias).
  // An event whose only identifier is a tessera_id (Tessera's own events) resolves to that
  // profile's live id without linking anything.
  Result<Resolution> Resolve(const Event& event, storage::StagedWrites* staged) const;

  // The live profile an identifier (or a tessera_id, possibly of a folded profile) belongs to.
  static Result<std::string> Lookup(storage::Reader* reader, const Identifier& id);
  // The live node for a tessera_id, following merged_into.
  static Result<Node> LoadLive(storage::Reader* reader, std::string_view tessera_id);

  static std::string IdKey(const Identifier& id);
  static std::string NodeKey(std::string_view tessera_id);
  // Deterministic from the log position, so a rebuild from the log gives the same ids.
  static std::string NewTesseraId(uint64_t seq);

  const IdentityConfig& config() const { return config_; }

 private:
  const IdentityConfig config_;
};

}  // namespace tessera::identity
