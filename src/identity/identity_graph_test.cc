#include "identity/identity_graph.h"

#include <gtest/gtest.h>

#include "identity/testutil.h"
#include "storage/memory_store.h"

namespace tessera::identity {
namespace {

using testing::CheckInvariants;
using testing::MakeEvent;

Identifier Uid(std::string v) { return {"user_id", std::move(v)}; }
Identifier Anon(std::string v) { return {"anonymous_id", std::move(v)}; }
Identifier Email(std::string v) { return {"email", std::move(v)}; }
Identifier Device(std::string v) { return {"device_id", std::move(v)}; }

class IdentityGraphTest : public ::testing::Test {
 protected:
  Resolution Apply(Event e) {
    storage::StagedWrites staged(&store_);
    auto r = graph_.Resolve(e, &staged);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_TRUE(staged.Commit({}).ok());
    return r.ok() ? *r : Resolution{};
  }
  Resolution Apply(std::vector<Identifier> ids, TimeMs ts = 1000) {
    return Apply(MakeEvent(++seq_, std::move(ids), ts));
  }
  std::string Owner(const Identifier& id) {
    auto r = IdentityGraph::Lookup(&store_, id);
    return r.ok() ? *r : "";
  }
  Node Live(const std::string& id) { return *IdentityGraph::LoadLive(&store_, id); }

