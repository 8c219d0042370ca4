// RocksDB implementation of Store: one column family per Space, a shared LRU block cache.
#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>
#include <rocksdb/write_buffer_manager.h>

#include "core/cpu_priority.h"
#include "storage/store.h"

namespace tessera::storage {
namespace {

Status FromRocks(const rocksdb::Status& s) {
  if (s.ok()) return Status::Ok();
  if (s.IsNotFound()) return Status::NotFound(s.ToString());
  if (s.IsCorruption()) return Status::Corruption(s.ToString());
  if (s.IsIOError()) return Status::IOError(s.ToString());
  if (s.IsBusy() || s.IsTryAgain() || s.IsIncomplete()) return Status::Unavailable(s.ToString());
  return Status::Internal(s.ToString());
}

rocksdb::Slice ToSlice(std::string_view s) { return rocksdb::Slice(s.data(), s.size()); }

class RocksIterator final : public Iterator {
 public:
  explicit RocksIterator(rocksdb::Iterator* it) : it_(it) {}
  void Seek(std::string_view key) override { it_->Seek(ToSlice(key)); }
  void SeekToFirst() override { it_->SeekToFirst(); }
  void SeekToLast() override { it_->SeekToLast(); }
  bool Valid() const override { return it_->Valid(); }
  void Next() override { it_->Next(); }
  void Prev() override { it_->Prev(); }
  std::string_view key() const override { return it_->key().ToStringView(); }
  std::string_view value() const override { return it_->value().ToStringView(); }
  Status status() const override { return FromRocks(it_->status()); }

 private:
  std::unique_ptr<rocksdb::Iterator> it_;
};

class RocksStore final : public Store {
 public:
  RocksStore(std::string path, std::unique_ptr<rocksdb::DB> db,
             std::vector<rocksdb::ColumnFamilyHandle*> handles, std::shared_ptr<rocksdb::Cache> cache)
      : path_(std::move(path)), db_(std::move(db)), handles_(std::move(handles)),
        cache_(std::move(cache)) {}

  ~RocksStore() override {
    for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h).PermitUncheckedError();
    db_->Close().PermitUncheckedError();
  }

  Status Get(Space space, std::string_view key, std::string* value) override {
    return FromRocks(db_->Get(rocksdb::ReadOptions(), Handle(space), ToSlice(key), value));
  }

  std::vector<Status> MultiGet(Space space, const std::vector<std::string_view>& keys,
                               std::vector<std::string>* values) override {
    const size_t n = keys.size();
    std::vector<rocksdb::Slice> slices;
    slices.reserve(n);
    for (auto k : keys) slices.push_back(ToSlice(k));
    std::vector<rocksdb::PinnableSlice> pinned(n);
    std::vector<rocksdb::Status> rs(n);
    db_->MultiGet(rocksdb::ReadOptions(), Handle(space), n, slices.data(), pinned.data(),
                  rs.data());
    std::vector<Status> statuses;
    statuses.reserve(n);
    values->resize(n);
    for (size_t i = 0; i < n; ++i) {
      if (rs[i].ok()) (*values)[i].assign(pinned[i].data(), pinned[i].size());
      // A miss is the common case (new messageIds): no message string for it.
      statuses.push_back(rs[i].IsNotFound() ? Status::NotFound({}) : FromRocks(rs[i]));
    }
    return statuses;
  }

  Status Write(const WriteBatch& batch, const WriteOptions& options) override {
    rocksdb::WriteBatch wb;
    for (const WriteBatch::Op op : batch) {
      rocksdb::Status s = op.is_delete ? wb.Delete(Handle(op.space), ToSlice(op.key))
                                       : wb.Put(Handle(op.space), ToSlice(op.key), ToSlice(op.value));
      if (!s.ok()) return FromRocks(s);
    }
    rocksdb::WriteOptions wo;
    wo.sync = options.sync;
    return FromRocks(db_->Write(wo, &wb));
  }

  std::unique_ptr<Iterator> NewIterator(Space space) override {
    return std::make_unique<RocksIterator>(db_->NewIterator(rocksdb::ReadOptions(), Handle(space)));
  }

  StoreStats Stats() override {
    StoreStats stats;
    uint64_t v = 0;
    for (auto* h : handles_) {
      if (db_->GetIntProperty(h, rocksdb::DB::Properties::kLiveSstFilesSize, &v)) {
        stats.live_bytes += v;
      }
      if (db_->GetIntProperty(h, rocksdb::DB::Properties::kSizeAllMemTables, &v)) {
        stats.memtable_bytes += v;
      }
    }
    stats.block_cache_bytes = cache_->GetUsage();
    return stats;
  }

