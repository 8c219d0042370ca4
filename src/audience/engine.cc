#include "audience/engine.h"

#include <pthread.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <future>
#include <unordered_map>

#include "audience/population.h"
#include "core/coding.h"
#include "profile/profile.h"

namespace tessera::audience {

using storage::Space;

namespace {

// Top-level keys of a JSON object text (ingest stored it, so it is an object).
std::vector<std::string> Keys(const std::string& object_json) {
  std::vector<std::string> out;
  auto j = nlohmann::json::parse(object_json, nullptr, false);
  if (j.is_object()) {
    for (const auto& [k, v] : j.items()) out.push_back(k);
  }
  return out;
}

}  // namespace

Engine::Engine(storage::Store* store, eventlog::EventLog* log,
               pipeline::Processor* processor, const sources::SourceRegistry* sources,
               Catalog* catalog, identity::IdentityConfig identity, EngineOptions options)
    : store_(store), log_(log), processor_(processor), catalog_(catalog),
      identity_(std::move(identity)), options_(options),
      loader_(store, log, sources, options.event_cache_bytes, options.eval_threads) {}

Engine::~Engine() { Stop(); }

Status Engine::LoadState() {
  // A commit in flight ends first (its outcome is what the store says below).
  if (Status s = FinishCommit(); !s.ok()) spdlog::error("audiences: commit: {}", s.ToString());
  // The stored layout: a data dir from before per-profile records is rewritten once (the state
  // is derived, but history and the transition counts naming past events' messageIds are not
  // recomputable from the log as of today, so they are moved, not rebuilt).
  TESSERA_ASSIGN_OR_RETURN(uint64_t format, state::ReadFormat(store_));
  if (format == 1 || format == 2) {
    spdlog::info("audiences: rewriting the stored state as format {}", state::kFormatVersion);
    if (format == 1) TESSERA_RETURN_IF_ERROR(state::MigrateFormat1(store_));
    TESSERA_RETURN_IF_ERROR(state::MigrateFormat2(store_));
  } else if (format == 0) {
    storage::WriteBatch batch;
    batch.Put(Space::kAudiences, state::kFormatKey, state::EncodeFormat(state::kFormatVersion));
    TESSERA_RETURN_IF_ERROR(store_->Write(batch, {}));
  } else if (format != state::kFormatVersion) {
    return Status::Corruption("audience state of unknown format " + std::to_string(format));
  }
  std::string v;
  Status s = store_->Get(Space::kAudiences, state::kCursorKey, &v);
  stored_seq_ = 0;
  if (s.ok()) {
    // The log cursor, then (since entries and exits are stored beside the timelines, not in
    // the log) the last seq given to one.
    if (v.size() != 8 && v.size() != 16) {
      return Status::Corruption("audience cursor of unexpected size");
    }
    cursor_ = DecodeFixed64BE(v.data());
    if (v.size() == 16) stored_seq_ = DecodeFixed64BE(v.data() + 8);
  } else if (s.code() != StatusCode::kNotFound) {
    return s;
  }
  const bool fresh = s.code() == StatusCode::kNotFound;
  read_ahead_ = log_->last_seq();  // what a backfill before a restart may have read
  states_.clear();
  auto it = store_->NewIterator(Space::kAudiences);
  for (it->Seek("s"); it->Valid() && state::HasPrefix(it->key(), "s"); it->Next()) {
    TESSERA_ASSIGN_OR_RETURN(state::DefinitionState st, state::DecodeDefinitionState(it->value()));
    states_[std::string(it->key().substr(1))] = std::move(st);
  }
  if (fresh) {
    // No state at all (a new node, or after `tessera rebuild`): every definition is backfilled
    // over the profiles as they are, which covers the history already processed, so only what
    // the pipeline applies from here on needs the live path. (The cursor and the states are
    // written in one batch, so states without a cursor cannot happen.)
    if (!states_.empty()) return Status::Corruption("audience state without a cursor");
    cursor_ = processor_->processed_seq();
  }
  // Stored timeline seqs go on from the clock's millisecond (x 1024) if that is later, so that
  // a state cleared while the timelines stay cannot reuse one.
  const uint64_t now = static_cast<uint64_t>(std::max<TimeMs>(options_.clock->NowMs(), 0));
  stored_seq_ = std::max(stored_seq_, std::min(now << 10, profile::kStoredSeqSpan / 2));
  // The outbox continues after its last entry; whatever is in it is appended again.
  uint64_t next = 1;
  uint64_t pending = 0;
  for (it->Seek("o"); it->Valid() && state::HasPrefix(it->key(), "o"); it->Next()) {
    if (it->key().size() != 9) return Status::Corruption("malformed outbox key");
    next = DecodeFixed64BE(it->key().data() + 1) + 1;
    TESSERA_ASSIGN_OR_RETURN(uint64_t n, state::OutboxGroupSize(it->value()));
    pending += n;
  }
  TESSERA_RETURN_IF_ERROR(it->status());
  outbox_end_ = next;
  outbox_pending_.store(pending, std::memory_order_relaxed);
  {
    MutexLock lock(&mu_);
    outbox_inflight_ = 0;
  }
  synced_generation_ = 0;
  applied_.store(cursor_, std::memory_order_release);
  return Status::Ok();
}

Status Engine::Start() {
  TESSERA_RETURN_IF_ERROR(LoadState());
  stop_.store(false);
  worker_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "tsr-audience");
    Run();
  });
  return Status::Ok();
}

