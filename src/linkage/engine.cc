// The linkage engine's worker: the loop, commands, following the log, the backfill.
#include "linkage/engine.h"

#include <pthread.h>
#include <spdlog/spdlog.h>

#include <set>

#include "core/cpu_priority.h"

namespace tessera::linkage {

using nlohmann::json;
using storage::Space;

namespace {

// Deletes every key of kLinkage that starts with `prefix`, in bounded batches.
Status ClearPrefix(storage::Store* store, std::string_view prefix) {
  while (true) {
    storage::WriteBatch batch;
    auto it = store->NewIterator(Space::kLinkage);
    for (it->Seek(prefix); it->Valid() && state::HasPrefix(it->key(), prefix) &&
                           batch.size() < 10000;
         it->Next()) {
      batch.Delete(Space::kLinkage, it->key());
    }
    TESSERA_RETURN_IF_ERROR(it->status());
    if (batch.empty()) return Status::Ok();
    TESSERA_RETURN_IF_ERROR(store->Write(batch, {}));
  }
}

}  // namespace

Engine::Engine(storage::Store* store, eventlog::EventLog* log, pipeline::Processor* processor,
               identity::IdentityConfig identity, EngineOptions options)
    : store_(store), log_(log), processor_(processor), identity_(std::move(identity)),
      options_(options) {}

Engine::~Engine() { Stop(); }

Result<std::optional<ServerSettings>> Engine::ReadSettings(storage::Reader* reader) const {
  std::string v;
  Status s = reader->Get(Space::kLinkage, state::kSettingsKey, &v);
  if (s.code() == StatusCode::kNotFound) return std::optional<ServerSettings>();
  TESSERA_RETURN_IF_ERROR(s);
  auto parsed = ParseServerSettings(v);
  if (!parsed.ok()) {
    return Status::Corruption("stored linkage settings: " + parsed.status().message());
  }
  json j = json::parse(v, nullptr, false);
  parsed->version = j.value("version", uint64_t{0});
  return std::optional<ServerSettings>(std::move(parsed).value());
}

Status Engine::LoadState() {
  TESSERA_ASSIGN_OR_RETURN(settings_, ReadSettings(store_));
  std::string v;
  model_.reset();
  Status s = store_->Get(Space::kLinkage, state::kModelKey, &v);
  if (s.ok()) {
    TESSERA_ASSIGN_OR_RETURN(state::StoredModel m, state::DecodeModel(v));
    model_ = std::move(m);
  } else if (s.code() != StatusCode::kNotFound) {
    return s;
  }
  backfill_ = {};
  s = store_->Get(Space::kLinkage, state::kBackfillKey, &v);
  if (s.ok()) {
    TESSERA_ASSIGN_OR_RETURN(backfill_, state::DecodeBackfill(v));
  } else if (s.code() != StatusCode::kNotFound) {
    return s;
  }
  s = store_->Get(Space::kLinkage, state::kNextReviewKey, &v);
  if (s.ok()) {
    next_review_ = state::DecodeU64(v);
  } else if (s.code() == StatusCode::kNotFound) {
    next_review_ = 1;
  } else {
    return s;
  }
  s = store_->Get(Space::kLinkage, state::kNextWithdrawalKey, &v);
  if (s.ok()) {
    next_withdrawal_ = state::DecodeU64(v);
  } else if (s.code() == StatusCode::kNotFound) {
    next_withdrawal_ = 1;
  } else {
    return s;
  }
  s = store_->Get(Space::kLinkage, state::kCursorKey, &v);
  if (s.ok()) {
    cursor_ = state::DecodeU64(v);
  } else if (s.code() == StatusCode::kNotFound) {
    // Nothing to catch up on: until a model exists nothing is scored, and a new model's
    // backfill covers every profile as it is. Stored at once, so that from here on every
    // event is seen.
    cursor_ = processor_->processed_seq();
    TESSERA_RETURN_IF_ERROR(SaveCursor());
  } else {
    return s;
  }
  applied_.store(cursor_, std::memory_order_release);
  return Status::Ok();
}

Status Engine::Start() {
  TESSERA_RETURN_IF_ERROR(LoadState());
  stop_.store(false);
  worker_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "tsr-linkage");
    Run();
  });
  return Status::Ok();
}

