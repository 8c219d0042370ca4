// Column: the typed, columnar form of one trait path over all profiles, or of one event property
// path over all events of a Population. One type tag and one 8-byte payload per row:
//   kMissing  absent or JSON null
//   kInt      a JSON integer (int64, or unsigned up to INT64_MAX): payload the int64
//   kFloat    a JSON float other than NaN: payload the double's bits
//   kString   payload a code into the column's dictionary (with each entry's date reading)
//   kTime     a string in the exact form FormatIso8601 prints ("2024-05-01T10:00:00.000Z"):
//             payload its epoch ms; the text is rebuilt only for tests that read text. Keeps
//             high-cardinality timestamps out of the dictionary.
//   kBool     payload 0 or 1
//   kJson     anything else (arrays, objects, NaN, unsigned above INT64_MAX): payload an index
//             into a side vector of JSON values
// Every row reads back exactly as the JSON value it was built from (ToJson), up to nlohmann's
// signed/unsigned integer distinction, which no test or aggregate observes.
//
// Thread-safety: immutable once built; concurrent readers need no lock.
#pragma once

#include <bit>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "audience/value_test.h"
#include "core/time.h"

namespace tessera::audience {

enum class ValueType : uint8_t { kMissing, kInt, kFloat, kString, kTime, kBool, kJson };

class Column {
 public:
  size_t size() const { return types_.size(); }
  ValueType type(size_t row) const { return types_[row]; }
  int64_t int_value(size_t row) const { return static_cast<int64_t>(payload_[row]); }
  double float_value(size_t row) const { return std::bit_cast<double>(payload_[row]); }
  uint32_t string_code(size_t row) const { return static_cast<uint32_t>(payload_[row]); }
  TimeMs time_value(size_t row) const { return static_cast<TimeMs>(payload_[row]); }
  bool bool_value(size_t row) const { return payload_[row] != 0; }
  const nlohmann::json& json_value(size_t row) const { return json_[payload_[row]]; }

  size_t string_count() const { return strings_.size(); }
  const std::string& string(uint32_t code) const { return strings_[code]; }

  // The row as a ValueRef. REQUIRES: type(row) != kMissing. Strings borrow from the column, or
  // from *text for kTime rows (filled only when with_text: the test reads string contents).
  ValueRef Ref(size_t row, bool with_text, std::string* text) const;
  // The row as the JSON value it was built from; JSON null when missing.
  nlohmann::json ToJson(size_t row) const;

  // ---- Building (PopulationBuilder) ----
  void Resize(size_t rows) {
    types_.resize(rows, ValueType::kMissing);
    payload_.resize(rows, 0);
  }
  // nullptr or JSON null: missing.
  void Set(size_t row, const nlohmann::json* value);
  void SetString(size_t row, std::string_view value);
  void SetInt(size_t row, int64_t value) {
    Put(row, ValueType::kInt, static_cast<uint64_t>(value));
  }
  void SetFloat(size_t row, double value);
  void SetBool(size_t row, bool value) { Put(row, ValueType::kBool, value ? 1 : 0); }
  // Reorders rows: new row i is old row order[i]. REQUIRES: order is a permutation of rows.
  void Permute(const std::vector<uint64_t>& order);
  // Drops what only building needs (the string interning table, spare capacity).
  void FinishBuilding();

  // Heap bytes held, for reports.
  size_t MemoryBytes() const;

 private:
  void Put(size_t row, ValueType type, uint64_t payload) {
    types_[row] = type;
    payload_[row] = payload;
  }

  std::vector<ValueType> types_;
  std::vector<uint64_t> payload_;
  std::vector<std::string> strings_;                 // the dictionary
  std::vector<std::optional<TimeMs>> string_times_;  // ParseIso8601 of each entry
  std::vector<nlohmann::json> json_;
  std::unordered_map<std::string, uint32_t> intern_;  // building only
};

}  // namespace tessera::audience