void Engine::Stop() {
  stop_.store(true);
  if (worker_.joinable()) worker_.join();
  WaitForAppends();
}

void Engine::WaitForAppends() {
  MutexLock lock(&mu_);
  while (appends_inflight_ > 0) appends_cv_.Wait(&mu_);
}

Status Engine::RunUntilIdle() {
  if (!worker_.joinable()) TESSERA_RETURN_IF_ERROR(LoadState());
  bool did_work = true;
  while (did_work) {
    Status s = Step(&did_work);
    if (!s.ok()) {
      TESSERA_RETURN_IF_ERROR(LoadState());
      return s;
    }
  }
  WaitForAppends();
  return Status::Ok();
}

void Engine::Run() {
  // Background work, like the pipeline: requests go first.
  BackgroundCpu cpu;
  auto backoff = std::chrono::milliseconds(10);
  while (!stop_.load()) {
    cpu_priority_.store(cpu.current(), std::memory_order_relaxed);
    bool did_work = false;
    Status s = Step(&did_work);
    cpu.Update(s.ok() && !did_work);
    if (!s.ok()) {
      // Never skip: the step is retried from the stored state, visibly.
      spdlog::error("audiences: step after seq {} failed: {}", cursor_, s.ToString());
      {
        MutexLock lock(&mu_);
        last_error_ = s.ToString();
      }
      Status reload = LoadState();
      if (!reload.ok()) spdlog::error("audiences: reloading state: {}", reload.ToString());
      std::this_thread::sleep_for(backoff);
      backoff = std::min(backoff * 2, std::chrono::milliseconds(5000));
      continue;
    }
    backoff = std::chrono::milliseconds(10);
    if (!did_work) processor_->WaitProcessed(cursor_ + 1, std::chrono::milliseconds(50));
  }
  if (Status s = FinishCommit(); !s.ok()) spdlog::error("audiences: commit: {}", s.ToString());
}

