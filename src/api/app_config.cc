// The JSON config file of `tessera serve --config FILE`. Every field is optional:
// {
//   "identity": {"limits": {"user_id": 1, "email": 3}, "default_limit": 5,
//                "priority": ["user_id", "email", "phone", "loyalty_id", "device_id", "anonymous_id"]},
//   "identifiers": {"custom": [{"kind": "loyalty_id", "paths": ["traits.loyalty_id"]}],
//                   "default_phone_region": "GB"},
//   "storage": {"block_cache_mb": 256, "write_buffer_mb": 32, "memtable_budget_mb": 256}
// }
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "api/app.h"

namespace tessera::api {
namespace {

using nlohmann::json;

Status Bad(const std::string& path, const std::string& what) {
  return Status::InvalidArgument("config " + path + ": " + what);
}

Status ReadIdentity(const json& j, AppOptions* o) {
  if (!j.is_object()) return Bad("identity", "must be an object");
  if (j.contains("limits")) {
    if (!j["limits"].is_object()) return Bad("identity.limits", "must be an object");
    for (const auto& [kind, n] : j["limits"].items()) {
      if (!n.is_number_integer() || n.get<int64_t>() < 1 || n.get<int64_t>() > 1000) {
        return Bad("identity.limits." + kind, "must be a whole number from 1 to 1000");
      }
      o->identity.limits[kind] = n.get<int>();
    }
  }
  if (j.contains("default_limit")) {
    if (!j["default_limit"].is_number_integer() || j["default_limit"].get<int64_t>() < 1 ||
        j["default_limit"].get<int64_t>() > 1000) {
      return Bad("identity.default_limit", "must be a whole number from 1 to 1000");
    }
    o->identity.default_limit = j["default_limit"].get<int>();
  }
  if (j.contains("priority")) {
    if (!j["priority"].is_array()) return Bad("identity.priority", "must be a list of kinds");
    o->identity.priority.clear();
    for (const auto& k : j["priority"]) {
      if (!k.is_string()) return Bad("identity.priority", "must be a list of kinds");
      o->identity.priority.push_back(k.get<std::string>());
    }
  }
  return Status::Ok();
}

Status ReadIdentifiers(const json& j, AppOptions* o) {
  if (!j.is_object()) return Bad("identifiers", "must be an object");
  if (j.contains("default_phone_region")) {
    if (!j["default_phone_region"].is_string()) {
      return Bad("identifiers.default_phone_region", "must be a region code like \"GB\"");
    }
    o->identifiers.default_phone_region = j["default_phone_region"].get<std::string>();
  }
  if (j.contains("custom")) {
    if (!j["custom"].is_array()) return Bad("identifiers.custom", "must be a list");
    for (size_t i = 0; i < j["custom"].size(); ++i) {
      const json& c = j["custom"][i];
      std::string where = "identifiers.custom[" + std::to_string(i) + "]";
      if (!c.is_object() || !c.contains("kind") || !c["kind"].is_string() ||
          !c.contains("paths") || !c["paths"].is_array()) {
        return Bad(where, "needs \"kind\" (string) and \"paths\" (list of strings)");
      }
      ingest::CustomIdentifierKind kind{c["kind"].get<std::string>(), {}};
      for (const auto& p : c["paths"]) {
        if (!p.is_string()) return Bad(where + ".paths", "must be strings");
        kind.paths.push_back(p.get<std::string>());
      }
      o->identifiers.custom.push_back(std::move(kind));
    }
  }
  return Status::Ok();
}

}  // namespace

Status LoadConfigFile(const std::string& path, AppOptions* options) {
  std::ifstream in(path);
  if (!in) return Status::NotFound("cannot read config file " + path);
  std::stringstream text;
  text << in.rdbuf();
  json j = json::parse(text.str(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return Status::InvalidArgument("config " + path + " is not a JSON object");
  }
  if (j.contains("identity")) TESSERA_RETURN_IF_ERROR(ReadIdentity(j["identity"], options));
  if (j.contains("identifiers")) {
    TESSERA_RETURN_IF_ERROR(ReadIdentifiers(j["identifiers"], options));
  }
  if (j.contains("storage")) {
    const json& s = j["storage"];
    for (const char* field : {"block_cache_mb", "write_buffer_mb", "memtable_budget_mb"}) {
      if (!s.contains(field)) continue;
      if (!s[field].is_number_integer() || s[field].get<int64_t>() < 1 ||
          s[field].get<int64_t>() > (1 << 20)) {
        return Bad(std::string("storage.") + field, "must be a whole number of MiB from 1 to 1048576");
      }
    }
    if (s.contains("block_cache_mb")) options->rocks.block_cache_bytes = s["block_cache_mb"].get<size_t>() << 20;
    if (s.contains("write_buffer_mb")) options->rocks.write_buffer_bytes = s["write_buffer_mb"].get<size_t>() << 20;
    if (s.contains("memtable_budget_mb")) {
      options->rocks.memtable_budget_bytes = s["memtable_budget_mb"].get<size_t>() << 20;
    }
  }
  return Status::Ok();
}

}  // namespace tessera::api
