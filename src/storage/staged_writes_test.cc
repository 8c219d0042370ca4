#include "storage/staged_writes.h"

#include <gtest/gtest.h>

#include "storage/memory_store.h"

namespace tessera::storage {
namespace {

TEST(StagedWritesTest, ReadsSeeOwnWritesUntilCommit) {
  MemoryStore store;
  WriteBatch b;
  b.Put(Space::kProfiles, "a", "old");
  b.Put(Space::kProfiles, "b", "keep");
  ASSERT_TRUE(store.Write(b, {}).ok());

  StagedWrites staged(&store);
  staged.Put(Space::kProfiles, "a", "new");
  staged.Delete(Space::kProfiles, "b");
  staged.Put(Space::kIdentity, "a", "other space");
  std::string v;
  ASSERT_TRUE(staged.Get(Space::kProfiles, "a", &v).ok());
  EXPECT_EQ(v, "new");
  EXPECT_EQ(staged.Get(Space::kProfiles, "b", &v).code(), StatusCode::kNotFound);
  ASSERT_TRUE(store.Get(Space::kProfiles, "a", &v).ok());
  EXPECT_EQ(v, "old");  // the store is untouched before Commit

  ASSERT_TRUE(staged.Commit({}).ok());
  EXPECT_EQ(staged.size(), 0u);
  ASSERT_TRUE(store.Get(Space::kProfiles, "a", &v).ok());
  EXPECT_EQ(v, "new");
  EXPECT_EQ(store.Get(Space::kProfiles, "b", &v).code(), StatusCode::kNotFound);
  ASSERT_TRUE(store.Get(Space::kIdentity, "a", &v).ok());
  EXPECT_EQ(v, "other space");
}

TEST(StagedWritesTest, FailedCommitKeepsStage) {
  MemoryStore store;
  StagedWrites staged(&store);
  staged.Put(Space::kMeta, "k", "v");
  store.TEST_FailWritesAfter(0);
  EXPECT_FALSE(staged.Commit({}).ok());
  EXPECT_EQ(staged.size(), 1u);
  store.TEST_FailWritesAfter(std::nullopt);
  EXPECT_TRUE(staged.Commit({}).ok());
  std::string v;
  EXPECT_TRUE(store.Get(Space::kMeta, "k", &v).ok());
}

TEST(StagedWritesTest, AStageOverAnotherReadsThroughItAndIsAbsorbedIntoIt) {
  MemoryStore store;
  WriteBatch b;
  b.Put(Space::kProfiles, "stored", "s");
  b.Put(Space::kProfiles, "gone", "g");
  ASSERT_TRUE(store.Write(b, {}).ok());
  StagedWrites parent(&store);
  parent.Put(Space::kProfiles, "p", "parent");
  parent.Delete(Space::kProfiles, "gone");
  parent.Put(Space::kProfiles, "both", "parent");

  StagedWrites child(&parent);
  child.Put(Space::kProfiles, "both", "child");
  child.Put(Space::kProfiles, "c", "child");
  child.Delete(Space::kProfiles, "p");
  std::string v;
  ASSERT_TRUE(child.Get(Space::kProfiles, "stored", &v).ok());
  EXPECT_EQ(v, "s");
  EXPECT_EQ(child.Get(Space::kProfiles, "gone", &v).code(), StatusCode::kNotFound);
  ASSERT_TRUE(child.Get(Space::kProfiles, "both", &v).ok());
  EXPECT_EQ(v, "child");
  EXPECT_EQ(child.Get(Space::kProfiles, "p", &v).code(), StatusCode::kNotFound);
  ASSERT_TRUE(parent.Get(Space::kProfiles, "p", &v).ok());  // the parent is untouched
  EXPECT_EQ(v, "parent");

  parent.Absorb(std::move(child));
  EXPECT_EQ(child.size(), 0u);
  EXPECT_EQ(parent.size(), 4u);  // gone, p (deleted), both, c
  ASSERT_TRUE(parent.Commit({}).ok());
  ASSERT_TRUE(store.Get(Space::kProfiles, "both", &v).ok());
  EXPECT_EQ(v, "child");
  ASSERT_TRUE(store.Get(Space::kProfiles, "c", &v).ok());
  EXPECT_EQ(store.Get(Space::kProfiles, "p", &v).code(), StatusCode::kNotFound);
  EXPECT_EQ(store.Get(Space::kProfiles, "gone", &v).code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace tessera::storage
