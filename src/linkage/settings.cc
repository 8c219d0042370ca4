#include "linkage/settings.h"

#include <algorithm>
#include <array>
#include <nlohmann/json.hpp>

namespace tessera::linkage {
namespace {

using nlohmann::json;

constexpr std::array<std::pair<ComparisonKind, std::string_view>, 9> kKindNames = {{
    {ComparisonKind::kName, "name"},
    {ComparisonKind::kString, "string"},
    {ComparisonKind::kAddress, "address"},
    {ComparisonKind::kIdentifier, "identifier"},
    {ComparisonKind::kDate, "date"},
    {ComparisonKind::kPostcode, "postcode"},
    {ComparisonKind::kEmail, "email"},
    {ComparisonKind::kPhone, "phone"},
    {ComparisonKind::kExact, "exact"},
}};

std::string TransformName(const BlockingKey& key) {
  switch (key.transform) {
    case KeyTransform::kExact: return "exact";
    case KeyTransform::kPrefix: return "prefix:" + std::to_string(key.prefix_length);
    case KeyTransform::kPhonetic: return "phonetic";
    case KeyTransform::kYear: return "year";
    case KeyTransform::kDigits: return "digits";
  }
  return "exact";
}

Status PathError(const std::string& path, const std::string& what) {
  return Status::InvalidArgument(path + ": " + what);
}

Result<KeyTransform> ParseTransform(const std::string& text, int* prefix_length) {
  if (text == "exact") return KeyTransform::kExact;
  if (text == "phonetic") return KeyTransform::kPhonetic;
  if (text == "year") return KeyTransform::kYear;
  if (text == "digits") return KeyTransform::kDigits;
  if (text.starts_with("prefix:")) {
    std::string n = text.substr(7);
    if (!n.empty() && n.size() <= 2 && std::all_of(n.begin(), n.end(), ::isdigit) && std::stoi(n) > 0) {
      *prefix_length = std::stoi(n);
      return KeyTransform::kPrefix;
    }
  }
  return Status::InvalidArgument(
      "expected \"exact\", \"prefix:N\", \"phonetic\", \"year\" or \"digits\", got \"" + text + "\"");
}

// Reads an optional typed member; errors name the path.
template <typename T>
Status ReadOptional(const json& object, const char* key, const std::string& path, T* out) {
  auto it = object.find(key);
  if (it == object.end()) return Status::Ok();
  try {
    *out = it->template get<T>();
  } catch (const json::exception&) {
    return PathError(path + "." + key, "has the wrong type");
  }
  return Status::Ok();
}

Status CheckKeys(const json& object, const std::string& path,
                 std::initializer_list<std::string_view> allowed) {
  if (!object.is_object()) return PathError(path, "expected an object");
  for (const auto& [key, value] : object.items()) {
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      return PathError(path + "." + key, "unknown setting");
    }
  }
  return Status::Ok();
}

Result<ComparisonSettings> ParseComparison(const json& j, const std::string& path) {
  TESSERA_RETURN_IF_ERROR(CheckKeys(j, path, {"column", "kind", "tf", "swap_column", "thresholds"}));
  ComparisonSettings c;
  if (!j.contains("column") || !j["column"].is_string()) {
    return PathError(path + ".column", "a column name is required");
  }
  c.column = j["column"].get<std::string>();
  std::string kind = "string";
  TESSERA_RETURN_IF_ERROR(ReadOptional(j, "kind", path, &kind));
  auto it = std::find_if(kKindNames.begin(), kKindNames.end(),
                         [&](const auto& p) { return p.second == kind; });
  if (it == kKindNames.end()) return PathError(path + ".kind", "unknown kind \"" + kind + "\"");
  c.kind = it->first;
  TESSERA_RETURN_IF_ERROR(ReadOptional(j, "tf", path, &c.tf));
  TESSERA_RETURN_IF_ERROR(ReadOptional(j, "swap_column", path, &c.swap_column));
  TESSERA_RETURN_IF_ERROR(ReadOptional(j, "thresholds", path, &c.thresholds));
  for (double t : c.thresholds) {
    if (!(t > 0 && t <= 1)) return PathError(path + ".thresholds", "similarities lie in (0, 1]");
  }
  if (!std::is_sorted(c.thresholds.rbegin(), c.thresholds.rend())) {
    return PathError(path + ".thresholds", "list the highest threshold first");
  }
  return c;
}

Result<BlockingRule> ParseRule(const json& j, const std::string& path) {
  if (!j.is_array() || j.empty()) return PathError(path, "expected a non-empty list of keys");
  BlockingRule rule;
  for (size_t i = 0; i < j.size(); ++i) {
    std::string key_path = path + "[" + std::to_string(i) + "]";
    TESSERA_RETURN_IF_ERROR(CheckKeys(j[i], key_path, {"column", "right", "transform"}));
    BlockingKey key;
    if (!j[i].contains("column") || !j[i]["column"].is_string()) {
      return PathError(key_path + ".column", "a column name is required");
    }
    key.column = j[i]["column"].get<std::string>();
    TESSERA_RETURN_IF_ERROR(ReadOptional(j[i], "right", key_path, &key.right_column));
    std::string transform = "exact";
    TESSERA_RETURN_IF_ERROR(ReadOptional(j[i], "transform", key_path, &transform));
    auto parsed = ParseTransform(transform, &key.prefix_length);
    if (!parsed.ok()) return PathError(key_path + ".transform", parsed.status().message());
    key.transform = parsed.value();
    rule.keys.push_back(std::move(key));
  }
  return rule;
}

std::string Canonical(std::string_view name) {
  std::string out;
  for (char c : name) {
    if (std::isalnum(static_cast<unsigned char>(c))) out += static_cast<char>(std::tolower(c));
  }
  return out;
}

bool OneOf(const std::string& canonical, std::initializer_list<std::string_view> names) {
  return std::find(names.begin(), names.end(), canonical) != names.end();
}

}  // namespace

