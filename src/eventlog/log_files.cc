#include "eventlog/log_files.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "core/coding.h"
#include "core/mutex.h"

namespace tessera::eventlog {
namespace {

Status Errno(const std::string& what) {
  return Status::IOError(what + ": " + std::strerror(errno));
}

Status SyncPath(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Errno("cannot open directory " + path);
  Status s = ::fsync(fd) == 0 ? Status::Ok() : Errno("cannot sync directory " + path);
  ::close(fd);
  return s;
}

class PosixLogFile final : public LogFile {
 public:
  PosixLogFile(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  ~PosixLogFile() override { ::close(fd_); }
  PosixLogFile(const PosixLogFile&) = delete;
  PosixLogFile& operator=(const PosixLogFile&) = delete;

  Status ReadAt(uint64_t offset, size_t n, char* buf, size_t* got) const override {
    *got = 0;
    while (*got < n) {
      ssize_t r = ::pread(fd_, buf + *got, n - *got, static_cast<off_t>(offset + *got));
      if (r < 0) {
        if (errno == EINTR) continue;
        return Errno("cannot read " + path_);
      }
      if (r == 0) break;
      *got += static_cast<size_t>(r);
    }
    return Status::Ok();
  }

  Status WriteAt(uint64_t offset, std::string_view data) override {
    size_t done = 0;
    while (done < data.size()) {
      ssize_t r =
          ::pwrite(fd_, data.data() + done, data.size() - done, static_cast<off_t>(offset + done));
      if (r < 0) {
        if (errno == EINTR) continue;
        return Errno("cannot write " + path_);
      }
      done += static_cast<size_t>(r);
    }
    return Status::Ok();
  }

  Status Sync() override {
    return ::fdatasync(fd_) == 0 ? Status::Ok() : Errno("cannot sync " + path_);
  }

  Status Truncate(uint64_t size) override {
    if (::ftruncate(fd_, static_cast<off_t>(size)) != 0) return Errno("cannot truncate " + path_);
    return ::fsync(fd_) == 0 ? Status::Ok() : Errno("cannot sync " + path_);
  }

  Status Preallocate(uint64_t size) override {
    int r = ::fallocate(fd_, 0, 0, static_cast<off_t>(size));
    if (r != 0 && errno != EOPNOTSUPP && errno != ENOSYS) {
      return Errno("cannot preallocate " + path_);
    }
    return Status::Ok();
  }

  Result<uint64_t> Size() const override {
    struct stat st;
    if (::fstat(fd_, &st) != 0) return Errno("cannot stat " + path_);
    return static_cast<uint64_t>(st.st_size);
  }

 private:
  const int fd_;
  const std::string path_;
};

class PosixLogDir final : public LogDir {
 public:
  explicit PosixLogDir(std::string path) : path_(std::move(path)) {}

  Result<std::vector<std::string>> List() override {
    DIR* d = ::opendir(path_.c_str());
    if (!d) return Errno("cannot list " + path_);
    std::vector<std::string> names;
    while (struct dirent* e = ::readdir(d)) {
      std::string name = e->d_name;
      if (name != "." && name != "..") names.push_back(std::move(name));
    }
    ::closedir(d);
    std::sort(names.begin(), names.end());
    return names;
  }

  Result<std::unique_ptr<LogFile>> Open(const std::string& name) override {
    std::string p = Path(name);
    int fd = ::open(p.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) {
      if (errno == ENOENT) return Status::NotFound(p + " does not exist");
      return Errno("cannot open " + p);
    }
    return std::unique_ptr<LogFile>(std::make_unique<PosixLogFile>(fd, p));
  }

