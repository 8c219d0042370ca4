// libFuzzer target for the importer's parsing core: the CSV reader with the default mapping (and
// a typed track mapping), seeking back to record boundaries, and the NDJSON reader with message
// preparation. Properties checked beyond "no crash, no sanitizer report":
//   - every message produced is a JSON object with an "imp-" or the line's own messageId, within
//     kMaxMessageBytes;
//   - re-reading from any record's end_offset gives the same records as the first pass.
//
// The first input byte picks the mode: bit 0-1 delimiter (, ; tab |), bit 2 NDJSON, bit 3 the
// typed mapping. The rest is the file.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "importer/csv.h"
#include "importer/mapping.h"
#include "importer/ndjson.h"
#include "importer/row_source.h"

namespace tessera::importer {
namespace {

constexpr int kMaxRows = 2000;

void Require(bool condition) {
  if (!condition) std::abort();
}

void CheckMessage(const std::string& message) {
  Require(message.size() <= kMaxMessageBytes);
  nlohmann::json j = nlohmann::json::parse(message, nullptr, /*allow_exceptions=*/false);
  Require(j.is_object());
  auto id = j.find("messageId");
  Require(id != j.end());
}

void FuzzCsvDefault(const std::string& data, char delimiter) {
  std::istringstream in(data);
  auto rows = OpenCsvRows(&in, CsvOptions{.delimiter = delimiter}, Mapping{}, "fuzz");
  if (!rows.ok()) return;
  Row row;
  std::vector<Row> seen;
  std::vector<uint64_t> next_lines;
  for (int i = 0; i < kMaxRows; ++i) {
    Result<bool> more = (*rows)->Next(&row);
    if (!more.ok() || !*more) break;
    if (row.rejection.empty()) CheckMessage(row.message);
    seen.push_back(row);
    next_lines.push_back((*rows)->line());
  }
  if (seen.empty()) return;
  // Seek to a record boundary in a fresh source and compare what follows.
  size_t k = data.size() % seen.size();
  std::istringstream again(data);
  auto resumed = OpenCsvRows(&again, CsvOptions{.delimiter = delimiter}, Mapping{}, "fuzz");
  Require(resumed.ok());
  Require((*resumed)->Seek(seen[k].end_offset, next_lines[k]).ok());
  for (size_t i = k + 1; i < seen.size(); ++i) {
    Result<bool> more = (*resumed)->Next(&row);
    Require(more.ok() && *more);
    Require(row.line == seen[i].line && row.end_offset == seen[i].end_offset);
    Require(row.message == seen[i].message && row.rejection == seen[i].rejection);
  }
}

void FuzzCsvTyped(const std::string& data, char delimiter) {
  CsvReader reader(data, CsvOptions{.delimiter = delimiter});
  CsvRecord header;
  Result<bool> found = reader.Next(&header);
  if (!found.ok() || !*found) return;
  Mapping m;
  m.type = MessageType::kTrack;
  m.event = "Fuzzed";
  const std::vector<std::string>& h = header.fields;
  if (!h.empty()) m.identifiers.emplace_back(h[0], "email");
  if (h.size() > 1) m.types[h[1]] = ValueType::kNumber;
  if (h.size() > 2) m.types[h[2]] = ValueType::kBoolean;
  if (h.size() > 3) m.timestamp_column = h[3];
  if (h.size() > 4) m.traits = ColumnSelection{ColumnSelection::Mode::kListed, {{h[4], "t"}}};
  auto mapper = RowMapper::Create(m, h, "fuzz");
  if (!mapper.ok()) return;
  CsvRecord record;
  for (int i = 0; i < kMaxRows; ++i) {
    Result<bool> more = reader.Next(&record);
    if (!more.ok() || !*more) break;
    Result<std::string> message = mapper->Map(record.fields);
    if (message.ok()) CheckMessage(*message);
  }
}

void FuzzNdjson(const std::string& data) {
  std::istringstream in(data);
  std::unique_ptr<RowSource> rows = OpenNdjsonRows(&in, "fuzz");
  Row row;
  for (int i = 0; i < kMaxRows; ++i) {
    Result<bool> more = rows->Next(&row);
    if (!more.ok() || !*more) break;
    if (row.rejection.empty()) CheckMessage(row.message);
  }
}

}  // namespace
}  // namespace tessera::importer

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  using namespace tessera::importer;
  if (size == 0) return 0;
  const uint8_t mode = bytes[0];
  const std::string data(reinterpret_cast<const char*>(bytes) + 1, size - 1);
  static constexpr char kDelimiters[] = {',', ';', '\t', '|'};
  const char delimiter = kDelimiters[mode & 3];
  if (mode & 4) {
    FuzzNdjson(data);
  } else if (mode & 8) {
    FuzzCsvTyped(data, delimiter);
  } else {
    FuzzCsvDefault(data, delimiter);
  }
  return 0;
}
