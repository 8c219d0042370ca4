// The event log over real segment files: rollover, recovery (torn tails, damaged records,
// interrupted creation and sealing), dedupe across restarts, the move out of a pre-segment
// store, and readers racing the committer (run under TSan too).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <future>
#include <random>
#include <set>
#include <thread>

#include "core/coding.h"
#include "eventlog/event_log.h"
#include "eventlog/segment_format.h"
#include "storage/memory_store.h"

namespace tessera::eventlog {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "eventlog-test-XXXXXX").string();
    TESSERA_CHECK(::mkdtemp(tmpl.data()) != nullptr, "mkdtemp");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

Event MakeEvent(std::string message_id, size_t body = 100) {
  Event e;
  e.message_id = std::move(message_id);
  e.user_id = "u";
  e.identifiers = {{"user_id", "u"}};
  e.json = R"({"type":"track","pad":")" + std::string(body, 'p') + R"("})";
  return e;
}

Result<AppendResult> AppendSync(EventLog& log, std::vector<Event> events) {
  std::promise<Result<AppendResult>> p;
  auto f = p.get_future();
  Status s = log.Append(std::move(events), [&p](Result<AppendResult> r) { p.set_value(r); });
  if (!s.ok()) return s;
  return f.get();
}

std::vector<std::string> Files(const std::string& dir, const std::string& ext) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() == ext) out.push_back(e.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void WriteFile(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
}

// Offsets of the records in a segment file's bytes, and where they end.
std::vector<size_t> RecordOffsets(const std::string& bytes, size_t* end) {
  std::vector<size_t> out;
  size_t pos = segment::kHeaderSize;
  segment::Record r;
  while (segment::ParseRecord(std::string_view(bytes).substr(pos), &r) == segment::Parse::kOk) {
    out.push_back(pos);
    pos += r.size;
  }
  *end = pos;
  return out;
}

std::vector<std::string> Ids(const std::vector<Event>& events) {
  std::vector<std::string> out;
  for (const auto& e : events) out.push_back(e.message_id);
  return out;
}

class SegmentLogTest : public ::testing::Test {
 protected:
  LogOptions Options(size_t segment_bytes = 4096, bool preallocate = true) {
    LogOptions o;
    o.dir = dir_.path() + "/log";
    o.segment_bytes = segment_bytes;
    o.preallocate = preallocate;
    return o;
  }
  // Appends ids "<prefix>0".."<prefix>n-1" in groups of `per`.
  void Fill(EventLog& log, const std::string& prefix, int n, int per = 7) {
    for (int i = 0; i < n; i += per) {
      std::vector<Event> batch;
      for (int j = i; j < std::min(n, i + per); ++j) {
        batch.push_back(MakeEvent(prefix + std::to_string(j), 50 + (j * 37) % 300));
      }
      auto r = AppendSync(log, std::move(batch));
      ASSERT_TRUE(r.ok()) << r.status().ToString();
    }
  }
  std::string LogDir() const { return dir_.path() + "/log"; }

  TempDir dir_;
  storage::MemoryStore store_;
};

TEST_F(SegmentLogTest, RollsOverAndReadsAcrossSegments) {
  {
    EventLog log(&store_, Options());
    ASSERT_TRUE(log.Open().ok());
    Fill(log, "m", 300);
    EXPECT_EQ(log.last_seq(), 300u);
    EXPECT_GT(log.segment_count(), 10u);
    auto all = log.Read(1, 1000);
    ASSERT_TRUE(all.ok()) << all.status().ToString();
    ASSERT_EQ(all->size(), 300u);
    for (size_t i = 0; i < all->size(); ++i) {
      EXPECT_EQ((*all)[i].seq, i + 1);
      EXPECT_EQ((*all)[i].message_id, "m" + std::to_string(i));
    }
    Event expected = MakeEvent("m42", 50 + (42 * 37) % 300);
    expected.seq = 43;
    EXPECT_EQ((*all)[42], expected);
  }
  // Every sealed segment has its index; the active one has none.
  auto segs = Files(LogDir(), ".seg");
  auto idxs = Files(LogDir(), ".idx");
  EXPECT_EQ(idxs.size() + 1, segs.size());
  EventLog log(&store_, Options());
  ASSERT_TRUE(log.Open().ok());
  EXPECT_EQ(log.last_seq(), 300u);
  for (uint64_t seq : {1u, 2u, 57u, 150u, 299u, 300u}) {
    auto e = log.ReadOne(seq);
    ASSERT_TRUE(e.ok()) << seq << ": " << e.status().ToString();
    EXPECT_EQ(e->message_id, "m" + std::to_string(seq - 1));
  }
  EXPECT_EQ(log.ReadOne(301).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(log.ReadOne(0).status().code(), StatusCode::kNotFound);
  // Runs starting anywhere, of any length, cross segment borders.
  for (uint64_t from : {1u, 13u, 100u, 298u}) {
    for (size_t n : {1u, 5u, 64u}) {
      auto run = log.Read(from, n);
      ASSERT_TRUE(run.ok());
      ASSERT_EQ(run->size(), std::min<size_t>(n, 301 - from));
      for (size_t i = 0; i < run->size(); ++i) EXPECT_EQ((*run)[i].seq, from + i);
    }
  }
  EXPECT_TRUE(log.Read(301, 10)->empty());
  // Appending goes on after a restart, in the active segment and into new ones.
  Fill(log, "n", 50);
  EXPECT_EQ(log.ReadOne(350)->message_id, "n49");
}

TEST_F(SegmentLogTest, ActiveSegmentIsPreallocated) {
  EventLog log(&store_, Options(1 << 20));
  ASSERT_TRUE(log.Open().ok());
  Fill(log, "m", 10);
  auto segs = Files(LogDir(), ".seg");
  ASSERT_EQ(segs.size(), 1u);
  EXPECT_EQ(fs::file_size(segs[0]), 1u << 20);
}

TEST_F(SegmentLogTest, TornTailIsCutAndTheLogGoesOn) {
  for (bool preallocate : {false, true}) {
    SCOPED_TRACE(preallocate);
    TempDir dir;
    storage::MemoryStore store;
    LogOptions o = Options(1 << 20, preallocate);
    o.dir = dir.path();
    {
      EventLog log(&store, o);
      ASSERT_TRUE(log.Open().ok());
      Fill(log, "a", 20);
    }
    // The process died while writing the next group: one whole record (never acknowledged)
    // and one cut short.
    auto segs = Files(dir.path(), ".seg");
    ASSERT_EQ(segs.size(), 1u);
    std::string bytes = ReadFile(segs[0]);
    size_t end = 0;
    ASSERT_EQ(RecordOffsets(bytes, &end).size(), 20u);
    std::string torn;
    segment::AppendRecord(&torn, 21, EncodeEvent([] {
      Event e = MakeEvent("lost");
      e.seq = 21;
      return e;
    }()));
    segment::AppendRecord(&torn, 22, std::string(500, 'z'));
    torn.resize(torn.size() - 100);
    bytes.replace(end, std::min(torn.size(), bytes.size() - end), torn);
    if (!preallocate) bytes = bytes.substr(0, end + torn.size());
    WriteFile(segs[0], bytes);

    EventLog log(&store, o);
    ASSERT_TRUE(log.Open().ok());
    // Seq 21 is whole and kept (as if its fsync had completed before the crash), and indexed
    // at open, so the client's retry of it is a duplicate; seq 22 was cut.
    EXPECT_EQ(log.last_seq(), 21u);
    auto r = AppendSync(log, {MakeEvent("lost"), MakeEvent("b")});
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->stored, 1u);
    EXPECT_EQ(r->duplicates, 1u);
    EXPECT_EQ(log.ReadOne(22)->message_id, "b");
    auto all = log.Read(1, 100);
    ASSERT_TRUE(all.ok());
    EXPECT_EQ(all->size(), 22u);
  }
}

// kill -9 (or a power cut) at any point of a group's write: the log recovers to a prefix that
// holds every acknowledged event, and the retries of the group are stored exactly once.
TEST_F(SegmentLogTest, CutAnywhereInAGroupRecoversAPrefix) {
  std::mt19937 rng(7);
  for (int round = 0; round < 40; ++round) {
    SCOPED_TRACE(round);
    TempDir dir;
    storage::MemoryStore store;
    LogOptions o = Options(1 << 20, round % 2 == 0);
    o.dir = dir.path();
    std::vector<Event> group;
    for (int i = 0; i < 8; ++i) group.push_back(MakeEvent("g" + std::to_string(i), rng() % 400));
    size_t acked_end = 0;
    {
      EventLog log(&store, o);
      ASSERT_TRUE(log.Open().ok());
      Fill(log, "a", 10);
      ASSERT_TRUE(RecordOffsets(ReadFile(Files(dir.path(), ".seg")[0]), &acked_end).size() == 10);
      ASSERT_TRUE(AppendSync(log, group).ok());
    }
    // Undo the group's acknowledgement (the mark) and cut its bytes anywhere, leaving zeros or
    // garbage after the cut, as a crash during its write would.
    storage::WriteBatch unack;
    unack.Put(storage::Space::kLog, EventLog::kIndexedSeqKey, EventLog::SeqKey(10));
    ASSERT_TRUE(store.Write(unack, {.sync = true}).ok());
    std::string path = Files(dir.path(), ".seg")[0];
    std::string bytes = ReadFile(path);
    size_t group_end = 0;
    RecordOffsets(bytes, &group_end);
    size_t cut = acked_end + rng() % (group_end - acked_end + 1);
    size_t tail = rng() % 3;  // 0: end of file, 1: zeros, 2: garbage
    bytes.resize(cut);
    if (tail == 1) bytes.append(1000, '\0');
    if (tail == 2) {
      for (int i = 0; i < 1000; ++i) bytes.push_back(static_cast<char>(rng()));
    }
    WriteFile(path, bytes);

    EventLog log(&store, o);
    ASSERT_TRUE(log.Open().ok());
    uint64_t last = log.last_seq();
    EXPECT_GE(last, 10u);
    EXPECT_LE(last, 18u);
    auto r = AppendSync(log, group);  // the client's retry
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->duplicates, last - 10);
    EXPECT_EQ(r->stored, 18 - last);
    auto all = log.Read(1, 100);
    ASSERT_TRUE(all.ok()) << all.status().ToString();
    ASSERT_EQ(all->size(), 18u);
    std::set<std::string> ids;
    for (const Event& e : *all) ids.insert(e.message_id);
    EXPECT_EQ(ids.size(), 18u);
  }
}

