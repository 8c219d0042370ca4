#include "storage/staged_writes.h"

#include <algorithm>

#include "core/check.h"

namespace tessera::storage {

std::string StagedWrites::MapKey(Space space, std::string_view key) {
  std::string k;
  k.reserve(key.size() + 1);
  k.push_back(static_cast<char>(space));
  k.append(key);
  return k;
}

Status StagedWrites::Get(Space space, std::string_view key, std::string* value) {
  const std::string k = MapKey(space, key);
  for (const StagedWrites* stage = this; stage; stage = stage->parent_) {
    auto it = stage->staged_.find(k);
    if (it == stage->staged_.end()) continue;
    if (!it->second) return Status::NotFound(std::string(key));
    *value = *it->second;
    return Status::Ok();
  }
  return store_->Get(space, key, value);
}

void StagedWrites::Absorb(StagedWrites&& child) {
  TESSERA_CHECK(child.parent_ == this, "absorbing a stage that is not over this one");
  if (staged_.empty()) {
    staged_ = std::move(child.staged_);
  } else {
    for (auto& [k, v] : child.staged_) staged_.insert_or_assign(k, std::move(v));
  }
  child.staged_.clear();
}

void StagedWrites::Put(Space space, std::string_view key, std::string_view value) {
  staged_[MapKey(space, key)] = std::string(value);
}

void StagedWrites::Delete(Space space, std::string_view key) {
  staged_[MapKey(space, key)] = std::nullopt;
}

Status StagedWrites::Commit(const WriteOptions& options) {
  TESSERA_RETURN_IF_ERROR(Write(options));
  staged_.clear();
  return Status::Ok();
}

Status StagedWrites::Write(const WriteOptions& options) const {
  TESSERA_CHECK(parent_ == nullptr, "a stage over another is committed through it");
  if (staged_.empty()) return Status::Ok();
  // In key order: the memtable's skiplist then finds each insert's place next to the last one's
  // instead of descending from the top (for a large step, most of the write's cost).
  std::vector<const std::pair<const std::string, std::optional<std::string>>*> sorted;
  sorted.reserve(staged_.size());
  for (const auto& entry : staged_) sorted.push_back(&entry);
  std::sort(sorted.begin(), sorted.end(),
            [](const auto* a, const auto* b) { return a->first < b->first; });
  WriteBatch batch;
  for (const auto* entry : sorted) {
    const auto& [k, v] = *entry;
    Space space = static_cast<Space>(k[0]);
    std::string_view key = std::string_view(k).substr(1);
    if (v) {
      batch.Put(space, key, *v);
    } else {
      batch.Delete(space, key);
    }
  }
  return store_->Write(batch, options);
}

std::vector<Status> Reader::MultiGet(Space space, const std::vector<std::string_view>& keys,
                                     std::vector<std::string>* values) {
  std::vector<Status> statuses;
  statuses.reserve(keys.size());
  values->resize(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) statuses.push_back(Get(space, keys[i], &(*values)[i]));
  return statuses;
}

Status ClearSpace(Store* store, Space space) {
  constexpr size_t kBatchKeys = 10000;
  // One pass: the iterator reads a consistent view, so deletes behind it do not disturb it.
  auto it = store->NewIterator(space);
  WriteBatch batch;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    batch.Delete(space, it->key());
    if (batch.size() >= kBatchKeys) {
      TESSERA_RETURN_IF_ERROR(store->Write(batch, {}));
      batch.Clear();
    }
  }
  TESSERA_RETURN_IF_ERROR(it->status());
  return batch.empty() ? Status::Ok() : store->Write(batch, {});
}

}  // namespace tessera::storage
