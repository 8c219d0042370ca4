#include "storage/memory_store.h"

namespace tessera::storage {
namespace {

// Iterates over a snapshot copy: simple and safe against concurrent writes (tests only).
class SnapshotIterator final : public Iterator {
 public:
  explicit SnapshotIterator(std::map<std::string, std::string, std::less<>> data)
      : data_(std::move(data)), it_(data_.end()) {}
  void Seek(std::string_view key) override { it_ = data_.lower_bound(key); }
  void SeekToFirst() override { it_ = data_.begin(); }
  void SeekToLast() override { it_ = data_.empty() ? data_.end() : std::prev(data_.end()); }
  bool Valid() const override { return it_ != data_.end(); }
  void Next() override { ++it_; }
  void Prev() override { it_ = it_ == data_.begin() ? data_.end() : std::prev(it_); }
  std::string_view key() const override { return it_->first; }
  std::string_view value() const override { return it_->second; }
  Status status() const override { return Status::Ok(); }

 private:
  std::map<std::string, std::string, std::less<>> data_;
  std::map<std::string, std::string, std::less<>>::const_iterator it_;
};

}  // namespace

std::unique_ptr<Store> NewMemoryStore() { return std::make_unique<MemoryStore>(); }

Status MemoryStore::Get(Space space, std::string_view key, std::string* value) {
  MutexLock lock(&mu_);
  const Map& m = spaces_[static_cast<int>(space)];
  auto it = m.find(key);
  if (it == m.end()) return Status::NotFound(std::string(key));
  *value = it->second;
  return Status::Ok();
}

Status MemoryStore::Write(const WriteBatch& batch, const WriteOptions& options) {
  MutexLock lock(&mu_);
  if (writes_before_failure_) {
    if (*writes_before_failure_ <= 0) return Status::IOError("injected write failure");
    --*writes_before_failure_;
  }
  for (const WriteBatch::Op op : batch) {
    Map& m = spaces_[static_cast<int>(op.space)];
    auto it = m.find(op.key);
    std::optional<std::string> old;
    if (it != m.end()) old = it->second;
    if (!options.sync) unsynced_.push_back({op.space, std::string(op.key), old});
    if (op.is_delete) {
      if (it != m.end()) m.erase(it);
    } else if (it != m.end()) {
      it->second = op.value;
    } else {
      m.emplace(op.key, op.value);
    }
  }
  // A synced write makes everything before it durable too, as a WAL sync does.
  if (options.sync) unsynced_.clear();
  return Status::Ok();
}

std::unique_ptr<Iterator> MemoryStore::NewIterator(Space space) {
  MutexLock lock(&mu_);
  return std::make_unique<SnapshotIterator>(spaces_[static_cast<int>(space)]);
}

StoreStats MemoryStore::Stats() {
  MutexLock lock(&mu_);
  StoreStats stats;
  for (const auto& m : spaces_) {
    for (const auto& [k, v] : m) stats.live_bytes += k.size() + v.size();
  }
  return stats;
}

void MemoryStore::TEST_FailWritesAfter(std::optional<int> n) {
  MutexLock lock(&mu_);
  writes_before_failure_ = n;
}

void MemoryStore::TEST_SimulateCrash() {
  MutexLock lock(&mu_);
  for (auto it = unsynced_.rbegin(); it != unsynced_.rend(); ++it) {
    Map& m = spaces_[static_cast<int>(it->space)];
    if (it->old_value) {
      m[it->key] = *it->old_value;
    } else {
      m.erase(it->key);
    }
  }
  unsynced_.clear();
}

}  // namespace tessera::storage