TEST_F(SegmentLogTest, DamagedAcknowledgedRecordInActiveSegmentFailsOpen) {
  {
    EventLog log(&store_, Options(1 << 20));
    ASSERT_TRUE(log.Open().ok());
    Fill(log, "a", 20);
  }
  auto segs = Files(LogDir(), ".seg");
  std::string bytes = ReadFile(segs[0]);
  size_t end = 0;
  auto offsets = RecordOffsets(bytes, &end);
  bytes[offsets[19] + 30] ^= 0x40;  // the very last record, acknowledged
  WriteFile(segs[0], bytes);
  EventLog log(&store_, Options(1 << 20));
  Status s = log.Open();
  EXPECT_EQ(s.code(), StatusCode::kCorruption) << s.ToString();
  EXPECT_NE(s.message().find("seq 20"), std::string::npos) << s.message();
  // Nothing was cut: the file is as it was.
  EXPECT_EQ(ReadFile(segs[0]), bytes);
}

TEST_F(SegmentLogTest, DamagedRecordInSealedSegmentIsReportedNeverSkipped) {
  {
    EventLog log(&store_, Options());
    ASSERT_TRUE(log.Open().ok());
    Fill(log, "a", 100);
  }
  auto segs = Files(LogDir(), ".seg");
  ASSERT_GT(segs.size(), 2u);
  std::string bytes = ReadFile(segs[1]);
  size_t end = 0;
  auto offsets = RecordOffsets(bytes, &end);
  ASSERT_GT(offsets.size(), 2u);
  uint64_t first = *segment::ParseSegmentName(fs::path(segs[1]).filename().string());
  bytes[offsets[1] + 20] ^= 0x01;
  WriteFile(segs[1], bytes);
  const uint64_t bad = first + 1;

  EventLog log(&store_, Options());
  ASSERT_TRUE(log.Open().ok());  // sealed segments are trusted to their index at open
  EXPECT_EQ(log.ReadOne(bad).status().code(), StatusCode::kCorruption);
  EXPECT_TRUE(log.ReadOne(bad - 1).ok());
  EXPECT_TRUE(log.ReadOne(bad + 1).ok());
  auto all = log.Read(1, 1000);
  EXPECT_EQ(all.status().code(), StatusCode::kCorruption);
  auto before = log.Read(1, bad - 1);
  ASSERT_TRUE(before.ok());
  EXPECT_EQ(before->size(), bad - 1);
  EXPECT_EQ(log.Read(bad + 1, 1000)->size(), 100 - bad);
  log.Close();

  // Without its index the sealed segment is scanned at open, and the damage found there.
  fs::remove(LogDir() + "/" + segment::IndexName(first));
  EventLog again(&store_, Options());
  Status s = again.Open();
  EXPECT_EQ(s.code(), StatusCode::kCorruption) << s.ToString();
}

