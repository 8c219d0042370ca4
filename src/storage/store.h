// The Store: an ordered key-value store split into named spaces, with atomic batches.
// Every component keeps its own keys inside its own space; no component reads another's keys.
//
// Implementations: RocksDB (embedded default, rocks_store.cc) and in-memory (memory_store.cc,
// for tests, with fault injection). Thread-safety: all methods may be called concurrently.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace tessera::storage {

enum class Space : uint8_t {
  kMeta = 0,   // small keyed settings and cursors
  kLog,        // the event log: seq (u64 BE) -> stored event
  kDedupe,     // messageId -> seq
  kSources,    // sources and write-key hashes
  kIdentity,   // identifier -> tessera id
  kProfiles,   // tessera id -> profile record
  kTimeline,   // tessera id + time -> seq
  kDefinitions,  // audience and computed-trait definitions (configuration, not derived)
  kAudiences,    // memberships, history, timers, computed values (derived)
  kLinks,        // the identity graph's probabilistic (linked) edges: decisions, not derived
  kLinkage,      // record linkage: settings, model, reviews, labels, block index, cursor
  kStoredEvents,  // Tessera's own timeline events that are not in the log (derived)
  kCount,
};
constexpr int kSpaceCount = static_cast<int>(Space::kCount);
std::string_view SpaceName(Space space);

// An ordered list of puts and deletes applied atomically by Store::Write.
class WriteBatch {
 public:
  struct Op {
    Space space;
    bool is_delete;
    std::string_view key;
    std::string_view value;  // empty for a delete
  };

  void Put(Space space, std::string_view key, std::string_view value) {
    Add(space, false, key, value);
  }
  void Delete(Space space, std::string_view key) { Add(space, true, key, {}); }
  void Append(WriteBatch&& other) {
    for (Op op : other) Add(op.space, op.is_delete, op.key, op.value);
    other.Clear();
  }
  void Clear() {
    rep_.clear();
    entries_.clear();
  }
  size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  size_t bytes() const { return rep_.size(); }  // keys and values
  Op op(size_t i) const {
    const Entry& e = entries_[i];
    std::string_view rep(rep_);
    return {e.space, e.is_delete, rep.substr(e.offset, e.key_size),
            rep.substr(e.offset + e.key_size, e.value_size)};
  }

  // The ops in order, as Op values (views into the batch, valid until it changes).
  class Iterator {
   public:
    Iterator(const WriteBatch* batch, size_t i) : batch_(batch), i_(i) {}
    Op operator*() const { return batch_->op(i_); }
    Iterator& operator++() {
      ++i_;
      return *this;
    }
    bool operator!=(const Iterator& other) const { return i_ != other.i_; }

   private:
    const WriteBatch* batch_;
    size_t i_;
  };
  Iterator begin() const { return {this, 0}; }
  Iterator end() const { return {this, entries_.size()}; }

 private:
  // Keys and values live back to back in one buffer: a batch of many small writes costs a few
  // allocations, not two per op.
  struct Entry {
    size_t offset;
    uint32_t key_size;
    uint32_t value_size;
    Space space;
    bool is_delete;
  };
  void Add(Space space, bool is_delete, std::string_view key, std::string_view value) {
    entries_.push_back({rep_.size(), static_cast<uint32_t>(key.size()),
                        static_cast<uint32_t>(value.size()), space, is_delete});
    rep_.append(key);
    rep_.append(value);
  }

  std::string rep_;
  std::vector<Entry> entries_;
};

// Iterates one space in key order. Not thread-safe; one owner.
class Iterator {
 public:
  virtual ~Iterator() = default;
  virtual void Seek(std::string_view key) = 0;
  virtual void SeekToFirst() = 0;
  virtual void SeekToLast() = 0;
  virtual bool Valid() const = 0;
  virtual void Next() = 0;
  virtual void Prev() = 0;
  virtual std::string_view key() const = 0;
  virtual std::string_view value() const = 0;
  virtual Status status() const = 0;
};

struct WriteOptions {
  bool sync = false;  // fsync the write-ahead log before returning
};

struct StoreStats {
  uint64_t live_bytes = 0;       // approximate on-disk size of all spaces
  uint64_t memtable_bytes = 0;   // memory held by write buffers
  uint64_t block_cache_bytes = 0;
};

// Point reads; implemented by Store and by StagedWrites (which sees its own pending writes).
class Reader {
 public:
  virtual ~Reader() = default;
  // NotFound when the key is absent.
  virtual Status Get(Space space, std::string_view key, std::string* value) = 0;
  // Get for many keys at once (RocksDB batches the lookups: one pass over the memtables and
  // each file's filters). Returns one status per key; (*values)[i] is set where it is ok.
  virtual std::vector<Status> MultiGet(Space space, const std::vector<std::string_view>& keys,
                                       std::vector<std::string>* values);
};

class Store : public Reader {
 public:
  virtual Status Write(const WriteBatch& batch, const WriteOptions& options) = 0;
  virtual std::unique_ptr<Iterator> NewIterator(Space space) = 0;
  virtual StoreStats Stats() = 0;
  // The directory holding the store's files; empty for an in-memory store. Files whose contents
  // must travel with the store's (the event log's segments, indexed by its dedupe space) live
  // under it.
  virtual std::string Directory() const { return {}; }
};

// Memory is bounded by these: the block cache, plus write buffers limited in total by
// memtable_budget_bytes (charged to the block cache), plus RocksDB's small fixed overheads.
struct RocksOptions {
  size_t block_cache_bytes = 256 << 20;
  size_t write_buffer_bytes = 32 << 20;     // one memtable of one space
  size_t memtable_budget_bytes = 256 << 20;  // all memtables together
};

// Deletes every key of a space, in batches (for offline tools such as `tessera rebuild`).
Status ClearSpace(Store* store, Space space);

Result<std::unique_ptr<Store>> OpenRocksStore(const std::string& path, const RocksOptions& options);
std::unique_ptr<Store> NewMemoryStore();

}  // namespace tessera::storage
