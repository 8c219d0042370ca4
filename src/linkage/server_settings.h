// Linkage settings inside the server: the batch settings (settings.h: comparisons, blocking,
// thresholds) over columns, plus where each column's value comes from in a profile.
//
// JSON form: the batch settings file, with these extra keys (all optional):
//   {"fields": {"first_name": ["trait:first_name", "trait:firstName"],
//               "city": ["trait:address.city"],
//               "email": ["trait:email", "identifier:email"]},
//    "max_candidates": 100,     // profiles compared with one profile at most (strongest blocks)
//    "max_cluster_size": 20,    // a link that would make an entity larger goes to review
//    "auto_train": {"enabled": true, "min_profiles": 1000, "growth": 2.0},
//                               // train on its own: first once min_profiles profiles exist
//                               // (when no model is current), again each time the profiles
//                               // have grown by `growth` times since the last training
//    ...the keys of settings.h: "comparisons", "blocking", "threshold", "review_low", ...}
// A column's value is the first non-empty source: "trait:PATH" (a dotted path into the traits;
// strings and numbers) or "identifier:KIND" (the most recently seen identifier of that kind).
// A column used by a comparison or blocking rule and not in "fields" reads "trait:COLUMN".
//
// InferServerSettings chooses defaults from the trait names and identifier kinds profiles carry,
// through the batch inference (settings.h InferSettings): first/last name, date of birth,
// email, phone, address, postcode, city, national ids...
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "identity/node.h"
#include "linkage/settings.h"
#include "profile/profile.h"

namespace tessera::linkage {

struct Field {
  std::string column;
  std::vector<std::string> sources;  // "trait:PATH" or "identifier:KIND"
  bool operator==(const Field&) const = default;
};

struct AutoTrain {
  bool enabled = true;
  uint64_t min_profiles = 1000;
  double growth = 2.0;
  bool operator==(const AutoTrain&) const = default;
};

struct ServerSettings {
  Settings linkage;
  AutoTrain auto_train;
  std::vector<Field> fields;  // every column the comparisons and rules use, in table order
  uint64_t max_candidates = 100;
  uint64_t max_cluster_size = 20;
  uint64_t version = 0;  // set when stored; each change is a new version

  std::vector<std::string> Columns() const;
};

// Parses and validates the JSON form; InvalidArgument names the JSON path. "version" is ignored.
Result<ServerSettings> ParseServerSettings(std::string_view json_text);
// The JSON form, with "version".
std::string ServerSettingsToJson(const ServerSettings& settings);

// Defaults from the trait paths ("first_name", "address.city") and identifier kinds seen on
// profiles. Paths not compared go to *ignored. The result may have no comparison (nothing
// recognisable): ValidateSettings then says so.
ServerSettings InferServerSettings(const std::vector<std::string>& trait_paths,
                                   const std::vector<std::string>& identifier_kinds,
                                   std::vector<std::string>* ignored);

// The value of every column (in Columns() order) for a profile; "" when missing. `profile` may be
// null (a profile with no record yet).
std::vector<std::string> ExtractRecord(const ServerSettings& settings,
                                       const profile::Profile* profile, const identity::Node& node);

// Trait paths of one profile: top-level names, and "name.key" for one level of nested objects.
std::vector<std::string> TraitPaths(const profile::Profile& profile);

}  // namespace tessera::linkage
