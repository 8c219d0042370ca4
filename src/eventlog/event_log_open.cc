// EventLog: opening (recovery after a crash, moving a pre-segment log out of the store,
// indexing the tail) and segment rollover. README.md states the invariants relied on here.
#include <pthread.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "core/coding.h"
#include "eventlog/event_log.h"
#include "eventlog/segment_format.h"

namespace tessera::eventlog {

using storage::Space;

namespace {

constexpr size_t kScanChunk = 1 << 20;

// The records of a segment file, from its header to the first thing that is not a record.
struct Scan {
  std::vector<uint32_t> offsets;               // where each record starts
  uint64_t end = segment::kHeaderSize;         // just past the last good record
  uint64_t size = 0;                           // of the file
  segment::Parse stop = segment::Parse::kEnd;  // kEnd: clean; kShort/kCorrupt: a bad record
  std::string problem;
};

Result<Scan> ScanSegment(const LogFile& file, uint64_t first_seq) {
  Scan scan;
  TESSERA_ASSIGN_OR_RETURN(scan.size, file.Size());
  std::string buf;
  uint64_t buf_offset = segment::kHeaderSize;
  size_t pos = 0;
  while (true) {
    std::string_view rest = std::string_view(buf).substr(pos);
    segment::Record r;
    segment::Parse p = segment::ParseRecord(rest, &r);
    bool at_eof = buf_offset + buf.size() >= scan.size;
    if ((rest.size() < segment::kRecordHeaderSize || p == segment::Parse::kShort) && !at_eof) {
      buf_offset += pos;
      pos = 0;
      size_t want = std::max<size_t>(kScanChunk, r.size);
      buf.resize(want);
      size_t got = 0;
      TESSERA_RETURN_IF_ERROR(file.ReadAt(buf_offset, want, buf.data(), &got));
      buf.resize(got);
      if (got < want) scan.size = buf_offset + got;  // the file is shorter than it said
      continue;
    }
    if (p != segment::Parse::kOk) {
      scan.stop = p;
      scan.problem = p == segment::Parse::kEnd     ? "end"
                     : p == segment::Parse::kShort ? "a record cut short"
                                                   : "a checksum mismatch";
      return scan;
    }
    uint64_t expected = first_seq + scan.offsets.size();
    if (r.seq != expected) {
      scan.stop = segment::Parse::kCorrupt;
      scan.problem =
          "seq " + std::to_string(r.seq) + " where " + std::to_string(expected) + " belongs";
      return scan;
    }
    scan.offsets.push_back(static_cast<uint32_t>(buf_offset + pos));
    pos += r.size;
    scan.end = buf_offset + pos;
  }
}

Status ReadHeader(const LogFile& file, uint64_t first_seq) {
  char b[segment::kHeaderSize];
  size_t got = 0;
  TESSERA_RETURN_IF_ERROR(file.ReadAt(0, sizeof b, b, &got));
  return segment::CheckHeader(std::string_view(b, got), first_seq);
}

Status Annotate(const Status& s, const std::string& where) {
  if (s.ok()) return s;
  if (s.code() == StatusCode::kCorruption) return Status::Corruption(where + ": " + s.message());
  return s;
}

}  // namespace

Status EventLog::Open() {
  {
    MutexLock lock(&mu_);
    TESSERA_CHECK(!open_, "EventLog::Open called twice");
  }
  if (options_.segment_bytes < 4096 || options_.segment_bytes > (size_t{1} << 30)) {
    return Status::InvalidArgument("segment_bytes must be within 4 KiB .. 1 GiB");
  }
  std::string dir = options_.dir;
  if (dir.empty() && !store_->Directory().empty()) dir = store_->Directory() + "/eventlog";
  if (dir.empty()) {
    dir_ = NewStoreLogDir(store_);
    files_in_store_ = true;
  } else {
    TESSERA_ASSIGN_OR_RETURN(dir_, OpenPosixLogDir(dir));
  }
  TESSERA_RETURN_IF_ERROR(Recover());
  MutexLock lock(&mu_);
  open_ = true;
  committer_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "tsr-log-commit");
    CommitLoop();
  });
  return Status::Ok();
}