TEST_F(SegmentLogTest, MissingIndexIsRebuiltFromTheSegment) {
  {
    EventLog log(&store_, Options());
    ASSERT_TRUE(log.Open().ok());
    Fill(log, "a", 100);
  }
  auto idxs = Files(LogDir(), ".idx");
  ASSERT_GT(idxs.size(), 2u);
  fs::remove(idxs[0]);
  WriteFile(idxs[1], "garbage");
  WriteFile(LogDir() + "/" + segment::IndexName(999) + ".tmp", "half-written");
  EventLog log(&store_, Options());
  ASSERT_TRUE(log.Open().ok());
  auto all = log.Read(1, 1000);
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  EXPECT_EQ(all->size(), 100u);
  EXPECT_FALSE(fs::exists(LogDir() + "/" + segment::IndexName(999) + ".tmp"));
  // Both indexes are written again.
  EXPECT_TRUE(fs::exists(idxs[0]));
  EXPECT_GT(fs::file_size(idxs[1]), segment::kIndexHeaderSize);
}

TEST_F(SegmentLogTest, InterruptedSegmentCreationIsUndone) {
  {
    EventLog log(&store_, Options());
    ASSERT_TRUE(log.Open().ok());
    Fill(log, "a", 30);
  }
  // Died after creating the next segment, before its header was synced.
  WriteFile(LogDir() + "/" + segment::SegmentName(31), std::string(4096, '\0'));
  EventLog log(&store_, Options());
  ASSERT_TRUE(log.Open().ok());
  EXPECT_EQ(log.last_seq(), 30u);
  EXPECT_FALSE(fs::exists(LogDir() + "/" + segment::SegmentName(31)));
  Fill(log, "b", 30);
  EXPECT_EQ(log.Read(1, 1000)->size(), 60u);
}