Status Engine::Step(bool* did_work) {
  *did_work = false;
  std::shared_ptr<const Snapshot> snap = catalog_->snapshot();
  const TimeMs now = options_.clock->NowMs();
  // Over the previous step's writes while they are being committed.
  auto staged_owner = inflight_ ? std::make_unique<storage::StagedWrites>(inflight_->staged.get())
                                : std::make_unique<storage::StagedWrites>(store_);
  storage::StagedWrites& staged = *staged_owner;
  std::vector<Transition> transitions;
  ProfileLoader::Step loader_step(&loader_);
  ProfileEvaluator eval(snap.get(), &staged, &loader_, &states_, &transitions);
  if (snap->generation != projected_generation_) {
    // Cached events keep only the properties some definition reads.
    std::vector<const Condition*> conditions;
    std::vector<const Aggregate*> aggregates;
    for (const auto& c : snap->audiences) conditions.push_back(&*c.def.condition);
    for (const auto& c : snap->computed) aggregates.push_back(&*c.def.aggregate);
    all_needs_ = EventNeeds();
    for (const auto& c : snap->audiences) all_needs_.Add(c.deps);
    for (const auto& c : snap->computed) all_needs_.Add(c.deps);
    loader_.Configure(ProjectionFor(conditions, aggregates).properties, all_needs_);
    projected_generation_ = snap->generation;
  }
  const uint64_t cursor_before = cursor_;
  const auto states_before = states_;

  TESSERA_RETURN_IF_ERROR(SyncDefinitions(*snap, &eval, did_work));
  TESSERA_RETURN_IF_ERROR(ApplyLog(*snap, &eval, did_work));
  TESSERA_RETURN_IF_ERROR(FireTimers(*snap, &eval, now, did_work));
  TESSERA_RETURN_IF_ERROR(Backfill(*snap, &eval, now, did_work));

  // Each entry and exit onto the profile's timeline, the event stored with it (no log append:
  // it is exactly once with the state that made it).
  for (const Transition& t : transitions) {
    Event e = TransitionEvent(t);
    e.seq = profile::kStoredSeqBase + ++stored_seq_;
    staged.Put(Space::kTimeline, profile::TimelineKey(t.tessera_id, t.at, e.seq),
               profile::EncodeStoredTimelineValue(e));
    staged.Put(profile::kStoredEventSpace, profile::StoredEventKey(e.seq), EncodeEvent(e));
  }
  // The previous step's commit first (its post-commit work too): commits stay in order.
  TESSERA_RETURN_IF_ERROR(FinishCommit());
  staged.Detach();
  if (cursor_ != cursor_before || staged.size() > 0 || states_ != states_before) {
    for (const auto& [id, st] : states_) {
      auto before = states_before.find(id);
      if (before == states_before.end() || !(before->second == st)) {
        staged.Put(Space::kAudiences, state::StateKey(id), state::EncodeDefinitionState(st));
      }
    }
    for (const auto& [id, st] : states_before) {
      if (!states_.count(id)) staged.Delete(Space::kAudiences, state::StateKey(id));
    }
    std::string cursor;
    PutFixed64BE(&cursor, cursor_);
    PutFixed64BE(&cursor, stored_seq_);
    staged.Put(Space::kAudiences, state::kCursorKey, cursor);
    // Committed by another thread while the next step evaluates (reading through these
    // writes); what follows a commit happens once it is done (FinishCommit). Synced when it
    // holds entries or exits, which subscribers hear of next: they must not act on one that
    // a crash could take back. (Otherwise a later synced write carries it.)
    Inflight next{std::move(staged_owner), {}, cursor_, std::move(transitions), states_, now};
    const storage::WriteOptions options{.sync = !next.transitions.empty()};
    const storage::StagedWrites* writes = next.staged.get();
    next.done = std::async(std::launch::async, [this, writes, options] {
      SetThreadCpuPriority(cpu_priority_.load(std::memory_order_relaxed));
      return writes->Write(options);
    });
    // Unless some definition reads Tessera's own events: then the next step's timeline reads
    // and timers must see these entries and exits, and a load earlier in this step (of a
    // profile evaluated twice) missed them.
    std::vector<std::string> reread;
    if (all_needs_.own_events) {
      for (const Transition& t : next.transitions) reread.push_back(t.tessera_id);
    }
    inflight_ = std::move(next);
    if (!reread.empty()) {
      TESSERA_RETURN_IF_ERROR(FinishCommit());
      for (const auto& pid : reread) loader_.Forget(pid);
    }
    return Status::Ok();
  }
  return AfterCommit(cursor_, {}, states_, now);
}

Status Engine::FinishCommit() {
  if (!inflight_) return Status::Ok();
  Inflight done = std::move(*inflight_);
  inflight_.reset();
  TESSERA_RETURN_IF_ERROR(done.done.get());
  return AfterCommit(done.cursor, std::move(done.transitions), done.states, done.now);
}

Status Engine::AfterCommit(uint64_t cursor, std::vector<Transition> transitions,
                           const std::map<std::string, state::DefinitionState>& states,
                           TimeMs now) {
  applied_.store(cursor, std::memory_order_release);
  if (!transitions.empty()) {
    transitions_.fetch_add(transitions.size(), std::memory_order_relaxed);
    std::vector<std::function<void(const std::vector<Transition>&)>> subscribers;
    {
      MutexLock lock(&mu_);
      subscribers = subscribers_;
    }
    for (const auto& s : subscribers) s(transitions);
  }
  {
    MutexLock lock(&mu_);
    last_error_.clear();
  }
  if (options_.append_outbox) TESSERA_RETURN_IF_ERROR(AppendOutbox());
  NotifyWaiters(now, states);
  return Status::Ok();
}

