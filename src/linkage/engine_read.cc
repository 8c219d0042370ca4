// The linkage engine's reads for the API: settings, status, model, review queue. Any thread:
// they read the store, never the worker's memory.
#include "linkage/engine.h"

namespace tessera::linkage {

using nlohmann::json;
using storage::Space;

namespace {

Result<std::optional<std::string>> GetOptional(storage::Store* store, std::string_view key) {
  std::string v;
  Status s = store->Get(Space::kLinkage, key, &v);
  if (s.code() == StatusCode::kNotFound) return std::optional<std::string>();
  TESSERA_RETURN_IF_ERROR(s);
  return std::optional<std::string>(std::move(v));
}

constexpr size_t kStatusWithdrawals = 10;

// {"total": every withdrawal so far, "recent": the latest `limit`, newest first}.
Result<json> RecentWithdrawals(storage::Store* store, size_t limit) {
  TESSERA_ASSIGN_OR_RETURN(auto next, GetOptional(store, state::kNextWithdrawalKey));
  const uint64_t total = next ? state::DecodeU64(*next) - 1 : 0;
  json recent = json::array();
  for (uint64_t n = total; n >= 1 && recent.size() < limit; --n) {
    TESSERA_ASSIGN_OR_RETURN(auto text, GetOptional(store, state::WithdrawalKey(n)));
    if (!text) break;  // older ones are no longer kept
    TESSERA_ASSIGN_OR_RETURN(state::Withdrawal w, state::DecodeWithdrawal(*text));
    json explanation = json::parse(w.explanation, nullptr, false);
    json item = {{"profiles", {w.a, w.b}},
                 {"probability_before", w.probability_before},
                 {"probability", w.probability},
                 {"cause", w.cause},
                 {"reason", w.reason},
                 {"model_generation", w.generation},
                 {"at", FormatIso8601(w.at)},
                 {"explanation", explanation.is_discarded() ? json(nullptr) : explanation}};
    item["review_id"] = w.review_id.empty() ? json(nullptr) : json(w.review_id);
    recent.push_back(std::move(item));
  }
  return json{{"total", total}, {"recent", std::move(recent)}};
}

}  // namespace

Result<json> Engine::GetSettings() {
  TESSERA_ASSIGN_OR_RETURN(auto stored, ReadSettings(store_));
  if (stored) {
    json out = json::parse(ServerSettingsToJson(*stored));
    out["stored"] = true;
    return out;
  }
  std::vector<std::string> ignored;
  TESSERA_ASSIGN_OR_RETURN(ServerSettings inferred, InferSettings(&ignored));
  json out = json::parse(ServerSettingsToJson(inferred));
  out.erase("version");
  out["stored"] = false;
  out["ignored_traits"] = ignored;
  Status valid = ValidateSettings(inferred.linkage, inferred.Columns());
  if (!valid.ok()) out["problem"] = valid.message();
  return out;
}

Result<json> Engine::GetStatus() {
  json out;
  TESSERA_ASSIGN_OR_RETURN(auto settings, ReadSettings(store_));
  out["settings_version"] = settings ? json(settings->version) : json(nullptr);
  TESSERA_ASSIGN_OR_RETURN(auto model_text, GetOptional(store_, state::kModelKey));
  std::optional<state::StoredModel> model;
  if (model_text) {
    TESSERA_ASSIGN_OR_RETURN(model, state::DecodeModel(*model_text));
  }
  if (model) {
    out["model"] = {{"generation", model->generation},
                    {"settings_version", model->settings_version},
                    {"trained_at", FormatIso8601(model->trained_at)},
                    {"profiles", model->profiles},
                    {"candidates", model->candidates},
                    {"labels", model->labels},
                    {"lambda", model->model.lambda},
                    {"em_converged", model->model.em_converged},
                    {"population", model->population},
                    {"trigger", model->trigger},
                    {"reason", model->reason},
                    {"current", settings && settings->version == model->settings_version}};
  } else {
    out["model"] = nullptr;
  }
  const bool active = settings && model && settings->version == model->settings_version;
  TESSERA_ASSIGN_OR_RETURN(auto backfill_text, GetOptional(store_, state::kBackfillKey));
  json backfill = nullptr;
  bool ready = false;
  if (backfill_text) {
    TESSERA_ASSIGN_OR_RETURN(state::BackfillState b, state::DecodeBackfill(*backfill_text));
    backfill = {{"generation", b.generation},
                {"done", b.done},
                {"indexed", b.indexed},
                {"links_rescored",
                 {{"done", b.links_done},
                  {"checked", b.links_checked},
                  {"withdrawn", b.links_withdrawn}}}};
    if (b.started_at) backfill["started_at"] = FormatIso8601(b.started_at);
    if (b.finished_at) backfill["finished_at"] = FormatIso8601(b.finished_at);
    ready = active && b.done && b.links_done && b.generation == model->generation;
  }
  out["backfill"] = backfill;
  // "inactive": nothing is scored (no model for the current settings); "backfilling": the
  // index is being rebuilt; "ready": every profile is indexed and new ones are scored live.
  out["state"] = !active ? "inactive" : ready ? "ready" : "backfilling";
  // Automatic training: the settings, what the worker last counted, and the trainings so far
  // (why each ran), newest first.
  const AutoTrain cfg = settings ? settings->auto_train : AutoTrain{};
  AutoStatus a;
  {
    MutexLock lock(&mu_);
    a = auto_;
  }
  json auto_train = {{"enabled", cfg.enabled},
                     {"min_profiles", cfg.min_profiles},
                     {"growth", cfg.growth},
                     {"training", a.running},
                     {"next_at_profiles", a.next_at ? json(a.next_at) : json(nullptr)},
                     {"profiles_counted", a.counted_at ? json(a.counted) : json(nullptr)},
                     {"counted_at",
                      a.counted_at ? json(FormatIso8601(a.counted_at)) : json(nullptr)},
                     {"last_error", a.last_error.empty() ? json(nullptr) : json(a.last_error)}};
  if (a.running) {
    auto_train["reason"] = a.reason;
    auto_train["started_at"] = FormatIso8601(a.started_at);
  }
  if (!a.last_error.empty()) auto_train["last_error_at"] = FormatIso8601(a.last_error_at);
  out["auto_train"] = std::move(auto_train);
  json trainings = json::array();
  if (model) {
    for (auto it = model->history.rbegin(); it != model->history.rend(); ++it) {
      trainings.push_back({{"generation", it->generation},
                           {"at", FormatIso8601(it->at)},
                           {"trigger", it->trigger},
                           {"reason", it->reason},
                           {"population", it->population},
                           {"profiles", it->profiles}});
    }
  }
  out["trainings"] = std::move(trainings);
  out["applied_seq"] = applied_seq();
  out["processed_seq"] = processor_->processed_seq();
  uint64_t pending = 0;
  auto it = store_->NewIterator(Space::kLinkage);
  for (it->Seek("q"); it->Valid() && state::HasPrefix(it->key(), "q"); it->Next()) ++pending;
  TESSERA_RETURN_IF_ERROR(it->status());
  out["reviews_pending"] = pending;
  out["since_start"] = {{"links", links_made()},
                        {"links_withdrawn", links_withdrawn()},
                        {"reviews_queued", reviews_queued()},
                        {"profiles_scored", profiles_scored()}};
  TESSERA_ASSIGN_OR_RETURN(json withdrawn, RecentWithdrawals(store_, kStatusWithdrawals));
  out["links_withdrawn"] = std::move(withdrawn);
  std::string error = last_error();
  out["last_error"] = error.empty() ? json(nullptr) : json(error);
  return out;
}

Result<json> Engine::GetModel() {
  TESSERA_ASSIGN_OR_RETURN(auto text, GetOptional(store_, state::kModelKey));
  if (!text) return Status::NotFound("no linkage model yet: POST /v1/linkage/train");
  TESSERA_ASSIGN_OR_RETURN(state::StoredModel m, state::DecodeModel(*text));
  json comparisons = json::array();
  for (size_t c = 0; c < m.model.comparisons.size(); ++c) {
    json levels = json::array();
    for (size_t l = 0; l < m.model.levels[c].size(); ++l) {
      const LevelParams& p = m.model.levels[c][l];
      json level = {{"level", p.label}, {"candidates", p.candidates}};
      if (l > 0) {
        level["m"] = p.m;
        level["u"] = p.u;
        level["weight"] = m.model.LevelWeight(c, static_cast<int>(l), 0);
      }
      levels.push_back(std::move(level));
    }
    comparisons.push_back({{"comparison", m.model.comparisons[c]},
                           {"tf", static_cast<bool>(m.model.tf[c])},
                           {"levels", std::move(levels)}});
  }
  return json{{"generation", m.generation},
              {"settings_version", m.settings_version},
              {"trained_at", FormatIso8601(m.trained_at)},
              {"profiles", m.profiles},
              {"candidates", m.candidates},
              {"labels", m.labels},
              {"seconds", m.seconds},
              {"trigger", m.trigger},
              {"reason", m.reason},
              {"population", m.population},
              {"lambda", m.model.lambda},
              {"prior_weight", m.model.PriorWeight()},
              {"lambda_candidates", m.model.lambda_candidates},
              {"em_iterations", m.model.em_iterations},
              {"em_converged", m.model.em_converged},
              {"random_pairs", m.model.random_pairs},
              {"comparisons", std::move(comparisons)}};
}

Result<json> Engine::ProfileSummary(storage::Reader* reader, std::string_view tessera_id,
                                    const std::optional<ServerSettings>& settings) {
  json out = {{"tessera_id", tessera_id}};
  auto node = identity::IdentityGraph::LoadLive(reader, tessera_id);
  if (node.status().code() == StatusCode::kNotFound) {
    out["missing"] = true;
    return out;
  }
  TESSERA_RETURN_IF_ERROR(node.status());
  if (node->tessera_id != tessera_id) out["now"] = node->tessera_id;  // folded since
  json ids = json::array();
  for (const auto& r : node->identifiers) ids.push_back(r.id.kind + ":" + r.id.value);
  out["identifiers"] = ids;
  auto p = profile::LoadProfile(reader, node->tessera_id);
  if (!p.ok() && p.status().code() != StatusCode::kNotFound) return p.status();
  if (settings) {
    std::vector<std::string> values =
        ExtractRecord(*settings, p.ok() ? &p.value() : nullptr, *node);
    json fields = json::object();
    for (size_t c = 0; c < values.size(); ++c) {
      if (!values[c].empty()) fields[settings->fields[c].column] = values[c];
    }
    out["fields"] = fields;
  }
  if (p.ok()) out["sources"] = p->sources;
  return out;
}

Result<json> Engine::ListReviews(size_t limit, std::string_view cursor) {
  uint64_t after = 0;
  if (!cursor.empty()) {
    auto n = state::ParseReviewId(cursor);
    if (!n) return Status::InvalidArgument("malformed cursor");
    after = *n;
  }
  TESSERA_ASSIGN_OR_RETURN(auto settings, ReadSettings(store_));
  json items = json::array();
  std::string next;
  auto it = store_->NewIterator(Space::kLinkage);
  for (it->Seek(state::ReviewKey(after + 1)); it->Valid() && state::HasPrefix(it->key(), "q");
       it->Next()) {
    if (items.size() == limit) {
      next = items.back()["id"].get<std::string>();
      break;
    }
    TESSERA_ASSIGN_OR_RETURN(state::ReviewItem item, state::DecodeReview(it->value()));
    json explanation = json::parse(item.explanation, nullptr, false);
    TESSERA_ASSIGN_OR_RETURN(json a, ProfileSummary(store_, item.a, settings));
    TESSERA_ASSIGN_OR_RETURN(json b, ProfileSummary(store_, item.b, settings));
    items.push_back({{"id", state::ReviewId(item.n)},
                     {"profiles", {std::move(a), std::move(b)}},
                     {"probability", item.probability},
                     {"match_weight", item.weight},
                     {"reason", item.reason},
                     {"explanation", explanation.is_discarded() ? json(nullptr) : explanation},
                     {"created_at", FormatIso8601(item.created_at)},
                     {"updated_at", FormatIso8601(item.updated_at)}});
  }
  TESSERA_RETURN_IF_ERROR(it->status());
  json out = {{"reviews", std::move(items)}};
  out["next_cursor"] = next.empty() ? json(nullptr) : json(next);
  return out;
}

}  // namespace tessera::linkage
