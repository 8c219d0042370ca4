// The linkage engine's training: computing a model over every profile (any thread: it reads only
// the store), installing it (the worker), and training on its own as the profiles grow.
//
// Automatic training (settings "auto_train"): the worker counts the profile records now and
// then and, when there are at least `min_profiles` and no model is current for the settings, or
// when they have grown `growth` times since the model was trained, starts a trainer thread. The
// trainer computes the model from the store while the worker goes on with live work and
// commands; the result comes back as a command, installed unless something newer was (a manual
// training, new settings). Ingest is never waited on; the API's reads go to the store.
#include <pthread.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cmath>
#include <map>

#include "core/cpu_priority.h"
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
          {"trigger", m.trigger},
          {"reason", m.reason},
          {"population", m.population},
          {"profiles", m.profiles},
          {"candidates", m.candidates},
          {"labels", m.labels},
          {"seconds", m.seconds},
          {"lambda", m.model.lambda},
          {"em_iterations", m.model.em_iterations},
          {"em_converged", m.model.em_converged}};
}

Status Stopping() { return Status::Unavailable("the server is stopping"); }

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

Result<uint64_t> Engine::CountProfiles() const {
  uint64_t n = 0;
  auto it = store_->NewIterator(Space::kProfiles);
  for (it->Seek("p"); it->Valid() && state::HasPrefix(it->key(), "p"); it->Next()) ++n;
  TESSERA_RETURN_IF_ERROR(it->status());
  return n;
}

