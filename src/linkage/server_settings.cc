#include "linkage/server_settings.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <set>

namespace tessera::linkage {
namespace {

using nlohmann::json;

constexpr std::string_view kTrait = "trait:";
constexpr std::string_view kIdentifier = "identifier:";

// Columns named by the comparisons and rules, first use first.
std::vector<std::string> UsedColumns(const Settings& s) {
  std::vector<std::string> out;
  auto add = [&](const std::string& c) {
    if (!c.empty() && std::find(out.begin(), out.end(), c) == out.end()) out.push_back(c);
  };
  for (const auto& c : s.comparisons) {
    add(c.column);
    add(c.swap_column);
  }
  for (const auto& r : s.blocking) {
    for (const auto& k : r.keys) {
      add(k.column);
      add(k.right_column);
    }
  }
  return out;
}

std::string Canonical(std::string_view name) {
  std::string out;
  for (char c : name) {
    if (std::isalnum(static_cast<unsigned char>(c))) out += static_cast<char>(std::tolower(c));
  }
  return out;
}

// A JSON scalar as the text a comparison reads; "" for anything else.
std::string ScalarText(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer() || v.is_number_unsigned() || v.is_number_float()) return v.dump();
  return "";
}

std::string TraitText(const profile::Profile& p, std::string_view path) {
  size_t dot = path.find('.');
  auto it = p.traits.find(std::string(path.substr(0, dot)));
  if (it == p.traits.end()) return "";
  json v = json::parse(it->second.json, nullptr, false);
  while (dot != std::string_view::npos) {
    path = path.substr(dot + 1);
    dot = path.find('.');
    std::string key(path.substr(0, dot));
    if (!v.is_object() || !v.contains(key)) return "";
    json next = v[key];
    v = std::move(next);
  }
  return ScalarText(v);
}

std::string IdentifierText(const identity::Node& node, std::string_view kind) {
  const identity::IdentifierRecord* best = nullptr;
  for (const auto& r : node.identifiers) {
    if (r.id.kind == kind && (!best || r.last_seen > best->last_seen)) best = &r;
  }
  return best ? best->id.value : "";
}

Status CheckSource(const std::string& source, const std::string& path) {
  std::string_view s = source;
  if ((s.starts_with(kTrait) && s.size() > kTrait.size()) ||
      (s.starts_with(kIdentifier) && s.size() > kIdentifier.size())) {
    return Status::Ok();
  }
  return Status::InvalidArgument(path + ": expected \"trait:NAME\" or \"identifier:KIND\", got \"" +
                                 source + "\"");
}

Result<AutoTrain> ParseAutoTrain(const json& j) {
  if (!j.is_object()) return Status::InvalidArgument("$.auto_train: expected an object");
  AutoTrain out;
  for (const auto& [key, v] : j.items()) {
    const std::string path = "$.auto_train." + key;
    if (key == "enabled") {
      if (!v.is_boolean()) return Status::InvalidArgument(path + ": expected true or false");
      out.enabled = v.get<bool>();
    } else if (key == "min_profiles") {
      if (!v.is_number_unsigned() || v.get<uint64_t>() < 2) {
        return Status::InvalidArgument(path + ": must be an integer of at least 2");
      }
      out.min_profiles = v.get<uint64_t>();
    } else if (key == "growth") {
      if (!v.is_number() || !(v.get<double>() >= 1.1) || v.get<double>() > 1000) {
        return Status::InvalidArgument(path + ": must be a number from 1.1 to 1000");
      }
      out.growth = v.get<double>();
    } else {
      return Status::InvalidArgument(path + ": unknown key (enabled, min_profiles, growth)");
    }
  }
  return out;
}

}  // namespace

std::vector<std::string> ServerSettings::Columns() const {
  std::vector<std::string> out;
  for (const Field& f : fields) out.push_back(f.column);
  return out;
}

Result<ServerSettings> ParseServerSettings(std::string_view json_text) {
  json j = json::parse(json_text, nullptr, false);
  if (j.is_discarded()) return Status::InvalidArgument("settings: not valid JSON");
  if (!j.is_object()) return Status::InvalidArgument("$: expected an object");
  ServerSettings out;
  json fields = json::object();
  if (auto it = j.find("fields"); it != j.end()) {
    if (!it->is_object()) return Status::InvalidArgument("$.fields: expected an object");
    fields = *it;
    j.erase("fields");
  }
  for (const char* key : {"max_candidates", "max_cluster_size"}) {
    auto it = j.find(key);
    if (it == j.end()) continue;
    if (!it->is_number_unsigned() || it->get<uint64_t>() < 1) {
      return Status::InvalidArgument(std::string("$.") + key + ": must be a positive integer");
    }
    (std::string_view(key) == "max_candidates" ? out.max_candidates : out.max_cluster_size) =
        it->get<uint64_t>();
    j.erase(key);
  }
  if (auto it = j.find("auto_train"); it != j.end()) {
    TESSERA_ASSIGN_OR_RETURN(out.auto_train, ParseAutoTrain(*it));
    j.erase("auto_train");
  }
  // What GET adds: a settings document read back can be PUT unchanged.
  for (const char* key : {"version", "stored", "ignored_traits", "problem"}) j.erase(key);
  TESSERA_ASSIGN_OR_RETURN(out.linkage, ParseSettings(j.dump()));
  for (const auto& [column, sources] : fields.items()) {
    std::string path = "$.fields." + column;
    Field f{column, {}};
    if (sources.is_string()) {
      f.sources.push_back(sources.get<std::string>());
    } else if (sources.is_array() && !sources.empty()) {
      for (size_t i = 0; i < sources.size(); ++i) {
        if (!sources[i].is_string()) {
          return Status::InvalidArgument(path + "[" + std::to_string(i) + "]: expected a string");
        }
        f.sources.push_back(sources[i].get<std::string>());
      }
    } else {
      return Status::InvalidArgument(path + ": expected a source or a non-empty list of sources");
    }
    for (size_t i = 0; i < f.sources.size(); ++i) {
      TESSERA_RETURN_IF_ERROR(CheckSource(f.sources[i], path + "[" + std::to_string(i) + "]"));
    }
    out.fields.push_back(std::move(f));
  }
  for (const std::string& c : UsedColumns(out.linkage)) {
    auto has = [&](const Field& f) { return f.column == c; };
    if (std::none_of(out.fields.begin(), out.fields.end(), has)) {
      out.fields.push_back({c, {std::string(kTrait) + c}});
    }
  }
  TESSERA_RETURN_IF_ERROR(ValidateSettings(out.linkage, out.Columns()));
  return out;
}

