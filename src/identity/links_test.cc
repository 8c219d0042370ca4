// Linked edges: stored under both ends, entities read across them, followed through later
// deterministic merges, removed without touching the deterministic graph.
#include "identity/links.h"

#include <gtest/gtest.h>

#include "identity/identity_graph.h"
#include "identity/testutil.h"
#include "storage/memory_store.h"

namespace tessera::identity {
namespace {

using testing::MakeEvent;

class LinksTest : public ::testing::Test {
 protected:
  std::string Apply(std::vector<Identifier> ids) {
    storage::StagedWrites staged(&store_);
    auto r = graph_.Resolve(MakeEvent(++seq_, std::move(ids)), &staged);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_TRUE(staged.Commit({}).ok());
    return r.ok() ? r->tessera_id : "";
  }
  void Connect(const std::string& a, const std::string& b, double p) {
    storage::StagedWrites staged(&store_);
    ASSERT_TRUE(AddLink(&staged, a, b, {.probability = p, .decided_by = "model", .at = 7}).ok());
    ASSERT_TRUE(staged.Commit({}).ok());
  }
  Node Live(const std::string& id) { return *IdentityGraph::LoadLive(&store_, id); }
  std::vector<std::string> Members(const std::string& id) {
    auto e = LoadEntity(&store_, Live(id));
    EXPECT_TRUE(e.ok()) << e.status().ToString();
    std::vector<std::string> out;
    for (const auto& n : e->members) out.push_back(n.tessera_id);
    return out;
  }

  storage::MemoryStore store_;
  IdentityConfig config_;
  IdentityGraph graph_{config_};
  uint64_t seq_ = 0;
};

TEST_F(LinksTest, EncodeDecodeRoundTrip) {
  std::vector<Link> links = {{"tsr_1", 0.875, "model", "", -5, R"({"w":1})"},
                             {"tsr_2", 1.0, "review", "rv_3", 99, ""}};
  auto back = DecodeLinks(EncodeLinks(links));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, links);
  EXPECT_FALSE(DecodeLinks("\x01\x05").ok());
  std::string bytes = EncodeLinks(links);
  EXPECT_FALSE(DecodeLinks(bytes.substr(0, bytes.size() - 1)).ok());
}

TEST_F(LinksTest, EntityIsTheSameFromEveryMember) {
  std::string a = Apply({{"user_id", "a"}});
  std::string b = Apply({{"user_id", "b"}});
  std::string c = Apply({{"user_id", "c"}});
  std::string d = Apply({{"user_id", "d"}});
  EXPECT_EQ(Members(a), std::vector<std::string>{a});
  Connect(a, b, 0.9);
  Connect(b, c, 0.8);
  std::vector<std::string> abc = {a, b, c};
  std::sort(abc.begin(), abc.end());
  EXPECT_EQ(Members(a), abc);
  EXPECT_EQ(Members(c), abc);
  EXPECT_EQ(Members(d), std::vector<std::string>{d});
  auto e = LoadEntity(&store_, Live(b));
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->entity_id(), abc.front());
  ASSERT_EQ(e->edges.size(), 2u);
  for (const Edge& edge : e->edges) {
    EXPECT_LT(edge.a, edge.b);
    EXPECT_EQ(edge.link.decided_by, "model");
  }
  // Linking again replaces the edge rather than adding a second one.
  Connect(b, a, 0.95);
  EXPECT_EQ(ReadLinks(&store_, a)->size(), 1u);
  EXPECT_DOUBLE_EQ((*ReadLinks(&store_, a))[0].probability, 0.95);
}

TEST_F(LinksTest, UnlinkRestoresBothSides) {
  std::string a = Apply({{"user_id", "a"}});
  std::string b = Apply({{"user_id", "b"}});
  Connect(a, b, 0.9);
  storage::StagedWrites staged(&store_);
  auto removed = RemoveLinksBetween(&staged, Live(a), Live(b));
  ASSERT_TRUE(removed.ok());
  ASSERT_EQ(removed->size(), 1u);
  ASSERT_TRUE(staged.Commit({}).ok());
  EXPECT_EQ(Members(a), std::vector<std::string>{a});
  EXPECT_EQ(Members(b), std::vector<std::string>{b});
  EXPECT_TRUE(ReadLinks(&store_, a)->empty());
  EXPECT_TRUE(ReadLinks(&store_, b)->empty());
  std::string ignored;
  EXPECT_EQ(store_.Get(storage::Space::kLinks, LinksKey(a), &ignored).code(),
            StatusCode::kNotFound);
}

TEST_F(LinksTest, EdgesFollowDeterministicMerges) {
  std::string a = Apply({{"user_id", "a"}});
  std::string b = Apply({{"anonymous_id", "x"}});
  std::string c = Apply({{"user_id", "c"}});
  Connect(a, b, 0.9);
  // b is folded into c by an event carrying both identifiers.
  EXPECT_EQ(Apply({{"user_id", "c"}, {"anonymous_id", "x"}}), c);
  std::vector<std::string> ac = {a, c};
  std::sort(ac.begin(), ac.end());
  EXPECT_EQ(Members(a), ac);
  EXPECT_EQ(Members(c), ac);
  // Unlinking the live profiles removes the edge stored under the folded id.
  storage::StagedWrites staged(&store_);
  auto removed = RemoveLinksBetween(&staged, Live(c), Live(a));
  ASSERT_TRUE(removed.ok());
  ASSERT_EQ(removed->size(), 1u);
  EXPECT_EQ((*removed)[0].stored_a, b);
  ASSERT_TRUE(staged.Commit({}).ok());
  EXPECT_EQ(Members(a), std::vector<std::string>{a});
  // An edge between two profiles later merged deterministically is a self-loop: ignored.
  std::string d = Apply({{"anonymous_id", "y"}});
  Connect(c, d, 0.7);
  Apply({{"user_id", "c"}, {"anonymous_id", "y"}});
  EXPECT_EQ(Members(c), std::vector<std::string>{c});
}

}  // namespace
}  // namespace tessera::identity
