// The CPU priority of Tessera's own threads. Requests (ingest acknowledgements, profile lookups)
// run at the normal priority; the workers that derive state from the event log (pipeline,
// audience engine, linkage) run below them, so that on busy CPUs clients are answered first and
// the derived state catches up on the time left over.
#pragma once

#include <chrono>

namespace tessera {

enum class CpuPriority {
  // SCHED_IDLE: runs only on CPU time that no normal thread wants, and yields at once when one
  // wakes (a lookup does not wait for a background thread's time slice to end).
  kBackground,
  // SCHED_OTHER at nice 10: a small but steady share of a fully busy CPU.
  kLow,
};

// Sets the calling thread's priority. Best effort: a refusal is logged once and ignored.
void SetThreadCpuPriority(CpuPriority priority);

// The priority background workers run at while they keep up; process-wide. kLow unless set:
// `tessera serve` sets kBackground (its --background-cpu flag). Tests keep kLow: they share
// the CPUs with other tests, which a SCHED_IDLE worker would wait for.
void SetBackgroundCpuPolicy(CpuPriority priority);
CpuPriority BackgroundCpuPolicy();

// A background worker's priority: the policy above while it keeps up; kLow once it has gone
// `patience` without catching up, so that requests keeping every CPU busy cannot starve it
// for good; the policy again when it has caught up. Lives on the worker's thread.
class BackgroundCpu {
 public:
  explicit BackgroundCpu(std::chrono::steady_clock::duration patience = std::chrono::seconds(30));
  // After each unit of work: whether the worker has caught up (nothing left to do).
  void Update(bool caught_up);
  CpuPriority current() const { return current_; }

 private:
  const std::chrono::steady_clock::duration patience_;
  std::chrono::steady_clock::time_point caught_up_at_;
  const CpuPriority keeping_up_;
  CpuPriority current_;
};

}  // namespace tessera