TEST_F(SegmentLogTest, MissingSegmentsAreReportedNotRecreated) {
  {
    EventLog log(&store_, Options());
    ASSERT_TRUE(log.Open().ok());
    Fill(log, "a", 100);
  }
  auto segs = Files(LogDir(), ".seg");
  // The newest segment vanished: the store's mark says acknowledged events are missing.
  fs::remove(segs.back());
  {
    EventLog log(&store_, Options());
    EXPECT_EQ(log.Open().code(), StatusCode::kCorruption);
  }
  // A segment in the middle vanished.
  TempDir other;
  storage::MemoryStore store;
  LogOptions o = Options();
  o.dir = other.path();
  {
    EventLog log(&store, o);
    ASSERT_TRUE(log.Open().ok());
    Fill(log, "a", 100);
  }
  fs::remove(Files(other.path(), ".seg")[2]);
  {
    EventLog log(&store, o);
    EXPECT_EQ(log.Open().code(), StatusCode::kCorruption);
  }
  // The first segment vanished.
  fs::remove(Files(other.path(), ".seg")[0]);
  EventLog log(&store, o);
  Status s = log.Open();
  EXPECT_EQ(s.code(), StatusCode::kCorruption);
  EXPECT_NE(s.message().find("earlier segments are missing"), std::string::npos) << s.ToString();
}

