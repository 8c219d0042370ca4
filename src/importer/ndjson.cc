#include "importer/ndjson.h"

#include <nlohmann/json.hpp>

#include "core/event.h"
#include "importer/message_id.h"

namespace tessera::importer {
namespace {

using nlohmann::json;

// Deeper documents are rejected before parsing (keeps recursion in the JSON library bounded).
constexpr int kMaxDepth = 128;

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

bool TooDeep(std::string_view text) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > kMaxDepth) return true;
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return false;
}

// nlohmann's what() starts "[json.exception.parse_error.101] "; the rest is the useful part.
std::string ParseErrorText(const json::exception& e) {
  std::string_view what = e.what();
  if (size_t close = what.find("] "); what.starts_with("[json.exception") && close != what.npos) {
    what.remove_prefix(close + 2);
  }
  // The JSON text is one line: "parse error at line 1, column 7: ..." -> "column 7: ...".
  constexpr std::string_view kLine1 = "parse error at line 1, ";
  if (what.starts_with(kLine1)) what.remove_prefix(kLine1.size());
  return std::string(what);
}

}  // namespace

NdjsonReader::NdjsonReader(std::istream* in, size_t max_line_bytes)
    : in_(in), max_line_bytes_(max_line_bytes) {}

NdjsonReader::NdjsonReader(std::string data, size_t max_line_bytes)
    : in_(std::move(data)), max_line_bytes_(max_line_bytes) {}

Status NdjsonReader::Seek(uint64_t offset, uint64_t line) {
  TESSERA_RETURN_IF_ERROR(in_.Seek(offset));
  line_ = line;
  return Status::Ok();
}

Result<bool> NdjsonReader::Next(NdjsonLine* out) {
  if (in_.offset() == 0) in_.SkipBom();
  for (;;) {
    if (in_.Peek() < 0) {
      if (in_.read_error()) {
        return Status::IOError("read error after byte " + std::to_string(in_.offset()));
      }
      return false;
    }
    out->text.clear();
    out->line = line_;
    out->bytes = 0;
    out->too_long = false;
    bool blank = true;
    int c;
    while ((c = in_.Get()) >= 0 && c != '\n') {
      ++out->bytes;
      if (!IsSpace(static_cast<char>(c))) blank = false;
      if (out->bytes > max_line_bytes_) {
        out->too_long = true;
        out->text.clear();
        out->text.shrink_to_fit();
      } else {
        out->text.push_back(static_cast<char>(c));
      }
    }
    if (c == '\n') ++line_;
    if (!out->text.empty() && out->text.back() == '\r') {
      out->text.pop_back();
      --out->bytes;
    }
    if (in_.read_error()) {
      return Status::IOError("read error after byte " + std::to_string(in_.offset()));
    }
    out->end_offset = in_.offset();
    if (!blank) return true;
  }
}

Result<std::string> PrepareNdjsonMessage(std::string_view line, std::string_view source) {
  std::string_view text = Trim(line);
  if (text.size() > kMaxMessageBytes) {
    return Status::InvalidArgument("line is " + std::to_string(text.size()) +
                                   " bytes, over the limit of " + std::to_string(kMaxMessageBytes));
  }
  if (TooDeep(text)) {
    return Status::InvalidArgument("JSON nested deeper than " + std::to_string(kMaxDepth) +
                                   " levels");
  }
  json message;
  try {
    message = json::parse(text);
  } catch (const json::exception& e) {
    return Status::InvalidArgument("malformed JSON: " + ParseErrorText(e));
  }
  if (!message.is_object()) return Status::InvalidArgument("line is not a JSON object");
  auto type = message.find("type");
  if (type == message.end()) return Status::InvalidArgument("message without \"type\"");
  if (!type->is_string()) return Status::InvalidArgument("\"type\" must be a string");
  if (!ParseMessageType(type->get_ref<const std::string&>())) {
    return Status::InvalidArgument("unknown type \"" + type->get<std::string>() + "\"");
  }

  auto id = message.find("messageId");
  std::string out;
  if (id == message.end() && text.front() == '{') {
    // Insert right after the opening brace; the object is not empty (it has "type").
    out.reserve(text.size() + 52);
    out.append("{\"messageId\":\"").append(ImportMessageId(source, message)).append("\",");
    out.append(text.substr(1));
  } else if (id == message.end() || id->is_null() ||
             (id->is_string() && id->get_ref<const std::string&>().empty())) {
    message["messageId"] = ImportMessageId(source, message);
    out = CanonicalJson(message);
  } else {
    out = std::string(text);  // the line's own messageId (the server checks its type)
  }
  if (out.size() > kMaxMessageBytes) {
    return Status::InvalidArgument("message is " + std::to_string(out.size()) +
                                   " bytes, over the limit of " + std::to_string(kMaxMessageBytes));
  }
  return out;
}

}  // namespace tessera::importer