Status Engine::SyncDefinitions(const Snapshot& snap, ProfileEvaluator* eval, bool* did_work) {
  if (snap.generation == synced_generation_) return Status::Ok();
  const TimeMs now = options_.clock->NowMs();
  auto start = [&](const Compiled& c) {
    state::DefinitionState& st = states_[c.def.id];
    st.name = c.def.name;
    if (st.version >= c.def.version) return;
    st.version = c.def.version;
    st.backfilling = true;
    st.backfill_after.clear();
    st.backfilled = 0;
    st.backfill_started = now;
    st.backfill_finished = 0;
    *did_work = true;
  };
  for (const auto& c : snap.computed) start(c);
  for (const auto& c : snap.audiences) start(c);
  // Deleted definitions: their members leave, a budget at a time.
  bool pending = false;
  for (auto it = states_.begin(); it != states_.end();) {
    if (snap.Find(it->first)) {
      ++it;
      continue;
    }
    TESSERA_ASSIGN_OR_RETURN(bool done, eval->TearDown(it->first, it->second.name, now, 1000));
    *did_work = true;
    if (!done) {
      pending = true;
      break;
    }
    it = states_.erase(it);
  }
  if (!pending) synced_generation_ = snap.generation;
  return Status::Ok();
}

Result<std::string> Engine::ProfileOf(const Event& e) const {
  const Identifier* best = nullptr;
  for (const auto& id : e.identifiers) {
    if (!best || identity_.Rank(id.kind) < identity_.Rank(best->kind)) best = &id;
  }
  if (!best) return Status::NotFound("event without identifiers");
  return identity::IdentityGraph::Lookup(store_, *best);
}

Touched Engine::TouchedBy(const Snapshot& snap, const Event& e) const {
  Touched t(snap);
  std::vector<std::string> traits, purposes;
  if (!e.traits_json.empty()) traits = Keys(e.traits_json);
  if (!e.consent_json.empty()) purposes = Keys(e.consent_json);
  auto touches = [&](const ConditionDeps& d) {
    if (e.type == MessageType::kTrack) {
      if (d.events.count(e.event)) return true;
      if (d.any_event && (e.source_id != kSystemSource || d.system_events)) return true;
    }
    for (const auto& k : traits) {
      if (d.traits.count(k)) return true;
    }
    for (const auto& p : purposes) {
      if (d.consent_purposes.count(p)) return true;
    }
    for (const auto& id : e.identifiers) {
      if (d.identifier_kinds.count(id.kind)) return true;
    }
    return false;
  };
  for (size_t i = 0; i < snap.computed.size(); ++i) t.computed[i] = touches(snap.computed[i].deps);
  for (size_t i = 0; i < snap.audiences.size(); ++i) {
    t.audiences[i] = touches(snap.audiences[i].deps);
  }
  return t;
}