Result<uint64_t> EventLog::ReadMark() {
  std::string v;
  Status s = store_->Get(Space::kLog, kIndexedSeqKey, &v);
  if (s.code() == StatusCode::kNotFound) return uint64_t{0};
  TESSERA_RETURN_IF_ERROR(s);
  if (v.size() != 8) return Status::Corruption("event log index mark of unexpected size");
  return DecodeFixed64BE(v.data());
}

Status EventLog::Recover() {
  // Every seq <= mark was synced in the log before the store recorded the mark, and every
  // acknowledged seq is <= mark (the mark is in the synced store write that precedes the ack).
  TESSERA_ASSIGN_OR_RETURN(uint64_t mark, ReadMark());
  TESSERA_ASSIGN_OR_RETURN(std::vector<std::string> names, dir_->List());
  std::vector<uint64_t> firsts;  // names are zero-padded: sorted by name is sorted by seq
  for (const auto& name : names) {
    if (auto first = segment::ParseSegmentName(name)) {
      firsts.push_back(*first);
    } else if (name.ends_with(".tmp")) {
      TESSERA_RETURN_IF_ERROR(dir_->Remove(name));  // an index file being written
    }
  }
  // A last segment without a valid header was being created: records go in only after the
  // header is synced, so it holds nothing, unless the mark says otherwise.
  while (!firsts.empty()) {
    uint64_t first = firsts.back();
    std::string name = segment::SegmentName(first);
    TESSERA_ASSIGN_OR_RETURN(auto file, dir_->Open(name));
    Status header = ReadHeader(*file, first);
    if (header.ok()) break;
    if (first <= mark) return Annotate(header, dir_->path() + "/" + name);
    spdlog::warn("event log: removing {}/{}, a segment whose creation was cut short ({})",
                 dir_->path(), name, header.message());
    TESSERA_RETURN_IF_ERROR(dir_->Remove(name));
    TESSERA_RETURN_IF_ERROR(dir_->Remove(segment::IndexName(first)));
    TESSERA_RETURN_IF_ERROR(dir_->SyncDir());
    firsts.pop_back();
  }
  // Nothing deletes old segments yet (no retention), so the log starts at seq 1.
  if (!firsts.empty() && firsts.front() != 1) {
    return Status::Corruption("the event log in " + dir_->path() + " starts at seq " +
                              std::to_string(firsts.front()) + ": earlier segments are missing");
  }
  std::vector<Segment> segments(firsts.size());
  for (size_t i = 0; i < firsts.size(); ++i) {
    const bool last = i + 1 == firsts.size();
    Status s =
        last ? RecoverActive(firsts[i], mark, &segments[i]) : LoadSealed(firsts[i], &segments[i]);
    TESSERA_RETURN_IF_ERROR(Annotate(s, dir_->path() + "/" + segment::SegmentName(firsts[i])));
    if (i > 0 && segments[i - 1].first_seq + segments[i - 1].count != firsts[i]) {
      return Status::Corruption("event log segments are not contiguous: " +
                                segment::SegmentName(segments[i - 1].first_seq) + " holds " +
                                std::to_string(segments[i - 1].count) + " records, then " +
                                segment::SegmentName(firsts[i]));
    }
  }
  {
    MutexLock lock(&segments_mu_);
    segments_ = std::move(segments);
  }
  if (firsts.empty()) TESSERA_RETURN_IF_ERROR(StartSegment(1));
  last_seq_.store(writer_.first_seq + writer_.count - 1, std::memory_order_release);

  // A data dir from before segment files keeps its events in the store's log space (which the
  // in-memory store's files use, so there is nothing to move there).
  if (!files_in_store_) {
    TESSERA_ASSIGN_OR_RETURN(bool moved, [&]() -> Result<bool> {
      // Seq keys (u64 BE) sort before the mark ("indexed-seq").
      auto it = store_->NewIterator(Space::kLog);
      it->SeekToFirst();
      TESSERA_RETURN_IF_ERROR(it->status());
      return it->Valid() && it->key().size() == 8;
    }());
    if (moved) {
      TESSERA_RETURN_IF_ERROR(MigrateFromStore());
      TESSERA_ASSIGN_OR_RETURN(mark, ReadMark());
    }
  }
  uint64_t last = last_seq();
  if (mark > last) {
    return Status::Corruption("the event log in " + dir_->path() + " ends at seq " +
                              std::to_string(last) + " but seq " + std::to_string(mark) +
                              " was acknowledged: segment files are missing or cut short");
  }
  return IndexTail(mark);
}