  std::string Directory() const override { return path_; }

 private:
  rocksdb::ColumnFamilyHandle* Handle(Space space) { return handles_[static_cast<int>(space)]; }

  const std::string path_;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  std::shared_ptr<rocksdb::Cache> cache_;
};

}  // namespace

std::string_view SpaceName(Space space) {
  switch (space) {
    case Space::kMeta: return "meta";
    case Space::kLog: return "log";
    case Space::kDedupe: return "dedupe";
    case Space::kSources: return "sources";
    case Space::kIdentity: return "identity";
    case Space::kProfiles: return "profiles";
    case Space::kTimeline: return "timeline";
    case Space::kDefinitions: return "definitions";
    case Space::kAudiences: return "audiences";
    case Space::kLinks: return "links";
    case Space::kLinkage: return "linkage";
    case Space::kStoredEvents: return "stored_events";
    case Space::kCount: break;
  }
  return "?";
}

Result<std::unique_ptr<Store>> OpenRocksStore(const std::string& path, const RocksOptions& options) {
  // Half the cache is kept for index and filter blocks, so a stream of data blocks (timeline
  // scans, event reads) cannot evict them.
  auto cache = rocksdb::NewLRUCache(options.block_cache_bytes, /*num_shard_bits=*/-1,
                                    /*strict_capacity_limit=*/false, /*high_pri_pool_ratio=*/0.5);
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = cache;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  table.cache_index_and_filter_blocks = true;
  table.cache_index_and_filter_blocks_with_high_priority = true;
  table.pin_l0_filter_and_index_blocks_in_cache = true;
  // Partitioned index and filters: a point read loads one small partition, not a whole
  // filter block of several MiB (which, evicted, was re-read on every Get of a large table).
  table.index_type = rocksdb::BlockBasedTableOptions::IndexType::kTwoLevelIndexSearch;
  table.partition_filters = true;
  table.metadata_block_size = 4096;
  table.pin_top_level_index_and_filter = true;

  rocksdb::ColumnFamilyOptions cf;
  cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  cf.write_buffer_size = options.write_buffer_bytes;
  cf.compression = rocksdb::kLZ4Compression;
  // Most point reads on the hot path miss (a new messageId, a new identifier): a whole-key
  // bloom filter over the memtable answers those without walking the skiplist.
  cf.memtable_prefix_bloom_size_ratio = 0.05;
  cf.memtable_whole_key_filtering = true;
  cf.bottommost_compression = rocksdb::kZSTD;

  rocksdb::DBOptions db;
  if (BackgroundCpuPolicy() == CpuPriority::kBackground) {
    // Compactions are background work like the pipeline's: at normal priority they cost profile
    // lookups under ingest a p99 of ~3.9 ms instead of ~2.3 (BENCHMARKS.md). Starved for long,
    // they only let level-0 files pile up until writes slow down, which frees the CPU for them.
    // Flushes keep the normal priority: a full memtable stops writes at once.
    rocksdb::Env::Default()
        ->LowerThreadPoolCPUPriority(rocksdb::Env::Priority::LOW, rocksdb::CpuPriority::kIdle)
        .PermitUncheckedError();
  }
  db.create_if_missing = true;
  db.create_missing_column_families = true;
  db.max_background_jobs = 2;
  db.max_open_files = 512;
  db.max_total_wal_size = 4 * options.write_buffer_bytes;
  db.write_buffer_manager =
      std::make_shared<rocksdb::WriteBufferManager>(options.memtable_budget_bytes, cache);
  db.bytes_per_sync = 1 << 20;
  db.info_log_level = rocksdb::WARN_LEVEL;
  db.keep_log_file_num = 2;
  // Events are JSON: compressing the write-ahead log cuts the bytes every ack waits to fsync.
  db.wal_compression = rocksdb::kZSTD;
  // The log committer and the pipeline write concurrently: let one's WAL write overlap the
  // other's memtable insert.
  db.enable_pipelined_write = true;

  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (int i = 0; i < kSpaceCount; ++i) {
    std::string name = i == 0 ? std::string(rocksdb::kDefaultColumnFamilyName)
                              : std::string(SpaceName(static_cast<Space>(i)));
    descriptors.emplace_back(name, cf);
  }
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(db, path, descriptors, &handles, &raw);
  if (!s.ok()) return FromRocks(s);
  return std::unique_ptr<Store>(
      std::make_unique<RocksStore>(path, std::unique_ptr<rocksdb::DB>(raw), std::move(handles),
                                   cache));
}

}  // namespace tessera::storage