  Result<std::unique_ptr<LogFile>> Create(const std::string& name) override {
    std::string p = Path(name);
    int fd = ::open(p.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return Errno("cannot create " + p);
    return std::unique_ptr<LogFile>(std::make_unique<PosixLogFile>(fd, p));
  }

  Status Remove(const std::string& name) override {
    std::string p = Path(name);
    if (::unlink(p.c_str()) != 0 && errno != ENOENT) return Errno("cannot remove " + p);
    return Status::Ok();
  }

  Status Rename(const std::string& from, const std::string& to) override {
    if (::rename(Path(from).c_str(), Path(to).c_str()) != 0) {
      return Errno("cannot rename " + Path(from) + " to " + to);
    }
    return Status::Ok();
  }

  Status SyncDir() override { return SyncPath(path_); }
  const std::string& path() const override { return path_; }

 private:
  std::string Path(const std::string& name) const { return path_ + "/" + name; }
  const std::string path_;
};

// StoreLogDir keys in Space::kLog: "F" name -> "" (the file exists) and
// "C" name \0 offset (u64 BE) -> bytes written at that offset by one Sync.
std::string FileKey(std::string_view name) { return "F" + std::string(name); }
std::string ChunkPrefix(std::string_view name) { return "C" + std::string(name) + '\0'; }
std::string ChunkKey(std::string_view name, uint64_t offset) {
  std::string k = ChunkPrefix(name);
  PutFixed64BE(&k, offset);
  return k;
}

// Deletes every chunk of `name` into *batch.
Status DeleteChunks(storage::Store* store, std::string_view name, storage::WriteBatch* batch) {
  std::string prefix = ChunkPrefix(name);
  auto it = store->NewIterator(storage::Space::kLog);
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    batch->Delete(storage::Space::kLog, it->key());
  }
  return it->status();
}

class StoreLogFile final : public LogFile {
 public:
  StoreLogFile(storage::Store* store, std::string name, std::string data)
      : store_(store), name_(std::move(name)), data_(std::move(data)), synced_(data_.size()) {}

  Status ReadAt(uint64_t offset, size_t n, char* buf, size_t* got) const override {
    MutexLock lock(&mu_);
    *got = 0;
    if (offset >= data_.size()) return Status::Ok();
    *got = std::min<uint64_t>(n, data_.size() - offset);
    std::memcpy(buf, data_.data() + offset, *got);
    return Status::Ok();
  }

  Status WriteAt(uint64_t offset, std::string_view data) override {
    MutexLock lock(&mu_);
    if (offset > data_.size()) data_.resize(offset, '\0');
    if (offset + data.size() > data_.size()) data_.resize(offset + data.size());
    std::memcpy(data_.data() + offset, data.data(), data.size());
    synced_ = std::min<uint64_t>(synced_, offset);
    return Status::Ok();
  }

  Status Sync() override {
    storage::WriteBatch batch;
    uint64_t size;
    {
      MutexLock lock(&mu_);
      size = data_.size();
      if (synced_ >= size) return Status::Ok();
      batch.Put(storage::Space::kLog, ChunkKey(name_, synced_),
                std::string_view(data_).substr(synced_));
    }
    TESSERA_RETURN_IF_ERROR(store_->Write(batch, {.sync = true}));
    MutexLock lock(&mu_);
    synced_ = size;
    return Status::Ok();
  }

  Status Truncate(uint64_t size) override {
    {
      // Cutting only what was never synced needs no store write.
      MutexLock lock(&mu_);
      if (size >= synced_) {
        if (size < data_.size()) data_.resize(size);
        return Status::Ok();
      }
    }
    // Rewrites the file as one chunk (only recovery truncates synced bytes).
    storage::WriteBatch batch;
    TESSERA_RETURN_IF_ERROR(DeleteChunks(store_, name_, &batch));
    {
      MutexLock lock(&mu_);
      if (size < data_.size()) data_.resize(size);
      batch.Put(storage::Space::kLog, ChunkKey(name_, 0), data_);
    }
    TESSERA_RETURN_IF_ERROR(store_->Write(batch, {.sync = true}));
    MutexLock lock(&mu_);
    synced_ = data_.size();
    return Status::Ok();
  }

  Status Preallocate(uint64_t) override { return Status::Ok(); }
  bool SyncFailureIsClean() const override { return true; }  // a failed store write wrote nothing

  Result<uint64_t> Size() const override {
    MutexLock lock(&mu_);
    return static_cast<uint64_t>(data_.size());
  }

 private:
  storage::Store* const store_;
  const std::string name_;
  mutable Mutex mu_;
  std::string data_ TESSERA_GUARDED_BY(mu_);
  uint64_t synced_ TESSERA_GUARDED_BY(mu_);  // bytes [0, synced_) are in the store
};

class StoreLogDir final : public LogDir {
 public:
  explicit StoreLogDir(storage::Store* store) : store_(store) {}

