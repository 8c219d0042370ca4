#include "pipeline/processor.h"

#include <gtest/gtest.h>

#include <future>

#include "core/coding.h"
#include "profile/profile.h"
#include "storage/memory_store.h"

namespace tessera::pipeline {
namespace {

Event Msg(std::string id, std::vector<Identifier> ids, TimeMs ts, std::string traits = "") {
  Event e;
  e.message_id = std::move(id);
  e.type = traits.empty() ? MessageType::kTrack : MessageType::kIdentify;
  e.source_id = "src";
  e.timestamp = ts;
  e.identifiers = std::move(ids);
  e.traits_json = std::move(traits);
  e.json = "{}";
  return e;
}

void AppendSync(eventlog::EventLog& log, std::vector<Event> events) {
  std::promise<void> done;
  ASSERT_TRUE(log.Append(std::move(events), [&](Result<eventlog::AppendResult> r) {
                   EXPECT_TRUE(r.ok());
                   done.set_value();
                 }).ok());
  done.get_future().wait();
}

std::vector<Event> Story() {
  return {
      Msg("1", {{"anonymous_id", "web"}}, 1000),
      Msg("2", {{"anonymous_id", "app"}}, 2000),
      Msg("3", {{"user_id", "u"}, {"anonymous_id", "web"}}, 3000, R"({"name":"Ada"})"),
      Msg("4", {{"user_id", "u"}, {"anonymous_id", "app"}}, 4000, R"({"plan":"pro"})"),
  };
}

// Everything derived (identity, profiles, timeline, cursor) as one comparable dump.
std::string DumpDerived(storage::Store* store) {
  std::string out;
  for (auto space : {storage::Space::kIdentity, storage::Space::kProfiles,
                     storage::Space::kTimeline, storage::Space::kMeta}) {
    auto it = store->NewIterator(space);
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      out += std::string(it->key()) + "=" + std::string(it->value()) + "\n";
    }
  }
  return out;
}

// A running processor over a fresh store that has processed Story().
struct StoryProcessed : ::testing::Test {
  void SetUp() override {
    ASSERT_TRUE(log.Open().ok());
    ASSERT_TRUE(processor.Start().ok());
    AppendSync(log, Story());
    ASSERT_TRUE(processor.WaitProcessed(4, std::chrono::seconds(5)));
  }
  storage::MemoryStore store;
  eventlog::EventLog log{&store, {}};
  Processor processor{&store, &log, {}};
};

TEST_F(StoryProcessed, ProfilesReflectEventsAndStitchHistory) {
  auto id = identity::IdentityGraph::Lookup(&store, {"user_id", "u"});
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(*identity::IdentityGraph::Lookup(&store, {"anonymous_id", "app"}), *id);
  auto node = identity::IdentityGraph::LoadLive(&store, *id);
  auto p = profile::LoadProfile(&store, *id);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->event_count, 4u);
  EXPECT_EQ(p->traits["name"].json, R"("Ada")");
  EXPECT_EQ(p->traits["plan"].json, R"("pro")");
  auto page = profile::ReadTimeline(&store, node->fragments, 10, "");
  EXPECT_EQ(page->seqs, (std::vector<uint64_t>{4, 3, 2, 1}));
  EXPECT_EQ(processor.merges(), 1u);
}

// Tessera's own events (an audience entry, addressed by tessera_id) go on the timeline of the
// profile they address, which they leave otherwise as it was: they are not customer activity.
TEST_F(StoryProcessed, OwnEventsOnlyJoinTheTimeline) {
  auto id = identity::IdentityGraph::Lookup(&store, {"user_id", "u"});
  ASSERT_TRUE(id.ok());
  auto before = profile::LoadProfile(&store, *id);
  ASSERT_TRUE(before.ok());
  Event own = Msg("tsr-aud-1", {{std::string(id_kind::kTesseraId), *id}}, 9000);
  own.source_id = std::string(kSystemSourceId);
  own.event = "Audience Entered";
  AppendSync(log, {own});
  ASSERT_TRUE(processor.WaitProcessed(5, std::chrono::seconds(5)));
  EXPECT_EQ(profile::LoadProfile(&store, *id).value(), *before);
  auto node = identity::IdentityGraph::LoadLive(&store, *id);
  auto page = profile::ReadTimeline(&store, node->fragments, 10, "");
  EXPECT_EQ(page->seqs, (std::vector<uint64_t>{5, 4, 3, 2, 1}));
}

