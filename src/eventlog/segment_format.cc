#include "eventlog/segment_format.h"

#include <cstdio>
#include <cstring>

#include "eventlog/crc32c.h"

namespace tessera::eventlog::segment {
namespace {

constexpr std::string_view kSegmentMagic = "TSRLOG1\n";
constexpr std::string_view kIndexMagic = "TSRIDX1\n";

std::string NameWith(uint64_t first_seq, const char* ext) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%020llu.%s", static_cast<unsigned long long>(first_seq), ext);
  return buf;
}

}  // namespace

std::string SegmentName(uint64_t first_seq) { return NameWith(first_seq, "seg"); }
std::string IndexName(uint64_t first_seq) { return NameWith(first_seq, "idx"); }

std::optional<uint64_t> ParseSegmentName(std::string_view name) {
  if (name.size() != 24 || name.substr(20) != ".seg") return std::nullopt;
  uint64_t v = 0;
  for (char c : name.substr(0, 20)) {
    if (c < '0' || c > '9') return std::nullopt;
    uint64_t next = v * 10 + static_cast<uint64_t>(c - '0');
    if (next / 10 != v) return std::nullopt;  // overflow
    v = next;
  }
  if (v == 0) return std::nullopt;
  return v;
}

std::string EncodeHeader(uint64_t first_seq) {
  std::string h(kSegmentMagic);
  PutFixed64LE(&h, first_seq);
  h.append(12, '\0');
  PutFixed32LE(&h, crc32c::Mask(crc32c::Value(h)));
  return h;
}

Status CheckHeader(std::string_view bytes, uint64_t first_seq) {
  if (bytes.size() < kHeaderSize) return Status::Corruption("segment header is short");
  if (bytes.substr(0, 8) != kSegmentMagic) return Status::Corruption("not a segment file (magic)");
  uint32_t stored = crc32c::Unmask(DecodeFixed32LE(bytes.data() + 28));
  if (stored != crc32c::Value(bytes.substr(0, 28))) {
    return Status::Corruption("segment header checksum mismatch");
  }
  uint64_t seq = DecodeFixed64LE(bytes.data() + 8);
  if (seq != first_seq) {
    return Status::Corruption("segment header names first seq " + std::to_string(seq) +
                              ", its file name " + std::to_string(first_seq));
  }
  return Status::Ok();
}

void AppendRecord(std::string* dst, uint64_t seq, std::string_view head, std::string_view body) {
  size_t start = dst->size();
  PutFixed32LE(dst, 0);  // CRC, filled below
  PutFixed32LE(dst, static_cast<uint32_t>(head.size() + body.size()));
  PutFixed64LE(dst, seq);
  dst->append(head.data(), head.size());
  dst->append(body.data(), body.size());
  uint32_t crc = crc32c::Extend(0, dst->data() + start + 4, dst->size() - start - 4);
  uint32_t masked = crc32c::Mask(crc);
  for (int i = 0; i < 4; ++i) (*dst)[start + i] = static_cast<char>((masked >> (8 * i)) & 0xff);
}

Parse ParseRecord(std::string_view bytes, Record* out) {
  out->size = 0;
  if (bytes.empty()) return Parse::kEnd;
  if (bytes.size() < kRecordHeaderSize) {
    // Fewer bytes than a header: zeros are the end, anything else a torn header.
    for (char c : bytes) {
      if (c != 0) return Parse::kShort;
    }
    return Parse::kEnd;
  }
  uint32_t masked = DecodeFixed32LE(bytes.data());
  uint32_t length = DecodeFixed32LE(bytes.data() + 4);
  if (masked == 0 && length == 0) return Parse::kEnd;
  if (length == 0 || length > kMaxPayload) return Parse::kCorrupt;
  out->size = kRecordHeaderSize + length;
  if (bytes.size() < out->size) return Parse::kShort;
  if (crc32c::Unmask(masked) != crc32c::Extend(0, bytes.data() + 4, out->size - 4)) {
    return Parse::kCorrupt;
  }
  out->seq = DecodeFixed64LE(bytes.data() + 8);
  out->payload = bytes.substr(kRecordHeaderSize, length);
  return Parse::kOk;
}

std::string EncodeIndex(uint64_t first_seq, uint64_t data_end,
                        const std::vector<uint32_t>& offsets) {
  std::string out(kIndexMagic);
  PutFixed64LE(&out, first_seq);
  PutFixed64LE(&out, offsets.size());
  PutFixed64LE(&out, data_end);
  PutFixed32LE(&out, crc32c::Mask(crc32c::Value(out)));
  PutFixed32LE(&out, 0);
  out.reserve(out.size() + 4 * offsets.size());
  for (uint32_t o : offsets) PutFixed32LE(&out, o);
  return out;
}

Result<IndexHeader> DecodeIndexHeader(std::string_view bytes, uint64_t file_size,
                                      uint64_t first_seq) {
  if (bytes.size() < kIndexHeaderSize || bytes.substr(0, 8) != kIndexMagic) {
    return Status::Corruption("not an index file");
  }
  if (crc32c::Unmask(DecodeFixed32LE(bytes.data() + 32)) != crc32c::Value(bytes.substr(0, 32))) {
    return Status::Corruption("index header checksum mismatch");
  }
  IndexHeader h;
  h.first_seq = DecodeFixed64LE(bytes.data() + 8);
  h.count = DecodeFixed64LE(bytes.data() + 16);
  h.data_end = DecodeFixed64LE(bytes.data() + 24);
  if (h.first_seq != first_seq) return Status::Corruption("index names another segment");
  if (file_size != kIndexHeaderSize + 4 * h.count) return Status::Corruption("index size mismatch");
  return h;
}

}  // namespace tessera::eventlog::segment