std::string_view ComparisonKindName(ComparisonKind kind) {
  for (const auto& [k, name] : kKindNames) {
    if (k == kind) return name;
  }
  return "string";
}

std::string BlockingRule::ToString() const {
  std::string out;
  for (const BlockingKey& key : keys) {
    if (!out.empty()) out += " & ";
    out += key.column;
    if (!key.right_column.empty() && key.right_column != key.column) out += "=" + key.right_column;
    if (key.transform != KeyTransform::kExact) out += "[" + TransformName(key) + "]";
  }
  return out;
}

Result<Settings> ParseSettings(std::string_view json_text) {
  json j = json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Status::InvalidArgument("settings: not valid JSON");
  TESSERA_RETURN_IF_ERROR(CheckKeys(j, "$", {"comparisons", "blocking", "threshold", "review_low",
                                             "max_block_pairs", "random_pairs", "max_em_iterations",
                                             "cluster_guard", "seed", "date_order"}));
  Settings s;
  if (auto it = j.find("comparisons"); it != j.end()) {
    if (!it->is_array()) return PathError("$.comparisons", "expected a list");
    for (size_t i = 0; i < it->size(); ++i) {
      TESSERA_ASSIGN_OR_RETURN(ComparisonSettings c,
                               ParseComparison((*it)[i], "$.comparisons[" + std::to_string(i) + "]"));
      s.comparisons.push_back(std::move(c));
    }
  }
  if (auto it = j.find("blocking"); it != j.end()) {
    if (!it->is_array()) return PathError("$.blocking", "expected a list of rules");
    for (size_t i = 0; i < it->size(); ++i) {
      TESSERA_ASSIGN_OR_RETURN(BlockingRule r, ParseRule((*it)[i], "$.blocking[" + std::to_string(i) + "]"));
      s.blocking.push_back(std::move(r));
    }
  }
  TESSERA_RETURN_IF_ERROR(ReadOptional(j, "threshold", "$", &s.threshold));
  TESSERA_RETURN_IF_ERROR(ReadOptional(j, "review_low", "$", &s.review_low));
  TESSERA_RETURN_IF_ERROR(ReadOptional(j, "max_block_pairs", "$", &s.max_block_pairs));
  TESSERA_RETURN_IF_ERROR(ReadOptional(j, "random_pairs", "$", &s.random_pairs));
  TESSERA_RETURN_IF_ERROR(ReadOptional(j, "max_em_iterations", "$", &s.max_em_iterations));
  TESSERA_RETURN_IF_ERROR(ReadOptional(j, "cluster_guard", "$", &s.cluster_guard));
  TESSERA_RETURN_IF_ERROR(ReadOptional(j, "seed", "$", &s.seed));
  std::string order = "ymd";
  TESSERA_RETURN_IF_ERROR(ReadOptional(j, "date_order", "$", &order));
  if (order == "ymd") s.date_order = DateOrder::kYmd;
  else if (order == "dmy") s.date_order = DateOrder::kDmy;
  else if (order == "mdy") s.date_order = DateOrder::kMdy;
  else return PathError("$.date_order", "expected \"ymd\", \"dmy\" or \"mdy\"");
  if (!(s.threshold > 0 && s.threshold < 1)) return PathError("$.threshold", "must lie in (0, 1)");
  if (!(s.review_low >= 0 && s.review_low <= s.threshold)) {
    return PathError("$.review_low", "must lie in [0, threshold]");
  }
  if (s.random_pairs < 1000) return PathError("$.random_pairs", "must be at least 1000");
  if (s.max_em_iterations < 1) return PathError("$.max_em_iterations", "must be at least 1");
  return s;
}