TEST(ProcessorTest, CrashAndRestartConvergesToTheSameState) {
  storage::MemoryStore reference;
  {
    eventlog::EventLog log(&reference, {});
    ASSERT_TRUE(log.Open().ok());
    AppendSync(log, Story());
    Processor p(&reference, &log, {});
    ASSERT_TRUE(p.CatchUp().ok());
  }
  storage::MemoryStore store;
  {
    eventlog::EventLog log(&store, {});
    ASSERT_TRUE(log.Open().ok());
    Processor p(&store, &log, {}, {.max_batch_events = 1});
    AppendSync(log, {Story()[0], Story()[1]});
    ASSERT_TRUE(p.CatchUp().ok());
    AppendSync(log, {Story()[2], Story()[3]});  // synced: makes the derived writes durable too
    ASSERT_TRUE(p.CatchUp().ok());               // these derived writes are not synced
  }
  store.TEST_SimulateCrash();
  {
    eventlog::EventLog log(&store, {});
    ASSERT_TRUE(log.Open().ok());
    EXPECT_EQ(log.last_seq(), 4u);
    std::string cursor;
    ASSERT_TRUE(store.Get(storage::Space::kMeta, "pipeline/cursor", &cursor).ok());
    EXPECT_EQ(DecodeFixed64BE(cursor.data()), 2u);  // the crash took the last derived batches
    Processor p(&store, &log, {});
    ASSERT_TRUE(p.Start().ok());
    ASSERT_TRUE(p.WaitProcessed(4, std::chrono::seconds(5)));
    p.Stop();
  }
  EXPECT_EQ(DumpDerived(&store), DumpDerived(&reference));
}

// A log_ holding Story(), not yet processed.
class ProcessorStoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(log_.Open().ok());
    AppendSync(log_, Story());
  }
  storage::MemoryStore store_;
  eventlog::EventLog log_{&store_, {}};
};

TEST_F(ProcessorStoryTest, ResetAndRebuildGivesTheSameState) {
  Processor p(&store_, &log_, {});
  ASSERT_TRUE(p.CatchUp().ok());
  std::string before = DumpDerived(&store_);
  ASSERT_TRUE(Processor::ResetDerivedState(&store_).ok());
  EXPECT_EQ(DumpDerived(&store_), "");
  Processor again(&store_, &log_, {});
  ASSERT_TRUE(again.CatchUp().ok());
  EXPECT_EQ(DumpDerived(&store_), before);
}

TEST_F(ProcessorStoryTest, InterruptedResetIsCompletedBeforeProcessing) {
  {
    Processor p(&store_, &log_, {});
    ASSERT_TRUE(p.CatchUp().ok());
  }
  std::string before = DumpDerived(&store_);
  // The reset dies after its marker and the first cleared space.
  store_.TEST_FailWritesAfter(2);
  EXPECT_FALSE(Processor::ResetDerivedState(&store_).ok());
  store_.TEST_FailWritesAfter(std::nullopt);
  std::string cursor;
  ASSERT_TRUE(store_.Get(storage::Space::kMeta, "pipeline/cursor", &cursor).ok());
  Processor p(&store_, &log_, {});
  ASSERT_TRUE(p.Start().ok());
  ASSERT_TRUE(p.WaitProcessed(4, std::chrono::seconds(5)));
  p.Stop();
  EXPECT_EQ(DumpDerived(&store_), before);
}

TEST_F(ProcessorStoryTest, StoreFailureIsRetriedNotSkipped) {
  Processor processor(&store_, &log_, {});
  store_.TEST_FailWritesAfter(0);
  ASSERT_TRUE(processor.Start().ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(processor.processed_seq(), 0u);
  EXPECT_NE(processor.last_error(), "");
  store_.TEST_FailWritesAfter(std::nullopt);
  ASSERT_TRUE(processor.WaitProcessed(4, std::chrono::seconds(10)));
  EXPECT_EQ(processor.events_processed(), 4u);
}

}  // namespace
}  // namespace tessera::pipeline
