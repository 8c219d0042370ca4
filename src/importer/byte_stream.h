// A buffered byte source over a std::istream that knows its absolute byte offset, shared by the
// CSV and NDJSON readers so that both can report "offset after this record" and seek back.
//
// Thread-safety: one thread at a time.
#pragma once

#include <cstdint>
#include <istream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "core/status.h"

namespace tessera::importer {

class ByteStream {
 public:
  // Reads from `in`, which must outlive this object.
  explicit ByteStream(std::istream* in);
  // Reads from its own copy of `data`.
  explicit ByteStream(std::string data);
  ByteStream(const ByteStream&) = delete;
  ByteStream& operator=(const ByteStream&) = delete;

  // The next byte (0..255) or -1 at the end of the input (or after a read error).
  int Get() {
    int c = Peek();
    if (c >= 0) {
      ++pos_;
      ++offset_;
    }
    return c;
  }
  int Peek() {
    if (pos_ == len_ && !Fill(1)) return -1;
    return static_cast<unsigned char>(buf_[pos_]);
  }
  // Consumes a UTF-8 byte order mark if the next bytes are one.
  void SkipBom();

  // Continues at byte `offset`. IOError when the stream cannot seek (stdin, pipes).
  Status Seek(uint64_t offset);

  uint64_t offset() const { return offset_; }  // of the next unread byte
  bool read_error() const { return read_error_; }

 private:
  bool Fill(size_t n);  // tries to have n unread bytes buffered; false if fewer remain

  std::unique_ptr<std::istringstream> owned_;
  std::istream* in_;
  std::vector<char> buf_;
  size_t pos_ = 0;       // next unread byte in buf_
  size_t len_ = 0;       // bytes valid in buf_
  uint64_t offset_ = 0;  // absolute offset of buf_[pos_]
  bool read_error_ = false;
};

}  // namespace tessera::importer
