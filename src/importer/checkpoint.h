// The resume checkpoint of an import: how far into which file, with which settings, and the
// counts so far. Saved after every acknowledged batch (write to a temp file, fsync, rename), so
// it never claims rows the server has not acknowledged; deleted when the import completes.
//
// The checkpoint only saves work: idempotency comes from the messageIds (message_id.h), so
// resuming from an older checkpoint, or ignoring it, re-sends rows that then count as duplicates.
//
// Thread-safety: pure functions over files.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "importer/report.h"

namespace tessera::importer {

// The checkpoint keeps at most this many rejections (the counts stay exact).
inline constexpr size_t kMaxCheckpointRejections = 1000;
// The file identity hashes this much of the file's start.
inline constexpr size_t kIdentityBytes = 64 * 1024;

struct FileIdentity {
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  std::string head_hash{};  // hex SHA-256 of the first kIdentityBytes
};

// NotFound / IOError when the file cannot be read.
Result<FileIdentity> IdentifyFile(const std::string& path);

// Hex SHA-256 of the file's bytes [begin, end) (fewer when the file is shorter).
Result<std::string> HashFileRange(const std::string& path, uint64_t begin, uint64_t end);
// The range BoundaryHash covers: the up to 4 KiB just before `offset`.
inline constexpr uint64_t kBoundaryBytes = 4096;

struct Checkpoint {
  std::string path{};         // the input, as given
  std::string fingerprint{};  // of the import settings (server, source, format, mapping)
  FileIdentity file{};
  uint64_t offset = 0;          // byte offset after the last row accounted for
  uint64_t next_line = 1;       // the line at `offset`
  std::string boundary_hash{};  // HashFileRange of the kBoundaryBytes before `offset`
  ImportSummary counts{};       // rows, accepted, duplicates, rejected, rejections (capped)
};

// NotFound when there is none; Corruption when it cannot be parsed.
Result<Checkpoint> LoadCheckpoint(const std::string& state_path);
Status SaveCheckpoint(const std::string& state_path, const Checkpoint& checkpoint);
// Ok when it did not exist.
Status RemoveCheckpoint(const std::string& state_path);

// Empty when `checkpoint` can resume an import of the file at `path` (now `file`) with settings
// `fingerprint` whose data rows start at `data_start`; otherwise why not. Beyond the identity of
// the file's start, the bytes just before the checkpoint's offset must be unchanged, so that the
// offset still falls on the same row boundary (an append-only file may grow).
std::string CheckpointMismatch(const Checkpoint& checkpoint, const std::string& path,
                               const FileIdentity& file, const std::string& fingerprint,
                               uint64_t data_start);

}  // namespace tessera::importer