Status EventLog::LoadSealed(uint64_t first_seq, Segment* seg) {
  seg->first_seq = first_seq;
  TESSERA_ASSIGN_OR_RETURN(auto file, dir_->Open(segment::SegmentName(first_seq)));
  seg->file = std::move(file);
  TESSERA_RETURN_IF_ERROR(ReadHeader(*seg->file, first_seq));
  auto index = dir_->Open(segment::IndexName(first_seq));
  if (index.ok()) {
    std::shared_ptr<LogFile> idx = std::move(*index);
    char b[segment::kIndexHeaderSize];
    size_t got = 0;
    TESSERA_ASSIGN_OR_RETURN(uint64_t size, idx->Size());
    TESSERA_RETURN_IF_ERROR(idx->ReadAt(0, sizeof b, b, &got));
    TESSERA_ASSIGN_OR_RETURN(uint64_t file_size, seg->file->Size());
    auto header = segment::DecodeIndexHeader(std::string_view(b, got), size, first_seq);
    if (header.ok() && header->data_end <= file_size) {
      seg->index = std::move(idx);
      seg->count = header->count;
      seg->end = header->data_end;
      return Status::Ok();
    }
    spdlog::warn("event log: rebuilding the index of segment {} ({})",
                 segment::SegmentName(first_seq),
                 header.ok() ? "names bytes past the segment" : header.status().message());
  } else if (index.status().code() != StatusCode::kNotFound) {
    return index.status();
  }
  // No usable index (the process died while sealing): the records say it all. A sealed segment
  // was synced whole before the next was created, so it must end cleanly.
  TESSERA_ASSIGN_OR_RETURN(Scan scan, ScanSegment(*seg->file, first_seq));
  if (scan.stop != segment::Parse::kEnd) {
    return Status::Corruption("sealed segment has " + scan.problem + " at offset " +
                              std::to_string(scan.end) + " (seq " +
                              std::to_string(first_seq + scan.offsets.size()) + ")");
  }
  seg->count = scan.offsets.size();
  seg->end = scan.end;
  auto written = WriteIndexFile(first_seq, scan.end, scan.offsets);
  if (written.ok()) {
    seg->index = std::move(*written);
  } else {
    seg->offsets = std::move(scan.offsets);
  }
  return Status::Ok();
}

Status EventLog::RecoverActive(uint64_t first_seq, uint64_t mark, Segment* seg) {
  seg->first_seq = first_seq;
  TESSERA_ASSIGN_OR_RETURN(auto file, dir_->Open(segment::SegmentName(first_seq)));
  seg->file = std::move(file);
  // An index of the active segment is stale (a seal whose successor was then removed).
  TESSERA_RETURN_IF_ERROR(dir_->Remove(segment::IndexName(first_seq)));
  TESSERA_ASSIGN_OR_RETURN(Scan scan, ScanSegment(*seg->file, first_seq));
  if (scan.stop != segment::Parse::kEnd) {
    uint64_t bad = first_seq + scan.offsets.size();
    if (bad <= mark) {
      return Status::Corruption("seq " + std::to_string(bad) +
                                " was acknowledged, but its record at offset " +
                                std::to_string(scan.end) + " has " + scan.problem);
    }
    spdlog::warn(
        "event log: cutting a torn tail of {} bytes at offset {} of {} ({} where seq {} "
        "would be; never acknowledged)",
        scan.size - scan.end, scan.end, segment::SegmentName(first_seq), scan.problem, bad);
  }
  // Cut whatever follows the last record (a torn write, or bytes a torn write left beyond zeros)
  // so a later crash cannot find old bytes after new records; then reserve the space again.
  if (scan.size > scan.end) {
    TESSERA_RETURN_IF_ERROR(seg->file->Truncate(scan.end));
  }
  if (options_.preallocate) TESSERA_RETURN_IF_ERROR(seg->file->Preallocate(options_.segment_bytes));
  seg->count = scan.offsets.size();
  seg->end = scan.end;
  seg->offsets = std::move(scan.offsets);
  writer_ = {seg->file, first_seq, seg->count, seg->end};
  return Status::Ok();
}

