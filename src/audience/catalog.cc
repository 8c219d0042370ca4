#include "audience/catalog.h"

#include <algorithm>
#include <functional>

#include "audience/internal.h"
#include "core/coding.h"

namespace tessera::audience {

using nlohmann::json;
using storage::Space;

namespace {
constexpr std::string_view kCounterKey = "c";
constexpr size_t kMaxNameBytes = 200;
constexpr size_t kMaxDescriptionBytes = 2000;

std::string DefKey(std::string_view id) { return "d" + std::string(id); }
std::string NameKey(DefinitionKind kind, std::string_view name) {
  return std::string("n") + (kind == DefinitionKind::kAudience ? 'a' : 'c') + std::string(name);
}

Status CheckName(DefinitionKind kind, const std::string& name) {
  if (kind == DefinitionKind::kComputedTrait) {
    if (!internal::IsIdentifier(name) || name.size() > kMaxNameBytes) {
      return Status::InvalidArgument(
          "\"name\" of a computed trait is the trait it writes: letters, digits and _, not "
          "starting with a digit, at most 200 characters");
    }
    return Status::Ok();
  }
  if (name.empty() || name.size() > kMaxNameBytes || !internal::IsValidUtf8(name)) {
    return Status::InvalidArgument("\"name\" must be 1 to 200 characters of UTF-8");
  }
  // `in audience "x"` takes a name or an id, so a name must not look like another's id.
  if (name.size() > 4 && name.compare(0, 4, "aud_") == 0 &&
      name.find_first_not_of("0123456789", 4) == std::string::npos) {
    return Status::InvalidArgument("\"name\" may not have the form of an audience id (aud_N)");
  }
  return Status::Ok();
}

// Conflict while another audience reads `d`: an audience by name or id, a computed trait by
// the trait key it writes. Deleting or renaming either would change that audience's meaning
// underneath it (a computed trait's readers would silently see the sent trait, or nothing).
Status CheckUnread(const std::map<std::string, Definition>& defs, const Definition& d) {
  const bool audience = d.kind == DefinitionKind::kAudience;
  for (const auto& [other_id, other] : defs) {
    if (other.kind != DefinitionKind::kAudience || other_id == d.id) continue;
    ConditionDeps deps = Dependencies(*other.condition);
    bool reads = audience ? deps.audiences.count(d.id) || deps.audiences.count(d.name)
                          : deps.traits.count(d.name) > 0;
    if (reads) {
      return Status::Conflict("audience \"" + other.name + "\" reads " +
                              (audience ? "\"" : "trait \"") + d.name +
                              "\"; change or delete it first");
    }
  }
  return Status::Ok();
}
}  // namespace

std::string_view DefinitionKindName(DefinitionKind kind) {
  return kind == DefinitionKind::kAudience ? "audience" : "computed_trait";
}

json DefinitionJson(const Definition& d) {
  json out = {{"id", d.id},
              {"kind", std::string(DefinitionKindName(d.kind))},
              {"name", d.name},
              {"description", d.description},
              {"version", d.version},
              {"created_at", FormatIso8601(d.created_at)},
              {"updated_at", FormatIso8601(d.updated_at)}};
  if (d.condition) {
    out["condition"] = ToJson(*d.condition);
    out["condition_text"] = ToText(*d.condition);
  }
  if (d.aggregate) {
    out["aggregate"] = ToJson(*d.aggregate);
    out["aggregate_text"] = ToText(*d.aggregate);
  }
  return out;
}

Result<Definition> DefinitionFromStored(std::string_view bytes) {
  auto bad = [](const std::string& why) {
    return Status::Corruption("malformed definition record: " + why);
  };
  json j = json::parse(bytes, nullptr, false);
  if (!j.is_object()) return bad("not JSON");
  Definition d;
  try {
    d.id = j.at("id").get<std::string>();
    std::string kind = j.at("kind").get<std::string>();
    d.kind = kind == "audience" ? DefinitionKind::kAudience : DefinitionKind::kComputedTrait;
    d.name = j.at("name").get<std::string>();
    d.description = j.value("description", "");
    d.version = j.at("version").get<uint64_t>();
    auto created = ParseIso8601(j.at("created_at").get<std::string>());
    auto updated = ParseIso8601(j.at("updated_at").get<std::string>());
    if (!created || !updated) return bad("times");
    d.created_at = *created;
    d.updated_at = *updated;
  } catch (const json::exception& e) {
    return bad(e.what());
  }
  if (d.kind == DefinitionKind::kAudience) {
    if (!j.contains("condition")) return bad("audience without condition");
    auto c = FromJson(j["condition"]);
    if (!c.ok()) return bad(c.status().message());
    d.condition = std::move(*c);
  } else {
    if (!j.contains("aggregate")) return bad("computed trait without aggregate");
    auto a = AggregateFromJson(j["aggregate"]);
    if (!a.ok()) return bad(a.status().message());
    d.aggregate = std::move(*a);
  }
  return d;
}

const Compiled* Snapshot::Find(std::string_view id_or_name) const {
  if (auto it = audience_index.find(id_or_name); it != audience_index.end()) {
    return &audiences[it->second];
  }
  for (const auto& c : computed) {
    if (c.def.id == id_or_name) return &c;
  }
  return nullptr;
}

Result<std::shared_ptr<const Snapshot>> Catalog::Compile(
    const std::map<std::string, Definition>& defs, uint64_t generation) {
  auto snap = std::make_shared<Snapshot>();
  snap->generation = generation;
  std::vector<const Definition*> audiences;
  std::map<std::string, const Definition*, std::less<>> by_ref;
  for (const auto& [id, d] : defs) {
    if (d.kind == DefinitionKind::kComputedTrait) {
      snap->computed.push_back({d, Dependencies(*d.aggregate), {}});
    } else {
      audiences.push_back(&d);
      by_ref[d.id] = &d;
      by_ref[d.name] = &d;
    }
  }
  // Depth-first topological order; a reference back into the current path is a cycle.
  std::map<std::string, int> state;  // 1 visiting, 2 done
  std::vector<const Definition*> order;
  std::function<Status(const Definition*, std::vector<std::string>*)> visit =
      [&](const Definition* d, std::vector<std::string>* path) -> Status {
    int& s = state[d->id];
    if (s == 2) return Status::Ok();
    path->push_back(d->name);
    if (s == 1) {
      std::string cycle;
      for (const auto& name : *path) cycle += (cycle.empty() ? "" : " -> ") + name;
      return Status::InvalidArgument("audiences may not read each other in a cycle: " + cycle);
    }
    s = 1;
    for (const auto& ref : Dependencies(*d->condition).audiences) {
      auto it = by_ref.find(ref);
      if (it == by_ref.end()) {
        return Status::InvalidArgument("audience \"" + d->name + "\" reads unknown audience \"" +
                                       ref + "\"");
      }
      TESSERA_RETURN_IF_ERROR(visit(it->second, path));
    }
    state[d->id] = 2;
    path->pop_back();
    order.push_back(d);
    return Status::Ok();
  };
  for (const Definition* d : audiences) {
    std::vector<std::string> path;
    TESSERA_RETURN_IF_ERROR(visit(d, &path));
  }
  for (const Definition* d : order) {
    snap->audience_index[d->id] = snap->audiences.size();
    snap->audience_index[d->name] = snap->audiences.size();
    snap->audiences.push_back({*d, Dependencies(*d->condition), {}});
  }
  for (auto& c : snap->audiences) {
    for (const auto& ref : c.deps.audiences) c.audience_inputs.push_back(snap->audience_index[ref]);
  }
  return std::shared_ptr<const Snapshot>(std::move(snap));
}

Status Catalog::Load() {
  auto it = store_->NewIterator(Space::kDefinitions);
  std::map<std::string, Definition> defs;
  uint64_t next = 1;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    std::string_view key = it->key();
    if (key == kCounterKey) {
      if (it->value().size() != 8) return Status::Corruption("definition counter");
      next = DecodeFixed64BE(it->value().data());
    } else if (!key.empty() && key[0] == 'd') {
      TESSERA_ASSIGN_OR_RETURN(Definition d, DefinitionFromStored(it->value()));
      defs.emplace(d.id, std::move(d));
    }
  }
  TESSERA_RETURN_IF_ERROR(it->status());
  TESSERA_ASSIGN_OR_RETURN(auto snap, Compile(defs, 1));
  MutexLock lock(&mu_);
  defs_ = std::move(defs);
  snapshot_ = std::move(snap);
  next_id_ = next;
  return Status::Ok();
}

