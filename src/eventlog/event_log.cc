#include "eventlog/event_log.h"

#include <absl/container/flat_hash_set.h>
#include <pthread.h>

#include "core/coding.h"

namespace tessera::eventlog {

using storage::Space;

EventLog::EventLog(storage::Store* store, LogOptions options) : store_(store), options_(options) {}

EventLog::~EventLog() { Close(); }

std::string EventLog::SeqKey(uint64_t seq) {
  std::string key;
  PutFixed64BE(&key, seq);
  return key;
}

Status EventLog::Open() {
  auto it = store_->NewIterator(Space::kLog);
  it->SeekToLast();
  TESSERA_RETURN_IF_ERROR(it->status());
  uint64_t last = 0;
  if (it->Valid()) {
    if (it->key().size() != 8) return Status::Corruption("event log key of unexpected size");
    last = DecodeFixed64BE(it->key().data());
  }
  last_seq_.store(last, std::memory_order_release);
  MutexLock lock(&mu_);
  TESSERA_CHECK(!open_, "EventLog::Open called twice");
  open_ = true;
  committer_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "tsr-log-commit");
    CommitLoop();
  });
  return Status::Ok();
}

void EventLog::Close() {
  {
    MutexLock lock(&mu_);
    if (!open_ || closing_) return;
    closing_ = true;
    work_cv_.SignalAll();
    newer_cv_.SignalAll();
  }
  if (committer_.joinable()) committer_.join();
}

Status EventLog::Append(std::vector<Event> events, AppendCallback done) {
  size_t bytes = 0;
  for (const auto& e : events) bytes += e.json.size() + e.traits_json.size() + 64;
  MutexLock lock(&mu_);
  if (!open_ || closing_) return Status::Unavailable("event log is closed");
  size_t pending = pending_bytes_.load(std::memory_order_relaxed);
  // One oversized request is let through on an empty queue so it cannot starve forever.
  if (pending > 0 && pending + bytes > options_.max_pending_bytes) {
    return Status::Unavailable("ingest queue is full; retry later");
  }
  pending_bytes_.fetch_add(bytes, std::memory_order_relaxed);
  queue_.push_back({std::move(events), std::move(done), bytes});
  work_cv_.Signal();
  return Status::Ok();
}

void EventLog::CommitLoop() {
  std::vector<Pending> group;
  while (true) {
    {
      MutexLock lock(&mu_);
      while (queue_.empty() && !closing_) work_cv_.Wait(&mu_);
      if (queue_.empty() && closing_) return;
      size_t group_bytes = 0;
      while (!queue_.empty() && (group.empty() || group_bytes + queue_.front().bytes <=
                                                      options_.max_group_bytes)) {
        group_bytes += queue_.front().bytes;
        group.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    CommitGroup(group);
    group.clear();
  }
}

void EventLog::CommitGroup(std::vector<Pending>& group) {
  uint64_t seq = last_seq_.load(std::memory_order_relaxed);
  storage::WriteBatch batch;
  absl::flat_hash_set<std::string_view> seen_in_group;
  std::vector<AppendResult> results(group.size());
  Status status;
  std::string existing;
  for (size_t g = 0; g < group.size() && status.ok(); ++g) {
    for (Event& e : group[g].events) {
      if (!seen_in_group.insert(e.message_id).second) {
        ++results[g].duplicates;
        continue;
      }
      Status found = store_->Get(Space::kDedupe, e.message_id, &existing);
      if (found.ok()) {
        ++results[g].duplicates;
        continue;
      }
      if (found.code() != StatusCode::kNotFound) {
        status = found;
        break;
      }
      e.seq = ++seq;
      std::string key = SeqKey(e.seq);
      batch.Put(Space::kLog, key, EncodeEvent(e));
      batch.Put(Space::kDedupe, e.message_id, key);
      ++results[g].stored;
    }
  }
  if (status.ok() && !batch.empty()) status = store_->Write(batch, {.sync = true});
  size_t bytes = 0;
  for (const auto& p : group) bytes += p.bytes;
  if (status.ok()) {
    group_commits_.fetch_add(1, std::memory_order_relaxed);
    {
      MutexLock lock(&mu_);
      last_seq_.store(seq, std::memory_order_release);
      newer_cv_.SignalAll();
    }
  }
  pending_bytes_.fetch_sub(bytes, std::memory_order_relaxed);
  for (size_t g = 0; g < group.size(); ++g) {
    if (status.ok()) {
      results[g].last_seq = seq;
      group[g].done(results[g]);
    } else {
      group[g].done(status);
    }
  }
}

Result<std::vector<Event>> EventLog::Read(uint64_t from_seq, size_t max_events) {
  std::vector<Event> out;
  uint64_t last = last_seq();
  if (from_seq > last) return out;
  auto it = store_->NewIterator(Space::kLog);
  for (it->Seek(SeqKey(from_seq)); it->Valid() && out.size() < max_events; it->Next()) {
    TESSERA_ASSIGN_OR_RETURN(Event e, DecodeEvent(it->value()));
    // The committer may have written beyond last_seq() only after the acquire above; stop there
    // so readers never see a seq before it is acknowledged as durable.
    if (e.seq > last) break;
    out.push_back(std::move(e));
  }
  TESSERA_RETURN_IF_ERROR(it->status());
  return out;
}

Result<Event> EventLog::ReadOne(uint64_t seq) {
  std::string value;
  TESSERA_RETURN_IF_ERROR(store_->Get(Space::kLog, SeqKey(seq), &value));
  return DecodeEvent(value);
}

Result<uint64_t> EventLog::FindMessage(std::string_view message_id) {
  std::string value;
  TESSERA_RETURN_IF_ERROR(store_->Get(Space::kDedupe, message_id, &value));
  if (value.size() != 8) return Status::Corruption("dedupe entry of unexpected size");
  return DecodeFixed64BE(value.data());
}

bool EventLog::WaitForNewer(uint64_t seq, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  MutexLock lock(&mu_);
  while (last_seq() <= seq && !closing_) {
    auto now = std::chrono::steady_clock::now();
    if (now >= deadline) break;
    newer_cv_.WaitFor(&mu_, deadline - now);
  }
  return last_seq() > seq;
}

}  // namespace tessera::eventlog
