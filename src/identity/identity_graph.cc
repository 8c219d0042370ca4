#include "core/coding.h"
#include "identity/identity_graph.h"

#include <absl/container/flat_hash_map.h>

#include <algorithm>

namespace tessera::identity {

using storage::Space;

int IdentityConfig::Limit(std::string_view kind) const {
  auto it = limits.find(kind);
  return it == limits.end() ? default_limit : it->second;
}

int IdentityConfig::Rank(std::string_view kind) const {
  for (size_t i = 0; i < priority.size(); ++i) {
    if (priority[i] == kind) return static_cast<int>(i) * 2;
  }
  for (size_t i = 0; i < priority.size(); ++i) {
    if (priority[i] == id_kind::kDeviceId) return static_cast<int>(i) * 2 - 1;
  }
  return static_cast<int>(priority.size()) * 2;
}

std::string IdentityGraph::IdKey(const Identifier& id) {
  std::string key = "i";
  key += id.kind;
  key.push_back('\0');
  key += id.value;
  return key;
}

std::string IdentityGraph::NodeKey(std::string_view tessera_id) {
  std::string key = "n";
  key += tessera_id;
  return key;
}

std::string IdentityGraph::NewTesseraId(uint64_t seq) {
  // splitmix64's finaliser is a bijection on 64 bits: unique per seq, yet not a visible counter.
  uint64_t z = seq + 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  z = z ^ (z >> 31);
  std::string be;
  PutFixed64BE(&be, z);
  return "tsr_" + HexEncode(be);
}

Result<Node> IdentityGraph::LoadLive(storage::Reader* reader, std::string_view tessera_id) {
  std::string id(tessera_id);
  std::string bytes;
  // Chains are short (each fold points at the profile alive at the time); the bound only
  // guards against a corrupt cycle.
  for (int hop = 0; hop < 1000; ++hop) {
    TESSERA_RETURN_IF_ERROR(reader->Get(Space::kIdentity, NodeKey(id), &bytes));
    TESSERA_ASSIGN_OR_RETURN(Node node, DecodeNode(bytes));
    if (node.merged_into.empty()) return node;
    id = node.merged_into;
  }
  return Status::Corruption("merge chain too long from " + std::string(tessera_id));
}

Result<std::string> IdentityGraph::Lookup(storage::Reader* reader, const Identifier& id) {
  if (id.kind == id_kind::kTesseraId) {
    TESSERA_ASSIGN_OR_RETURN(Node node, LoadLive(reader, id.value));
    return node.tessera_id;
  }
  std::string tessera_id;
  TESSERA_RETURN_IF_ERROR(reader->Get(Space::kIdentity, IdKey(id), &tessera_id));
  return tessera_id;
}

namespace {

// The working state of one Resolve: nodes loaded and changed in memory, written at the end.
class Resolver {
 public:
  Resolver(const IdentityConfig& config, const Event& event, storage::StagedWrites* staged)
      : config_(config), event_(event), staged_(staged) {}

  Result<Resolution> Run(std::vector<Identifier> ids);

 private:
  Result<std::string> OwnerOf(const Identifier& id);
  Result<Node*> Load(const std::string& tessera_id);
  bool HasRoom(const Node& node, std::string_view kind, int extra = 1) const {
    return node.CountKind(kind) + extra <= config_.Limit(kind);
  }
  bool CanAdopt(const Node& node, const std::vector<Identifier>& ids) const;
  bool CanMerge(const Node& a, const Node& b) const;
  Node* Create(const std::vector<Identifier>& ids);
  void Add(Node* node, const Identifier& id);
  void Touch(Node* node, const Identifier& id);
  Status Merge(Node* from, Node* into, const Identifier& link);
  void Move(const Identifier& id, Node* from, Node* into);
  void Drop(const Identifier& id, Node* into);
  MergeRecord Record(std::string action, const Node* from, const Node* into,
                     std::vector<Identifier> ids) const;
  void Flush();