Status Catalog::Install(std::map<std::string, Definition> defs, storage::WriteBatch batch) {
  TESSERA_ASSIGN_OR_RETURN(auto snap, Compile(defs, snapshot_->generation + 1));
  TESSERA_RETURN_IF_ERROR(store_->Write(batch, {.sync = true}));
  defs_ = std::move(defs);
  snapshot_ = std::move(snap);
  return Status::Ok();
}

Result<Definition> Catalog::Create(DefinitionKind kind, DefinitionInput input, TimeMs now) {
  if (!input.name) return Status::InvalidArgument("\"name\" is required");
  TESSERA_RETURN_IF_ERROR(CheckName(kind, *input.name));
  if (input.description && input.description->size() > kMaxDescriptionBytes) {
    return Status::InvalidArgument("\"description\" is over 2000 characters");
  }
  Definition d;
  d.kind = kind;
  d.name = *input.name;
  d.description = input.description.value_or("");
  d.created_at = d.updated_at = now;
  if (kind == DefinitionKind::kAudience) {
    if (!input.condition) return Status::InvalidArgument("\"condition\" is required");
    if (input.aggregate) return Status::InvalidArgument("an audience has a condition, not an aggregate");
    d.condition = std::move(input.condition);
  } else {
    if (!input.aggregate) return Status::InvalidArgument("\"aggregate\" is required");
    if (input.condition) return Status::InvalidArgument("a computed trait has an aggregate, not a condition");
    d.aggregate = std::move(input.aggregate);
  }
  MutexLock lock(&mu_);
  std::string ignored;
  Status taken = store_->Get(Space::kDefinitions, NameKey(kind, d.name), &ignored);
  if (taken.ok()) {
    return Status::AlreadyExists(std::string(DefinitionKindName(kind)) + " \"" + d.name +
                                 "\" already exists");
  }
  if (taken.code() != StatusCode::kNotFound) return taken;
  d.id = (kind == DefinitionKind::kAudience ? "aud_" : "ct_") + std::to_string(next_id_);
  storage::WriteBatch batch;
  std::string counter;
  PutFixed64BE(&counter, next_id_ + 1);
  batch.Put(Space::kDefinitions, kCounterKey, counter);
  batch.Put(Space::kDefinitions, DefKey(d.id), DefinitionJson(d).dump());
  batch.Put(Space::kDefinitions, NameKey(kind, d.name), d.id);
  auto defs = defs_;
  defs[d.id] = d;
  TESSERA_RETURN_IF_ERROR(Install(std::move(defs), std::move(batch)));
  ++next_id_;
  return d;
}