Status EventLog::StartSegment(uint64_t first_seq) {
  const std::string name = segment::SegmentName(first_seq);
  TESSERA_ASSIGN_OR_RETURN(auto created, dir_->Create(name));
  std::shared_ptr<LogFile> file = std::move(created);
  Status s = options_.preallocate ? file->Preallocate(options_.segment_bytes) : Status::Ok();
  if (s.ok()) s = file->WriteAt(0, segment::EncodeHeader(first_seq));
  if (s.ok()) s = file->Sync();
  if (s.ok()) s = dir_->SyncDir();
  if (!s.ok()) {
    // The old segment stays active. A leftover new one would break contiguity on open.
    Status removed = dir_->Remove(name);
    if (!removed.ok()) Fail(removed);
    return s;
  }
  if (writer_.file) SealActive();
  {
    MutexLock lock(&segments_mu_);
    Segment seg;
    seg.first_seq = first_seq;
    seg.file = file;
    seg.end = segment::kHeaderSize;
    segments_.push_back(std::move(seg));
  }
  writer_ = {file, first_seq, 0, segment::kHeaderSize};
  return Status::Ok();
}

void EventLog::SealActive() {
  // Neither step is needed for correctness (a segment without an index is scanned on open), so
  // a failure is only logged and the offsets stay in memory.
  const uint64_t first = writer_.first_seq;
  Status cut = writer_.file->Truncate(writer_.end);  // release the preallocated tail
  if (!cut.ok()) {
    spdlog::warn("event log: sealing {}: {}", segment::SegmentName(first), cut.ToString());
  }
  std::vector<uint32_t> offsets;
  {
    MutexLock lock(&segments_mu_);
    offsets = segments_.back().offsets;
  }
  auto index = WriteIndexFile(first, writer_.end, offsets);
  if (!index.ok()) return;
  MutexLock lock(&segments_mu_);
  Segment& seg = segments_.back();
  seg.index = std::move(*index);
  seg.offsets = {};
}

Result<std::shared_ptr<LogFile>> EventLog::WriteIndexFile(uint64_t first_seq, uint64_t end,
                                                          const std::vector<uint32_t>& offsets) {
  const std::string name = segment::IndexName(first_seq);
  const std::string tmp = name + ".tmp";
  Status s;
  {
    auto created = dir_->Create(tmp);
    s = created.status();
    if (s.ok()) s = (*created)->WriteAt(0, segment::EncodeIndex(first_seq, end, offsets));
    if (s.ok()) s = (*created)->Sync();
  }
  if (s.ok()) s = dir_->Rename(tmp, name);
  if (s.ok()) s = dir_->SyncDir();
  if (s.ok()) {
    auto opened = dir_->Open(name);
    if (opened.ok()) return std::shared_ptr<LogFile>(std::move(*opened));
    s = opened.status();
  }
  spdlog::warn("event log: no index file for {} ({}); it is rebuilt on open",
               segment::SegmentName(first_seq), s.ToString());
  dir_->Remove(tmp).IgnoreError();  // best effort; Open removes leftovers too
  return s;
}

