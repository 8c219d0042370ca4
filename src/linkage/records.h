// The records being linked, in the column-major form the comparisons and blocking read.
//
// A Table is what a CSV file holds: record ids and raw column values. LinkInput puts one table
// (deduplication) or two (linking left with right) into one index space: left records are
// 0..left_count-1, right records follow. Each used column is normalised once for its comparison
// kind and interned: equal normalised values share a value id (0 = missing), so an exact
// comparison is an integer compare and term frequencies are counts per value id. Derived data
// (parsed dates, phonetic codes) is computed once per distinct value, not per record.
//
// Thread-safety: immutable after Build(); any number of threads may read it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "linkage/settings.h"

namespace tessera::linkage {

struct Table {
  std::string name;                          // file name, for messages
  std::vector<std::string> columns;          // header, without the id column
  std::vector<std::string> ids;              // record ids, one per row
  std::vector<std::vector<std::string>> values;  // [column][row], trimmed raw text
};

// Reads a CSV file with a header row. Fields are trimmed; `id_column` must exist and ids must be
// unique and non-empty. Errors name the file and line.
Result<Table> ReadTable(const std::string& path, const std::string& id_column);
Result<Table> ParseTable(const std::string& name, std::string data, const std::string& id_column);

struct Column {
  std::string name;
  ComparisonKind kind = ComparisonKind::kString;  // decides the normalisation
  std::vector<uint32_t> value;        // per record: value id, 0 = missing
  std::vector<std::string> text;      // value id -> normalised text ("" for 0)
  std::vector<uint32_t> left_count;   // value id -> records on the left with it
  std::vector<uint32_t> right_count;  // value id -> records on the right (dedupe: = left_count)
  std::vector<int32_t> days;          // kDate: value id -> days since 1970, or kNoDate
  std::vector<std::string> phonetic;  // value id -> Double Metaphone primary code
  std::vector<std::string> phonetic_alt;
  uint64_t left_present = 0, right_present = 0;  // records with a value

  static constexpr int32_t kNoDate = INT32_MIN;
  std::string_view Text(uint32_t record) const { return text[value[record]]; }
  // Share of the other side's present values equal to value id `v` (for the term-frequency
  // adjustment): how likely a record from the other side agrees with it by chance.
  double Frequency(uint32_t v) const;
  bool dedupe = false;
};

class LinkInput {
 public:
  // Deduplication of one table, or linking of two (right may be null). The tables must outlive
  // the input. `parallel`: prepare the columns on every core (false for the server's small
  // per-profile inputs, where starting threads costs more than the work).
  static Result<LinkInput> Build(const Table* left, const Table* right, const Settings& settings,
                                 bool parallel = true);

  bool dedupe() const { return dedupe_; }
  uint32_t left_count() const { return left_count_; }
  uint32_t right_count() const { return right_count_; }
  uint32_t record_count() const { return left_count_ + right_count_; }
  const std::string& id(uint32_t record) const;
  // Index of `name` in columns(), or -1.
  int ColumnIndex(std::string_view name) const;
  const Column& column(int index) const { return columns_[index]; }
  const std::vector<Column>& columns() const { return columns_; }
  // Number of candidate pairs there would be without blocking.
  uint64_t AllPairs() const;

 private:
  const Table* left_ = nullptr;
  const Table* right_ = nullptr;
  bool dedupe_ = true;
  uint32_t left_count_ = 0, right_count_ = 0;
  std::vector<Column> columns_;
};

}  // namespace tessera::linkage
