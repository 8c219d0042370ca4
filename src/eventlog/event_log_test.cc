#include "eventlog/event_log.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <set>

#include "storage/memory_store.h"

namespace tessera::eventlog {
namespace {

Event MakeEvent(std::string message_id) {
  Event e;
  e.message_id = std::move(message_id);
  e.user_id = "u";
  e.identifiers = {{"user_id", "u"}};
  e.json = R"({"type":"track"})";
  return e;
}

Result<AppendResult> AppendSync(EventLog& log, std::vector<Event> events) {
  std::promise<Result<AppendResult>> p;
  auto f = p.get_future();
  Status s = log.Append(std::move(events), [&p](Result<AppendResult> r) { p.set_value(r); });
  if (!s.ok()) return s;
  return f.get();
}

TEST(EventLogTest, AppendsInOrderAndDedupes) {
  storage::MemoryStore store;
  EventLog log(&store, {});
  ASSERT_TRUE(log.Open().ok());
  auto r = AppendSync(log, {MakeEvent("a"), MakeEvent("b"), MakeEvent("a")});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->stored, 2u);
  EXPECT_EQ(r->duplicates, 1u);
  EXPECT_EQ(r->last_seq, 2u);
  r = AppendSync(log, {MakeEvent("b"), MakeEvent("c")});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->stored, 1u);
  EXPECT_EQ(r->duplicates, 1u);
  auto events = log.Read(1, 100);
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 3u);
  EXPECT_EQ((*events)[0].message_id, "a");
  EXPECT_EQ((*events)[2].message_id, "c");
  EXPECT_EQ((*events)[2].seq, 3u);
  EXPECT_EQ(*log.FindMessage("b"), 2u);
  EXPECT_EQ(log.FindMessage("zz").status().code(), StatusCode::kNotFound);
}

TEST(EventLogTest, ReopenResumesSequence) {
  storage::MemoryStore store;
  {
    EventLog log(&store, {});
    ASSERT_TRUE(log.Open().ok());
    ASSERT_TRUE(AppendSync(log, {MakeEvent("a"), MakeEvent("b")}).ok());
  }
  EventLog log(&store, {});
  ASSERT_TRUE(log.Open().ok());
  EXPECT_EQ(log.last_seq(), 2u);
  auto r = AppendSync(log, {MakeEvent("a"), MakeEvent("c")});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->stored, 1u);
  EXPECT_EQ(log.ReadOne(3)->message_id, "c");
}

TEST(EventLogTest, AcknowledgedSurvivesCrash) {
  storage::MemoryStore store;
  {
    EventLog log(&store, {});
    ASSERT_TRUE(log.Open().ok());
    ASSERT_TRUE(AppendSync(log, {MakeEvent("a")}).ok());
    // Something unsynced lands after the acknowledged append and is lost in the crash.
    storage::WriteBatch b;
    b.Put(storage::Space::kMeta, "x", "y");
    ASSERT_TRUE(store.Write(b, {}).ok());
  }
  store.TEST_SimulateCrash();
  EventLog log(&store, {});
  ASSERT_TRUE(log.Open().ok());
  EXPECT_EQ(log.last_seq(), 1u);
  EXPECT_EQ(log.ReadOne(1)->message_id, "a");
}

TEST(EventLogTest, WriteFailureIsReportedAndNothingAdvances) {
  storage::MemoryStore store;
  EventLog log(&store, {});
  ASSERT_TRUE(log.Open().ok());
  store.TEST_FailWritesAfter(0);
  auto r = AppendSync(log, {MakeEvent("a")});
  EXPECT_EQ(r.status().code(), StatusCode::kIOError);
  EXPECT_EQ(log.last_seq(), 0u);
  store.TEST_FailWritesAfter(std::nullopt);
  r = AppendSync(log, {MakeEvent("a")});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->stored, 1u);
  EXPECT_EQ(r->last_seq, 1u);
}

TEST(EventLogTest, FullQueueAnswersUnavailable) {
  storage::MemoryStore store;
  EventLog log(&store, {.max_pending_bytes = 1});
  ASSERT_TRUE(log.Open().ok());
  // Block the committer inside the first callback so the queue fills.
  std::promise<void> release;
  auto released = release.get_future().share();
  std::promise<void> entered;
  ASSERT_TRUE(log.Append({MakeEvent("a")}, [&](Result<AppendResult>) {
                   entered.set_value();
                   released.wait();
                 }).ok());
  entered.get_future().wait();
  ASSERT_TRUE(log.Append({MakeEvent("b")}, [](Result<AppendResult>) {}).ok());
  Status s = log.Append({MakeEvent("c")}, [](Result<AppendResult>) {});
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  release.set_value();
  log.Close();
  EXPECT_EQ(log.last_seq(), 2u);
  EXPECT_EQ(log.Append({MakeEvent("d")}, [](Result<AppendResult>) {}).code(),
            StatusCode::kUnavailable);
}

TEST(EventLogTest, ConcurrentAppendsShareCommitsAndLoseNothing) {
  storage::MemoryStore store;
  EventLog log(&store, {});
  ASSERT_TRUE(log.Open().ok());
  constexpr int kThreads = 8, kPerThread = 200;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        // Every message is sent twice, as an SDK retry would.
        std::string id = std::to_string(t) + "-" + std::to_string(i);
        ASSERT_TRUE(AppendSync(log, {MakeEvent(id), MakeEvent(id)}).ok());
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(log.last_seq(), uint64_t{kThreads * kPerThread});
  auto events = log.Read(1, 1 << 20);
  ASSERT_TRUE(events.ok());
  std::set<std::string> ids;
  for (size_t i = 0; i < events->size(); ++i) {
    EXPECT_EQ((*events)[i].seq, i + 1);
    ids.insert((*events)[i].message_id);
  }
  EXPECT_EQ(ids.size(), size_t{kThreads * kPerThread});
}

TEST(EventLogTest, QueuedAppendsShareOneSyncedWrite) {
  storage::MemoryStore store;
  EventLog log(&store, {});
  ASSERT_TRUE(log.Open().ok());
  // Hold the committer inside the first callback while 20 more appends queue up.
  std::promise<void> release, entered;
  auto released = release.get_future().share();
  ASSERT_TRUE(log.Append({MakeEvent("first")}, [&](Result<AppendResult>) {
                   entered.set_value();
                   released.wait();
                 }).ok());
  entered.get_future().wait();
  std::atomic<int> acked{0};
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(log.Append({MakeEvent("q" + std::to_string(i))},
                           [&](Result<AppendResult> r) { acked += r.ok(); })
                    .ok());
  }
  release.set_value();
  log.Close();
  EXPECT_EQ(acked.load(), 20);
  EXPECT_EQ(log.last_seq(), 21u);
  EXPECT_EQ(log.group_commits(), 2u);  // the first append, then all 20 in one write
}

TEST(EventLogTest, WaitForNewerWakesOnAppend) {
  storage::MemoryStore store;
  EventLog log(&store, {});
  ASSERT_TRUE(log.Open().ok());
  EXPECT_FALSE(log.WaitForNewer(0, std::chrono::milliseconds(10)));
  std::thread t([&] { ASSERT_TRUE(AppendSync(log, {MakeEvent("a")}).ok()); });
  EXPECT_TRUE(log.WaitForNewer(0, std::chrono::seconds(10)));
  t.join();
}

}  // namespace
}  // namespace tessera::eventlog
