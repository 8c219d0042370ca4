// The on-disk format of the event log's segment files and their index files (README.md has the
// picture). Pure encoding and decoding: no I/O, no state; thread-safe.
//
// Segment "<first seq, 20 digits>.seg":
//   header, 32 bytes: magic "TSRLOG1\n" | first_seq u64 | 12 zero bytes | masked CRC-32C of [0, 28)
//   records, back to back, in seq order without gaps:
//     masked CRC-32C u32 of [4, 16 + length) | length u32 | seq u64 | payload (core/event.h's
//     EncodeEvent), all integers little-endian
//   then zeros (preallocated space) or the end of the file. A record header of zeros marks the end.
// Index "<first seq>.idx", written when a segment is sealed (the active segment's index is in
// memory and rebuilt from the segment on open):
//   header, 40 bytes: magic "TSRIDX1\n" | first_seq u64 | count u64 | data_end u64 | masked
//   CRC-32C of [0, 32) | 4 zero bytes
//   count u32 offsets: where record first_seq + i starts in the segment
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace tessera::eventlog::segment {

inline constexpr size_t kHeaderSize = 32;
inline constexpr size_t kRecordHeaderSize = 16;
inline constexpr size_t kIndexHeaderSize = 40;
// No event comes near this (Segment's limit is 32 KB a message); a larger length is corruption.
inline constexpr uint32_t kMaxPayload = 16u << 20;

std::string SegmentName(uint64_t first_seq);  // "00000000000000000001.seg"
std::string IndexName(uint64_t first_seq);    // "00000000000000000001.idx"
// The first seq named by a segment file name, or nullopt for any other name.
std::optional<uint64_t> ParseSegmentName(std::string_view name);

std::string EncodeHeader(uint64_t first_seq);
// Corruption unless `bytes` is a valid header for a segment starting at first_seq.
Status CheckHeader(std::string_view bytes, uint64_t first_seq);

// Appends one framed record to *dst; the payload is head + body.
void AppendRecord(std::string* dst, uint64_t seq, std::string_view head,
                  std::string_view body = {});
inline size_t RecordSize(size_t payload) { return kRecordHeaderSize + payload; }

enum class Parse {
  kOk,       // a whole record with a valid CRC
  kEnd,      // a zero header (preallocated space) or no bytes left: the end of the records
  kShort,    // `bytes` ends inside the record (read more, or a torn tail)
  kCorrupt,  // CRC mismatch or an impossible length
};
struct Record {
  uint64_t seq = 0;
  std::string_view payload;
  size_t size = 0;  // header + payload
};
// Parses the record at the start of `bytes`. For kShort, out->size is the whole record's size
// when the header was complete (0 otherwise).
Parse ParseRecord(std::string_view bytes, Record* out);

struct IndexHeader {
  uint64_t first_seq = 0;
  uint64_t count = 0;
  uint64_t data_end = 0;
};
std::string EncodeIndex(uint64_t first_seq, uint64_t data_end,
                        const std::vector<uint32_t>& offsets);
// Corruption unless `bytes` (the first kIndexHeaderSize bytes of a file of file_size bytes) is
// a valid index header for a segment starting at first_seq.
Result<IndexHeader> DecodeIndexHeader(std::string_view bytes, uint64_t file_size,
                                      uint64_t first_seq);

inline void PutFixed32LE(std::string* dst, uint32_t v) {
  char b[4];
  for (int i = 0; i < 4; ++i) b[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  dst->append(b, 4);
}
inline void PutFixed64LE(std::string* dst, uint64_t v) {
  char b[8];
  for (int i = 0; i < 8; ++i) b[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  dst->append(b, 8);
}
inline uint32_t DecodeFixed32LE(const char* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}
inline uint64_t DecodeFixed64LE(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

}  // namespace tessera::eventlog::segment
