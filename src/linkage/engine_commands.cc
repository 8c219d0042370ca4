// The linkage engine's commands that change decisions: review decisions, unlinking (training
// is in engine_train.cc). Each runs on the worker and commits with sync before it is answered.
#include "linkage/engine.h"

namespace tessera::linkage {

using nlohmann::json;
using storage::Space;

Result<json> Engine::DoDecide(const std::string& review_id, bool accept) {
  auto n = state::ParseReviewId(review_id);
  if (!n) return Status::NotFound("no review " + review_id);
  std::string v;
  Status s = store_->Get(Space::kLinkage, state::ReviewKey(*n), &v);
  if (s.code() == StatusCode::kNotFound) {
    return Status::NotFound("no pending review " + review_id + " (decided already, or unknown)");
  }
  TESSERA_RETURN_IF_ERROR(s);
  TESSERA_ASSIGN_OR_RETURN(state::ReviewItem item, state::DecodeReview(v));
  storage::StagedWrites staged(store_);
  auto a = identity::IdentityGraph::LoadLive(&staged, item.a);
  auto x = identity::IdentityGraph::LoadLive(&staged, item.b);
  if (!a.ok() || !x.ok()) {
    if (!a.ok() && a.status().code() != StatusCode::kNotFound) return a.status();
    if (!x.ok() && x.status().code() != StatusCode::kNotFound) return x.status();
    return Status::Conflict("a profile of review " + review_id + " no longer exists");
  }
  const TimeMs now = options_.clock->NowMs();
  bool linked = false;
  if (a->tessera_id != x->tessera_id) {
    if (accept) {
      TESSERA_ASSIGN_OR_RETURN(identity::Entity ea, identity::LoadEntity(&staged, *a));
      if (!ea.Contains(x->tessera_id)) {
        // A person's accept overrides the model's guard, not another decision of a person.
        TESSERA_ASSIGN_OR_RETURN(identity::Entity ex, identity::LoadEntity(&staged, *x));
        for (const identity::Node& p : ea.members) {
          for (const identity::Node& q : ex.members) {
            TESSERA_ASSIGN_OR_RETURN(auto d, FindDecision(&staged, p, q));
            if (d && !d->accept) {
              return Status::Conflict("accepting would make one person of " + p.tessera_id +
                                      " and " + q.tessera_id + ", which were rejected");
            }
          }
        }
        identity::Link link{.probability = item.probability,
                            .decided_by = "review",
                            .review_id = review_id,
                            .at = now,
                            .explanation = item.explanation};
        TESSERA_RETURN_IF_ERROR(identity::AddLink(&staged, a->tessera_id, x->tessera_id, link));
        linked = true;
      }
    } else {
      TESSERA_ASSIGN_OR_RETURN(auto removed, identity::RemoveLinksBetween(&staged, *a, *x));
      if (removed.empty()) {
        TESSERA_ASSIGN_OR_RETURN(identity::Entity ea, identity::LoadEntity(&staged, *a));
        if (ea.Contains(x->tessera_id)) {
          // Which link to break is the person's call: the review stays pending.
          return Status::Conflict("profiles " + a->tessera_id + " and " + x->tessera_id +
                                  " are linked through other profiles; unlink one of the "
                                  "links on the profile (POST /v1/linkage/unlink) first");
        }
      }
    }
  }
  state::Decision d{.accept = accept, .by = "review", .review_id = review_id,
                    .probability = item.probability, .at = now};
  staged.Put(Space::kLinkage, state::PairKey('d', item.a, item.b), state::EncodeDecision(d));
  if (state::PairKey('d', a->tessera_id, x->tessera_id) != state::PairKey('d', item.a, item.b) &&
      a->tessera_id != x->tessera_id) {
    staged.Put(Space::kLinkage, state::PairKey('d', a->tessera_id, x->tessera_id),
               state::EncodeDecision(d));
  }
  staged.Delete(Space::kLinkage, state::ReviewKey(item.n));
  staged.Delete(Space::kLinkage, state::PairKey('p', item.a, item.b));
  TESSERA_RETURN_IF_ERROR(staged.Commit({.sync = true}));
  return json{{"id", review_id},
              {"decision", accept ? "accept" : "reject"},
              {"profiles", {a->tessera_id, x->tessera_id}},
              {"linked", linked}};
}

Result<json> Engine::DoUnlink(const std::string& a_id, const std::string& b_id) {
  storage::StagedWrites staged(store_);
  TESSERA_ASSIGN_OR_RETURN(identity::Node a, identity::IdentityGraph::LoadLive(&staged, a_id));
  TESSERA_ASSIGN_OR_RETURN(identity::Node b, identity::IdentityGraph::LoadLive(&staged, b_id));
  if (a.tessera_id == b.tessera_id) {
    return Status::Conflict("both references name profile " + a.tessera_id +
                            " (one profile by its identifiers: nothing linked to undo)");
  }
  TESSERA_ASSIGN_OR_RETURN(std::vector<identity::Edge> removed,
                           identity::RemoveLinksBetween(&staged, a, b));
  if (removed.empty()) {
    TESSERA_ASSIGN_OR_RETURN(identity::Entity ea, identity::LoadEntity(&staged, a));
    if (ea.Contains(b.tessera_id)) {
      return Status::Conflict("profiles " + a.tessera_id + " and " + b.tessera_id +
                              " are linked only through other profiles: unlink one of the "
                              "edges listed under \"links\" on the profile");
    }
    return Status::NotFound("profiles " + a.tessera_id + " and " + b.tessera_id +
                            " are not linked");
  }
  // Remembered as a rejection: never linked again automatically, and a label for training.
  state::Decision d{.accept = false, .by = "unlink", .probability = removed[0].link.probability,
                    .at = options_.clock->NowMs()};
  staged.Put(Space::kLinkage, state::PairKey('d', a.tessera_id, b.tessera_id),
             state::EncodeDecision(d));
  TESSERA_RETURN_IF_ERROR(DropPendingReview(&staged, a, b));
  TESSERA_RETURN_IF_ERROR(staged.Commit({.sync = true}));
  json edges = json::array();
  for (const identity::Edge& e : removed) {
    edges.push_back({{"between", {e.stored_a, e.stored_b}},
                     {"probability", e.link.probability},
                     {"decided_by", e.link.decided_by}});
  }
  return json{{"unlinked", {a.tessera_id, b.tessera_id}}, {"edges", edges}};
}

}  // namespace tessera::linkage
