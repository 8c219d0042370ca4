// RowMapper: a Mapping resolved against one CSV header, turning rows into Segment messages.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "core/time.h"
#include "importer/mapping.h"
#include "importer/message_id.h"

namespace tessera::importer {
namespace {

using nlohmann::json;
using Action = RowMapper::Action;
using Target = RowMapper::Target;

std::string Quote(std::string_view s) { return "\"" + std::string(s) + "\""; }

std::string_view TrimAscii(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool IsValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t n = 0;
    uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if (c >= 0xC2 && c <= 0xDF) {
      n = 1;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 2;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + n >= s.size()) return false;  // truncated sequence
    for (size_t k = 1; k <= n; ++k) {
      auto d = static_cast<unsigned char>(s[i + k]);
      if ((d & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (d & 0x3F);
    }
    if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += n + 1;
  }
  return true;
}

// user_id/userId/customer_id, ... -> the kind; "" when the name is no identifier. Case, '-' and
// ' ' do not matter.
std::string DetectKind(std::string_view column) {
  std::string n;
  for (char c : column) {
    if (c == '-' || c == ' ') c = '_';
    n.push_back(static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c));
  }
  static const std::map<std::string, std::string, std::less<>> kNames = {
      {"user_id", "user_id"},
      {"userid", "user_id"},
      {"customer_id", "user_id"},
      {"customerid", "user_id"},
      {"anonymous_id", "anonymous_id"},
      {"anonymousid", "anonymous_id"},
      {"email", "email"},
      {"e_mail", "email"},
      {"email_address", "email"},
      {"emailaddress", "email"},
      {"phone", "phone"},
      {"mobile", "phone"},
      {"phone_number", "phone"},
      {"phonenumber", "phone"},
  };
  auto it = kNames.find(n);
  return it == kNames.end() ? "" : it->second;
}

Result<json> Convert(std::string_view cell, ValueType type, std::string_view column) {
  switch (type) {
    case ValueType::kString:
      return json(std::string(cell));
    case ValueType::kNumber: {
      std::string_view t = TrimAscii(cell);
      if (t.size() > 1 && t[0] == '+' && t[1] != '-') t.remove_prefix(1);
      const char* end = t.data() + t.size();
      int64_t i = 0;
      auto [ip, iec] = std::from_chars(t.data(), end, i);
      if (iec == std::errc() && ip == end && !t.empty()) return json(i);
      double d = 0;
      auto [dp, dec] = std::from_chars(t.data(), end, d, std::chars_format::general);
      if (dec == std::errc() && dp == end && !t.empty() && std::isfinite(d)) return json(d);
      return Status::InvalidArgument("column " + Quote(column) + ": " + Quote(cell) +
                                     " is not a number");
    }
    case ValueType::kBoolean: {
      std::string v(TrimAscii(cell));
      std::transform(v.begin(), v.end(), v.begin(),
                     [](char c) { return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c; });
      if (v == "true" || v == "t" || v == "yes" || v == "y" || v == "1") return json(true);
      if (v == "false" || v == "f" || v == "no" || v == "n" || v == "0") return json(false);
      return Status::InvalidArgument("column " + Quote(column) + ": " + Quote(cell) +
                                     " is not a boolean (true/false, yes/no, 1/0)");
    }
  }
  return json(std::string(cell));
}

// Where an action writes, for conflict messages: "userId", "traits.email", ...
std::string TargetPath(const Action& a, MessageType type) {
  const std::string traits = type == MessageType::kTrack ? "context.traits." : "traits.";
  switch (a.target) {
    case Target::kUserId:
      return "userId";
    case Target::kAnonymousId:
      return "anonymousId";
    case Target::kDeviceId:
      return "context.device.id";
    case Target::kTrait:
      return traits + a.name;
    case Target::kProperty:
      return "properties." + a.name;
    case Target::kTimestamp:
      return "timestamp";
  }
  return "";
}

Action MakeAction(size_t column, Target target, std::string name = "", bool identifier = false) {
  return Action{column, target, std::move(name), ValueType::kString, identifier};
}

Action IdentifierAction(size_t column, const std::string& kind) {
  Action a = MakeAction(column, Target::kTrait, "", /*identifier=*/true);
  if (kind == id_kind::kUserId) {
    a.target = Target::kUserId;
  } else if (kind == id_kind::kAnonymousId) {
    a.target = Target::kAnonymousId;
  } else if (kind == id_kind::kDeviceId) {
    a.target = Target::kDeviceId;
  } else {
    a.target = Target::kTrait;
    a.name = kind;
  }
  return a;
}

}  // namespace

Result<RowMapper> RowMapper::Create(const Mapping& mapping, const std::vector<std::string>& header,
                                    std::string source) {
  TESSERA_RETURN_IF_ERROR(ValidateMapping(mapping));
  RowMapper m;
  m.type_ = mapping.type;
  m.event_ = mapping.event;
  m.source_ = std::move(source);
  m.header_size_ = header.size();
  std::map<std::string, size_t, std::less<>> index;
  std::set<std::string, std::less<>> repeated;
  for (size_t i = 0; i < header.size(); ++i) {
    std::string name(TrimAscii(header[i]));
    if (!IsValidUtf8(name)) {
      return Status::InvalidArgument("header column " + std::to_string(i + 1) +
                                     " is not valid UTF-8 (save the file as UTF-8)");
    }
    if (!name.empty() && !index.emplace(name, i).second) repeated.insert(name);
    m.header_.push_back(std::move(name));
  }
  std::set<std::string, std::less<>> skipped(mapping.skip.begin(), mapping.skip.end());
  for (const std::string& name : repeated) {
    if (!skipped.contains(name)) {
      return Status::InvalidArgument("column " + Quote(name) +
                                     " appears more than once in the header (skip it or rename)");
    }
  }
  auto column = [&](const std::string& name, std::string_view role) -> Result<size_t> {
    auto it = index.find(name);
    if (it == index.end()) {
      std::string all;
      for (const std::string& h : m.header_) all += (all.empty() ? "" : ", ") + h;
      return Status::InvalidArgument("the mapping's " + std::string(role) + " column " +
                                     Quote(name) + " is not in the header (columns: " + all + ")");
    }
    if (skipped.contains(name)) {
      return Status::InvalidArgument("column " + Quote(name) + " is both skipped and used");
    }
    return it->second;
  };

  std::vector<bool> used(header.size(), false);
  for (size_t i = 0; i < header.size(); ++i)
    used[i] = m.header_[i].empty() || skipped.contains(m.header_[i]);

  if (!mapping.identifiers.empty()) {
    for (const auto& [name, kind] : mapping.identifiers) {
      TESSERA_ASSIGN_OR_RETURN(size_t col, column(name, "identifier"));
      m.actions_.push_back(IdentifierAction(col, kind));
      used[col] = true;
    }
  } else {
    std::set<std::string> kinds;
    for (size_t i = 0; i < header.size(); ++i) {
      if (used[i] || m.header_[i] == mapping.timestamp_column) continue;
      std::string kind = DetectKind(m.header_[i]);
      if (kind.empty() || !kinds.insert(kind).second) continue;
      m.actions_.push_back(IdentifierAction(i, kind));
      used[i] = true;
    }
  }
  if (!mapping.timestamp_column.empty()) {
    TESSERA_ASSIGN_OR_RETURN(size_t col, column(mapping.timestamp_column, "timestamp"));
    m.actions_.push_back(MakeAction(col, Target::kTimestamp));
    used[col] = true;
  }

  // Explicit lists first, so that "*" on the other side leaves their columns alone.
  const bool track = mapping.type == MessageType::kTrack;
  ColumnSelection traits = mapping.traits;
  ColumnSelection properties = mapping.properties;
  if (traits.mode == ColumnSelection::Mode::kUnset) {
    traits.mode = track ? ColumnSelection::Mode::kListed : ColumnSelection::Mode::kAll;
  }
  if (properties.mode == ColumnSelection::Mode::kUnset) {
    properties.mode = track ? ColumnSelection::Mode::kAll : ColumnSelection::Mode::kListed;
  }
  std::vector<bool> listed = used;
  for (auto [selection, target] :
       {std::pair{&traits, Target::kTrait}, std::pair{&properties, Target::kProperty}}) {
    if (selection->mode != ColumnSelection::Mode::kListed) continue;
    for (const auto& [name, field] : selection->columns) {
      TESSERA_ASSIGN_OR_RETURN(size_t col,
                               column(name, target == Target::kTrait ? "trait" : "property"));
      m.actions_.push_back(MakeAction(col, target, field));
      listed[col] = true;
    }
  }
  for (auto [selection, target] :
       {std::pair{&traits, Target::kTrait}, std::pair{&properties, Target::kProperty}}) {
    if (selection->mode != ColumnSelection::Mode::kAll) continue;
    for (size_t i = 0; i < header.size(); ++i) {
      if (!listed[i]) m.actions_.push_back(MakeAction(i, target, m.header_[i]));
    }
  }

  std::map<std::string, size_t> targets;
  for (Action& a : m.actions_) {
    if (auto t = mapping.types.find(m.header_[a.column]); t != mapping.types.end())
      a.type = t->second;
    if (!IsValidUtf8(a.name)) return Status::InvalidArgument("a field name is not valid UTF-8");
    auto [it, inserted] = targets.emplace(TargetPath(a, m.type_), a.column);
    if (!inserted) {
      return Status::InvalidArgument("columns " + Quote(m.header_[it->second]) + " and " +
                                     Quote(m.header_[a.column]) + " would both set " + it->first);
    }
  }
  return m;
}

Result<std::string> RowMapper::Map(const std::vector<std::string>& fields) const {
  if (fields.size() != header_size_) {
    return Status::InvalidArgument("expected " + std::to_string(header_size_) +
                                   " fields (as in the header), got " +
                                   std::to_string(fields.size()));
  }
  const bool track = type_ == MessageType::kTrack;
  json msg = json::object();
  msg["type"] = std::string(MessageTypeName(type_));
  if (track) msg["event"] = event_;
  bool identified = false;
  for (const Action& a : actions_) {
    const std::string& cell = fields[a.column];
    if (cell.empty()) continue;
    const std::string& column = header_[a.column];
    if (!IsValidUtf8(cell)) {
      return Status::InvalidArgument("column " + Quote(column) +
                                     ": not valid UTF-8 (save the file as UTF-8)");
    }
    if (a.target == Target::kTimestamp) {
      std::optional<TimeMs> t = ParseIso8601(cell);
      if (!t) {
        return Status::InvalidArgument("column " + Quote(column) + ": " + Quote(cell) +
                                       " is not an ISO-8601 time");
      }
      msg["timestamp"] = FormatIso8601(*t);
      continue;
    }
    TESSERA_ASSIGN_OR_RETURN(json value, Convert(cell, a.type, column));
    identified = identified || a.identifier;
    switch (a.target) {
      case Target::kUserId:
        msg["userId"] = std::move(value);
        break;
      case Target::kAnonymousId:
        msg["anonymousId"] = std::move(value);
        break;
      case Target::kDeviceId:
        msg["context"]["device"]["id"] = std::move(value);
        break;
      case Target::kTrait:
        (track ? msg["context"]["traits"] : msg["traits"])[a.name] = std::move(value);
        break;
      case Target::kProperty:
        msg["properties"][a.name] = std::move(value);
        break;
      case Target::kTimestamp:
        break;
    }
  }
  if (!identified) {
    return Status::InvalidArgument("no identifier (user_id, anonymous_id, email, phone, ...)");
  }
  msg["messageId"] = ImportMessageId(source_, msg);
  std::string text = CanonicalJson(msg);
  if (text.size() > kMaxMessageBytes) {
    return Status::InvalidArgument("message is " + std::to_string(text.size()) +
                                   " bytes, over the limit of " + std::to_string(kMaxMessageBytes));
  }
  return text;
}

}  // namespace tessera::importer
