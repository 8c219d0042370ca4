// Preview: evaluates a condition (or an aggregate) over every stored profile without saving
// anything, for "how many, and who?" before an audience is created. Memberships of other
// audiences are read as the engine has stored them; computed trait values likewise.
//
// Thread-safety: runs on the calling thread; reads only.
#pragma once

#include "audience/catalog.h"
#include "audience/profile_loader.h"

namespace tessera::audience {

struct PreviewResult {
  uint64_t size = 0;       // members (condition) or profiles with a value (aggregate)
  uint64_t profiles = 0;   // profiles evaluated
  // Up to sample_size of them, in tessera_id order; for aggregates with their values.
  std::vector<std::pair<std::string, nlohmann::json>> sample;
};

// `body` is a Condition or an Aggregate.
Result<PreviewResult> Preview(storage::Store* store, eventlog::EventLog* log,
                              const sources::SourceRegistry* sources, const Snapshot& snap,
                              const std::variant<Condition, Aggregate>& body, TimeMs now,
                              size_t sample_size);

}  // namespace tessera::audience