Status EventLog::MigrateFromStore() {
  // Events of a data dir from before segment files: seq (u64 BE) -> EncodeEvent, in the store's
  // log space, their messageIds already in the dedupe space (written in the same batches). Copy
  // them into segments, record the mark, then clear the space. Each step is safe to cut short:
  // the next Open resumes after the last seq the segments hold.
  spdlog::info("event log: moving events from the store's log space into {}", dir_->path());
  uint64_t last = writer_.first_seq + writer_.count - 1;
  uint64_t moved = 0;
  std::string buf;
  std::vector<uint32_t> rel;
  uint64_t buf_first = last + 1;
  auto flush = [&]() -> Status {
    if (rel.empty()) return Status::Ok();
    bool fatal = false;
    TESSERA_RETURN_IF_ERROR(WriteRecords(buf, rel, buf_first, &fatal));
    buf.clear();
    rel.clear();
    buf_first = last + 1;
    return Status::Ok();
  };
  auto it = store_->NewIterator(Space::kLog);
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    if (it->key() == kIndexedSeqKey) continue;
    if (it->key().size() != 8) return Status::Corruption("unexpected key in the store's log space");
    uint64_t seq = DecodeFixed64BE(it->key().data());
    if (seq <= last) continue;  // moved before an interruption
    if (seq != last + 1) {
      return Status::Corruption("the store's log space jumps from seq " + std::to_string(last) +
                                " to " + std::to_string(seq));
    }
    TESSERA_ASSIGN_OR_RETURN(Event e, DecodeEvent(it->value()));
    if (e.seq != seq)
      return Status::Corruption("stored event at seq " + std::to_string(seq) + " says seq " +
                                std::to_string(e.seq));
    rel.push_back(static_cast<uint32_t>(buf.size()));
    segment::AppendRecord(&buf, seq, it->value());
    last = seq;
    ++moved;
    if (buf.size() >= std::min<size_t>(4 << 20, options_.segment_bytes / 2)) {
      TESSERA_RETURN_IF_ERROR(flush());
    }
  }
  TESSERA_RETURN_IF_ERROR(it->status());
  TESSERA_RETURN_IF_ERROR(flush());
  last_seq_.store(last, std::memory_order_release);
  storage::WriteBatch mark;
  mark.Put(Space::kLog, kIndexedSeqKey, SeqKey(last));
  TESSERA_RETURN_IF_ERROR(store_->Write(mark, {.sync = true}));
  // Clear the seq keys (not the mark), in batches.
  storage::WriteBatch batch;
  auto old = store_->NewIterator(Space::kLog);
  for (old->SeekToFirst(); old->Valid(); old->Next()) {
    if (old->key().size() != 8) continue;
    batch.Delete(Space::kLog, old->key());
    if (batch.size() >= 10000) {
      TESSERA_RETURN_IF_ERROR(store_->Write(batch, {}));
      batch.Clear();
    }
  }
  TESSERA_RETURN_IF_ERROR(old->status());
  TESSERA_RETURN_IF_ERROR(store_->Write(batch, {.sync = true}));
  spdlog::info("event log: moved {} events; the log ends at seq {}", moved, last);
  return Status::Ok();
}

Status EventLog::IndexTail(uint64_t mark) {
  const uint64_t last = last_seq();
  if (mark >= last) return Status::Ok();
  spdlog::info("event log: indexing the messageIds of seqs {}..{}", mark + 1, last);
  for (uint64_t seq = mark + 1; seq <= last;) {
    TESSERA_ASSIGN_OR_RETURN(std::vector<Event> events, Read(seq, 4096));
    if (events.empty()) return Status::Internal("event log tail vanished while indexing it");
    storage::WriteBatch batch;
    for (const Event& e : events) batch.Put(Space::kDedupe, e.message_id, SeqKey(e.seq));
    seq = events.back().seq + 1;
    batch.Put(Space::kLog, kIndexedSeqKey, SeqKey(seq - 1));
    TESSERA_RETURN_IF_ERROR(store_->Write(batch, {.sync = seq > last}));
  }
  return Status::Ok();
}

}  // namespace tessera::eventlog
