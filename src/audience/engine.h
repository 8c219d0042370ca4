// The audience engine: keeps every audience's membership and every computed trait's values
// current, live and in batch.
//
// One worker thread follows the event log behind the pipeline (never past processed_seq(), so
// identity and profiles already reflect what it reads) and, for each event, re-evaluates only
// the definitions the event can affect: those reading its event name, the trait keys it sets,
// its identifier kinds or consent purposes (Dependencies()), and everything on both profiles of
// a merge. Time-dependent definitions keep one durable timer per profile, at NextChange() (or
// NextAggregateChange() for a computed trait); due timers re-evaluate. Evaluating a computed
// trait re-evaluates the audiences that read a trait of its name. A new or changed definition is
// backfilled over every profile, a slice at a time between live work, with its progress stored.
// A deleted one exits all its members (the catalog refuses to delete what an audience reads).
//
// Exactly once: the effects of a step (memberships, history, values, timers, the cursor, and
// the Audience Entered / Exited events on the profiles' timelines, stored beside them)
// are one atomic write, synced when it holds entries or exits; subscribers hear of them after
// it. The write is made by another thread while the next step evaluates over it. (An engine
// of an earlier version appended the events to the log from an outbox: stored outbox groups
// are still appended, and a repeated append is dropped by the log's messageId dedupe.)
//
// Thread-safety: Start/Stop/RunUntilIdle from one owner thread; the rest from any thread.
#pragma once

#include <atomic>
#include <functional>
#include <future>
#include <optional>
#include <thread>

#include "audience/catalog.h"
#include "audience/evaluator.h"
#include "core/cpu_priority.h"
#include "identity/identity_graph.h"
#include "pipeline/processor.h"

namespace tessera::audience {

struct EngineOptions {
  const Clock* clock = &Clock::System();
  size_t max_batch_events = 2000;   // log events per step
  size_t backfill_slice = 500;      // profiles per backfill step
  size_t max_timers = 2000;         // due timers per step
  bool append_outbox = true;        // false: leave an earlier version's outbox (tests)
  size_t event_cache_bytes = 256 << 20;  // profiles' decoded events (ProfileLoader)
  // Threads evaluating a step's profiles (each profile always on the same one, with its share
  // of the event cache); a step with fewer than parallel_min profiles uses one.
  size_t eval_threads = 2;
  size_t parallel_min = 32;
};

class Engine {
 public:
  Engine(storage::Store* store, eventlog::EventLog* log, pipeline::Processor* processor,
         const sources::SourceRegistry* sources, Catalog* catalog,
         identity::IdentityConfig identity, EngineOptions options = {});
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  Status Start();
  void Stop();
  // Works on the calling thread until nothing is left to do now: the log is applied up to the
  // processor, due timers have fired, backfills are done, the outbox is appended. Not while
  // the worker runs (tools and tests).
  Status RunUntilIdle();

  // Called on the worker once `def_id` has no backfill pending at `version` or later (ready),
  // or at `deadline` (not ready), whichever comes first. Also when the definition is deleted.
  void NotifyWhenReady(std::string def_id, uint64_t version, TimeMs deadline,
                       std::function<void(bool ready)> callback);
  // Called on the worker after each committed step, with its transitions.
  void Subscribe(std::function<void(const std::vector<Transition>&)> subscriber);

  uint64_t applied_seq() const { return applied_.load(std::memory_order_acquire); }
  uint64_t transitions() const { return transitions_.load(std::memory_order_relaxed); }
  uint64_t evaluations() const { return evaluations_.load(std::memory_order_relaxed); }
  uint64_t timers_fired() const { return timers_fired_.load(std::memory_order_relaxed); }
  uint64_t outbox_pending() const { return outbox_pending_.load(std::memory_order_relaxed); }
  std::string last_error() const;

 private:
  struct Waiter {
    std::string def_id;
    uint64_t version;
    TimeMs deadline;
    std::function<void(bool)> callback;
  };

