// An in-memory Store for tests, with fault injection: failing writes on demand, and a simulated
// crash that loses every write not made with sync=true (as a power cut loses an unsynced WAL).
#pragma once

#include <map>
#include <optional>

#include "core/mutex.h"
#include "storage/store.h"

namespace tessera::storage {

class MemoryStore final : public Store {
 public:
  Status Get(Space space, std::string_view key, std::string* value) override;
  Status Write(const WriteBatch& batch, const WriteOptions& options) override;
  std::unique_ptr<Iterator> NewIterator(Space space) override;
  StoreStats Stats() override;

  // Every write after the next `n` successful ones fails with IOError until reset.
  void TEST_FailWritesAfter(std::optional<int> n);
  // Drops all writes not yet followed by a synced write.
  void TEST_SimulateCrash();

 private:
  using Map = std::map<std::string, std::string, std::less<>>;
  struct Undo {
    Space space;
    std::string key;
    std::optional<std::string> old_value;
  };

  Mutex mu_;
  Map spaces_[kSpaceCount] TESSERA_GUARDED_BY(mu_);
  std::vector<Undo> unsynced_ TESSERA_GUARDED_BY(mu_);  // newest last
  std::optional<int> writes_before_failure_ TESSERA_GUARDED_BY(mu_);
};

}  // namespace tessera::storage
