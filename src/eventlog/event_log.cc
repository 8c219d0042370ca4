// EventLog: appends (group commit, dedupe) and reads. Recovery, rollover and migration are in
// event_log_open.cc.
#include "eventlog/event_log.h"

#include <absl/container/flat_hash_set.h>
#include <pthread.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "core/coding.h"
#include "eventlog/segment_format.h"

namespace tessera::eventlog {

using storage::Space;

EventLog::EventLog(storage::Store* store, LogOptions options) : store_(store), options_(options) {}

EventLog::~EventLog() { Close(); }

std::string EventLog::SeqKey(uint64_t seq) {
  std::string key;
  PutFixed64BE(&key, seq);
  return key;
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

size_t EventLog::segment_count() const {
  MutexLock lock(&segments_mu_);
  return segments_.size();
}

const std::string& EventLog::directory() const {
  static const std::string kNone;
  return dir_ ? dir_->path() : kNone;
}

Status EventLog::Append(std::vector<Event> events, AppendCallback done) {
  // Encoded here, on the appending (request) threads, in parallel: the committer is one thread.
  size_t bytes = 0;
  std::vector<Encoded> encoded(events.size());
  for (size_t i = 0; i < events.size(); ++i) {
    Encoded& out = encoded[i];
    out.body.reserve(events[i].json.size() + events[i].traits_json.size() + 128);
    AppendEventBody(&out.body, events[i]);
    out.message_id = std::move(events[i].message_id);
    bytes += out.body.size() + out.message_id.size();
  }
  events.clear();
  MutexLock lock(&mu_);
  if (!open_ || closing_) return Status::Unavailable("event log is closed");
  if (!failed_.ok()) return failed_;
  size_t pending = pending_bytes_.load(std::memory_order_relaxed);
  // One oversized request is let through on an empty queue so it cannot starve forever.
  if (pending > 0 && pending + bytes > options_.max_pending_bytes) {
    return Status::Unavailable("ingest queue is full; retry later");
  }
  pending_bytes_.fetch_add(bytes, std::memory_order_relaxed);
  queue_.push_back({std::move(encoded), std::move(done), bytes});
  work_cv_.Signal();
  return Status::Ok();
}

void EventLog::Fail(const Status& s) {
  spdlog::error("event log: {}; no more appends until a restart recovers the log", s.ToString());
  MutexLock lock(&mu_);
  if (failed_.ok()) failed_ = Status::IOError("event log stopped after: " + s.message());
}

void EventLog::CommitLoop() {
  std::vector<Pending> group;
  while (true) {
    {
      MutexLock lock(&mu_);
      while (queue_.empty() && !closing_) work_cv_.Wait(&mu_);
      if (queue_.empty() && closing_) return;
      size_t group_bytes = 0;
      while (!queue_.empty() &&
             (group.empty() || group_bytes + queue_.front().bytes <= options_.max_group_bytes)) {
        group_bytes += queue_.front().bytes;
        group.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    CommitGroup(group);
    group.clear();
  }
}

Result<bool> EventLog::LoggedAt(uint64_t seq, std::string_view message_id) {
  // The index is written only after the records it names are synced, so a hit is normally
  // right; reading the record back keeps dedupe exact even if the index ever ran ahead of the
  // log (an entry for a lost record must not swallow the retry that replaces it).
  if (seq == 0 || seq > last_seq_.load(std::memory_order_relaxed)) return false;
  Result<Event> e = ReadOne(seq);
  if (!e.ok()) {
    if (e.status().code() == StatusCode::kNotFound) return false;
    return e.status();
  }
  if (e->message_id != message_id) {
    spdlog::warn("event log: dedupe entry for a messageId points at seq {}, which holds another",
                 seq);
    return false;
  }
  return true;
}

void EventLog::CommitGroup(std::vector<Pending>& group) {
  Status status;
  {
    MutexLock lock(&mu_);
    status = failed_;
  }
  const uint64_t first = last_seq_.load(std::memory_order_relaxed) + 1;
  uint64_t seq = first - 1;
  std::vector<AppendResult> results(group.size());
  std::string& buf = commit_buf_;  // keeps its capacity from group to group
  buf.clear();
  std::vector<uint32_t> rel;  // where each record starts in buf
  std::string head;           // a record's format version and seq (AppendEventHead)
  storage::WriteBatch index;
  // Look up every messageId that is new within the group in one MultiGet; a later copy in the
  // same group is a duplicate of the first.
  absl::flat_hash_set<std::string_view> seen_in_group;
  std::vector<std::string_view> ids;
  std::vector<bool> first_in_group;
  for (const Pending& p : group) {
    for (const Encoded& e : p.events) {
      bool first = seen_in_group.insert(e.message_id).second;
      first_in_group.push_back(first);
      if (first) ids.push_back(e.message_id);
    }
  }
  std::vector<std::string> existing;
  std::vector<Status> found;
  if (status.ok() && !ids.empty()) found = store_->MultiGet(Space::kDedupe, ids, &existing);
  size_t event_index = 0;
  size_t id_index = 0;
  for (size_t g = 0; g < group.size() && status.ok(); ++g) {
    for (const Encoded& e : group[g].events) {
      if (!first_in_group[event_index++]) {
        ++results[g].duplicates;
        continue;
      }
      const size_t i = id_index++;
      if (found[i].ok()) {
        if (existing[i].size() != 8) {
          status = Status::Corruption("dedupe entry of unexpected size");
          break;
        }
        Result<bool> logged = LoggedAt(DecodeFixed64BE(existing[i].data()), e.message_id);
        if (!logged.ok()) {
          status = logged.status();
          break;
        }
        if (*logged) {
          ++results[g].duplicates;
          continue;
        }
      } else if (found[i].code() != StatusCode::kNotFound) {
        status = found[i];
        break;
      }
      ++seq;
      rel.push_back(static_cast<uint32_t>(buf.size()));
      head.clear();
      AppendEventHead(&head, seq);
      segment::AppendRecord(&buf, seq, head, e.body);
      index.Put(Space::kDedupe, e.message_id, SeqKey(seq));
      ++results[g].stored;
    }
  }
  bool publish = false;
  if (status.ok() && seq >= first) {
    bool fatal = false;
    status = WriteRecords(buf, rel, first, &fatal);
    if (fatal) Fail(status);
    if (status.ok()) {
      // The records are durable: publish them whatever happens to the index write.
      publish = true;
      index.Put(Space::kLog, kIndexedSeqKey, SeqKey(seq));
      // Synced: makes the index durable with the ack, and every store write made before this
      // append too (the pipeline and the audience engine rely on that; see README.md).
      status = store_->Write(index, {.sync = true});
      // The events are logged but not indexed: a retry must not be stored again, so no more
      // appends until a restart indexes the log's tail (Open does).
      if (!status.ok()) Fail(status);
    }
  }
  if (publish || (status.ok() && seq < first)) {
    if (status.ok()) group_commits_.fetch_add(1, std::memory_order_relaxed);
    MutexLock lock(&mu_);
    last_seq_.store(seq, std::memory_order_release);
    newer_cv_.SignalAll();
  }
  size_t bytes = 0;
  for (const auto& p : group) bytes += p.bytes;
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

Status EventLog::WriteRecords(const std::string& buf, const std::vector<uint32_t>& rel,
                              uint64_t first_seq, bool* fatal) {
  *fatal = false;
  TESSERA_CHECK(first_seq == writer_.first_seq + writer_.count, "event log records out of order");
  if (writer_.count > 0 && writer_.end + buf.size() > options_.segment_bytes) {
    TESSERA_RETURN_IF_ERROR(StartSegment(first_seq));
  }
  const uint64_t base = writer_.end;
  TESSERA_CHECK(base + buf.size() < (uint64_t{1} << 32), "segment offset beyond 4 GiB");
  Status s = writer_.file->WriteAt(base, buf);
  bool clean = true;
  if (s.ok()) {
    s = writer_.file->Sync();
    // After a failed fdatasync the page cache no longer says what is on disk (the kernel may
    // have dropped the dirty pages): only recovery on restart can tell.
    clean = writer_.file->SyncFailureIsClean();
  }
  if (!s.ok()) {
    if (!clean) {
      *fatal = true;
      return s;
    }
    // Nothing was acknowledged past base: cut what may have landed, so no stray bytes follow.
    Status cut = writer_.file->Truncate(base);
    if (cut.ok() && options_.preallocate) {
      writer_.file->Preallocate(options_.segment_bytes).IgnoreError();  // best effort
    }
    *fatal = !cut.ok();
    return s;
  }
  {
    MutexLock lock(&segments_mu_);
    Segment& active = segments_.back();
    for (uint32_t r : rel) active.offsets.push_back(static_cast<uint32_t>(base + r));
    active.count += rel.size();
    active.end = base + buf.size();
  }
  writer_.count += rel.size();
  writer_.end = base + buf.size();
  return Status::Ok();
}

Result<EventLog::Location> EventLog::Locate(uint64_t seq) {
  Location loc;
  std::shared_ptr<LogFile> index;
  uint64_t first = 0;
  {
    MutexLock lock(&segments_mu_);
    auto it = std::upper_bound(segments_.begin(), segments_.end(), seq,
                               [](uint64_t s, const Segment& seg) { return s < seg.first_seq; });
    if (it == segments_.begin()) return Status::NotFound("no event at seq " + std::to_string(seq));
    --it;
    if (seq >= it->first_seq + it->count) {
      return Status::NotFound("no event at seq " + std::to_string(seq));
    }
    first = it->first_seq;
    loc.file = it->file;
    loc.end = it->end;
    loc.last_seq = it->first_seq + it->count - 1;
    if (it->index) {
      index = it->index;
    } else {
      loc.offset = it->offsets[seq - it->first_seq];
    }
  }
  if (index) {
    char b[4];
    size_t got = 0;
    TESSERA_RETURN_IF_ERROR(
        index->ReadAt(segment::kIndexHeaderSize + 4 * (seq - first), 4, b, &got));
    if (got != 4) return Status::Corruption("segment index ends early");
    loc.offset = segment::DecodeFixed32LE(b);
  }
  if (loc.offset < segment::kHeaderSize || loc.offset >= loc.end) {
    return Status::Corruption("segment index points outside segment " +
                              segment::SegmentName(first));
  }
  return loc;
}

namespace {

Status RecordCorruption(uint64_t seq, std::string_view what) {
  return Status::Corruption("event log record for seq " + std::to_string(seq) + ": " +
                            std::string(what));
}

// Reads bytes [offset, offset + n) of file, fewer at its end.
Status ReadInto(const LogFile& file, uint64_t offset, size_t n, std::string* buf) {
  buf->resize(n);
  size_t got = 0;
  TESSERA_RETURN_IF_ERROR(file.ReadAt(offset, n, buf->data(), &got));
  buf->resize(got);
  return Status::Ok();
}

Result<Event> DecodeRecord(const segment::Record& r, uint64_t seq) {
  if (r.seq != seq) return RecordCorruption(seq, "holds seq " + std::to_string(r.seq));
  Result<Event> e = DecodeEvent(r.payload);
  if (!e.ok()) return RecordCorruption(seq, e.status().message());
  if (e->seq != seq) return RecordCorruption(seq, "event says seq " + std::to_string(e->seq));
  return e;
}

}  // namespace

Result<std::vector<Event>> EventLog::Read(uint64_t from_seq, size_t max_events) {
  std::vector<Event> out;
  const uint64_t last = last_seq();
  uint64_t seq = std::max<uint64_t>(from_seq, 1);
  std::string buf;
  while (seq <= last && out.size() < max_events) {
    TESSERA_ASSIGN_OR_RETURN(Location loc, Locate(seq));
    const uint64_t stop = std::min(last, loc.last_seq);
    uint64_t buf_offset = loc.offset;  // file offset of buf[0]
    size_t pos = 0;
    buf.clear();
    while (seq <= stop && out.size() < max_events) {
      segment::Record r;
      std::string_view rest = std::string_view(buf).substr(pos);
      segment::Parse p = segment::ParseRecord(rest, &r);
      if (rest.size() < segment::kRecordHeaderSize || p == segment::Parse::kShort) {
        // Refill from this record on: about what the remaining events need, within bounds.
        buf_offset += pos;
        pos = 0;
        uint64_t n = std::min<uint64_t>(stop - seq + 1, max_events - out.size());
        size_t want = std::clamp<uint64_t>(n * 1536, 4096, 1 << 20);
        want = std::max(want, r.size);
        want = std::min<uint64_t>(want, loc.end - buf_offset);
        size_t had = rest.size();
        TESSERA_RETURN_IF_ERROR(ReadInto(*loc.file, buf_offset, want, &buf));
        if (buf.size() <= had) return RecordCorruption(seq, "the segment ends inside it");
        continue;
      }
      if (p != segment::Parse::kOk) return RecordCorruption(seq, "checksum mismatch");
      TESSERA_ASSIGN_OR_RETURN(Event e, DecodeRecord(r, seq));
      out.push_back(std::move(e));
      pos += r.size;
      ++seq;
    }
  }
  return out;
}

Result<Event> EventLog::ReadOne(uint64_t seq) {
  if (seq == 0 || seq > last_seq())
    return Status::NotFound("no event at seq " + std::to_string(seq));
  TESSERA_ASSIGN_OR_RETURN(Location loc, Locate(seq));
  std::string buf;
  TESSERA_RETURN_IF_ERROR(
      ReadInto(*loc.file, loc.offset, std::min<uint64_t>(4096, loc.end - loc.offset), &buf));
  segment::Record r;
  segment::Parse p = segment::ParseRecord(buf, &r);
  if (p == segment::Parse::kShort && r.size > buf.size() && r.size <= loc.end - loc.offset) {
    TESSERA_RETURN_IF_ERROR(ReadInto(*loc.file, loc.offset, r.size, &buf));
    p = segment::ParseRecord(buf, &r);
  }
  if (p != segment::Parse::kOk) {
    return RecordCorruption(
        seq, p == segment::Parse::kCorrupt ? "checksum mismatch" : "the segment ends inside it");
  }
  return DecodeRecord(r, seq);
}

Result<uint64_t> EventLog::FindMessage(std::string_view message_id) {
  std::string value;
  TESSERA_RETURN_IF_ERROR(store_->Get(Space::kDedupe, message_id, &value));
  if (value.size() != 8) return Status::Corruption("dedupe entry of unexpected size");
  uint64_t seq = DecodeFixed64BE(value.data());
  if (seq > last_seq()) return Status::NotFound("message not yet logged");
  return seq;
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
