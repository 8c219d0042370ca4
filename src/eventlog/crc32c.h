// CRC-32C (Castagnoli), as used by iSCSI, ext4, LevelDB and RocksDB: it frames every record of
// the event log's segment files. Hardware (SSE 4.2) when the CPU has it, a table otherwise.
// Thread-safe (pure functions).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace tessera::eventlog::crc32c {

// CRC of data appended to a stream whose CRC so far is `crc` (0 for a new stream).
uint32_t Extend(uint32_t crc, const char* data, size_t n);
inline uint32_t Value(std::string_view data) { return Extend(0, data.data(), data.size()); }

// A CRC stored next to the data it covers is masked, so that the CRC of a string holding CRCs
// (or of zeros) is not trivially related to them (LevelDB's util/crc32c.h).
inline uint32_t Mask(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xa282ead8u; }
inline uint32_t Unmask(uint32_t masked) {
  uint32_t rot = masked - 0xa282ead8u;
  return (rot >> 17) | (rot << 15);
}

}  // namespace tessera::eventlog::crc32c