  const IdentityConfig& config_;
  const Event& event_;
  storage::StagedWrites* const staged_;
  absl::flat_hash_map<std::string, std::unique_ptr<Node>> nodes_;  // by tessera_id
  absl::flat_hash_map<std::string, std::string> owners_;           // IdKey -> tessera_id
  std::vector<std::string> repointed_;                             // IdKeys to write
  Resolution resolution_;
};

Result<std::string> Resolver::OwnerOf(const Identifier& id) {
  std::string key = IdentityGraph::IdKey(id);
  auto it = owners_.find(key);
  if (it != owners_.end()) return it->second;
  std::string owner;
  Status s = staged_->Get(Space::kIdentity, key, &owner);
  if (!s.ok() && s.code() != StatusCode::kNotFound) return s;
  owners_[key] = owner;  // empty: not seen before
  return owner;
}

Result<Node*> Resolver::Load(const std::string& tessera_id) {
  auto it = nodes_.find(tessera_id);
  if (it != nodes_.end()) return it->second.get();
  std::string bytes;
  TESSERA_RETURN_IF_ERROR(staged_->Get(Space::kIdentity, IdentityGraph::NodeKey(tessera_id), &bytes));
  TESSERA_ASSIGN_OR_RETURN(Node node, DecodeNode(bytes));
  if (!node.merged_into.empty()) {
    return Status::Corruption("identifier points at folded profile " + tessera_id);
  }
  auto owned = std::make_unique<Node>(std::move(node));
  Node* raw = owned.get();
  nodes_[tessera_id] = std::move(owned);
  return raw;
}

bool Resolver::CanAdopt(const Node& node, const std::vector<Identifier>& ids) const {
  for (const auto& id : ids) {
    int in_ids = static_cast<int>(std::count_if(
        ids.begin(), ids.end(), [&](const Identifier& x) { return x.kind == id.kind; }));
    if (!HasRoom(node, id.kind, in_ids)) return false;
  }
  return true;
}

bool Resolver::CanMerge(const Node& a, const Node& b) const {
  for (const auto& r : b.identifiers) {
    if (!HasRoom(a, r.id.kind, b.CountKind(r.id.kind))) return false;
  }
  return true;
}

MergeRecord Resolver::Record(std::string action, const Node* from, const Node* into,
                             std::vector<Identifier> ids) const {
  return MergeRecord{std::move(action), from ? from->tessera_id : "", into->tessera_id,
                     std::move(ids), event_.message_id, event_.seq, event_.received_at};
}

Node* Resolver::Create(const std::vector<Identifier>& ids) {
  auto node = std::make_unique<Node>();
  node->tessera_id = IdentityGraph::NewTesseraId(event_.seq);
  node->fragments = {node->tessera_id};
  node->created_at = event_.timestamp;
  Node* raw = node.get();
  nodes_[raw->tessera_id] = std::move(node);
  resolution_.created = true;
  for (const auto& id : ids) {
    if (HasRoom(*raw, id.kind)) {
      Add(raw, id);
    } else {
      Drop(id, raw);
    }
  }
  return raw;
}

void Resolver::Add(Node* node, const Identifier& id) {
  node->identifiers.push_back({id, event_.timestamp, event_.timestamp});
  std::string key = IdentityGraph::IdKey(id);
  owners_[key] = node->tessera_id;
  repointed_.push_back(std::move(key));
}

void Resolver::Touch(Node* node, const Identifier& id) {
  IdentifierRecord* r = node->Find(id);
  TESSERA_CHECK(r != nullptr, "identifier owner lacks it: " + id.ToString());
  r->first_seen = std::min(r->first_seen, event_.timestamp);
  r->last_seen = std::max(r->last_seen, event_.timestamp);
}

Status Resolver::Merge(Node* from, Node* into, const Identifier& link) {
  // Profiles folded into `from` earlier now point straight at `into`: an old tessera_id is
  // always one hop from its live profile, however many merges follow.
  for (size_t i = 1; i < from->fragments.size(); ++i) {
    const std::string& folded = from->fragments[i];
    if (auto it = nodes_.find(folded); it != nodes_.end()) {
      it->second->merged_into = into->tessera_id;
      continue;
    }
    std::string bytes;
    TESSERA_RETURN_IF_ERROR(staged_->Get(Space::kIdentity, IdentityGraph::NodeKey(folded), &bytes));
    TESSERA_ASSIGN_OR_RETURN(Node node, DecodeNode(bytes));
    node.merged_into = into->tessera_id;
    staged_->Put(Space::kIdentity, IdentityGraph::NodeKey(folded), EncodeNode(node));
  }
  for (const auto& r : from->identifiers) {
    into->identifiers.push_back(r);
    std::string key = IdentityGraph::IdKey(r.id);
    owners_[key] = into->tessera_id;
    repointed_.push_back(std::move(key));
  }
  Touch(into, link);
  for (auto& f : from->fragments) into->fragments.push_back(std::move(f));
  MergeRecord rec = Record("merge", from, into, {link});
  for (auto& m : from->merges) {
    // A move between the two profiles is on both already.
    if (std::find(into->merges.begin(), into->merges.end(), m) == into->merges.end()) {
      into->merges.push_back(std::move(m));
    }
  }
  into->merges.push_back(rec);
  from->merges = {rec};
  from->identifiers.clear();
  from->fragments.clear();
  from->merged_into = into->tessera_id;
  resolution_.merged.push_back(from->tessera_id);
  resolution_.changes.push_back(std::move(rec));
  return Status::Ok();
}

void Resolver::Move(const Identifier& id, Node* from, Node* into) {
  auto it = std::find_if(from->identifiers.begin(), from->identifiers.end(),
                         [&](const IdentifierRecord& r) { return r.id == id; });
  TESSERA_CHECK(it != from->identifiers.end(), "moved identifier missing: " + id.ToString());
  IdentifierRecord moved = *it;
  from->identifiers.erase(it);
  moved.last_seen = std::max(moved.last_seen, event_.timestamp);
  into->identifiers.push_back(moved);
  std::string key = IdentityGraph::IdKey(id);
  owners_[key] = into->tessera_id;
  repointed_.push_back(std::move(key));
  MergeRecord rec = Record("move", from, into, {id});
  from->merges.push_back(rec);
  into->merges.push_back(rec);
  resolution_.changes.push_back(std::move(rec));
}

void Resolver::Drop(const Identifier& id, Node* into) {
  MergeRecord rec = Record("drop", nullptr, into, {id});
  resolution_.changes.push_back(rec);
  // Record each dropped identifier once per profile, so repeats cannot grow the node forever.
  bool known = std::any_of(into->merges.begin(), into->merges.end(), [&](const MergeRecord& m) {
    return m.action == "drop" && m.identifiers.size() == 1 && m.identifiers[0] == id;
  });
  if (!known) into->merges.push_back(std::move(rec));
}

void Resolver::Flush() {
  for (const auto& [id, node] : nodes_) {
    staged_->Put(Space::kIdentity, IdentityGraph::NodeKey(id), EncodeNode(*node));
  }
  for (const auto& key : repointed_) staged_->Put(Space::kIdentity, key, owners_[key]);
}

Result<Resolution> Resolver::Run(std::vector<Identifier> ids) {
  std::stable_sort(ids.begin(), ids.end(), [&](const Identifier& a, const Identifier& b) {
    return config_.Rank(a.kind) < config_.Rank(b.kind);
  });
  Node* anchor = nullptr;
  std::vector<Identifier> pending;  // new identifiers met before any known profile
  for (const auto& id : ids) {
    TESSERA_ASSIGN_OR_RETURN(std::string owner, OwnerOf(id));
    if (anchor == nullptr) {
      if (owner.empty()) {
        pending.push_back(id);
        continue;
      }
      TESSERA_ASSIGN_OR_RETURN(Node * node, Load(owner));
      if (CanAdopt(*node, pending)) {
        anchor = node;
        for (const auto& p : pending) Add(anchor, p);
        pending.clear();
        Touch(anchor, id);
        continue;
      }
      // The higher-priority new identifiers cannot join this profile: they make a new one,
      // and this identifier is handled against it below.
      anchor = Create(pending);
      pending.clear();
    }
    if (owner == anchor->tessera_id) {
      Touch(anchor, id);
    } else if (owner.empty()) {
      if (HasRoom(*anchor, id.kind)) {
        Add(anchor, id);
      } else {
        Drop(id, anchor);
      }
    } else {
      TESSERA_ASSIGN_OR_RETURN(Node * other, Load(owner));
      if (CanMerge(*anchor, *other)) {
        TESSERA_RETURN_IF_ERROR(Merge(other, anchor, id));
      } else if (HasRoom(*anchor, id.kind)) {
        Move(id, other, anchor);
      } else {
        Drop(id, anchor);
      }
    }
  }
  if (anchor == nullptr) anchor = Create(pending);
  resolution_.tessera_id = anchor->tessera_id;
  Flush();
  return std::move(resolution_);
}

}  // namespace

Result<Resolution> IdentityGraph::Resolve(const Event& event, storage::StagedWrites* staged) const {
  TESSERA_DCHECK(event.seq > 0, "Resolve needs a logged event");
  std::vector<Identifier> ids = event.identifiers;
  if (event.type == MessageType::kAlias && !event.previous_id.empty()) {
    // previousId is an earlier userId when one is known, else an anonymous id.
    Identifier prev{std::string(id_kind::kUserId), event.previous_id};
    std::string owner;
    Status s = staged->Get(Space::kIdentity, IdKey(prev), &owner);
    if (s.code() == StatusCode::kNotFound) {
      prev.kind = std::string(id_kind::kAnonymousId);
    } else if (!s.ok()) {
      return s;
    }
    if (std::find(ids.begin(), ids.end(), prev) == ids.end()) ids.push_back(std::move(prev));
  }
  if (ids.size() == 1 && ids[0].kind == id_kind::kTesseraId) {
    // Tessera's own events (audience entered/exited, ...) address one profile and link nothing.
    auto node = LoadLive(staged, ids[0].value);
    if (node.ok()) return Resolution{node->tessera_id, false, {}, {}};
    if (node.status().code() != StatusCode::kNotFound) return node.status();
    ids.clear();  // a profile that no longer exists: the event gets a profile of its own
    return Resolver(config_, event, staged).Run(std::move(ids));
  }
  if (ids.empty()) return Status::InvalidArgument("event has no identifiers");
  return Resolver(config_, event, staged).Run(std::move(ids));
}

}  // namespace tessera::identity
