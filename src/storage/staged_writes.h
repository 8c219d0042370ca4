// StagedWrites: a write buffer over a Store whose reads see its own unwritten puts and deletes,
// so a worker can process many events and commit their effects as one atomic batch.
//
// Not thread-safe: owned by one worker (a shard's processor).
#pragma once

#include <absl/container/flat_hash_map.h>

#include <optional>

#include "storage/store.h"

namespace tessera::storage {

class StagedWrites final : public Reader {
 public:
  explicit StagedWrites(Store* store) : store_(store) {}
  // A stage over another: reads see this stage's writes, then the parent's, then the store.
  // The parent must outlive this stage and not change while this stage reads it; Absorb then
  // moves this stage's writes into it. Commit is the parent's job.
  explicit StagedWrites(const StagedWrites* parent) : store_(parent->store_), parent_(parent) {}

  // NotFound when absent (or deleted in this stage).
  Status Get(Space space, std::string_view key, std::string* value) override;
  void Put(Space space, std::string_view key, std::string_view value);
  void Delete(Space space, std::string_view key);
  // Writes every staged change in one batch and clears the stage; on error the stage is kept.
  Status Commit(const WriteOptions& options);
  // Writes every staged change in one batch, keeping the stage (which may be read meanwhile,
  // from other threads too).
  Status Write(const WriteOptions& options) const;
  // The parent's writes have reached the store: reads go to the store from now on.
  void Detach() { parent_ = nullptr; }
  void Clear() { staged_.clear(); }
  // Moves every write of `child` (a stage over this one) into this stage, replacing this
  // stage's write of the same key.
  void Absorb(StagedWrites&& child);
  size_t size() const { return staged_.size(); }
  Store* store() const { return store_; }

 private:
  static std::string MapKey(Space space, std::string_view key);

  Store* const store_;
  const StagedWrites* parent_ = nullptr;
  // space byte + key -> value (nullopt = deleted)
  absl::flat_hash_map<std::string, std::optional<std::string>> staged_;
};

}  // namespace tessera::storage
