// Reading and writing FEBRL-format CSV (header kFebrlHeader, ", " between fields, no quoting).
#pragma once

#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "bench/linkage/record.h"
#include "core/status.h"

namespace tessera::bench::linkgen {

struct FebrlRow {
  std::string id;
  Record record;
};

// Reads a FEBRL file. The separator's space is removed; any further leading space stays in the
// value (FEBRL's corruptor adds some, e.g. "rec-3945-dup-0,  elie"). Trailing spaces and CR are
// removed. Fails on a wrong header or a row without 11 fields.
Result<std::vector<FebrlRow>> ReadFebrlFile(const std::string& path);

// Reads a truth file ("rec_id_l,rec_id_r" then one pair a line).
Result<std::vector<std::pair<std::string, std::string>>> ReadTruthFile(const std::string& path);

// The original records (rec-<n>-org) of every dataset*.csv in dir, files in name order, values
// trimmed. Fails when the folder holds no such file.
Result<std::vector<Record>> LoadFebrlOriginals(const std::string& dir,
                                               std::vector<std::string>* files);

// Buffered writer for large outputs: appends into a 1 MiB buffer, one fwrite per flush.
// Not thread-safe. Close() must be called (and checked) before destruction to see write errors.
class FileWriter {
 public:
  FileWriter() = default;
  FileWriter(const FileWriter&) = delete;
  FileWriter& operator=(const FileWriter&) = delete;
  ~FileWriter();

  Status Open(const std::string& path);
  void Append(std::string_view s) {
    if (buf_.size() + s.size() > kFlushAt) Flush();
    buf_.append(s);
  }
  void AppendRow(std::string_view id, const Record& r);
  Status Close();
  uint64_t bytes() const { return bytes_; }

 private:
  static constexpr size_t kFlushAt = 1 << 20;
  void Flush();

  std::FILE* file_ = nullptr;
  std::string path_;
  std::string buf_;
  uint64_t bytes_ = 0;
  bool failed_ = false;
};

}  // namespace tessera::bench::linkgen