  storage::MemoryStore store_;
  IdentityConfig config_;
  IdentityGraph graph_{config_};
  uint64_t seq_ = 0;
};

TEST_F(IdentityGraphTest, NewIdentifiersMakeOneProfile) {
  Resolution r = Apply({Uid("u1"), Email("ada@example.com"), Anon("a1")});
  EXPECT_TRUE(r.created);
  EXPECT_EQ(r.tessera_id, IdentityGraph::NewTesseraId(1));
  EXPECT_EQ(Owner(Uid("u1")), r.tessera_id);
  EXPECT_EQ(Owner(Email("ada@example.com")), r.tessera_id);
  EXPECT_EQ(Owner({"tessera_id", r.tessera_id}), r.tessera_id);
  EXPECT_EQ(Owner(Email("other@example.com")), "");
  Resolution again = Apply({Anon("a1")}, 5000);
  EXPECT_FALSE(again.created);
  EXPECT_EQ(again.tessera_id, r.tessera_id);
  Node n = Live(r.tessera_id);
  ASSERT_EQ(n.identifiers.size(), 3u);
  EXPECT_EQ(n.Find(Anon("a1"))->last_seen, 5000);
  EXPECT_EQ(n.Find(Uid("u1"))->last_seen, 1000);
  CheckInvariants(&store_, config_);
}

TEST_F(IdentityGraphTest, WebAndAppAnonymousHistoriesStitchOnLogin) {
  std::string web = Apply({Anon("web-1")}).tessera_id;
  std::string app = Apply({Anon("app-1"), Device("phone-1")}).tessera_id;
  ASSERT_NE(web, app);
  Resolution login_web = Apply({Uid("u1"), Anon("web-1")});
  EXPECT_EQ(login_web.tessera_id, web);  // the anonymous profile is adopted, id kept
  Resolution login_app = Apply({Uid("u1"), Anon("app-1")});
  EXPECT_EQ(login_app.tessera_id, web);
  EXPECT_EQ(login_app.merged, std::vector<std::string>{app});
  Node n = Live(web);
  EXPECT_EQ(n.fragments, (std::vector<std::string>{web, app}));
  EXPECT_EQ(n.identifiers.size(), 4u);
  ASSERT_EQ(n.merges.size(), 1u);
  EXPECT_EQ(n.merges[0].action, "merge");
  EXPECT_EQ(n.merges[0].from, app);
  EXPECT_EQ(n.merges[0].identifiers, std::vector<Identifier>{Anon("app-1")});
  // The folded profile's id still resolves.
  EXPECT_EQ(Owner({"tessera_id", app}), web);
  EXPECT_EQ(Owner(Device("phone-1")), web);
  CheckInvariants(&store_, config_);
}

TEST_F(IdentityGraphTest, SharedDeviceKeepsUsersApartAndFollowsTheNewest) {
  std::string alice = Apply({Uid("alice"), Device("family-tablet"), Anon("tab-anon")}).tessera_id;
  Resolution bob = Apply({Uid("bob"), Device("family-tablet"), Anon("tab-anon")});
  EXPECT_NE(bob.tessera_id, alice);
  EXPECT_TRUE(bob.created);
  EXPECT_EQ(Owner(Uid("alice")), alice);
  EXPECT_EQ(Owner(Uid("bob")), bob.tessera_id);
  EXPECT_EQ(Owner(Device("family-tablet")), bob.tessera_id);
  EXPECT_EQ(Owner(Anon("tab-anon")), bob.tessera_id);
  ASSERT_EQ(bob.changes.size(), 2u);
  EXPECT_EQ(bob.changes[0].action, "move");
  EXPECT_EQ(bob.changes[0].from, alice);
  // Alice logs in again on the tablet: the device comes back to her.
  EXPECT_EQ(Apply({Uid("alice"), Device("family-tablet")}).tessera_id, alice);
  EXPECT_EQ(Owner(Device("family-tablet")), alice);
  EXPECT_EQ(Live(alice).CountKind("user_id"), 1);
  auto live = CheckInvariants(&store_, config_);
  EXPECT_EQ(live.size(), 2u);
}

TEST_F(IdentityGraphTest, EmailSharedByTwoUsersDoesNotMergeThem) {
  std::string u1 = Apply({Uid("u1"), Email("family@example.com")}).tessera_id;
  std::string u2 = Apply({Uid("u2"), Email("family@example.com")}).tessera_id;
  EXPECT_NE(u1, u2);
  EXPECT_EQ(Live(u1).CountKind("user_id"), 1);
  EXPECT_EQ(Live(u2).CountKind("user_id"), 1);
  CheckInvariants(&store_, config_);
}

TEST_F(IdentityGraphTest, LimitDropsTheSixthAnonymousId) {
  std::string u = Apply({Uid("u")}).tessera_id;
  for (int i = 0; i < 6; ++i) Apply({Uid("u"), Anon("a" + std::to_string(i))});
  Node n = Live(u);
  EXPECT_EQ(n.CountKind("anonymous_id"), 5);
  EXPECT_EQ(Owner(Anon("a5")), "");
  // Repeating the dropped id records the drop only once.
  Resolution r = Apply({Uid("u"), Anon("a5")});
  ASSERT_EQ(r.changes.size(), 1u);
  EXPECT_EQ(r.changes[0].action, "drop");
  int drops = 0;
  for (const auto& m : Live(u).merges) drops += m.action == "drop";
  EXPECT_EQ(drops, 1);
  // Alone, the dropped id makes a profile of its own.
  EXPECT_NE(Apply({Anon("a5")}).tessera_id, u);
  CheckInvariants(&store_, config_);
}

TEST_F(IdentityGraphTest, AliasLinksPreviousAnonymousId) {
  std::string anon = Apply({Anon("x")}).tessera_id;
  Event alias = MakeEvent(++seq_, {Uid("u")});
  alias.type = MessageType::kAlias;
  alias.previous_id = "x";
  EXPECT_EQ(Apply(alias).tessera_id, anon);
  EXPECT_EQ(Owner(Uid("u")), anon);
}

TEST_F(IdentityGraphTest, AliasOfTwoUserIdsRespectsTheLimit) {
  std::string old_user = Apply({Uid("old")}).tessera_id;
  std::string new_user = Apply({Uid("new")}).tessera_id;
  Event alias = MakeEvent(++seq_, {Uid("new")});
  alias.type = MessageType::kAlias;
  alias.previous_id = "old";
  Resolution r = Apply(alias);
  EXPECT_EQ(r.tessera_id, new_user);
  EXPECT_EQ(Owner(Uid("old")), old_user);
  CheckInvariants(&store_, config_);
}

TEST_F(IdentityGraphTest, ReadsOwnWritesWithinOneStage) {
  storage::StagedWrites staged(&store_);
  auto a = graph_.Resolve(MakeEvent(1, {Anon("a")}), &staged);
  auto b = graph_.Resolve(MakeEvent(2, {Anon("a"), Uid("u")}), &staged);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->tessera_id, b->tessera_id);
  ASSERT_TRUE(staged.Commit({}).ok());
  EXPECT_EQ(Owner(Uid("u")), a->tessera_id);
}

TEST_F(IdentityGraphTest, PriorityOrderOfKinds) {
  EXPECT_LT(config_.Rank("user_id"), config_.Rank("email"));
  EXPECT_LT(config_.Rank("phone"), config_.Rank("loyalty_id"));
  EXPECT_LT(config_.Rank("loyalty_id"), config_.Rank("device_id"));
  EXPECT_LT(config_.Rank("device_id"), config_.Rank("anonymous_id"));
  EXPECT_EQ(config_.Limit("user_id"), 1);
  EXPECT_EQ(config_.Limit("email"), 5);
}

TEST_F(IdentityGraphTest, TesseraIdAddressesTheLiveProfileAndLinksNothing) {
  std::string anon = Apply({Anon("a1")}).tessera_id;
  std::string user = Apply({Uid("u1")}).tessera_id;
  Apply({Uid("u1"), Anon("a1")});  // folds the anonymous profile into the user's
  Node before = Live(user);
  Resolution r = Apply({{"tessera_id", anon}});
  EXPECT_EQ(r.tessera_id, user);
  EXPECT_FALSE(r.created);
  EXPECT_TRUE(r.merged.empty());
  EXPECT_EQ(Live(user), before);
  EXPECT_EQ(Owner({"tessera_id", "tsr_unknown"}), "");
  EXPECT_TRUE(Apply({{"tessera_id", "tsr_unknown"}}).created);  // never fails the pipeline
}

TEST(NodeTest, EncodeDecodeRoundTrip) {
  Node n;
  n.tessera_id = "tsr_1";
  n.identifiers = {{{"email", "a@b.c"}, 1, 2}};
  n.fragments = {"tsr_1", "tsr_2"};
  n.merges = {{"merge", "tsr_2", "tsr_1", {{"anonymous_id", "x"}}, "m1", 7, 99}};
  n.created_at = -3;
  auto d = DecodeNode(EncodeNode(n));
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(*d, n);
  std::string bytes = EncodeNode(n);
  for (size_t i = 0; i < bytes.size(); ++i) EXPECT_FALSE(DecodeNode(bytes.substr(0, i)).ok());
}

}  // namespace
}  // namespace tessera::identity
