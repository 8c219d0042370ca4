// The event log: the durable, ordered record of every accepted event, and the source of truth
// from which identity and profiles are derived (and can be rebuilt).
//
// Events are records in append-only segment files (segment_format.h; README.md has the design):
// no memtable, flush or compaction of event bodies. Append() hands events to one committer
// thread, which groups all waiting appends (group commit), drops events whose messageId is
// already in the log (SDK retries), assigns consecutive sequence numbers, writes the group with
// one write and one fdatasync, then records the new messageIds in the store's dedupe space with
// one synced store write (which also makes every earlier store write durable), and only then
// runs the callbacks. So a callback reporting success means the events are on disk, and so is
// everything written to the store before the Append.
//
// Where the segments live: LogOptions::dir; if empty, "<store directory>/eventlog"; for a store
// without a directory (the in-memory store), as chunks in the store's log space.
//
// Thread-safety: every public method may be called from any thread. Readers never see a seq
// above last_seq() (acquire), which the committer publishes (release) after the fsync.
#pragma once

#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/event.h"
#include "core/mutex.h"
#include "eventlog/log_files.h"
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
  // Directory of the segment files; empty: "<store directory>/eventlog" (see above).
  std::string dir;
  // A segment is sealed and a new one started once a group would take it past this size
  // (a group is never split, so one larger than this makes a larger segment). 4 KiB .. 1 GiB.
  size_t segment_bytes = 128 << 20;
  // Reserve each new segment's space up front, so appends and their fdatasyncs allocate nothing.
  bool preallocate = true;
};

using AppendCallback = std::function<void(Result<AppendResult>)>;

class EventLog {
 public:
  EventLog(storage::Store* store, LogOptions options);
  ~EventLog();
  EventLog(const EventLog&) = delete;
  EventLog& operator=(const EventLog&) = delete;

  // Recovers the log and starts the committer. Call once. Recovery truncates a torn final
  // record (one never acknowledged), fails with Corruption if an acknowledged record is damaged
  // or missing, moves events of a pre-segment data dir (store log space) into segments, and
  // indexes the messageIds of events past the store's index mark.
  Status Open();
  // Finishes queued appends and stops the committer. Idempotent.
  void Close();

  // Queues the events for a durable append. `done` runs exactly once, on the committer thread,
  // after the fsync (or with the write error). Returns Unavailable without queueing (and without
  // calling `done`) when the queue is over its byte limit or the log is closed, and IOError
  // once a failed sync has stopped the log (see README.md: restart to recover).
  Status Append(std::vector<Event> events, AppendCallback done);

  // Up to `max_events` events with seq >= from_seq, in order. Corruption if a record fails its
  // checksum: a damaged record is never skipped.
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
  size_t segment_count() const;
  // Where the segments are ("store:log" for an in-memory store). Set by Open.
  const std::string& directory() const;

  static std::string SeqKey(uint64_t seq);
  // Key in the store's log space (the log's own): the mark, a seq (u64 BE) such that every
  // messageId of seqs <= mark is in the dedupe space. Never 8 bytes long, so never a seq key
  // of a pre-segment log; never a StoreLogDir key ("F"/"C" prefixes).
  static constexpr std::string_view kIndexedSeqKey = "indexed-seq";

 private:
  // An append's events, encoded by the appending thread (AppendEventBody), so that the one
  // committer thread only adds seqs, frames and writes.
  struct Encoded {
    std::string message_id;
    std::string body;
  };
  struct Pending {
    std::vector<Encoded> events;
    AppendCallback done;
    size_t bytes;
  };
  // One segment file. first_seq and file are constant once in segments_; the rest is guarded by
  // segments_mu_ (the committer changes only the active segment's, and a rollover).
  struct Segment {
    uint64_t first_seq = 0;
    std::shared_ptr<LogFile> file;   // shared: readers keep it across unlocked reads
    std::shared_ptr<LogFile> index;  // sealed with an index file: offsets are read from it
    std::vector<uint32_t> offsets;   // otherwise: where each record starts
    uint64_t count = 0;              // records
    uint64_t end = 0;                // bytes up to the end of the last durable record
  };
  // Where a reader finds seq (Locate).
  struct Location {
    std::shared_ptr<LogFile> file;
    uint64_t offset = 0;    // of the record for seq
    uint64_t end = 0;       // readable bytes of the segment
    uint64_t last_seq = 0;  // last seq in the segment
  };
  // The active segment as the committer sees it (committer only; Open before it starts).
  struct Writer {
    std::shared_ptr<LogFile> file;
    uint64_t first_seq = 0;
    uint64_t count = 0;
    uint64_t end = 0;
  };

  // event_log.cc: appends and reads.
  void CommitLoop();
  void CommitGroup(std::vector<Pending>& group);
  // Writes framed records (first at `first_seq`, starting at buf offsets `rel`) to the active
  // segment, rolling over first if they would overflow it, syncs, and publishes their offsets.
  // *fatal: a failure after which the file's state is unknown (the log must stop).
  Status WriteRecords(const std::string& buf, const std::vector<uint32_t>& rel, uint64_t first_seq,
                      bool* fatal);
  Result<Location> Locate(uint64_t seq);
  Result<bool> LoggedAt(uint64_t seq, std::string_view message_id);
  void Fail(const Status& s);

  // event_log_open.cc: recovery, rollover, migration.
  Status Recover();
  Status LoadSealed(uint64_t first_seq, Segment* seg);
  Status RecoverActive(uint64_t first_seq, uint64_t mark, Segment* seg);
  Status StartSegment(uint64_t first_seq);
  void SealActive();
  // Writes the index of a sealed segment (tmp, sync, rename, directory sync) and opens it.
  Result<std::shared_ptr<LogFile>> WriteIndexFile(uint64_t first_seq, uint64_t end,
                                                  const std::vector<uint32_t>& offsets);
  Status MigrateFromStore();
  Status IndexTail(uint64_t mark);
  Result<uint64_t> ReadMark();

  storage::Store* const store_;
  const LogOptions options_;
  std::unique_ptr<LogDir> dir_;  // set by Open, before the committer starts
  bool files_in_store_ = false;  // set by Open: dir_ is a StoreLogDir
  Writer writer_;                // committer only
  std::string commit_buf_;       // committer only: the group's framed records

  Mutex mu_;
  CondVar work_cv_;   // committer waits for work
  CondVar newer_cv_;  // readers wait for new seqs
  std::deque<Pending> queue_ TESSERA_GUARDED_BY(mu_);
  bool closing_ TESSERA_GUARDED_BY(mu_) = false;
  bool open_ TESSERA_GUARDED_BY(mu_) = false;
  Status failed_ TESSERA_GUARDED_BY(mu_);  // not ok once the log has stopped accepting appends
  std::thread committer_;

  mutable Mutex segments_mu_;
  std::vector<Segment> segments_ TESSERA_GUARDED_BY(segments_mu_);  // by first_seq

  // Written by the committer only; read by anyone (acquire/release pairs with the data).
  std::atomic<uint64_t> last_seq_{0};
  std::atomic<size_t> pending_bytes_{0};
  std::atomic<uint64_t> group_commits_{0};
};

}  // namespace tessera::eventlog
