// NDJSON input: one Segment message (a JSON object with a "type") per line.
//
// NdjsonReader splits the input into lines without holding more than max_line_bytes of one line;
// blank (whitespace-only) lines are skipped but counted. PrepareNdjsonMessage checks one line and
// gives the JSON to send: the line itself when it carries a messageId, else the line with a
// deterministic "imp-" messageId (see message_id.h) inserted, so re-imports deduplicate. Number
// formatting and key order of the line are kept as they are.
//
// What is checked here is what the importer must know to build a batch (JSON object, a known
// "type", the size); the server validates the rest and names the message it rejects.
//
// Thread-safety: a reader is used by one thread at a time; PrepareNdjsonMessage is pure.
#pragma once

#include <cstdint>
#include <istream>
#include <string>
#include <string_view>

#include "core/status.h"
#include "importer/byte_stream.h"
#include "importer/mapping.h"

namespace tessera::importer {

struct NdjsonLine {
  std::string text{};       // without the line end; empty when too_long
  uint64_t line = 0;        // 1-based
  uint64_t end_offset = 0;  // byte offset after the line end
  uint64_t bytes = 0;       // length of the line without its line end
  bool too_long = false;    // bytes > max_line_bytes; text was not kept
};

class NdjsonReader {
 public:
  NdjsonReader(std::istream* in, size_t max_line_bytes = kMaxMessageBytes);
  NdjsonReader(std::string data, size_t max_line_bytes = kMaxMessageBytes);

  // The next non-blank line: true, false at the end, IOError on a read failure.
  Result<bool> Next(NdjsonLine* out);
  // Continues at `offset` (a previous end_offset), counting lines from `line`.
  Status Seek(uint64_t offset, uint64_t line);

  uint64_t offset() const { return in_.offset(); }
  uint64_t line() const { return line_; }

 private:
  ByteStream in_;
  size_t max_line_bytes_;
  uint64_t line_ = 1;
};

// The message to send for one line, or InvalidArgument with the rejection reason (malformed
// JSON, not an object, no or unknown "type", nested too deep, over kMaxMessageBytes).
Result<std::string> PrepareNdjsonMessage(std::string_view line, std::string_view source);

}  // namespace tessera::importer
