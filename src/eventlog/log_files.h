// The files under the event log: a flat directory of segment and index files that the log
// creates, appends to, syncs and reads at offsets.
//
// Two implementations. PosixLogDir: real files (a store with a directory on disk; one fd per file,
// pread/pwrite, fdatasync, fallocate). StoreLogDir: the same files kept as chunks in the store's
// log space, for an in-memory store (tests, `App` without a data dir): every Sync is a synced
// store write, so MemoryStore's crash simulation and write-failure injection cover the log too,
// and one log implementation serves both.
//
// Thread-safety: LogFile::ReadAt may run concurrently with anything on the same file; every other
// method belongs to one thread at a time (the log's committer, or Open before it starts).
// LogDir methods are called by that same single owner.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "storage/store.h"

namespace tessera::eventlog {

class LogFile {
 public:
  virtual ~LogFile() = default;
  // Reads up to n bytes at offset into buf; *got < n only at the end of the file.
  virtual Status ReadAt(uint64_t offset, size_t n, char* buf, size_t* got) const = 0;
  virtual Status WriteAt(uint64_t offset, std::string_view data) = 0;
  // Makes what was written durable (fdatasync).
  virtual Status Sync() = 0;
  // Cuts the file to `size` bytes, durably (what was reserved beyond it is released too).
  virtual Status Truncate(uint64_t size) = 0;
  // Reserves space up to `size` bytes (the file reads as zeros there), so appends and their
  // syncs need no block allocation. Best effort: a no-op where unsupported.
  virtual Status Preallocate(uint64_t size) = 0;
  virtual Result<uint64_t> Size() const = 0;
  // Whether a failed Sync leaves the file as it was before the unsynced writes (so cutting them
  // and going on is safe). Not for POSIX files: after a failed fdatasync the kernel may have
  // dropped the dirty pages, and what is on disk is unknown.
  virtual bool SyncFailureIsClean() const { return false; }
};

class LogDir {
 public:
  virtual ~LogDir() = default;
  virtual Result<std::vector<std::string>> List() = 0;                         // file names, sorted
  virtual Result<std::unique_ptr<LogFile>> Open(const std::string& name) = 0;  // NotFound if absent
  // A new empty file (an existing one is replaced). Its name is durable after SyncDir().
  virtual Result<std::unique_ptr<LogFile>> Create(const std::string& name) = 0;
  virtual Status Remove(const std::string& name) = 0;
  virtual Status Rename(const std::string& from, const std::string& to) = 0;
  virtual Status SyncDir() = 0;
  virtual const std::string& path() const = 0;  // for messages; "store:log" for StoreLogDir
};

// Opens (creating if needed, with a synced parent directory entry) a directory of log files.
Result<std::unique_ptr<LogDir>> OpenPosixLogDir(const std::string& path);
// Log files as chunks in store's Space::kLog. The store must outlive the LogDir and its files.
std::unique_ptr<LogDir> NewStoreLogDir(storage::Store* store);

}  // namespace tessera::eventlog