void Engine::Stop() {
  stop_.store(true);
  if (worker_.joinable()) worker_.join();
  JoinTrainer();  // an automatic training gives up at its next stage
  std::deque<Command> left;
  {
    MutexLock lock(&mu_);
    left.swap(commands_);
  }
  for (Command& c : left) c.done(Status::Unavailable("the server is stopping"));
}

Status Engine::RunUntilIdle() {
  if (!worker_.joinable()) TESSERA_RETURN_IF_ERROR(LoadState());
  while (true) {
    bool did_work = false;
    Status s = Step(&did_work);
    if (!s.ok()) {
      TESSERA_RETURN_IF_ERROR(LoadState());
      return s;
    }
    if (did_work) continue;
    if (trainer_.joinable()) {
      // An automatic training is running: wait for it, then install what it brings.
      JoinTrainer();
      continue;
    }
    return Status::Ok();
  }
}

void Engine::Run() {
  // Background work, like the pipeline: requests go first.
  BackgroundCpu cpu;
  auto backoff = std::chrono::milliseconds(10);
  while (!stop_.load()) {
    bool did_work = false;
    Status s = Step(&did_work);
    cpu.Update(s.ok() && !did_work);
    if (!s.ok()) {
      // Never skip: the step is retried from the stored state, visibly.
      spdlog::error("linkage: step after seq {} failed: {}", cursor_, s.ToString());
      {
        MutexLock lock(&mu_);
        last_error_ = s.ToString();
      }
      Status reload = LoadState();
      if (!reload.ok()) spdlog::error("linkage: reloading state: {}", reload.ToString());
      std::this_thread::sleep_for(backoff);
      backoff = std::min(backoff * 2, std::chrono::milliseconds(5000));
      continue;
    }
    backoff = std::chrono::milliseconds(10);
    if (!did_work) processor_->WaitProcessed(cursor_ + 1, std::chrono::milliseconds(50));
  }
}

bool Engine::Active() const {
  return settings_ && model_ && model_->settings_version == settings_->version;
}

Status Engine::Step(bool* did_work) {
  *did_work = RunCommands();
  TESSERA_RETURN_IF_ERROR(MaybeAutoTrain(did_work));
  if (!Active()) {
    // Nothing is scored without a model for the current settings; a new model's backfill
    // covers every profile, so the log needs no replay.
    uint64_t processed = processor_->processed_seq();
    if (cursor_ != processed) {
      cursor_ = processed;
      TESSERA_RETURN_IF_ERROR(SaveCursor());
    }
  } else {
    if (backfill_.generation != model_->generation) {
      TESSERA_RETURN_IF_ERROR(StartBackfill());
      *did_work = true;
    }
    TESSERA_RETURN_IF_ERROR(ApplyLog(did_work));
    TESSERA_RETURN_IF_ERROR(BackfillSlice(did_work));
  }
  applied_.store(cursor_, std::memory_order_release);
  {
    MutexLock lock(&mu_);
    last_error_.clear();
  }
  return Status::Ok();
}

Status Engine::SaveCursor() {
  storage::WriteBatch batch;
  batch.Put(Space::kLinkage, state::kCursorKey, state::EncodeU64(cursor_));
  return store_->Write(batch, {});
}

void Engine::Submit(Command command) {
  MutexLock lock(&mu_);
  commands_.push_back(std::move(command));
}

void Engine::PutSettings(std::string body, Done done) {
  Submit({.kind = CommandKind::kPutSettings, .body = std::move(body), .done = std::move(done)});
}

void Engine::Train(Done done) { Submit({.kind = CommandKind::kTrain, .done = std::move(done)}); }

void Engine::Decide(std::string review_id, bool accept, Done done) {
  Submit({.kind = CommandKind::kDecide, .a = std::move(review_id), .accept = accept,
          .done = std::move(done)});
}

