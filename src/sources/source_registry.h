// Sources: where events come from (a website, an app, a store's tills, the call centre...). Each
// has a touchpoint and a write key. Write keys are shown once, at creation, and stored only as a
// SHA-256 hash; Authenticate() maps a presented key to its source.
//
// Storage (Space::kSources): "s" id -> source JSON; "k" sha256(key) -> id; "n" name -> id.
// Thread-safety: all methods are safe from any thread (an in-memory cache under a mutex).
#pragma once

#include <absl/container/flat_hash_map.h>

#include <optional>
#include <string>
#include <vector>

#include "core/mutex.h"
#include "core/time.h"
#include "storage/store.h"

namespace tessera::sources {

struct Source {
  std::string id;
  std::string name;
  std::string touchpoint;  // web|app|store|call_centre|email|social|billing|crm|other
  TimeMs created_at = 0;
};

struct CreatedSource {
  Source source;
  std::string write_key;  // only ever returned here
};

bool IsValidTouchpoint(std::string_view touchpoint);

class SourceRegistry {
 public:
  explicit SourceRegistry(storage::Store* store) : store_(store) {}

  // Loads every source into memory. Call once before use.
  Status Load();
  // InvalidArgument for an empty/overlong name or unknown touchpoint; AlreadyExists for a taken
  // name. Durable (synced) before it returns.
  Result<CreatedSource> Create(std::string_view name, std::string_view touchpoint, TimeMs now);
  // Unauthenticated for an unknown key.
  Result<Source> Authenticate(std::string_view write_key) const;
  // By id or by name; NotFound otherwise.
  Result<Source> Find(std::string_view id_or_name) const;
  std::vector<Source> List() const;  // by creation time

  static std::string HashKey(std::string_view write_key);  // hex SHA-256

 private:
  storage::Store* const store_;
  mutable Mutex mu_;
  absl::flat_hash_map<std::string, Source> by_id_ TESSERA_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, std::string> id_by_key_hash_ TESSERA_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, std::string> id_by_name_ TESSERA_GUARDED_BY(mu_);
};

}  // namespace tessera::sources
