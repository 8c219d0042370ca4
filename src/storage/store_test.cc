// Runs the same contract tests on every Store implementation.
#include <gtest/gtest.h>

#include <filesystem>

#include "storage/memory_store.h"
#include "storage/store.h"

namespace tessera::storage {
namespace {

TEST(WriteBatchTest, KeepsItsOpsInOrder) {
  WriteBatch b;
  b.Put(Space::kMeta, "k1", "v1");
  b.Delete(Space::kProfiles, "k2");
  b.Put(Space::kTimeline, "", "");
  WriteBatch more;
  more.Put(Space::kLog, std::string("k\0z", 3), "long value");
  b.Append(std::move(more));
  EXPECT_TRUE(more.empty());
  ASSERT_EQ(b.size(), 4u);
  EXPECT_EQ(b.bytes(), 4u + 2u + 13u);
  std::vector<std::string> seen;
  for (WriteBatch::Op op : b) {
    seen.push_back(std::to_string(static_cast<int>(op.space)) + (op.is_delete ? " del " : " put ") +
                   std::string(op.key) + "=" + std::string(op.value));
  }
  EXPECT_EQ(seen, (std::vector<std::string>{
                      std::to_string(static_cast<int>(Space::kMeta)) + " put k1=v1",
                      std::to_string(static_cast<int>(Space::kProfiles)) + " del k2=",
                      std::to_string(static_cast<int>(Space::kTimeline)) + " put =",
                      std::to_string(static_cast<int>(Space::kLog)) + " put " +
                          std::string("k\0z", 3) + "=long value"}));
  b.Clear();
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(b.bytes(), 0u);
}

class StoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "memory") {
      store_ = NewMemoryStore();
    } else {
      dir_ = std::filesystem::temp_directory_path() /
             ("tessera_store_test_" + std::to_string(::getpid()));
      std::filesystem::remove_all(dir_);
      auto r = OpenRocksStore(dir_.string(), RocksOptions{});
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      store_ = std::move(r).value();
    }
  }
  void TearDown() override {
    store_.reset();
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }
  std::filesystem::path dir_;
  std::unique_ptr<Store> store_;
};

TEST_P(StoreTest, PutGetDeleteAcrossSpaces) {
  WriteBatch b;
  b.Put(Space::kProfiles, "k", "profile");
  b.Put(Space::kIdentity, "k", "identity");
  ASSERT_TRUE(store_->Write(b, {.sync = true}).ok());
  std::string v;
  ASSERT_TRUE(store_->Get(Space::kProfiles, "k", &v).ok());
  EXPECT_EQ(v, "profile");
  ASSERT_TRUE(store_->Get(Space::kIdentity, "k", &v).ok());
  EXPECT_EQ(v, "identity");
  EXPECT_EQ(store_->Get(Space::kLog, "k", &v).code(), StatusCode::kNotFound);

  WriteBatch d;
  d.Delete(Space::kProfiles, "k");
  ASSERT_TRUE(store_->Write(d, {}).ok());
  EXPECT_EQ(store_->Get(Space::kProfiles, "k", &v).code(), StatusCode::kNotFound);
}

TEST_P(StoreTest, MultiGetAnswersEachKeyLikeGet) {
  WriteBatch b;
  b.Put(Space::kDedupe, "a", "1");
  b.Put(Space::kDedupe, "c", std::string(3000, 'x'));  // past any small-string buffer
  b.Put(Space::kProfiles, "b", "other space");
  ASSERT_TRUE(store_->Write(b, {}).ok());
  std::vector<std::string> values{"stale"};
  // Unsorted, repeated and absent keys; one in another space.
  std::vector<std::string_view> keys{"c", "b", "a", "zz", "a"};
  std::vector<Status> s = store_->MultiGet(Space::kDedupe, keys, &values);
  ASSERT_EQ(s.size(), keys.size());
  ASSERT_EQ(values.size(), keys.size());
  EXPECT_TRUE(s[0].ok());
  EXPECT_EQ(values[0], std::string(3000, 'x'));
  EXPECT_EQ(s[1].code(), StatusCode::kNotFound);
  EXPECT_TRUE(s[2].ok());
  EXPECT_EQ(values[2], "1");
  EXPECT_EQ(s[3].code(), StatusCode::kNotFound);
  EXPECT_TRUE(s[4].ok());
  EXPECT_EQ(values[4], "1");
  EXPECT_TRUE(store_->MultiGet(Space::kDedupe, {}, &values).empty());
}

TEST_P(StoreTest, IteratesInKeyOrder) {
  WriteBatch b;
  for (const char* k : {"b2", "a1", "b1", "c1"}) b.Put(Space::kTimeline, k, k);
  ASSERT_TRUE(store_->Write(b, {}).ok());
  auto it = store_->NewIterator(Space::kTimeline);
  std::vector<std::string> keys;
  for (it->Seek("b"); it->Valid(); it->Next()) keys.emplace_back(it->key());
  EXPECT_EQ(keys, (std::vector<std::string>{"b1", "b2", "c1"}));
  it->SeekToLast();
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ(it->key(), "c1");
  it->Prev();
  EXPECT_EQ(it->key(), "b2");
  ASSERT_TRUE(it->status().ok());
}

INSTANTIATE_TEST_SUITE_P(All, StoreTest, ::testing::Values("memory", "rocksdb"));

TEST(MemoryStoreTest, CrashDropsUnsyncedWrites) {
  MemoryStore store;
  WriteBatch a;
  a.Put(Space::kLog, "1", "synced");
  ASSERT_TRUE(store.Write(a, {.sync = true}).ok());
  WriteBatch b;
  b.Put(Space::kLog, "1", "overwritten");
  b.Put(Space::kLog, "2", "unsynced");
  ASSERT_TRUE(store.Write(b, {}).ok());
  store.TEST_SimulateCrash();
  std::string v;
  ASSERT_TRUE(store.Get(Space::kLog, "1", &v).ok());
  EXPECT_EQ(v, "synced");
  EXPECT_EQ(store.Get(Space::kLog, "2", &v).code(), StatusCode::kNotFound);
}

TEST(MemoryStoreTest, InjectedFailures) {
  MemoryStore store;
  store.TEST_FailWritesAfter(1);
  WriteBatch a;
  a.Put(Space::kLog, "1", "x");
  EXPECT_TRUE(store.Write(a, {}).ok());
  EXPECT_EQ(store.Write(a, {}).code(), StatusCode::kIOError);
  store.TEST_FailWritesAfter(std::nullopt);
  EXPECT_TRUE(store.Write(a, {}).ok());
}

}  // namespace
}  // namespace tessera::storage
