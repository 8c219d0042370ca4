// Writing JSON text without building a document: for the few hot paths that emit a fixed shape
// (an engine's events, history entries) where a DOM per record costs more than the work itself.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace tessera {

// Appends `s` (UTF-8) as a JSON string literal, quotes included. Escapes what RFC 8259
// requires: the quote, the backslash and control characters; other bytes pass through.
void AppendJsonString(std::string* out, std::string_view s);

// Builds one JSON object: Field("name").String("x"); Field("n").Int(3); ... then Close().
class JsonObjectWriter {
 public:
  explicit JsonObjectWriter(std::string* out) : out_(out) { out_->push_back('{'); }
  JsonObjectWriter& Field(std::string_view name);
  void String(std::string_view value) { AppendJsonString(out_, value); }
  void Int(int64_t value) { out_->append(std::to_string(value)); }
  void Uint(uint64_t value) { out_->append(std::to_string(value)); }
  void Bool(bool value) { out_->append(value ? "true" : "false"); }
  // Text that is already JSON (a nested object written by another writer, a number, ...).
  void Raw(std::string_view json) { out_->append(json); }
  void Close() { out_->push_back('}'); }

 private:
  std::string* out_;
  bool first_ = true;
};

// Builds one JSON array: Next() before each element (written to the returned string), then
// Close().
class JsonArrayWriter {
 public:
  explicit JsonArrayWriter(std::string* out) : out_(out) { out_->push_back('['); }
  std::string* Next() {
    if (!first_) out_->push_back(',');
    first_ = false;
    return out_;
  }
  void Close() { out_->push_back(']'); }

 private:
  std::string* out_;
  bool first_ = true;
};

}  // namespace tessera
