#include "sources/source_registry.h"

#include <gtest/gtest.h>

#include "storage/memory_store.h"

namespace tessera::sources {
namespace {

TEST(SourceRegistryTest, CreateAuthenticateListReload) {
  storage::MemoryStore store;
  SourceRegistry reg(&store);
  ASSERT_TRUE(reg.Load().ok());
  auto web = reg.Create("Website", "web", 10);
  ASSERT_TRUE(web.ok());
  EXPECT_EQ(web->source.touchpoint, "web");
  EXPECT_EQ(web->write_key.rfind("wk_", 0), 0u);
  auto shop = reg.Create("Shop tills", "store", 20);
  ASSERT_TRUE(shop.ok());
  EXPECT_EQ(reg.Authenticate(web->write_key)->id, web->source.id);
  EXPECT_EQ(reg.Authenticate("wk_nope").status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(reg.Authenticate("").status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(reg.Create("Website", "app", 30).status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(reg.Create("Fax", "fax", 30).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(reg.Create("", "web", 30).status().code(), StatusCode::kInvalidArgument);

  // The key itself is never stored, only its hash.
  auto it = store.NewIterator(storage::Space::kSources);
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    EXPECT_EQ(std::string(it->key()).find(web->write_key), std::string::npos);
    EXPECT_EQ(std::string(it->value()).find(web->write_key), std::string::npos);
  }

  SourceRegistry reloaded(&store);
  ASSERT_TRUE(reloaded.Load().ok());
  auto list = reloaded.List();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].name, "Website");
  EXPECT_EQ(list[1].name, "Shop tills");
  EXPECT_EQ(reloaded.Authenticate(shop->write_key)->name, "Shop tills");
  EXPECT_EQ(reloaded.Find("Shop tills")->id, shop->source.id);
  EXPECT_EQ(reloaded.Find(shop->source.id)->name, "Shop tills");
  EXPECT_EQ(reloaded.Find("nope").status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace tessera::sources