std::string SettingsToJson(const Settings& s) {
  json j;
  j["comparisons"] = json::array();
  for (const ComparisonSettings& c : s.comparisons) {
    json cj = {{"column", c.column}, {"kind", std::string(ComparisonKindName(c.kind))}, {"tf", c.tf}};
    if (!c.swap_column.empty()) cj["swap_column"] = c.swap_column;
    if (!c.thresholds.empty()) cj["thresholds"] = c.thresholds;
    j["comparisons"].push_back(std::move(cj));
  }
  j["blocking"] = json::array();
  for (const BlockingRule& r : s.blocking) {
    json rj = json::array();
    for (const BlockingKey& k : r.keys) {
      json kj = {{"column", k.column}};
      if (!k.right_column.empty()) kj["right"] = k.right_column;
      if (k.transform != KeyTransform::kExact) kj["transform"] = TransformName(k);
      rj.push_back(std::move(kj));
    }
    j["blocking"].push_back(std::move(rj));
  }
  j["threshold"] = s.threshold;
  j["review_low"] = s.review_low;
  j["max_block_pairs"] = s.max_block_pairs;
  j["random_pairs"] = s.random_pairs;
  j["max_em_iterations"] = s.max_em_iterations;
  j["cluster_guard"] = s.cluster_guard;
  j["seed"] = s.seed;
  j["date_order"] = s.date_order == DateOrder::kYmd ? "ymd" : s.date_order == DateOrder::kDmy ? "dmy" : "mdy";
  return j.dump(2);
}

