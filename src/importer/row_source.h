// Rows of an input file, whatever its format: each row is either a message ready to send or a
// local rejection, tagged with its line and the byte offset after it (for checkpoints).
//
// Thread-safety: one thread at a time.
#pragma once

#include <istream>
#include <memory>
#include <string>

#include "core/status.h"
#include "importer/csv.h"
#include "importer/mapping.h"

namespace tessera::importer {

struct Row {
  uint64_t line = 0;        // where the row starts
  uint64_t end_offset = 0;  // byte offset after the row
  std::string message{};    // the message JSON, when rejection is empty
  std::string rejection{};  // why the row is not sent
};

class RowSource {
 public:
  virtual ~RowSource() = default;
  // The next row: true, false at the end, or a fatal error (a CSV syntax error, a read error).
  virtual Result<bool> Next(Row* row) = 0;
  // Continues after a checkpoint. REQUIRES: offset >= data_start().
  virtual Status Seek(uint64_t offset, uint64_t line) = 0;
  virtual uint64_t offset() const = 0;  // after the last row returned
  virtual uint64_t line() const = 0;    // the line at offset()
  // Where the data rows start (after a CSV header).
  virtual uint64_t data_start() const = 0;
};

// Reads the header right away: InvalidArgument when there is none, when it is malformed, or when
// the mapping does not fit it (see RowMapper::Create). `in` must outlive the source.
Result<std::unique_ptr<RowSource>> OpenCsvRows(std::istream* in, const CsvOptions& options,
                                               const Mapping& mapping, const std::string& source);

std::unique_ptr<RowSource> OpenNdjsonRows(std::istream* in, const std::string& source);

}  // namespace tessera::importer