TEST_F(SegmentLogTest, DedupeHoldsAcrossRestartAndAfterALostIndex) {
  {
    EventLog log(&store_, Options());
    ASSERT_TRUE(log.Open().ok());
    Fill(log, "a", 40);
  }
  {
    EventLog log(&store_, Options());
    ASSERT_TRUE(log.Open().ok());
    auto r = AppendSync(log, {MakeEvent("a3"), MakeEvent("a39"), MakeEvent("new")});
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->stored, 1u);
    EXPECT_EQ(r->duplicates, 2u);
    EXPECT_EQ(*log.FindMessage("a39"), 40u);
    EXPECT_EQ(*log.FindMessage("new"), 41u);
  }
  // The store lost the index of the last events (say the index write failed after the log's
  // fsync): Open indexes the log's tail past the mark again.
  storage::WriteBatch lose;
  for (int i = 20; i < 40; ++i) lose.Delete(storage::Space::kDedupe, "a" + std::to_string(i));
  lose.Delete(storage::Space::kDedupe, "new");
  lose.Put(storage::Space::kLog, EventLog::kIndexedSeqKey, EventLog::SeqKey(20));
  ASSERT_TRUE(store_.Write(lose, {.sync = true}).ok());
  EventLog log(&store_, Options());
  ASSERT_TRUE(log.Open().ok());
  auto r = AppendSync(log, {MakeEvent("a25"), MakeEvent("new"), MakeEvent("a5"), MakeEvent("x")});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->stored, 1u);
  EXPECT_EQ(r->duplicates, 3u);
  std::string mark;
  ASSERT_TRUE(store_.Get(storage::Space::kLog, EventLog::kIndexedSeqKey, &mark).ok());
  EXPECT_EQ(DecodeFixed64BE(mark.data()), 42u);
}

TEST_F(SegmentLogTest, AppendMakesEarlierStoreWritesDurable) {
  // The pipeline and the audience engine write derived state unsynced and rely on the next
  // acknowledged append to make it durable (as one RocksDB WAL did when events lived there).
  {
    EventLog log(&store_, Options());
    ASSERT_TRUE(log.Open().ok());
    storage::WriteBatch derived;
    derived.Put(storage::Space::kProfiles, "p", "before the append");
    ASSERT_TRUE(store_.Write(derived, {}).ok());
    ASSERT_TRUE(AppendSync(log, {MakeEvent("a")}).ok());
    storage::WriteBatch later;
    later.Put(storage::Space::kProfiles, "q", "after the append");
    ASSERT_TRUE(store_.Write(later, {}).ok());
  }
  store_.TEST_SimulateCrash();
  std::string v;
  EXPECT_TRUE(store_.Get(storage::Space::kProfiles, "p", &v).ok());
  EXPECT_EQ(store_.Get(storage::Space::kProfiles, "q", &v).code(), StatusCode::kNotFound);
  EventLog log(&store_, Options());
  ASSERT_TRUE(log.Open().ok());
  EXPECT_EQ(log.last_seq(), 1u);
  EXPECT_EQ(*log.FindMessage("a"), 1u);
}

TEST_F(SegmentLogTest, StaleIndexEntryDoesNotSwallowANewEvent) {
  EventLog log(&store_, Options());
  ASSERT_TRUE(log.Open().ok());
  Fill(log, "a", 5);
  // An index entry naming a seq whose record is another message (or beyond the log).
  storage::WriteBatch b;
  b.Put(storage::Space::kDedupe, "ghost", EventLog::SeqKey(2));
  b.Put(storage::Space::kDedupe, "future", EventLog::SeqKey(99));
  ASSERT_TRUE(store_.Write(b, {}).ok());
  auto r = AppendSync(log, {MakeEvent("ghost"), MakeEvent("future")});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->stored, 2u);
  EXPECT_EQ(*log.FindMessage("ghost"), 6u);
}

TEST_F(SegmentLogTest, IndexWriteFailureStopsAppendsUntilRestart) {
  {
    EventLog log(&store_, Options());
    ASSERT_TRUE(log.Open().ok());
    Fill(log, "a", 10);
    store_.TEST_FailWritesAfter(0);
    auto r = AppendSync(log, {MakeEvent("b1"), MakeEvent("b2")});
    EXPECT_FALSE(r.ok());
    // The records reached the log (synced) before the index write failed: they are readable,
    // and the log takes no more appends, since a retry could not be deduplicated.
    EXPECT_EQ(log.last_seq(), 12u);
    EXPECT_EQ(log.Append({MakeEvent("c")}, [](Result<AppendResult>) {}).code(),
              StatusCode::kIOError);
    store_.TEST_FailWritesAfter(std::nullopt);
  }
  EventLog log(&store_, Options());
  ASSERT_TRUE(log.Open().ok());
  EXPECT_EQ(log.last_seq(), 12u);
  auto r = AppendSync(log, {MakeEvent("b1"), MakeEvent("b2"), MakeEvent("c")});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->duplicates, 2u);  // the client's retry
  EXPECT_EQ(r->stored, 1u);
}

