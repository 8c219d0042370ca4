// Mapping: the file format, the flag forms and validation. RowMapper is in row_mapper.cc.
#include "importer/mapping.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

namespace tessera::importer {
namespace {

using nlohmann::json;

constexpr size_t kMaxMappingFileBytes = 1 << 20;

std::string Quote(std::string_view s) { return "\"" + std::string(s) + "\""; }

std::string_view TypeName(ValueType t) {
  switch (t) {
    case ValueType::kString:
      return "string";
    case ValueType::kNumber:
      return "number";
    case ValueType::kBoolean:
      return "boolean";
  }
  return "string";
}

Status ReadString(const json& value, std::string_view what, std::string* out) {
  if (!value.is_string()) return Status::InvalidArgument(std::string(what) + " must be a string");
  *out = value.get<std::string>();
  return Status::Ok();
}

// "traits" / "properties": {"col": "name"}, ["col", ...] or "*".
Status ReadSelection(const json& value, std::string_view key, ColumnSelection* out) {
  const std::string what = "mapping \"" + std::string(key) + "\"";
  out->columns.clear();
  if (value.is_string()) {
    if (value.get<std::string>() != "*") {
      return Status::InvalidArgument(what + " must be \"*\", a list of columns or an object");
    }
    out->mode = ColumnSelection::Mode::kAll;
    return Status::Ok();
  }
  out->mode = ColumnSelection::Mode::kListed;
  if (value.is_array()) {
    for (const json& item : value) {
      std::string column;
      TESSERA_RETURN_IF_ERROR(ReadString(item, what + " entries", &column));
      if (column.empty()) return Status::InvalidArgument(what + " lists an empty column name");
      out->columns.emplace_back(column, column);
    }
    return Status::Ok();
  }
  if (value.is_object()) {
    for (const auto& [column, name] : value.items()) {
      std::string target;
      TESSERA_RETURN_IF_ERROR(ReadString(name, what + " values", &target));
      if (column.empty() || target.empty()) {
        return Status::InvalidArgument(what + " has an empty column or field name");
      }
      out->columns.emplace_back(column, target);
    }
    return Status::Ok();
  }
  return Status::InvalidArgument(what + " must be \"*\", a list of columns or an object");
}

json SelectionToJson(const ColumnSelection& s) {
  if (s.mode == ColumnSelection::Mode::kAll) return "*";
  json out = json::array();
  for (const auto& [column, name] : s.columns) out.push_back(json::array({column, name}));
  return out;
}

Status ApplyKey(const std::string& key, const json& value, Mapping* m) {
  if (key == "type") {
    std::string type;
    TESSERA_RETURN_IF_ERROR(ReadString(value, "mapping \"type\"", &type));
    if (type == "identify") {
      m->type = MessageType::kIdentify;
    } else if (type == "track") {
      m->type = MessageType::kTrack;
    } else {
      return Status::InvalidArgument("mapping \"type\" must be \"identify\" or \"track\", not " +
                                     Quote(type));
    }
  } else if (key == "event") {
    TESSERA_RETURN_IF_ERROR(ReadString(value, "mapping \"event\"", &m->event));
  } else if (key == "identifiers") {
    if (!value.is_object()) {
      return Status::InvalidArgument("mapping \"identifiers\" must be an object {column: kind}");
    }
    for (const auto& [column, kind] : value.items()) {
      std::string k;
      TESSERA_RETURN_IF_ERROR(ReadString(kind, "mapping \"identifiers\" values", &k));
      m->identifiers.emplace_back(column, k);
    }
  } else if (key == "traits") {
    TESSERA_RETURN_IF_ERROR(ReadSelection(value, key, &m->traits));
  } else if (key == "properties") {
    TESSERA_RETURN_IF_ERROR(ReadSelection(value, key, &m->properties));
  } else if (key == "timestamp") {
    TESSERA_RETURN_IF_ERROR(ReadString(value, "mapping \"timestamp\"", &m->timestamp_column));
  } else if (key == "skip") {
    if (!value.is_array()) return Status::InvalidArgument("mapping \"skip\" must be a list");
    for (const json& item : value) {
      std::string column;
      TESSERA_RETURN_IF_ERROR(ReadString(item, "mapping \"skip\" entries", &column));
      m->skip.push_back(column);
    }
  } else if (key == "types") {
    if (!value.is_object()) return Status::InvalidArgument("mapping \"types\" must be an object");
    for (const auto& [column, type] : value.items()) {
      std::string t;
      TESSERA_RETURN_IF_ERROR(ReadString(type, "mapping \"types\" values", &t));
      if (t == "string") {
        m->types[column] = ValueType::kString;
      } else if (t == "number") {
        m->types[column] = ValueType::kNumber;
      } else if (t == "boolean") {
        m->types[column] = ValueType::kBoolean;
      } else {
        return Status::InvalidArgument("mapping \"types\": column " + Quote(column) +
                                       " has unknown type " + Quote(t) +
                                       " (use number, boolean or string)");
      }
    }
  } else {
    return Status::InvalidArgument(
        "unknown mapping key " + Quote(key) +
        " (known: type, event, identifiers, traits, properties, timestamp, skip, types)");
  }
  return Status::Ok();
}

}  // namespace

bool IsValidIdentifierKind(std::string_view kind) {
  if (kind.empty() || kind.size() > 64 || kind == id_kind::kTesseraId) return false;
  if (!(kind[0] >= 'a' && kind[0] <= 'z')) return false;
  for (char c : kind) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

Result<Mapping> ParseMappingJson(std::string_view text) {
  json root;
  try {
    root = json::parse(text);
  } catch (const json::exception& e) {
    return Status::InvalidArgument(std::string("mapping is not valid JSON: ") + e.what());
  }
  if (!root.is_object()) return Status::InvalidArgument("mapping must be a JSON object");
  Mapping mapping;
  for (const auto& [key, value] : root.items()) {
    TESSERA_RETURN_IF_ERROR(ApplyKey(key, value, &mapping));
  }
  return mapping;
}

Result<Mapping> LoadMappingFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound("cannot open mapping file " + path);
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return Status::IOError("cannot read mapping file " + path);
  if (text.str().size() > kMaxMappingFileBytes) {
    return Status::InvalidArgument("mapping file " + path + " is over 1 MiB");
  }
  auto mapping = ParseMappingJson(text.str());
  if (!mapping.ok()) return Status::InvalidArgument(path + ": " + mapping.status().message());
  return mapping;
}

Status AddIdentifierFlag(std::string_view spec, Mapping* mapping) {
  size_t eq = spec.rfind('=');
  if (eq == std::string_view::npos || eq == 0 || eq + 1 == spec.size()) {
    return Status::InvalidArgument("--id takes COLUMN=KIND, got " + Quote(spec));
  }
  std::string kind(spec.substr(eq + 1));
  if (!IsValidIdentifierKind(kind)) {
    return Status::InvalidArgument("--id " + std::string(spec) + ": " + Quote(kind) +
                                   " is not an identifier kind (e.g. user_id, email, phone, "
                                   "anonymous_id, device_id, loyalty_id)");
  }
  mapping->identifiers.emplace_back(std::string(spec.substr(0, eq)), kind);
  return Status::Ok();
}

Status AddTraitFlag(std::string_view spec, Mapping* mapping) {
  size_t eq = spec.rfind('=');
  std::string column(spec.substr(0, eq));
  std::string name = eq == std::string_view::npos ? column : std::string(spec.substr(eq + 1));
  if (column.empty() || name.empty()) {
    return Status::InvalidArgument("--trait takes COLUMN or COLUMN=NAME, got " + Quote(spec));
  }
  if (mapping->traits.mode != ColumnSelection::Mode::kListed) {
    mapping->traits.mode = ColumnSelection::Mode::kListed;
    mapping->traits.columns.clear();
  }
  mapping->traits.columns.emplace_back(column, name);
  return Status::Ok();
}

Status ValidateMapping(const Mapping& m) {
  if (m.type != MessageType::kIdentify && m.type != MessageType::kTrack) {
    return Status::InvalidArgument("the mapping type must be identify or track");
  }
  if (m.type == MessageType::kTrack && m.event.empty()) {
    return Status::InvalidArgument("a track mapping needs an \"event\" name (--event)");
  }
  if (m.type == MessageType::kIdentify) {
    if (!m.event.empty()) {
      return Status::InvalidArgument("\"event\" applies to track only (set \"type\": \"track\")");
    }
    if (m.properties.mode != ColumnSelection::Mode::kUnset) {
      return Status::InvalidArgument("\"properties\" apply to track only; identify has traits");
    }
  }
  if (m.traits.mode == ColumnSelection::Mode::kAll &&
      m.properties.mode == ColumnSelection::Mode::kAll) {
    return Status::InvalidArgument("traits and properties cannot both be \"*\"");
  }
  std::set<std::string> columns;
  for (const auto& [column, kind] : m.identifiers) {
    if (column.empty()) return Status::InvalidArgument("an identifier has an empty column name");
    if (!IsValidIdentifierKind(kind)) {
      return Status::InvalidArgument("column " + Quote(column) + ": " + Quote(kind) +
                                     " is not an identifier kind");
    }
    if (!columns.insert(column).second) {
      return Status::InvalidArgument("column " + Quote(column) + " is mapped to two identifiers");
    }
  }
  return Status::Ok();
}

std::string Mapping::ToJson() const {
  json out = json::object();
  out["type"] = std::string(MessageTypeName(type));
  if (!event.empty()) out["event"] = event;
  json ids = json::array();
  for (const auto& [column, kind] : identifiers) ids.push_back(json::array({column, kind}));
  out["identifiers"] = ids;
  if (traits.mode != ColumnSelection::Mode::kUnset) out["traits"] = SelectionToJson(traits);
  if (properties.mode != ColumnSelection::Mode::kUnset) {
    out["properties"] = SelectionToJson(properties);
  }
  if (!timestamp_column.empty()) out["timestamp"] = timestamp_column;
  out["skip"] = skip;
  json t = json::object();
  for (const auto& [column, type] : types) t[column] = std::string(TypeName(type));
  out["types"] = t;
  return out.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace tessera::importer