Result<Definition> Catalog::Update(std::string_view id, DefinitionInput input, TimeMs now) {
  MutexLock lock(&mu_);
  auto it = defs_.find(std::string(id));
  if (it == defs_.end()) return Status::NotFound("no audience or computed trait " + std::string(id));
  Definition d = it->second;
  storage::WriteBatch batch;
  if (input.name && *input.name != d.name) {
    TESSERA_RETURN_IF_ERROR(CheckName(d.kind, *input.name));
    // An audience read by name fails to compile below (an unknown reference), with its own
    // message; a computed trait's name is the trait its readers see.
    if (d.kind == DefinitionKind::kComputedTrait) {
      TESSERA_RETURN_IF_ERROR(CheckUnread(defs_, d));
    }
    std::string ignored;
    Status taken = store_->Get(Space::kDefinitions, NameKey(d.kind, *input.name), &ignored);
    if (taken.ok()) {
      return Status::AlreadyExists(std::string(DefinitionKindName(d.kind)) + " \"" +
                                   *input.name + "\" already exists");
    }
    if (taken.code() != StatusCode::kNotFound) return taken;
    batch.Delete(Space::kDefinitions, NameKey(d.kind, d.name));
    batch.Put(Space::kDefinitions, NameKey(d.kind, *input.name), d.id);
    d.name = *input.name;
  }
  if (input.description) {
    if (input.description->size() > kMaxDescriptionBytes) {
      return Status::InvalidArgument("\"description\" is over 2000 characters");
    }
    d.description = *input.description;
  }
  if (d.kind == DefinitionKind::kAudience) {
    if (input.aggregate) return Status::InvalidArgument("an audience has a condition, not an aggregate");
    if (input.condition) d.condition = std::move(input.condition);
  } else {
    if (input.condition) return Status::InvalidArgument("a computed trait has an aggregate, not a condition");
    if (input.aggregate) d.aggregate = std::move(input.aggregate);
  }
  ++d.version;
  d.updated_at = now;
  batch.Put(Space::kDefinitions, DefKey(d.id), DefinitionJson(d).dump());
  auto defs = defs_;
  defs[d.id] = d;
  TESSERA_RETURN_IF_ERROR(Install(std::move(defs), std::move(batch)));
  return d;
}

