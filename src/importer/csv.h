// A streaming RFC 4180 CSV reader: quoted fields with "" escapes and embedded newlines, LF, CRLF
// or lone CR line ends, a leading UTF-8 byte order mark, and a configurable delimiter. It reads
// the input in blocks and never holds more than one record (bounded by max_record_bytes).
//
// Each record reports the physical line it starts on (1-based) and the byte offset just after
// it, so an import can checkpoint after a record and later Seek() back to that point.
//
// Leniency, on purpose: lines that are completely empty are skipped (they still count as lines);
// a lone CR ends a line like LF does. Strictness, on purpose: a '"' inside an unquoted field, or
// anything but a delimiter or line end after a closing quote, is an error ("stray quote"), as is
// a quoted field still open at the end of the input. Errors are fatal: the reader stays failed.
// Field-count checks against the header are the caller's (see row_source.h).
//
// Thread-safety: a reader is used by one thread at a time.
#pragma once

#include <cstdint>
#include <istream>
#include <string>
#include <vector>

#include "core/status.h"
#include "importer/byte_stream.h"

namespace tessera::importer {

struct CsvOptions {
  char delimiter = ',';
  size_t max_record_bytes = 1 << 20;  // a longer record is an error (likely an unclosed quote)
};

// InvalidArgument unless the delimiter is usable (not '"', CR, LF or NUL).
Status ValidateCsvOptions(const CsvOptions& options);

struct CsvRecord {
  std::vector<std::string> fields{};
  uint64_t line = 0;        // physical line the record starts on, 1-based
  uint64_t end_offset = 0;  // byte offset just after the record and its line end
};

class CsvReader {
 public:
  // Reads from `in`, which must outlive the reader. REQUIRES: ValidateCsvOptions(options).ok().
  CsvReader(std::istream* in, CsvOptions options);
  // Reads from its own copy of `data`.
  CsvReader(std::string data, CsvOptions options);
  CsvReader(const CsvReader&) = delete;
  CsvReader& operator=(const CsvReader&) = delete;

  // The next record: true and *record filled, false at the end of the input, or an error
  // (InvalidArgument "line N: ...", IOError on a read failure).
  Result<bool> Next(CsvRecord* record);

  // Continues at byte `offset` (a previous CsvRecord::end_offset) counting lines from `line`.
  // IOError when the stream cannot seek (stdin, pipes).
  Status Seek(uint64_t offset, uint64_t line);

  uint64_t offset() const { return in_.offset(); }  // of the next unread byte
  uint64_t line() const { return line_; }           // the line the next byte is on

 private:
  Status Fail(Status status);
  Status ReadQuoted(std::string* field, uint64_t record_start);
  Status CheckSize(uint64_t record_start) const;

  ByteStream in_;
  CsvOptions options_;
  uint64_t line_ = 1;
  uint64_t record_line_ = 1;  // where the record being read started
  Status failed_;             // sticky: once set, Next() returns it
};

}  // namespace tessera::importer