Status Engine::ApplyLog(const Snapshot& snap, ProfileEvaluator* eval, bool* did_work) {
  const uint64_t limit = processor_->processed_seq();
  if (cursor_ >= limit) return Status::Ok();
  TESSERA_ASSIGN_OR_RETURN(
      std::vector<Event> events,
      log_->Read(cursor_ + 1, std::min<uint64_t>(options_.max_batch_events, limit - cursor_)));
  if (events.empty()) return Status::Ok();
  *did_work = true;
  const TimeMs now = options_.clock->NowMs();
  std::map<std::string, Touched> touched;  // by profile
  std::unordered_map<std::string, identity::Node> nodes;  // live profiles read in this step
  std::vector<std::string> folded;
  const bool none = snap.computed.empty() && snap.audiences.empty();
  for (const Event& e : events) {
    cursor_ = e.seq;
    if (none) continue;
    // Tessera's own events (entries and exits) touch only definitions that read them by name.
    if (e.source_id == kSystemSource && !all_needs_.Wants(e.event, e.source_id)) continue;
    auto pid = ProfileOf(e);
    if (pid.status().code() == StatusCode::kNotFound) continue;
    TESSERA_RETURN_IF_ERROR(pid.status());
    Touched t = TouchedBy(snap, e);
    // A profile's first event: every definition gets its first answer, including those true of
    // an empty history (`not performed X`, a count of 0) that no event of theirs will touch.
    const bool created = *pid == identity::IdentityGraph::NewTesseraId(e.seq);
    if (created) t.all = true;
    auto known = nodes.find(*pid);
    if (known == nodes.end()) {
      TESSERA_ASSIGN_OR_RETURN(identity::Node node,
                               identity::IdentityGraph::LoadLive(store_, *pid));
      known = nodes.emplace(*pid, std::move(node)).first;
    }
    const identity::Node& node = known->second;
    // (A profile created below read_ahead_ may have entries and exits on its timeline.)
    TESSERA_RETURN_IF_ERROR(loader_.Apply(node, e, created && e.seq > read_ahead_));
    for (const auto& m : node.merges) {
      if (m.seq != e.seq) continue;
      if (m.action == "merge") {
        folded.push_back(m.from);
        t.all = true;
      } else if (m.action == "move" && !m.from.empty() && m.from != *pid) {
        // The other profile lost an identifier: its identity facts changed.
        auto [it, fresh] = touched.try_emplace(m.from, snap);
        it->second.all = true;
      }
    }
    auto [it, fresh] = touched.try_emplace(*pid, snap);
    it->second.Merge(t);
  }
  for (const auto& f : folded) {
    TESSERA_ASSIGN_OR_RETURN(identity::Node live, identity::IdentityGraph::LoadLive(store_, f));
    TESSERA_RETURN_IF_ERROR(eval->Forget(f, live.tessera_id, now));
    touched.erase(f);
  }
  std::vector<Work> work;
  work.reserve(touched.size());
  for (auto& [pid, t] : touched) {
    if (!t.any()) continue;
    // The profile as this step read it above (a later read could only see the pipeline's
    // work past the step's events, which their own step handles), or else from the store.
    auto known = nodes.find(pid);
    Result<identity::Node> node = known != nodes.end()
                                      ? Result<identity::Node>(std::move(known->second))
                                      : identity::IdentityGraph::LoadLive(store_, pid);
    if (node.status().code() == StatusCode::kNotFound) continue;
    TESSERA_RETURN_IF_ERROR(node.status());
    work.push_back({std::move(*node), std::move(t)});
  }
  return EvaluateAll(snap, eval, &work, "event", now);
}

Status Engine::EvaluateAll(const Snapshot& snap, ProfileEvaluator* eval, std::vector<Work>* work,
                           const std::string& reason, TimeMs now) {
  const size_t parts = loader_.partitions();
  if (parts == 1 || work->size() < options_.parallel_min) {
    for (const Work& w : *work) {
      TESSERA_RETURN_IF_ERROR(eval->Evaluate(w.node, w.touched, reason, now));
      evaluations_.fetch_add(1, std::memory_order_relaxed);
    }
    return Status::Ok();
  }
  // One evaluator per partition, each with its own stage over the step's (which nobody
  // writes meanwhile); the partitions' profiles and writes are disjoint.
  struct Part {
    explicit Part(const storage::StagedWrites* parent) : staged(parent) {}
    storage::StagedWrites staged;
    std::vector<Transition> transitions;
    std::vector<size_t> items;  // indexes into work, in order
    std::vector<size_t> ends;   // transitions.size() after each item
    std::map<std::string, int64_t> size_deltas;
    Status status;
  };
  std::vector<std::unique_ptr<Part>> ps;
  for (size_t k = 0; k < parts; ++k) ps.push_back(std::make_unique<Part>(eval->staged()));
  std::vector<size_t> part_of(work->size());
  for (size_t i = 0; i < work->size(); ++i) {
    part_of[i] = loader_.PartitionOf((*work)[i].node.tessera_id);
    ps[part_of[i]]->items.push_back(i);
  }
  auto run = [&](Part* p) {
    ProfileEvaluator part_eval(&snap, &p->staged, &loader_, nullptr, &p->transitions, eval);
    for (size_t i : p->items) {
      const Work& w = (*work)[i];
      p->status = part_eval.Evaluate(w.node, w.touched, reason, now);
      if (!p->status.ok()) return;
      p->ends.push_back(p->transitions.size());
    }
    p->size_deltas = part_eval.size_deltas();
  };
  std::vector<std::thread> helpers;
  for (size_t k = 1; k < parts; ++k) {
    helpers.emplace_back([&, k] {
      pthread_setname_np(pthread_self(), "tsr-audience");
      SetThreadCpuPriority(cpu_priority_.load(std::memory_order_relaxed));
      run(ps[k].get());
    });
  }
  run(ps[0].get());
  for (auto& h : helpers) h.join();
  for (const auto& p : ps) TESSERA_RETURN_IF_ERROR(p->status);
  // Merged as if evaluated in order: each item's transitions, then the next item's.
  std::vector<size_t> next(parts, 0), taken(parts, 0);
  for (size_t i = 0; i < work->size(); ++i) {
    Part& p = *ps[part_of[i]];
    const size_t end = p.ends[next[part_of[i]]++];
    for (size_t& t = taken[part_of[i]]; t < end; ++t) eval->Record(std::move(p.transitions[t]));
  }
  for (auto& p : ps) {
    eval->staged()->Absorb(std::move(p->staged));
    eval->AddSizes(p->size_deltas);
  }
  evaluations_.fetch_add(work->size(), std::memory_order_relaxed);
  return Status::Ok();
}

