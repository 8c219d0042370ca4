// The processor: tails the event log and derives identity and profiles from it, in log order.
//
// One worker thread (one shard for now). It reads a run of events after its cursor, resolves
// each through the identity graph, applies it to the profile, and commits all of that together
// with the new cursor in one atomic batch. A crash loses at most uncommitted derived state,
// never the cursor without it, so a restart resumes exactly where it stopped; processing is
// deterministic, so a rebuild from the log (Rebuild()) gives the same graph and profiles.
//
// Thread-safety: Start/Stop from one owner thread; the accessors from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <thread>

#include "core/mutex.h"
#include "eventlog/event_log.h"
#include "identity/identity_graph.h"

namespace tessera::pipeline {

struct ProcessorOptions {
  size_t max_batch_events = 2000;
};

// Called on the worker after each committed batch with the events and their profiles.
using ProcessedHook = std::function<void(const std::vector<Event>&, const std::vector<std::string>&)>;

class Processor {
 public:
  Processor(storage::Store* store, eventlog::EventLog* log, identity::IdentityConfig config,
            ProcessorOptions options = {});
  ~Processor();
  Processor(const Processor&) = delete;
  Processor& operator=(const Processor&) = delete;

  Status Start();
  void Stop();

  // Processes everything logged so far on the calling thread (for tools and tests; not while
  // the worker runs).
  Status CatchUp();

  // Forgets everything derived from the log (identity graph, profiles, timelines, the audience
  // engine's state, cursor), so
  // that CatchUp() or Start() rebuilds it from the log. Offline only: nothing may be running.
  // Crash-safe: if cut short, the next Start() or CatchUp() completes it first.
  static Status ResetDerivedState(storage::Store* store);

  // Highest seq whose effects are committed. memory_order_acquire.
  uint64_t processed_seq() const { return processed_.load(std::memory_order_acquire); }
  // Waits until processed_seq() >= seq or the timeout passes.
  bool WaitProcessed(uint64_t seq, std::chrono::milliseconds timeout);
  uint64_t events_processed() const { return events_.load(std::memory_order_relaxed); }
  uint64_t merges() const { return merges_.load(std::memory_order_relaxed); }
  // The last processing error (empty when healthy).
  std::string last_error() const;

  void SetHook(ProcessedHook hook) { hook_ = std::move(hook); }

  const identity::IdentityGraph& graph() const { return graph_; }

 private:
  void Run();
  Status FinishInterruptedReset();
  // Processes one run of events after the cursor; sets *did_work.
  Status Step(bool* did_work);

  storage::Store* const store_;
  eventlog::EventLog* const log_;
  const identity::IdentityGraph graph_;
  const ProcessorOptions options_;
  ProcessedHook hook_;

  std::thread worker_;
  std::atomic<bool> stop_{false};

  mutable Mutex mu_;
  CondVar processed_cv_;
  std::string last_error_ TESSERA_GUARDED_BY(mu_);

  std::atomic<uint64_t> processed_{0};  // release on commit
  std::atomic<uint64_t> events_{0};
  std::atomic<uint64_t> merges_{0};
};

}  // namespace tessera::pipeline