  void Run();
  // One round of work; *did_work when anything was done.
  Status Step(bool* did_work);
  Status LoadState();
  Status SyncDefinitions(const Snapshot& snap, ProfileEvaluator* eval, bool* did_work);
  Status ApplyLog(const Snapshot& snap, ProfileEvaluator* eval, bool* did_work);
  Status FireTimers(const Snapshot& snap, ProfileEvaluator* eval, TimeMs now, bool* did_work);
  Status Backfill(const Snapshot& snap, ProfileEvaluator* eval, TimeMs now, bool* did_work);
  struct Work {
    identity::Node node;
    Touched touched;
  };
  // Evaluates each profile of `work` (as eval->Evaluate would, in order), spread over the
  // loader's partitions, a thread each; the results go into eval's stage, transitions and
  // counts as if evaluated one after another.
  Status EvaluateAll(const Snapshot& snap, ProfileEvaluator* eval, std::vector<Work>* work,
                     const std::string& reason, TimeMs now);
  // Waits for the step being committed, then does what follows its commit (AfterCommit).
  Status FinishCommit();
  // Publishes the applied seq, tells subscribers of the transitions, appends an outbox of an
  // earlier version, answers waiters (states: the definitions' states as committed).
  Status AfterCommit(uint64_t cursor, std::vector<Transition> transitions,
                     const std::map<std::string, state::DefinitionState>& states, TimeMs now);
  // Appends an earlier version's stored outbox to the log, a group at a time, until the log
  // pushes back.
  Status AppendOutbox();
  // One group; *full when it took a whole group (more may wait).
  Status AppendOutboxGroup(bool* full);
  void NotifyWaiters(TimeMs now, const std::map<std::string, state::DefinitionState>& states);
  // The profile an event belongs to now (its highest-priority identifier's).
  Result<std::string> ProfileOf(const Event& e) const;
  Touched TouchedBy(const Snapshot& snap, const Event& e) const;
  void WaitForAppends();

  storage::Store* const store_;
  eventlog::EventLog* const log_;
  pipeline::Processor* const processor_;
  Catalog* const catalog_;
  const identity::IdentityConfig identity_;
  const EngineOptions options_;
  ProfileLoader loader_;

  // Worker-only state.
  // A step's writes being committed by another thread while the next step evaluates.
  struct Inflight {
    std::unique_ptr<storage::StagedWrites> staged;
    std::future<Status> done;
    uint64_t cursor;
    std::vector<Transition> transitions;
    std::map<std::string, state::DefinitionState> states;
    TimeMs now;
  };
  std::optional<Inflight> inflight_;
  uint64_t cursor_ = 0;
  uint64_t stored_seq_ = 0;  // the last seq of a stored entry or exit (profile::IsStoredSeq)
  // Profiles created at or below this log position may have been evaluated (by a backfill,
  // which reads the profiles as stored, ahead of the cursor) before their first event is
  // applied: their timelines may hold entries and exits already.
  uint64_t read_ahead_ = 0;
  uint64_t outbox_end_ = 1;  // after the last stored outbox group (of an earlier version)
  std::map<std::string, state::DefinitionState> states_;
  uint64_t synced_generation_ = 0;
  std::optional<uint64_t> projected_generation_;  // of the loader's property projection
  EventNeeds all_needs_;  // the events that some definition of that generation reads

  std::thread worker_;
  std::atomic<bool> stop_{false};
  // The worker's CPU priority, which the threads it starts for a step take on.
  std::atomic<CpuPriority> cpu_priority_{BackgroundCpuPolicy()};
  mutable Mutex mu_;
  CondVar appends_cv_;
  int appends_inflight_ TESSERA_GUARDED_BY(mu_) = 0;
  std::string last_error_ TESSERA_GUARDED_BY(mu_);
  std::vector<Waiter> waiters_ TESSERA_GUARDED_BY(mu_);
  std::vector<std::function<void(const std::vector<Transition>&)>> subscribers_
      TESSERA_GUARDED_BY(mu_);
  // Outbox entries below this number are appended or being appended.
  uint64_t outbox_inflight_ TESSERA_GUARDED_BY(mu_) = 0;

  std::atomic<uint64_t> applied_{0};
  std::atomic<uint64_t> transitions_{0};
  std::atomic<uint64_t> evaluations_{0};
  std::atomic<uint64_t> timers_fired_{0};
  std::atomic<uint64_t> outbox_pending_{0};
};

}  // namespace tessera::audience