void Engine::Unlink(std::string a, std::string b, Done done) {
  Submit({.kind = CommandKind::kUnlink, .a = std::move(a), .b = std::move(b),
          .done = std::move(done)});
}

bool Engine::RunCommands() {
  bool any = false;
  while (true) {
    Command c;
    {
      MutexLock lock(&mu_);
      if (commands_.empty()) break;
      c = std::move(commands_.front());
      commands_.pop_front();
    }
    any = true;
    Result<json> r = Execute(c);
    if (!r.ok() && r.status().code() != StatusCode::kInvalidArgument &&
        r.status().code() != StatusCode::kNotFound && r.status().code() != StatusCode::kConflict) {
      spdlog::error("linkage: command failed: {}", r.status().ToString());
      // What was staged is gone, but the in-memory state may be ahead of the store.
      Status reload = LoadState();
      if (!reload.ok()) spdlog::error("linkage: reloading state: {}", reload.ToString());
    }
    c.done(std::move(r));
  }
  return any;
}

Result<json> Engine::Execute(const Command& c) {
  switch (c.kind) {
    case CommandKind::kPutSettings: return DoPutSettings(c.body);
    case CommandKind::kTrain: return DoTrain();
    case CommandKind::kDecide: return DoDecide(c.a, c.accept);
    case CommandKind::kUnlink: return DoUnlink(c.a, c.b);
    case CommandKind::kInstallAuto: return DoInstallAuto(c.outcome.get());
  }
  return Status::Internal("unknown linkage command");
}

Result<json> Engine::DoPutSettings(const std::string& body) {
  TESSERA_ASSIGN_OR_RETURN(ServerSettings s, ParseServerSettings(body));
  s.version = settings_ ? settings_->version + 1 : 1;
  retry_at_ = 0;  // an automatic training that failed may work with these
  storage::WriteBatch batch;
  std::string text = ServerSettingsToJson(s);
  batch.Put(Space::kLinkage, state::kSettingsKey, text);
  TESSERA_RETURN_IF_ERROR(store_->Write(batch, {.sync = true}));
  settings_ = std::move(s);
  json out = json::parse(text);
  out["stored"] = true;
  out["model_current"] = Active();
  return out;
}

Status Engine::ApplyLog(bool* did_work) {
  const uint64_t limit = processor_->processed_seq();
  if (cursor_ >= limit) return Status::Ok();
  TESSERA_ASSIGN_OR_RETURN(
      std::vector<Event> events,
      log_->Read(cursor_ + 1, std::min<uint64_t>(options_.max_batch_events, limit - cursor_)));
  if (events.empty()) return Status::Ok();
  *did_work = true;
  std::set<std::string> touched;
  for (const Event& e : events) {
    const Identifier* best = nullptr;
    for (const auto& id : e.identifiers) {
      if (!best || identity_.Rank(id.kind) < identity_.Rank(best->kind)) best = &id;
    }
    // Tessera's own events (audience entries ...) change no person data.
    if (!best || best->kind == id_kind::kTesseraId) continue;
    auto pid = identity::IdentityGraph::Lookup(store_, *best);
    if (pid.status().code() == StatusCode::kNotFound) continue;
    TESSERA_RETURN_IF_ERROR(pid.status());
    touched.insert(*pid);
    TESSERA_ASSIGN_OR_RETURN(identity::Node node, identity::IdentityGraph::LoadLive(store_, *pid));
    for (const auto& m : node.merges) {
      // An identifier that moved away changed the other profile too.
      if (m.seq == e.seq && m.action == "move" && !m.from.empty()) touched.insert(m.from);
    }
  }
  for (const std::string& pid : touched) {
    // Profiles the backfill has not reached yet are scored when it does.
    if (!backfill_.done && pid > backfill_.after) continue;
    TESSERA_RETURN_IF_ERROR(ProcessProfile(pid, /*force=*/false));
  }
  cursor_ = events.back().seq;
  return SaveCursor();
}