Status Catalog::Delete(std::string_view id) {
  MutexLock lock(&mu_);
  auto it = defs_.find(std::string(id));
  if (it == defs_.end()) return Status::NotFound("no audience or computed trait " + std::string(id));
  const Definition& d = it->second;
  TESSERA_RETURN_IF_ERROR(CheckUnread(defs_, d));
  storage::WriteBatch batch;
  batch.Delete(Space::kDefinitions, DefKey(d.id));
  batch.Delete(Space::kDefinitions, NameKey(d.kind, d.name));
  auto defs = defs_;
  defs.erase(d.id);
  return Install(std::move(defs), std::move(batch));
}

Result<Definition> Catalog::Get(std::string_view id_or_name) const {
  MutexLock lock(&mu_);
  if (auto it = defs_.find(std::string(id_or_name)); it != defs_.end()) return it->second;
  for (const auto& [id, d] : defs_) {
    if (d.kind == DefinitionKind::kAudience && d.name == id_or_name) return d;
  }
  return Status::NotFound("no audience or computed trait " + std::string(id_or_name));
}

std::vector<Definition> Catalog::List(DefinitionKind kind) const {
  std::vector<Definition> out;
  {
    MutexLock lock(&mu_);
    for (const auto& [id, d] : defs_) {
      if (d.kind == kind) out.push_back(d);
    }
  }
  std::sort(out.begin(), out.end(), [](const Definition& a, const Definition& b) {
    return a.created_at != b.created_at ? a.created_at < b.created_at : a.id < b.id;
  });
  return out;
}

std::shared_ptr<const Snapshot> Catalog::snapshot() const {
  MutexLock lock(&mu_);
  return snapshot_;
}

Status Catalog::CheckReferences(const Condition& condition) const {
  auto snap = snapshot();
  for (const auto& ref : Dependencies(condition).audiences) {
    if (!snap->Find(ref) || snap->Find(ref)->def.kind != DefinitionKind::kAudience) {
      return Status::InvalidArgument("unknown audience \"" + ref + "\"");
    }
  }
  return Status::Ok();
}

}  // namespace tessera::audience
