// The linkage engine's commands that change decisions: training, review decisions, unlinking.
// Each runs on the worker and commits with sync before it is answered.
#include <spdlog/spdlog.h>

#include <chrono>
#include <map>

#include "linkage/compare.h"
#include "linkage/engine.h"
#include "linkage/records.h"

namespace tessera::linkage {

using nlohmann::json;
using storage::Space;

namespace {

json ModelSummary(const state::StoredModel& m) {
  return {{"generation", m.generation},
          {"settings_version", m.settings_version},
          {"trained_at", FormatIso8601(m.trained_at)},
          {"profiles", m.profiles},
          {"candidates", m.candidates},
          {"labels", m.labels},
          {"seconds", m.seconds},
          {"lambda", m.model.lambda},
          {"em_iterations", m.model.em_iterations},
          {"em_converged", m.model.em_converged}};
}

}  // namespace

Result<ServerSettings> Engine::InferSettings(std::vector<std::string>* ignored) const {
  std::map<std::string, size_t> paths;
  std::map<std::string, size_t> kinds;
  auto it = store_->NewIterator(Space::kProfiles);
  size_t n = 0;
  for (it->Seek("p"); it->Valid() && n < options_.infer_sample; it->Next(), ++n) {
    TESSERA_ASSIGN_OR_RETURN(profile::Profile p, profile::DecodeProfile(it->value()));
    for (const std::string& path : TraitPaths(p)) ++paths[path];
    auto node = identity::IdentityGraph::LoadLive(store_, p.tessera_id);
    if (!node.ok()) continue;
    for (const auto& r : node->identifiers) ++kinds[r.id.kind];
  }
  TESSERA_RETURN_IF_ERROR(it->status());
  std::vector<std::string> path_list, kind_list;
  for (const auto& [p, count] : paths) path_list.push_back(p);
  for (const auto& [k, count] : kinds) kind_list.push_back(k);
  return InferServerSettings(path_list, kind_list, ignored);
}

Result<json> Engine::DoTrain() {
  const auto start = std::chrono::steady_clock::now();
  ServerSettings s;
  bool inferred = false;
  if (settings_) {
    s = *settings_;
  } else {
    std::vector<std::string> ignored;
    TESSERA_ASSIGN_OR_RETURN(s, InferSettings(&ignored));
    s.version = 1;
    inferred = true;
    Status valid = ValidateSettings(s.linkage, s.Columns());
    if (!valid.ok()) {
      return Status::InvalidArgument(
          "no settings stored, and none could be inferred from the profiles' traits (" +
          valid.message() + "): PUT /v1/linkage/settings first");
    }
  }
  // The population: every live profile with a linkage value.
  Table table;
  table.name = "profiles";
  table.columns = s.Columns();
  table.values.assign(table.columns.size(), {});
  auto it = store_->NewIterator(Space::kProfiles);
  for (it->Seek("p"); it->Valid() && state::HasPrefix(it->key(), "p"); it->Next()) {
    TESSERA_ASSIGN_OR_RETURN(profile::Profile p, profile::DecodeProfile(it->value()));
    auto node = identity::IdentityGraph::LoadLive(store_, p.tessera_id);
    if (!node.ok() || node->tessera_id != p.tessera_id) continue;
    std::vector<std::string> values = ExtractRecord(s, &p, *node);
    auto empty = [](const std::string& v) { return v.empty(); };
    if (std::all_of(values.begin(), values.end(), empty)) continue;
    table.ids.push_back(p.tessera_id);
    for (size_t c = 0; c < values.size(); ++c) table.values[c].push_back(std::move(values[c]));
  }
  TESSERA_RETURN_IF_ERROR(it->status());
  it.reset();
  if (table.ids.size() < 2) {
    return Status::InvalidArgument(
        "training needs at least two profiles with linkage values; found " +
        std::to_string(table.ids.size()));
  }
  TESSERA_ASSIGN_OR_RETURN(LinkInput in, LinkInput::Build(&table, nullptr, s.linkage));
  Blocker blocker(&in, s.linkage);
  std::vector<RuleStats> rules;
  std::vector<RecordPair> candidates = blocker.Generate(&rules);
  if (candidates.empty()) {
    return Status::InvalidArgument(
        "the blocking rules pair no two profiles: nothing to learn from");
  }
  Comparator cmp(&in, s.linkage);
  std::vector<Pattern> patterns(candidates.size());
  for (size_t i = 0; i < candidates.size(); ++i) {
    patterns[i] = cmp.Compare(candidates[i].a, candidates[i].b);
  }
  // People's decisions are labels: their pairs keep their class in every EM iteration.
  std::map<std::string, uint32_t> index;
  for (uint32_t r = 0; r < table.ids.size(); ++r) index[table.ids[r]] = r;
  std::vector<LabelledPair> labels;
  auto dit = store_->NewIterator(Space::kLinkage);
  for (dit->Seek("d"); dit->Valid() && state::HasPrefix(dit->key(), "d"); dit->Next()) {
    std::string_view pair = dit->key().substr(1);
    size_t zero = pair.find('\0');
    if (zero == std::string_view::npos) return Status::Corruption("malformed decision key");
    TESSERA_ASSIGN_OR_RETURN(state::Decision d, state::DecodeDecision(dit->value()));
    auto a = identity::IdentityGraph::LoadLive(store_, pair.substr(0, zero));
    auto b = identity::IdentityGraph::LoadLive(store_, pair.substr(zero + 1));
    if (!a.ok() || !b.ok()) continue;
    auto ia = index.find(a->tessera_id), ib = index.find(b->tessera_id);
    if (ia == index.end() || ib == index.end() || ia->second == ib->second) continue;
    labels.push_back({{std::min(ia->second, ib->second), std::max(ia->second, ib->second)},
                      d.accept});
  }
  TESSERA_RETURN_IF_ERROR(dit->status());
  dit.reset();
  EstimateOptions eo{.random_pairs = s.linkage.random_pairs,
                     .max_iterations = s.linkage.max_em_iterations,
                     .seed = s.linkage.seed};
  state::StoredModel m;
  m.model = Estimate(in, cmp, candidates, patterns, labels, eo);
  m.generation = model_ ? model_->generation + 1 : 1;
  m.settings_version = s.version;
  m.trained_at = options_.clock->NowMs();
  m.profiles = table.ids.size();
  m.candidates = candidates.size();
  m.labels = labels.size();
  m.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  storage::WriteBatch batch;
  if (inferred) batch.Put(Space::kLinkage, state::kSettingsKey, ServerSettingsToJson(s));
  batch.Put(Space::kLinkage, state::kModelKey, state::EncodeModel(m));
  TESSERA_RETURN_IF_ERROR(store_->Write(batch, {.sync = true}));
  spdlog::info("linkage: trained model {} over {} profiles, {} candidates, {} labels in {:.1f} s",
               m.generation, m.profiles, m.candidates, m.labels, m.seconds);
  settings_ = std::move(s);
  json out = ModelSummary(m);
  model_ = std::move(m);
  out["settings_inferred"] = inferred;
  out["backfill"] = "started: every profile is indexed and scored again (GET /v1/linkage/status)";
  return out;
}

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
