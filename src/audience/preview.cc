#include "audience/preview.h"

#include "audience/state.h"
#include "identity/identity_graph.h"

namespace tessera::audience {

namespace {

// Stored memberships of one profile, by audience id or name.
class StoredMemberships final : public AudienceMembership {
 public:
  StoredMemberships(const Snapshot& snap, const std::vector<state::ProfileMembership>& stored)
      : snap_(snap) {
    for (const auto& m : stored) {
      if (m.membership.member) members_.insert(m.def_id);
    }
  }
  bool IsMember(std::string_view audience) const override {
    const Compiled* c = snap_.Find(audience);
    return c && members_.count(c->def.id) > 0;
  }

 private:
  const Snapshot& snap_;
  std::set<std::string> members_;
};

}  // namespace

Result<PreviewResult> Preview(storage::Store* store, eventlog::EventLog* log,
                              const sources::SourceRegistry* sources, const Snapshot& snap,
                              const std::variant<Condition, Aggregate>& body, TimeMs now,
                              size_t sample_size) {
  const Condition* condition = std::get_if<Condition>(&body);
  const Aggregate* aggregate = std::get_if<Aggregate>(&body);
  ConditionDeps deps = condition ? Dependencies(*condition) : Dependencies(*aggregate);
  EventNeeds needs;
  needs.Add(deps);
  ProfileLoader loader(store, log, sources);
  PreviewResult out;
  auto it = store->NewIterator(storage::Space::kProfiles);
  for (it->Seek("p"); it->Valid() && !it->key().empty() && it->key()[0] == 'p'; it->Next()) {
    std::string pid(it->key().substr(1));
    auto node = identity::IdentityGraph::LoadLive(store, pid);
    if (node.status().code() == StatusCode::kNotFound || (node.ok() && node->tessera_id != pid)) {
      continue;
    }
    TESSERA_RETURN_IF_ERROR(node.status());
    auto view = loader.Load(*node, needs);
    if (view.status().code() == StatusCode::kNotFound) continue;
    TESSERA_RETURN_IF_ERROR(view.status());
    TESSERA_ASSIGN_OR_RETURN(auto values, state::ReadValues(store, pid));
    for (const auto& [def_id, value] : values) {
      if (const Compiled* c = snap.Find(def_id)) view->traits[c->def.name] = value;
    }
    ++out.profiles;
    if (condition) {
      TESSERA_ASSIGN_OR_RETURN(auto stored, state::ReadMemberships(store, pid));
      if (!EvaluateReference(*condition, *view, now, StoredMemberships(snap, stored))) continue;
      ++out.size;
      if (out.sample.size() < sample_size) out.sample.emplace_back(pid, nullptr);
    } else {
      auto value = EvaluateAggregateReference(*aggregate, *view, now);
      if (!value) continue;
      ++out.size;
      if (out.sample.size() < sample_size) out.sample.emplace_back(pid, std::move(*value));
    }
  }
  TESSERA_RETURN_IF_ERROR(it->status());
  return out;
}

}  // namespace tessera::audience