  Result<std::vector<std::string>> List() override {
    std::vector<std::string> names;
    auto it = store_->NewIterator(storage::Space::kLog);
    for (it->Seek("F"); it->Valid() && it->key().starts_with("F"); it->Next()) {
      names.emplace_back(it->key().substr(1));
    }
    TESSERA_RETURN_IF_ERROR(it->status());
    return names;
  }

  Result<std::unique_ptr<LogFile>> Open(const std::string& name) override {
    std::string unused;
    TESSERA_RETURN_IF_ERROR(store_->Get(storage::Space::kLog, FileKey(name), &unused));
    std::string data;
    std::string prefix = ChunkPrefix(name);
    auto it = store_->NewIterator(storage::Space::kLog);
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
      std::string_view key = it->key();
      if (key.size() != prefix.size() + 8) return Status::Corruption("bad log chunk key");
      uint64_t offset = DecodeFixed64BE(key.data() + prefix.size());
      std::string_view v = it->value();
      if (offset + v.size() > data.size()) data.resize(offset + v.size(), '\0');
      std::memcpy(data.data() + offset, v.data(), v.size());
    }
    TESSERA_RETURN_IF_ERROR(it->status());
    return std::unique_ptr<LogFile>(std::make_unique<StoreLogFile>(store_, name, std::move(data)));
  }

  Result<std::unique_ptr<LogFile>> Create(const std::string& name) override {
    storage::WriteBatch batch;
    TESSERA_RETURN_IF_ERROR(DeleteChunks(store_, name, &batch));
    batch.Put(storage::Space::kLog, FileKey(name), "");
    TESSERA_RETURN_IF_ERROR(store_->Write(batch, {.sync = true}));
    return std::unique_ptr<LogFile>(std::make_unique<StoreLogFile>(store_, name, std::string()));
  }

  Status Remove(const std::string& name) override {
    storage::WriteBatch batch;
    TESSERA_RETURN_IF_ERROR(DeleteChunks(store_, name, &batch));
    batch.Delete(storage::Space::kLog, FileKey(name));
    return store_->Write(batch, {.sync = true});
  }

  Status Rename(const std::string& from, const std::string& to) override {
    storage::WriteBatch batch;
    TESSERA_RETURN_IF_ERROR(DeleteChunks(store_, to, &batch));
    std::string prefix = ChunkPrefix(from);
    auto it = store_->NewIterator(storage::Space::kLog);
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
      std::string key = ChunkPrefix(to);
      key.append(it->key().substr(prefix.size()));
      batch.Put(storage::Space::kLog, key, it->value());
      batch.Delete(storage::Space::kLog, it->key());
    }
    TESSERA_RETURN_IF_ERROR(it->status());
    batch.Delete(storage::Space::kLog, FileKey(from));
    batch.Put(storage::Space::kLog, FileKey(to), "");
    return store_->Write(batch, {.sync = true});
  }

  Status SyncDir() override { return Status::Ok(); }
  const std::string& path() const override { return path_; }

 private:
  storage::Store* const store_;
  const std::string path_ = "store:log";
};

}  // namespace

Result<std::unique_ptr<LogDir>> OpenPosixLogDir(const std::string& path) {
  std::error_code ec;
  bool existed = std::filesystem::is_directory(path, ec);
  if (!existed) {
    std::filesystem::create_directories(path, ec);
    if (ec) return Status::IOError("cannot create " + path + ": " + ec.message());
    std::filesystem::path p = std::filesystem::path(path).lexically_normal();
    if (!p.has_filename()) p = p.parent_path();  // "a/b/" names b
    std::string parent = p.parent_path().string();
    TESSERA_RETURN_IF_ERROR(SyncPath(parent.empty() ? "." : parent));
  }
  return std::unique_ptr<LogDir>(std::make_unique<PosixLogDir>(path));
}

std::unique_ptr<LogDir> NewStoreLogDir(storage::Store* store) {
  return std::make_unique<StoreLogDir>(store);
}

}  // namespace tessera::eventlog