Status Engine::FireTimers(const Snapshot& snap, ProfileEvaluator* eval, TimeMs now,
                          bool* did_work) {
  // Profiles whose earliest timer is due, in firing order; the record says which of their
  // definitions are.
  std::vector<std::string> pids;
  auto it = store_->NewIterator(Space::kAudiences);
  for (it->Seek("w"); it->Valid() && state::HasPrefix(it->key(), "w") &&
                      pids.size() < options_.max_timers;
       it->Next()) {
    std::string_view key = it->key();
    if (key.size() < 10) return Status::Corruption("malformed wake-up key");
    if (state::DecodeTime(key.data() + 1) > now) break;
    pids.emplace_back(key.substr(9));
  }
  TESSERA_RETURN_IF_ERROR(it->status());
  if (pids.empty()) return Status::Ok();
  *did_work = true;
  size_t fired = 0;
  std::vector<Work> work;
  for (const auto& pid : pids) {
    Touched due(snap);
    TESSERA_ASSIGN_OR_RETURN(size_t n, eval->DueTimers(pid, now, &due));
    fired += n;
    if (!due.any()) continue;  // only deleted definitions' timers: dropped
    auto node = identity::IdentityGraph::LoadLive(store_, pid);
    if (node.status().code() == StatusCode::kNotFound) continue;
    TESSERA_RETURN_IF_ERROR(node.status());
    work.push_back({std::move(*node), std::move(due)});
  }
  timers_fired_.fetch_add(fired, std::memory_order_relaxed);
  // Evaluating resets each evaluated definition's timer to its next change (or none).
  return EvaluateAll(snap, eval, &work, "time", now);
}

Status Engine::Backfill(const Snapshot& snap, ProfileEvaluator* eval, TimeMs now,
                        bool* did_work) {
  for (auto& [id, st] : states_) {
    if (!st.backfilling) continue;
    Touched t(snap);
    if (!t.Add(snap, id)) continue;  // deleted; SyncDefinitions tears it down
    *did_work = true;
    auto it = store_->NewIterator(Space::kProfiles);
    // (The log's end, read after the iterator's view is fixed, bounds what created them.)
    read_ahead_ = std::max(read_ahead_, log_->last_seq());
    std::string start = "p" + st.backfill_after;
    it->Seek(start);
    if (!st.backfill_after.empty() && it->Valid() && it->key() == start) it->Next();
    size_t n = 0;
    std::vector<Work> work;
    for (; it->Valid() && n < options_.backfill_slice; it->Next(), ++n) {
      std::string pid(it->key().substr(1));
      auto node = identity::IdentityGraph::LoadLive(store_, pid);
      if (node.ok() && node->tessera_id == pid) {
        work.push_back({std::move(*node), t});
      } else if (!node.ok() && node.status().code() != StatusCode::kNotFound) {
        return node.status();
      }
      st.backfill_after = pid;
      ++st.backfilled;
    }
    TESSERA_RETURN_IF_ERROR(it->status());
    TESSERA_RETURN_IF_ERROR(EvaluateAll(snap, eval, &work, "backfill", now));
    if (!it->Valid()) {
      st.backfilling = false;
      st.backfill_finished = now;
    }
    return Status::Ok();  // one slice per step, so live events wait at most one slice
  }
  return Status::Ok();
}

Status Engine::AppendOutbox() {
  // Everything staged so far, a group at a time: a step can stage far more than one group
  // (a backfill slice, a burst of first events), and a backlog would only grow.
  for (;;) {
    bool full = false;
    TESSERA_RETURN_IF_ERROR(AppendOutboxGroup(&full));
    if (!full) return Status::Ok();
  }
}