Result<Engine::Trained> Engine::ComputeModel(std::optional<ServerSettings> settings,
                                             BackgroundCpu* cpu) const {
  // Long, and never "caught up": at the background priority for BackgroundCpu's patience, then
  // at the low one, so that it finishes even on CPUs that requests keep busy.
  auto progress = [cpu] {
    if (cpu) cpu->Update(false);
  };
  const auto start = std::chrono::steady_clock::now();
  Trained t;
  if (settings) {
    t.settings = std::move(*settings);
  } else {
    std::vector<std::string> ignored;
    TESSERA_ASSIGN_OR_RETURN(t.settings, InferSettings(&ignored));
    t.settings.version = 1;
    t.inferred = true;
    Status valid = ValidateSettings(t.settings.linkage, t.settings.Columns());
    if (!valid.ok()) {
      return Status::InvalidArgument(
          "no settings stored, and none could be inferred from the profiles' traits (" +
          valid.message() + "): PUT /v1/linkage/settings first");
    }
  }
  const ServerSettings& s = t.settings;
  // The population: every live profile with a linkage value.
  Table table;
  table.name = "profiles";
  table.columns = s.Columns();
  table.values.assign(table.columns.size(), {});
  uint64_t population = 0;
  auto it = store_->NewIterator(Space::kProfiles);
  for (it->Seek("p"); it->Valid() && state::HasPrefix(it->key(), "p"); it->Next()) {
    ++population;
    if (population % 4096 == 0) {
      if (stop_.load()) return Stopping();
      progress();
    }
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
  if (stop_.load()) return Stopping();
  Blocker blocker(&in, s.linkage);
  std::vector<RuleStats> rules;
  std::vector<RecordPair> candidates = blocker.Generate(&rules);
  if (candidates.empty()) {
    return Status::InvalidArgument(
        "the blocking rules pair no two profiles: nothing to learn from");
  }
  if (stop_.load()) return Stopping();
  Comparator cmp(&in, s.linkage);
  std::vector<Pattern> patterns(candidates.size());
  progress();
  for (size_t i = 0; i < candidates.size(); ++i) {
    patterns[i] = cmp.Compare(candidates[i].a, candidates[i].b);
    if (i % 65536 == 65535) progress();
  }
  if (stop_.load()) return Stopping();
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
  state::StoredModel& m = t.model;
  progress();
  m.model = Estimate(in, cmp, candidates, patterns, labels, eo);
  m.settings_version = s.version;
  m.trained_at = options_.clock->NowMs();
  m.population = population;
  m.profiles = table.ids.size();
  m.candidates = candidates.size();
  m.labels = labels.size();
  m.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return t;
}

Result<json> Engine::InstallModel(Trained t, std::string trigger, std::string reason) {
  state::StoredModel& m = t.model;
  m.generation = model_ ? model_->generation + 1 : 1;
  m.trigger = std::move(trigger);
  m.reason = std::move(reason);
  if (model_) m.history = model_->history;
  m.history.push_back({.generation = m.generation,
                       .at = m.trained_at,
                       .trigger = m.trigger,
                       .reason = m.reason,
                       .population = m.population,
                       .profiles = m.profiles});
  if (m.history.size() > state::kKeptTrainings) {
    m.history.erase(m.history.begin(), m.history.end() - state::kKeptTrainings);
  }
  storage::WriteBatch batch;
  if (t.inferred) batch.Put(Space::kLinkage, state::kSettingsKey, ServerSettingsToJson(t.settings));
  batch.Put(Space::kLinkage, state::kModelKey, state::EncodeModel(m));
  TESSERA_RETURN_IF_ERROR(store_->Write(batch, {.sync = true}));
  spdlog::info("linkage: trained model {} ({}: {}) over {} profiles, {} candidates, {} labels in "
               "{:.1f} s",
               m.generation, m.trigger, m.reason, m.profiles, m.candidates, m.labels, m.seconds);
  settings_ = std::move(t.settings);
  retry_at_ = 0;
  json out = ModelSummary(m);
  model_ = std::move(m);
  out["settings_inferred"] = t.inferred;
  out["backfill"] = "started: every profile is indexed and scored again (GET /v1/linkage/status)";
  return out;
}

Result<json> Engine::DoTrain() {
  TESSERA_ASSIGN_OR_RETURN(Trained t, ComputeModel(settings_));
  return InstallModel(std::move(t), "manual", "requested");
}

Result<json> Engine::DoInstallAuto(AutoOutcome* o) {
  const uint64_t generation = model_ ? model_->generation : 0;
  const uint64_t version = settings_ ? settings_->version : 0;
  Result<json> out = [&]() -> Result<json> {
    if (!o->trained.ok()) return o->trained.status();
    if (generation != o->base_generation || version != o->base_version) {
      // A manual training or new settings came first: this model is not the newest.
      return Status::Conflict("automatic training superseded (model generation " +
                              std::to_string(generation) + ", settings version " +
                              std::to_string(version) + ")");
    }
    return InstallModel(std::move(o->trained).value(), "auto", o->reason);
  }();
  MutexLock lock(&mu_);
  auto_.running = false;
  auto_.reason.clear();
  if (!out.ok() && out.status().code() != StatusCode::kConflict) {
    // Tried again only once the profiles have grown (new settings reset this).
    const double growth = settings_ ? settings_->auto_train.growth : AutoTrain{}.growth;
    retry_at_ = std::max<uint64_t>(
        o->counted + 1, static_cast<uint64_t>(std::ceil(static_cast<double>(o->counted) * growth)));
    auto_.last_error = out.status().ToString();
    auto_.last_error_at = options_.clock->NowMs();
    spdlog::warn("linkage: automatic training failed ({}); next try at {} profiles",
                 auto_.last_error, retry_at_);
  }
  return out;
}

void Engine::JoinTrainer() {
  if (trainer_.joinable()) trainer_.join();
}

Status Engine::MaybeAutoTrain(bool* did_work) {
  if (training_.load(std::memory_order_acquire)) return Status::Ok();
  JoinTrainer();  // finished: its outcome is a command
  const AutoTrain cfg = settings_ ? settings_->auto_train : AutoTrain{};
  const bool current = Active();
  uint64_t target = cfg.min_profiles;
  if (current) {
    target = std::max<uint64_t>(target, static_cast<uint64_t>(std::ceil(
                                            static_cast<double>(model_->population) * cfg.growth)));
  }
  target = std::max(target, retry_at_);
  {
    MutexLock lock(&mu_);
    auto_.next_at = target;
  }
  if (!cfg.enabled) return Status::Ok();
  if (!counted_ || counted_profiles_ < target) {
    // Each event makes at most one profile: until enough have arrived since the last count, the
    // target cannot have been reached, and nothing is read.
    const uint64_t processed = processor_->processed_seq();
    if (counted_ && counted_profiles_ + (processed - counted_seq_) < target) return Status::Ok();
    const auto now = std::chrono::steady_clock::now();
    // Counting reads every profile key: at most every auto_train_check, and at most 5% of the
    // time.
    const auto every = std::max<std::chrono::steady_clock::duration>(options_.auto_train_check,
                                                                     count_cost_ * 20);
    if (counted_ && now - counted_time_ < every) return Status::Ok();
    TESSERA_ASSIGN_OR_RETURN(counted_profiles_, CountProfiles());
    count_cost_ = std::chrono::steady_clock::now() - now;
    counted_ = true;
    counted_seq_ = processed;
    counted_time_ = now;
    MutexLock lock(&mu_);
    auto_.counted = counted_profiles_;
    auto_.counted_at = options_.clock->NowMs();
  }
  // (A count that reached the target stays good: profiles are rarely deleted.)
  const uint64_t n = counted_profiles_;
  if (n < target) return Status::Ok();
  std::string reason;
  if (current) {
    char growth[32];
    std::snprintf(growth, sizeof growth, "%g", cfg.growth);
    reason = "profiles grew from " + std::to_string(model_->population) + " to " +
             std::to_string(n) + " (growth " + growth + ")";
  } else if (model_) {
    reason = "no model for settings version " + std::to_string(settings_->version) + ": " +
             std::to_string(n) + " profiles (min_profiles " + std::to_string(cfg.min_profiles) +
             ")";
  } else {
    reason = "first training: " + std::to_string(n) + " profiles (min_profiles " +
             std::to_string(cfg.min_profiles) + ")";
  }
  spdlog::info("linkage: automatic training started: {}", reason);
  {
    MutexLock lock(&mu_);
    auto_.running = true;
    auto_.reason = reason;
    auto_.started_at = options_.clock->NowMs();
  }
  *did_work = true;
  training_.store(true, std::memory_order_release);
  auto outcome = std::make_unique<AutoOutcome>();
  outcome->base_generation = model_ ? model_->generation : 0;
  outcome->base_version = settings_ ? settings_->version : 0;
  outcome->reason = std::move(reason);
  outcome->counted = n;
  trainer_ = std::thread([this, settings = settings_, outcome = std::move(outcome)]() mutable {
    pthread_setname_np(pthread_self(), "tsr-link-train");
    // Background work like the engine's own; it turns low (a small but steady share) once it
    // has run for BackgroundCpu's patience, so that it finishes.
    BackgroundCpu cpu;
    outcome->trained = ComputeModel(std::move(settings), &cpu);
    Command c;
    c.kind = CommandKind::kInstallAuto;
    c.done = [](Result<json>) {};  // DoInstallAuto records the outcome
    c.outcome = std::move(outcome);
    Submit(std::move(c));
    training_.store(false, std::memory_order_release);
  });
  return Status::Ok();
}

}  // namespace tessera::linkage