Status Engine::StartBackfill() {
  // The old index was built with other settings or scored by another model: rebuild it all.
  // Crash-safe: the new state is written only once the old index is gone.
  for (std::string_view prefix : {"r", "b", "f", "F"}) {
    TESSERA_RETURN_IF_ERROR(ClearPrefix(store_, prefix));
  }
  backfill_ = {.generation = model_->generation, .started_at = options_.clock->NowMs()};
  storage::WriteBatch batch;
  batch.Put(Space::kLinkage, state::kBackfillKey, state::EncodeBackfill(backfill_));
  return store_->Write(batch, {});
}

Status Engine::BackfillSlice(bool* did_work) {
  if (backfill_.done) return LinksSlice(did_work);
  *did_work = true;
  auto it = store_->NewIterator(Space::kProfiles);
  std::string start = "p" + backfill_.after;
  it->Seek(start);
  if (!backfill_.after.empty() && it->Valid() && it->key() == start) it->Next();
  std::vector<std::string> slice;
  for (; it->Valid() && slice.size() < options_.backfill_slice; it->Next()) {
    slice.emplace_back(it->key().substr(1));
  }
  TESSERA_RETURN_IF_ERROR(it->status());
  const bool finished = !it->Valid();
  it.reset();
  for (const std::string& pid : slice) {
    TESSERA_RETURN_IF_ERROR(ProcessProfile(pid, /*force=*/true));
    backfill_.after = pid;
    ++backfill_.indexed;
  }
  if (finished) {
    backfill_.done = true;
    backfill_.finished_at = options_.clock->NowMs();
    spdlog::info("linkage: indexed and scored {} profiles (model generation {})",
                 backfill_.indexed, backfill_.generation);
  }
  storage::WriteBatch batch;
  batch.Put(Space::kLinkage, state::kBackfillKey, state::EncodeBackfill(backfill_));
  return store_->Write(batch, {});
}

Status Engine::LinksSlice(bool* did_work) {
  if (backfill_.links_done) return Status::Ok();
  *did_work = true;
  // Every stored edge list, by the id it is stored under; each edge is stored under both ends
  // and so is seen twice (the second time it is gone or scores the same).
  auto it = store_->NewIterator(Space::kLinks);
  std::string start = identity::LinksKey(backfill_.links_after);
  it->Seek(start);
  if (!backfill_.links_after.empty() && it->Valid() && it->key() == start) it->Next();
  std::vector<std::string> slice;
  for (; it->Valid() && slice.size() < options_.backfill_slice; it->Next()) {
    slice.emplace_back(it->key().substr(1));
  }
  TESSERA_RETURN_IF_ERROR(it->status());
  const bool finished = !it->Valid();
  it.reset();
  for (const std::string& id : slice) {
    storage::StagedWrites staged(store_);
    auto node = identity::IdentityGraph::LoadLive(&staged, id);
    if (node.ok()) {
      TESSERA_ASSIGN_OR_RETURN(std::vector<std::string> values, ValuesOf(&staged, *node));
      TESSERA_ASSIGN_OR_RETURN(auto gone,
                               WithdrawWeakLinks(&staged, *node, values, "model retrained"));
      backfill_.links_withdrawn += gone.size();
      TESSERA_RETURN_IF_ERROR(staged.Commit({}));
    } else if (node.status().code() != StatusCode::kNotFound) {
      return node.status();
    }
    backfill_.links_after = id;
    ++backfill_.links_checked;
  }
  if (finished) {
    backfill_.links_done = true;
    spdlog::info("linkage: re-scored the links of {} profiles, withdrew {} (model generation {})",
                 backfill_.links_checked, backfill_.links_withdrawn, backfill_.generation);
  }
  storage::WriteBatch batch;
  batch.Put(Space::kLinkage, state::kBackfillKey, state::EncodeBackfill(backfill_));
  return store_->Write(batch, {});
}

std::string Engine::last_error() const {
  MutexLock lock(&mu_);
  return last_error_;
}

}  // namespace tessera::linkage
