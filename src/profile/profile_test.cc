#include "profile/profile.h"

#include <gtest/gtest.h>

#include "storage/memory_store.h"

namespace tessera::profile {
namespace {

Event Identify(uint64_t seq, TimeMs ts, std::string traits, std::string source = "src_web") {
  Event e;
  e.seq = seq;
  e.type = MessageType::kIdentify;
  e.message_id = "m" + std::to_string(seq);
  e.source_id = std::move(source);
  e.timestamp = ts;
  e.traits_json = std::move(traits);
  return e;
}

class ProfileTest : public ::testing::Test {
 protected:
  void Apply(const Event& e, const std::string& id, std::vector<std::string> merged = {}) {
    storage::StagedWrites staged(&store_);
    ASSERT_TRUE(ApplyEvent(e, id, merged, &staged).ok());
    ASSERT_TRUE(staged.Commit({}).ok());
  }
  Profile Load(const std::string& id) { return *LoadProfile(&store_, id); }
  storage::MemoryStore store_;
};

TEST_F(ProfileTest, TraitsAreLastWriterWinsByTimestampWithProvenance) {
  Apply(Identify(1, 2000, R"({"plan":"pro","name":"Ada"})"), "tsr_a");
  // Arrives later but happened earlier: must not overwrite plan.
  Apply(Identify(2, 1000, R"({"plan":"free","city":"Paris"})", "src_store"), "tsr_a");
  Profile p = Load("tsr_a");
  EXPECT_EQ(p.traits["plan"].json, R"("pro")");
  EXPECT_EQ(p.traits["plan"].message_id, "m1");
  EXPECT_EQ(p.traits["city"].json, R"("Paris")");
  EXPECT_EQ(p.traits["city"].source_id, "src_store");
  EXPECT_EQ(p.traits["city"].at, 1000);
  EXPECT_EQ(p.first_seen, 1000);
  EXPECT_EQ(p.last_seen, 2000);
  EXPECT_EQ(p.event_count, 2u);
  EXPECT_EQ(p.sources, (std::vector<std::string>{"src_store", "src_web"}));
}

TEST_F(ProfileTest, MergeFoldsTraitsAndRemovesTheOldRecord) {
  Apply(Identify(1, 1000, R"({"name":"anon visitor","cart":3})"), "tsr_b");
  Apply(Identify(2, 500, R"({"name":"Ada Lovelace"})", "src_crm"), "tsr_a");
  Event login = Identify(3, 3000, R"({"email":"ada@example.com"})");
  Apply(login, "tsr_a", {"tsr_b"});
  Profile p = Load("tsr_a");
  EXPECT_EQ(p.traits["name"].json, R"("anon visitor")");  // newer (1000 > 500)
  EXPECT_EQ(p.traits["cart"].json, "3");
  EXPECT_EQ(p.traits["email"].json, R"("ada@example.com")");
  EXPECT_EQ(p.event_count, 3u);
  EXPECT_EQ(p.first_seen, 500);
  EXPECT_EQ(LoadProfile(&store_, "tsr_b").status().code(), StatusCode::kNotFound);
}

TEST_F(ProfileTest, TimelineMergesFragmentsNewestFirstWithCursor) {
  Apply(Identify(1, 1000, "{}"), "tsr_a");
  Apply(Identify(2, 4000, "{}"), "tsr_b");
  Apply(Identify(3, 3000, "{}"), "tsr_a");
  Apply(Identify(4, 2000, "{}"), "tsr_b");
  Apply(Identify(5, 3000, "{}"), "tsr_b");  // same time as seq 3: the newer seq comes first
  std::vector<uint64_t> all;
  std::string cursor;
  int pages = 0;
  do {
    auto page = ReadTimeline(&store_, {"tsr_a", "tsr_b"}, 2, cursor);
    ASSERT_TRUE(page.ok());
    all.insert(all.end(), page->seqs.begin(), page->seqs.end());
    cursor = page->next_cursor;
    ++pages;
  } while (!cursor.empty());
  EXPECT_EQ(all, (std::vector<uint64_t>{2, 5, 3, 4, 1}));
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(ReadTimeline(&store_, {"tsr_a"}, 10, "zz").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(ReadTimeline(&store_, {"tsr_a"}, 10, "")->seqs, (std::vector<uint64_t>{3, 1}));
}

TEST_F(ProfileTest, NegativeTimesSortBeforePositive) {
  Apply(Identify(1, -5000, "{}"), "tsr_a");
  Apply(Identify(2, 5000, "{}"), "tsr_a");
  EXPECT_EQ(ReadTimeline(&store_, {"tsr_a"}, 10, "")->seqs, (std::vector<uint64_t>{2, 1}));
}

TEST_F(ProfileTest, ConsentIsLastWriterWinsPerPurposeAndFoldsOnMerge) {
  Event yes = Identify(1, 2000, "");
  yes.type = MessageType::kTrack;
  yes.consent_json = R"({"email":true,"sms":true})";
  Apply(yes, "tsr_a");
  Event older_no = Identify(2, 1000, "");
  older_no.consent_json = R"({"email":false})";
  Apply(older_no, "tsr_a");
  Profile p = Load("tsr_a");
  EXPECT_TRUE(p.consent["email"].granted);  // the later choice stands
  EXPECT_EQ(p.consent["email"].message_id, "m1");
  EXPECT_TRUE(p.consent["sms"].granted);

  Event other = Identify(3, 3000, "");
  other.consent_json = R"({"sms":false,"ads":true})";
  Apply(other, "tsr_b");
  Apply(Identify(4, 4000, "{}"), "tsr_a", {"tsr_b"});
  p = Load("tsr_a");
  EXPECT_FALSE(p.consent["sms"].granted);  // tsr_b's choice is newer
  EXPECT_EQ(p.consent["sms"].at, 3000);
  EXPECT_TRUE(p.consent["ads"].granted);
  EXPECT_TRUE(p.consent["email"].granted);
}

TEST_F(ProfileTest, TimelineValuesNameTheEvent) {
  Event e = Identify(7, 100, "{}");
  e.type = MessageType::kTrack;
  e.event = "Order Completed";
  std::string key = TimelineKey("tsr_a", 100, 7);
  EXPECT_EQ(TimelineKeySeq(key), 7u);
  std::string bytes = EncodeTimelineValue(e);
  auto v = DecodeTimelineValue(bytes);
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->type, MessageType::kTrack);
  EXPECT_EQ(v->name, "Order Completed");
  EXPECT_FALSE(v->system);
  e.source_id = std::string(kSystemSourceId);
  e.event = "Audience Entered";
  bytes = EncodeTimelineValue(e);
  v = DecodeTimelineValue(bytes);
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->type, MessageType::kTrack);
  EXPECT_EQ(v->name, "Audience Entered");
  EXPECT_TRUE(v->system);
  EXPECT_FALSE(DecodeTimelineValue("").has_value());
  EXPECT_FALSE(DecodeTimelineValue("\x7fX").has_value());
}

TEST(ProfileCodecTest, RoundTripAndTruncation) {
  Profile p;
  p.tessera_id = "tsr_x";
  p.traits["a"] = {"1", 5, "s", "m"};
  p.consent["email"] = {true, 7, "s", "m2"};
  p.sources = {"s"};
  p.event_count = 9;
  std::string bytes = EncodeProfile(p);
  EXPECT_EQ(*DecodeProfile(bytes), p);
  for (size_t i = 0; i < bytes.size(); ++i) EXPECT_FALSE(DecodeProfile(bytes.substr(0, i)).ok());
}

}  // namespace
}  // namespace tessera::profile