Status Engine::AppendOutboxGroup(bool* full) {
  uint64_t from;
  {
    MutexLock lock(&mu_);
    from = std::max<uint64_t>(outbox_inflight_, 1);
  }
  // The stored groups below outbox_end_; those from `from` on are not yet appended.
  if (from >= outbox_end_) return Status::Ok();
  std::vector<Event> events;
  std::vector<uint64_t> keys;
  size_t bytes = 0;
  auto it = store_->NewIterator(Space::kAudiences);
  for (it->Seek(state::OutboxKey(from)); it->Valid() && state::HasPrefix(it->key(), "o");
       it->Next()) {
    TESSERA_ASSIGN_OR_RETURN(std::vector<Event> group, state::DecodeOutboxGroup(it->value()));
    for (Event& e : group) {
      bytes += e.json.size();
      events.push_back(std::move(e));
    }
    keys.push_back(DecodeFixed64BE(it->key().data() + 1));
    if (events.size() >= state::kOutboxGroupEvents || bytes >= state::kOutboxGroupBytes) break;
  }
  TESSERA_RETURN_IF_ERROR(it->status());
  if (events.empty()) return Status::Ok();
  const uint64_t first = keys.front();
  const uint64_t last = keys.back();
  {
    MutexLock lock(&mu_);
    outbox_inflight_ = last + 1;
    ++appends_inflight_;
  }
  const size_t count = events.size();
  const bool was_full = count >= state::kOutboxGroupEvents || bytes >= state::kOutboxGroupBytes;
  Status s = log_->Append(std::move(events), [this, keys = std::move(keys), first,
                                              count](Result<eventlog::AppendResult> r) {
    if (r.ok()) {
      storage::WriteBatch done;
      for (uint64_t k : keys) done.Delete(Space::kAudiences, state::OutboxKey(k));
      Status w = store_->Write(done, {});
      if (!w.ok()) spdlog::warn("audiences: clearing the outbox: {}", w.ToString());
      outbox_pending_.fetch_sub(std::min<uint64_t>(count, outbox_pending_.load()),
                                std::memory_order_relaxed);
    }
    MutexLock lock(&mu_);
    if (!r.ok()) outbox_inflight_ = std::min(outbox_inflight_, first);  // retried next step
    --appends_inflight_;
    appends_cv_.SignalAll();
  });
  if (!s.ok()) {
    MutexLock lock(&mu_);
    outbox_inflight_ = std::min(outbox_inflight_, first);
    --appends_inflight_;
    appends_cv_.SignalAll();
    // A full log queue is back-pressure, not a failure: the events wait in the outbox.
    if (s.code() != StatusCode::kUnavailable) return s;
    return Status::Ok();
  }
  *full = was_full;
  return Status::Ok();
}

void Engine::NotifyWhenReady(std::string def_id, uint64_t version, TimeMs deadline,
                             std::function<void(bool)> callback) {
  MutexLock lock(&mu_);
  waiters_.push_back({std::move(def_id), version, deadline, std::move(callback)});
}

void Engine::NotifyWaiters(TimeMs now,
                           const std::map<std::string, state::DefinitionState>& states) {
  // Gone from the catalog as it is now: a step's own snapshot (of a commit finishing late) may
  // be older than the definition a waiter waits for.
  std::shared_ptr<const Snapshot> snap = catalog_->snapshot();
  std::vector<std::pair<std::function<void(bool)>, bool>> calls;
  {
    MutexLock lock(&mu_);
    for (auto it = waiters_.begin(); it != waiters_.end();) {
      auto st = states.find(it->def_id);
      bool gone = snap->Find(it->def_id) == nullptr;
      bool ready = !gone && st != states.end() && st->second.version >= it->version &&
                   !st->second.backfilling;
      if (ready || gone || now >= it->deadline) {
        calls.emplace_back(std::move(it->callback), ready);
        it = waiters_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& [callback, ready] : calls) callback(ready);
}

void Engine::Subscribe(std::function<void(const std::vector<Transition>&)> subscriber) {
  MutexLock lock(&mu_);
  subscribers_.push_back(std::move(subscriber));
}

std::string Engine::last_error() const {
  MutexLock lock(&mu_);
  return last_error_;
}

}  // namespace tessera::audience