Settings InferSettings(const std::vector<std::string>& columns, std::vector<std::string>* ignored) {
  Settings s;
  std::string given, surname, full_name, dob, email, phone, postcode, street_number, address,
      locality, national_id;
  std::vector<std::string> addresses;
  for (const std::string& column : columns) {
    std::string c = Canonical(column);
    auto add = [&](ComparisonKind kind, bool tf) {
      s.comparisons.push_back({.column = column, .kind = kind, .tf = tf});
    };
    if (OneOf(c, {"givenname", "firstname", "forename", "fname", "first", "givennames"})) {
      given = column;
      add(ComparisonKind::kName, true);
    } else if (OneOf(c, {"surname", "lastname", "familyname", "lname", "last"})) {
      surname = column;
      add(ComparisonKind::kName, true);
    } else if (OneOf(c, {"name", "fullname", "personname", "customername"})) {
      full_name = column;
      add(ComparisonKind::kAddress, true);  // token-set similarity handles word order
    } else if (OneOf(c, {"dateofbirth", "dob", "birthdate", "birthday", "dateofbirthymd"})) {
      dob = column;
      add(ComparisonKind::kDate, false);
    } else if (OneOf(c, {"email", "emailaddress", "mail"})) {
      email = column;
      add(ComparisonKind::kEmail, true);
    } else if (OneOf(c, {"phone", "phonenumber", "mobile", "telephone", "tel", "cell", "mobilephone"})) {
      phone = column;
      add(ComparisonKind::kPhone, true);
    } else if (OneOf(c, {"postcode", "zip", "zipcode", "postalcode", "postcodes", "plz"})) {
      postcode = column;
      add(ComparisonKind::kPostcode, true);
    } else if (OneOf(c, {"streetnumber", "housenumber", "streetno", "houseno"})) {
      street_number = column;
      add(ComparisonKind::kIdentifier, true);
    } else if (OneOf(c, {"address", "address1", "address2", "addressline1", "addressline2", "street",
                         "streetaddress", "streetname", "addr"})) {
      if (address.empty()) address = column;
      addresses.push_back(column);
      add(ComparisonKind::kAddress, true);
    } else if (OneOf(c, {"suburb", "city", "town", "locality", "village"})) {
      locality = column;
      add(ComparisonKind::kString, true);
    } else if (OneOf(c, {"state", "region", "province", "county", "country", "gender", "sex"})) {
      add(ComparisonKind::kExact, true);
    } else if (OneOf(c, {"socsecid", "ssn", "socialsecuritynumber", "nationalid", "nin", "passport",
                         "passportnumber", "taxid", "nationalinsurancenumber", "personalnumber"})) {
      national_id = column;
      add(ComparisonKind::kIdentifier, false);
    } else if (ignored != nullptr) {
      ignored->push_back(column);
    }
  }
  // Names can be swapped between the two columns: each name comparison gets a "swapped" level.
  for (ComparisonSettings& c : s.comparisons) {
    if (c.column == given && !surname.empty()) c.swap_column = surname;
    if (c.column == surname && !given.empty()) c.swap_column = given;
  }
  auto rule = [&](std::initializer_list<BlockingKey> keys) {
    for (const BlockingKey& k : keys) {
      if (k.column.empty()) return;
    }
    s.blocking.push_back(BlockingRule{keys});
  };
  auto prefix = [](const std::string& column, int n) {
    return BlockingKey{.column = column, .transform = KeyTransform::kPrefix, .prefix_length = n};
  };
  auto key = [](const std::string& column) { return BlockingKey{.column = column}; };
  // Strong identifiers alone; weaker ones combined so that blocks stay small at any scale.
  if (!national_id.empty()) rule({key(national_id)});
  if (!email.empty()) rule({key(email)});
  if (!phone.empty()) rule({key(phone)});
  if (!given.empty() && !surname.empty()) {
    auto phonetic = [](const std::string& column) {
      return BlockingKey{.column = column, .transform = KeyTransform::kPhonetic};
    };
    rule({BlockingKey{.column = given, .right_column = surname},
          BlockingKey{.column = surname, .right_column = given}});
    if (!dob.empty()) {
      rule({key(dob), prefix(given, 1)});
      rule({key(dob), prefix(surname, 1)});
      rule({phonetic(given), phonetic(surname),
            BlockingKey{.column = dob, .transform = KeyTransform::kYear}});
    } else {
      rule({key(given), key(surname)});
    }
    if (!postcode.empty()) rule({key(postcode), phonetic(surname)});
    if (!locality.empty()) {
      rule({key(locality), phonetic(surname)});
      rule({key(locality), phonetic(given)});
    }
  } else if (!full_name.empty() && !dob.empty()) {
    rule({key(dob), prefix(full_name, 1)});
  } else if (!dob.empty()) {
    rule({key(dob)});
  }
  if (!address.empty() && !street_number.empty()) rule({key(address), key(street_number)});
  if (!dob.empty() && !postcode.empty()) rule({key(dob), key(postcode)});
  return s;
}

Status ValidateSettings(const Settings& settings, const std::vector<std::string>& columns) {
  auto has = [&](const std::string& c) {
    return std::find(columns.begin(), columns.end(), c) != columns.end();
  };
  for (size_t i = 0; i < settings.comparisons.size(); ++i) {
    const ComparisonSettings& c = settings.comparisons[i];
    if (!has(c.column)) {
      return Status::InvalidArgument("comparison " + std::to_string(i) + ": no column \"" + c.column + "\"");
    }
    if (!c.swap_column.empty() && !has(c.swap_column)) {
      return Status::InvalidArgument("comparison " + std::to_string(i) + ": no column \"" +
                                     c.swap_column + "\"");
    }
  }
  for (size_t i = 0; i < settings.blocking.size(); ++i) {
    for (const BlockingKey& k : settings.blocking[i].keys) {
      for (const std::string& c : {k.column, k.right_column}) {
        if (!c.empty() && !has(c)) {
          return Status::InvalidArgument("blocking rule " + std::to_string(i) + ": no column \"" + c + "\"");
        }
      }
    }
  }
  if (settings.comparisons.empty()) {
    return Status::InvalidArgument("no column to compare: name the comparisons in a settings file");
  }
  if (settings.blocking.empty()) {
    return Status::InvalidArgument("no blocking rule: name them in a settings file");
  }
  return Status::Ok();
}

}  // namespace tessera::linkage
