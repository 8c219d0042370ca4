// The catalog: the audience and computed-trait definitions of a workspace. A definition is a name
// and a condition (audience) or an aggregate (computed trait); every change makes a new version,
// which the engine (engine.h) backfills over all profiles.
//
// Storage (Space::kDefinitions, configuration, kept by `tessera rebuild`):
//   "d" id -> definition JSON      "n" kind-letter name -> id
// Writes are synced before they return. Thread-safety: every method is safe from any thread;
// readers take an immutable Snapshot, which the engine compiles once per catalog change.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "audience/condition.h"
#include "core/mutex.h"
#include "storage/store.h"

namespace tessera::audience {

enum class DefinitionKind : uint8_t { kAudience, kComputedTrait };
std::string_view DefinitionKindName(DefinitionKind kind);  // "audience" / "computed_trait"

struct Definition {
  std::string id;  // "aud_..." or "ct_...", never reused
  DefinitionKind kind = DefinitionKind::kAudience;
  // Audiences: any text (1..200 characters), unique among audiences. Computed traits: the trait
  // key written onto profiles, [A-Za-z_][A-Za-z0-9_]*, unique among computed traits.
  std::string name;
  std::string description;
  uint64_t version = 1;
  std::optional<Condition> condition;  // exactly for audiences
  std::optional<Aggregate> aggregate;  // exactly for computed traits
  TimeMs created_at = 0;
  TimeMs updated_at = 0;
};

nlohmann::json DefinitionJson(const Definition& d);  // the stored and API form
Result<Definition> DefinitionFromStored(std::string_view bytes);

// A definition ready to evaluate.
struct Compiled {
  Definition def;
  ConditionDeps deps;
  std::vector<size_t> audience_inputs;  // indexes into Snapshot::audiences it reads
};

// One immutable view of the catalog. Audiences are in dependency order (an audience comes after
// every audience its condition reads), so one pass evaluates a profile completely.
struct Snapshot {
  uint64_t generation = 0;  // grows with every change
  std::vector<Compiled> computed;
  std::vector<Compiled> audiences;
  // By id (either kind) or by audience name; nullptr if unknown.
  const Compiled* Find(std::string_view id_or_name) const;
  std::map<std::string, size_t, std::less<>> audience_index;  // id and name -> position
};

// What a create or update says; empty fields of an update keep their value.
struct DefinitionInput {
  std::optional<std::string> name;
  std::optional<std::string> description;
  std::optional<Condition> condition;
  std::optional<Aggregate> aggregate;
};

class Catalog {
 public:
  explicit Catalog(storage::Store* store) : store_(store) {}

  Status Load();
  // InvalidArgument for a bad name, a missing body, an unknown audience reference or a cycle;
  // AlreadyExists for a taken name.
  Result<Definition> Create(DefinitionKind kind, DefinitionInput input, TimeMs now);
  // A new version. NotFound for an unknown id; Conflict for a new name of a computed trait
  // while an audience's condition reads a trait of its current name.
  Result<Definition> Update(std::string_view id, DefinitionInput input, TimeMs now);
  // Conflict while an audience's condition reads this one: another audience by name or id, or,
  // for a computed trait, a trait of its name.
  Status Delete(std::string_view id);
  // By id, or an audience by name.
  Result<Definition> Get(std::string_view id_or_name) const;
  std::vector<Definition> List(DefinitionKind kind) const;  // by creation

  std::shared_ptr<const Snapshot> snapshot() const;

  // Checks a condition as a new audience's would be checked (references), for previews.
  Status CheckReferences(const Condition& condition) const;

 private:
  // Builds the snapshot for `defs`; InvalidArgument on unknown references or cycles.
  static Result<std::shared_ptr<const Snapshot>> Compile(const std::map<std::string, Definition>& defs,
                                                        uint64_t generation);
  Status Install(std::map<std::string, Definition> defs, storage::WriteBatch batch)
      TESSERA_REQUIRES(mu_);

  storage::Store* const store_;
  mutable Mutex mu_;
  std::map<std::string, Definition> defs_ TESSERA_GUARDED_BY(mu_);  // by id
  std::shared_ptr<const Snapshot> snapshot_ TESSERA_GUARDED_BY(mu_) =
      std::make_shared<Snapshot>();
  uint64_t next_id_ TESSERA_GUARDED_BY(mu_) = 1;
};

}  // namespace tessera::audience