TEST_F(SegmentLogTest, MovesAPreSegmentLogOutOfTheStore) {
  // The layout before segment files: seq (u64 BE) -> event in the log space, messageId -> seq
  // in the dedupe space, written together.
  {
    storage::WriteBatch old;
    for (uint64_t seq = 1; seq <= 500; ++seq) {
      Event e = MakeEvent("old" + std::to_string(seq));
      e.seq = seq;
      old.Put(storage::Space::kLog, EventLog::SeqKey(seq), EncodeEvent(e));
      old.Put(storage::Space::kDedupe, e.message_id, EventLog::SeqKey(seq));
    }
    ASSERT_TRUE(store_.Write(old, {.sync = true}).ok());
  }
  {
    EventLog log(&store_, Options(64 << 10));
    ASSERT_TRUE(log.Open().ok());
    EXPECT_EQ(log.last_seq(), 500u);
    EXPECT_GT(log.segment_count(), 1u);
    auto all = log.Read(1, 1000);
    ASSERT_TRUE(all.ok());
    ASSERT_EQ(all->size(), 500u);
    EXPECT_EQ((*all)[499].message_id, "old500");
    auto r = AppendSync(log, {MakeEvent("old7"), MakeEvent("new")});
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->duplicates, 1u);
    EXPECT_EQ(r->last_seq, 501u);
  }
  // The space holds only the index mark now.
  auto it = store_.NewIterator(storage::Space::kLog);
  it->SeekToFirst();
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ(it->key(), EventLog::kIndexedSeqKey);
  it->Next();
  EXPECT_FALSE(it->Valid());
  EventLog log(&store_, Options(64 << 10));
  ASSERT_TRUE(log.Open().ok());
  EXPECT_EQ(log.last_seq(), 501u);
}

TEST_F(SegmentLogTest, InterruptedMoveResumes) {
  storage::WriteBatch old;
  for (uint64_t seq = 1; seq <= 50; ++seq) {
    Event e = MakeEvent("old" + std::to_string(seq));
    e.seq = seq;
    old.Put(storage::Space::kLog, EventLog::SeqKey(seq), EncodeEvent(e));
    old.Put(storage::Space::kDedupe, e.message_id, EventLog::SeqKey(seq));
  }
  ASSERT_TRUE(store_.Write(old, {.sync = true}).ok());
  {
    EventLog log(&store_, Options());
    ASSERT_TRUE(log.Open().ok());
  }
  // Died half-way: the segments hold it all but the store's space still holds part of it (its
  // clearing was cut short), and the mark was not written.
  storage::WriteBatch again;
  for (uint64_t seq = 30; seq <= 50; ++seq) {
    Event e = MakeEvent("old" + std::to_string(seq));
    e.seq = seq;
    again.Put(storage::Space::kLog, EventLog::SeqKey(seq), EncodeEvent(e));
  }
  again.Delete(storage::Space::kLog, EventLog::kIndexedSeqKey);
  ASSERT_TRUE(store_.Write(again, {.sync = true}).ok());
  EventLog log(&store_, Options());
  ASSERT_TRUE(log.Open().ok());
  EXPECT_EQ(log.last_seq(), 50u);
  EXPECT_EQ(log.Read(1, 100)->size(), 50u);
}

