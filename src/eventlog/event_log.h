// The event log: the durable, ordered record of every accepted event, and the source of truth
// from which identity and profiles are derived (and can be rebuilt).
//
// Append() hands events to one committer thread, which groups all waiting appends into a single
// RocksDB write with sync=true (group commit: many concurrent requests share one fsync), drops
// events whose messageId is already in the log (SDK retries), assigns consecutive sequence numbers,
// and only then runs the callbacks. So a callback reporting success means the events are on disk.
//
// Thread-safety: every public method may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "core/event.h"
#include "core/mutex.h"
#include "storage/store.h"

namespace tessera::eventlog {

struct AppendResult {
  size_t stored = 0;      // new events written
  size_t duplicates = 0;  // events skipped because their messageId was already logged
  uint64_t last_seq = 0;  // log position after this append (0 if the log is empty)
};

struct LogOptions {
  // Bytes of events waiting for the committer; beyond it Append answers Unavailable (-> 503).
  size_t max_pending_bytes = 64 << 20;
  // Upper bound on one group write.
  size_t max_group_bytes = 8 << 20;
};

using AppendCallback = std::function<void(Result<AppendResult>)>;

class EventLog {
 public:
  EventLog(storage::Store* store, LogOptions options);
  ~EventLog();
  EventLog(const EventLog&) = delete;
  EventLog& operator=(const EventLog&) = delete;

  // Recovers the last sequence number and starts the committer. Call once.
  Status Open();
  // Finishes queued appends and stops the committer. Idempotent.
  void Close();

  // Queues the events for a durable append. `done` runs exactly once, on the committer thread,
  // after the fsync (or with the write error). Returns Unavailable without queueing (and without
  // calling `done`) when the queue is over its byte limit or the log is closed.
  Status Append(std::vector<Event> events, AppendCallback done);

  // Up to `max_events` events with seq >= from_seq, in order.
  Result<std::vector<Event>> Read(uint64_t from_seq, size_t max_events);
  Result<Event> ReadOne(uint64_t seq);
  // The seq of an already-logged messageId, or NotFound.
  Result<uint64_t> FindMessage(std::string_view message_id);

  // Last durable seq (0 when empty). memory_order_acquire.
  uint64_t last_seq() const { return last_seq_.load(std::memory_order_acquire); }
  // Waits until last_seq() > seq, the timeout passes, or the log closes. True if newer exists.
  bool WaitForNewer(uint64_t seq, std::chrono::milliseconds timeout);
  size_t pending_bytes() const { return pending_bytes_.load(std::memory_order_relaxed); }
  uint64_t group_commits() const { return group_commits_.load(std::memory_order_relaxed); }

  static std::string SeqKey(uint64_t seq);

 private:
  struct Pending {
    std::vector<Event> events;
    AppendCallback done;
    size_t bytes;
  };
  void CommitLoop();
  void CommitGroup(std::vector<Pending>& group);

  storage::Store* const store_;
  const LogOptions options_;

  Mutex mu_;
  CondVar work_cv_;    // committer waits for work
  CondVar newer_cv_;   // readers wait for new seqs
  std::deque<Pending> queue_ TESSERA_GUARDED_BY(mu_);
  bool closing_ TESSERA_GUARDED_BY(mu_) = false;
  bool open_ TESSERA_GUARDED_BY(mu_) = false;
  std::thread committer_;

  // Written by the committer only; read by anyone (acquire/release pairs with the data).
  std::atomic<uint64_t> last_seq_{0};
  std::atomic<size_t> pending_bytes_{0};
  std::atomic<uint64_t> group_commits_{0};
};

}  // namespace tessera::eventlog