std::string ServerSettingsToJson(const ServerSettings& s) {
  json j = json::parse(SettingsToJson(s.linkage));
  json fields = json::object();
  for (const Field& f : s.fields) fields[f.column] = f.sources;
  j["fields"] = fields;
  j["max_candidates"] = s.max_candidates;
  j["max_cluster_size"] = s.max_cluster_size;
  j["auto_train"] = {{"enabled", s.auto_train.enabled},
                     {"min_profiles", s.auto_train.min_profiles},
                     {"growth", s.auto_train.growth}};
  j["version"] = s.version;
  return j.dump(2);
}

ServerSettings InferServerSettings(const std::vector<std::string>& trait_paths,
                                   const std::vector<std::string>& identifier_kinds,
                                   std::vector<std::string>* ignored) {
  // Column names: a top-level trait by its name; a nested one by its last part ("address.city"
  // is "city") unless that name is taken.
  std::vector<std::string> columns;
  std::vector<std::vector<std::string>> sources;
  std::set<std::string> top_level;
  for (const std::string& p : trait_paths) {
    if (p.find('.') == std::string::npos) top_level.insert(p);
  }
  auto add = [&](const std::string& column, std::string source) {
    auto it = std::find(columns.begin(), columns.end(), column);
    if (it == columns.end()) {
      columns.push_back(column);
      sources.push_back({std::move(source)});
    } else {
      sources[it - columns.begin()].push_back(std::move(source));
    }
  };
  for (const std::string& p : trait_paths) {
    size_t dot = p.rfind('.');
    std::string column = dot == std::string::npos ? p : p.substr(dot + 1);
    if (dot != std::string::npos && top_level.count(column)) column = p;
    add(column, std::string(kTrait) + p);
  }
  // Identifiers that are also person data: an email or phone identifier feeds the column of the
  // same meaning (a trait "email", "Email", "e_mail" ...), or one of its own.
  for (const std::string& kind : identifier_kinds) {
    if (kind != "email" && kind != "phone") continue;
    std::string column = kind;
    for (const std::string& c : columns) {
      if (Canonical(c) == kind) column = c;
    }
    add(column, std::string(kIdentifier) + kind);
  }
  ServerSettings out;
  out.linkage = InferSettings(columns, ignored);
  for (const std::string& c : UsedColumns(out.linkage)) {
    size_t i = std::find(columns.begin(), columns.end(), c) - columns.begin();
    out.fields.push_back({c, sources[i]});
  }
  return out;
}

std::vector<std::string> ExtractRecord(const ServerSettings& settings,
                                       const profile::Profile* profile,
                                       const identity::Node& node) {
  std::vector<std::string> values;
  values.reserve(settings.fields.size());
  for (const Field& f : settings.fields) {
    std::string value;
    for (const std::string& source : f.sources) {
      std::string_view s = source;
      if (s.starts_with(kTrait)) {
        if (profile != nullptr) value = TraitText(*profile, s.substr(kTrait.size()));
      } else if (s.starts_with(kIdentifier)) {
        value = IdentifierText(node, s.substr(kIdentifier.size()));
      }
      // Surrounding blanks say nothing (and CSV imports often carry them).
      size_t b = value.find_first_not_of(" \t"), e = value.find_last_not_of(" \t");
      value = b == std::string::npos ? "" : value.substr(b, e - b + 1);
      if (!value.empty()) break;
    }
    values.push_back(std::move(value));
  }
  return values;
}

std::vector<std::string> TraitPaths(const profile::Profile& profile) {
  std::vector<std::string> out;
  for (const auto& [name, t] : profile.traits) {
    if (!t.json.empty() && t.json[0] == '{') {
      json v = json::parse(t.json, nullptr, false);
      if (v.is_object()) {
        for (const auto& [key, inner] : v.items()) {
          if (!inner.is_object() && !inner.is_array()) out.push_back(name + "." + key);
        }
        continue;
      }
    }
    out.push_back(name);
  }
  return out;
}

}  // namespace tessera::linkage