TEST_F(SegmentLogTest, ReadersRaceTheCommitter) {
  EventLog log(&store_, Options(16 << 10));
  ASSERT_TRUE(log.Open().ok());
  constexpr int kWriters = 4, kPerWriter = 300;
  constexpr uint64_t kTotal = kWriters * kPerWriter;
  std::atomic<bool> failed{false};
  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      for (int i = 0; i < kPerWriter; i += 3) {
        std::vector<Event> batch;
        for (int j = i; j < i + 3; ++j) {
          batch.push_back(MakeEvent(std::to_string(w) + "-" + std::to_string(j), 20 + j % 200));
        }
        if (!AppendSync(log, std::move(batch)).ok()) failed = true;
      }
    });
  }
  // A follower (as the pipeline), reading runs after its cursor.
  threads.emplace_back([&] {
    uint64_t cursor = 0;
    while (cursor < kTotal && !failed) {
      log.WaitForNewer(cursor, std::chrono::milliseconds(50));
      auto run = log.Read(cursor + 1, 17);
      if (!run.ok()) {
        ADD_FAILURE() << run.status().ToString();
        failed = true;
        return;
      }
      for (const Event& e : *run) {
        if (e.seq != cursor + 1 || e.seq > log.last_seq()) {
          ADD_FAILURE() << "seq " << e.seq << " after " << cursor;
          failed = true;
          return;
        }
        cursor = e.seq;
      }
    }
  });
  // Point readers (as the profile API), at random durable seqs.
  for (int r = 0; r < 2; ++r) {
    threads.emplace_back([&, r] {
      std::mt19937_64 rng(r);
      while (log.last_seq() < kTotal && !failed) {
        uint64_t last = log.last_seq();
        if (last == 0) continue;
        uint64_t seq = 1 + rng() % last;
        auto e = log.ReadOne(seq);
        if (!e.ok() || e->seq != seq) {
          ADD_FAILURE() << "seq " << seq << ": " << e.status().ToString();
          failed = true;
          return;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_FALSE(failed);
  EXPECT_EQ(log.last_seq(), kTotal);
  EXPECT_GT(log.segment_count(), 5u);
  auto all = log.Read(1, kTotal + 10);
  ASSERT_TRUE(all.ok());
  std::vector<std::string> list = Ids(*all);
  std::set<std::string> ids(list.begin(), list.end());
  EXPECT_EQ(ids.size(), kTotal);
}

TEST(SegmentLogRocksTest, LivesUnderTheStoreDirectory) {
  TempDir dir;
  const std::string store_path = dir.path() + "/store";
  {
    auto store = storage::OpenRocksStore(store_path, {});
    ASSERT_TRUE(store.ok());
    EventLog log(store->get(), {});
    ASSERT_TRUE(log.Open().ok());
    EXPECT_EQ(log.directory(), store_path + "/eventlog");
    ASSERT_TRUE(AppendSync(log, {MakeEvent("a"), MakeEvent("b")}).ok());
  }
  EXPECT_EQ(Files(store_path + "/eventlog", ".seg").size(), 1u);
  auto store = storage::OpenRocksStore(store_path, {});
  ASSERT_TRUE(store.ok());
  EventLog log(store->get(), {});
  ASSERT_TRUE(log.Open().ok());
  EXPECT_EQ(log.last_seq(), 2u);
  EXPECT_EQ(*log.FindMessage("b"), 2u);
  auto r = AppendSync(log, {MakeEvent("a"), MakeEvent("c")});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->stored, 1u);
  EXPECT_EQ(log.ReadOne(3)->message_id, "c");
}

TEST(SegmentLogRocksTest, MovesAPreSegmentDataDirOnOpen) {
  TempDir dir;
  const std::string store_path = dir.path() + "/store";
  {
    // What the RocksDB-only log left: events in the log column family, synced with their index.
    auto store = storage::OpenRocksStore(store_path, {});
    ASSERT_TRUE(store.ok());
    storage::WriteBatch old;
    for (uint64_t seq = 1; seq <= 100; ++seq) {
      Event e = MakeEvent("old" + std::to_string(seq));
      e.seq = seq;
      old.Put(storage::Space::kLog, EventLog::SeqKey(seq), EncodeEvent(e));
      old.Put(storage::Space::kDedupe, e.message_id, EventLog::SeqKey(seq));
    }
    ASSERT_TRUE((*store)->Write(old, {.sync = true}).ok());
  }
  auto store = storage::OpenRocksStore(store_path, {});
  ASSERT_TRUE(store.ok());
  EventLog log(store->get(), {});
  ASSERT_TRUE(log.Open().ok());
  EXPECT_EQ(log.last_seq(), 100u);
  EXPECT_EQ(log.ReadOne(77)->message_id, "old77");
  auto r = AppendSync(log, {MakeEvent("old5"), MakeEvent("new")});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->duplicates, 1u);
  EXPECT_EQ(r->last_seq, 101u);
  std::string v;
  EXPECT_EQ((*store)->Get(storage::Space::kLog, EventLog::SeqKey(1), &v).code(),
            StatusCode::kNotFound);
}

}  // namespace
}  // namespace tessera::eventlog
