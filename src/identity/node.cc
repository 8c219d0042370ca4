#include "identity/node.h"

#include "core/coding.h"

namespace tessera::identity {
namespace {
constexpr uint64_t kVersion = 1;

void PutIdentifier(std::string* out, const Identifier& id) {
  PutLengthPrefixed(out, id.kind);
  PutLengthPrefixed(out, id.value);
}
bool GetIdentifier(Decoder* d, Identifier* id) {
  return d->GetLengthPrefixed(&id->kind) && d->GetLengthPrefixed(&id->value);
}
}  // namespace

int Node::CountKind(std::string_view kind) const {
  int n = 0;
  for (const auto& r : identifiers) n += r.id.kind == kind;
  return n;
}

IdentifierRecord* Node::Find(const Identifier& id) {
  for (auto& r : identifiers) {
    if (r.id == id) return &r;
  }
  return nullptr;
}

std::string EncodeNode(const Node& n) {
  std::string out;
  PutVarint64(&out, kVersion);
  PutLengthPrefixed(&out, n.tessera_id);
  PutLengthPrefixed(&out, n.merged_into);
  PutVarsint64(&out, n.created_at);
  PutVarint64(&out, n.identifiers.size());
  for (const auto& r : n.identifiers) {
    PutIdentifier(&out, r.id);
    PutVarsint64(&out, r.first_seen);
    PutVarsint64(&out, r.last_seen);
  }
  PutVarint64(&out, n.fragments.size());
  for (const auto& f : n.fragments) PutLengthPrefixed(&out, f);
  PutVarint64(&out, n.merges.size());
  for (const auto& m : n.merges) {
    PutLengthPrefixed(&out, m.action);
    PutLengthPrefixed(&out, m.from);
    PutLengthPrefixed(&out, m.into);
    PutVarint64(&out, m.identifiers.size());
    for (const auto& id : m.identifiers) PutIdentifier(&out, id);
    PutLengthPrefixed(&out, m.message_id);
    PutVarint64(&out, m.seq);
    PutVarsint64(&out, m.at);
  }
  return out;
}

Result<Node> DecodeNode(std::string_view bytes) {
  Decoder d(bytes);
  Node n;
  uint64_t version, count;
  auto bad = [] { return Status::Corruption("malformed identity node"); };
  if (!d.GetVarint64(&version) || version != kVersion || !d.GetLengthPrefixed(&n.tessera_id) ||
      !d.GetLengthPrefixed(&n.merged_into) || !d.GetVarsint64(&n.created_at) ||
      !d.GetVarint64(&count) || count > bytes.size()) {
    return bad();
  }
  n.identifiers.resize(count);
  for (auto& r : n.identifiers) {
    if (!GetIdentifier(&d, &r.id) || !d.GetVarsint64(&r.first_seen) ||
        !d.GetVarsint64(&r.last_seen)) {
      return bad();
    }
  }
  if (!d.GetVarint64(&count) || count > bytes.size()) return bad();
  n.fragments.resize(count);
  for (auto& f : n.fragments) {
    if (!d.GetLengthPrefixed(&f)) return bad();
  }
  if (!d.GetVarint64(&count) || count > bytes.size()) return bad();
  n.merges.resize(count);
  for (auto& m : n.merges) {
    uint64_t ids;
    if (!d.GetLengthPrefixed(&m.action) || !d.GetLengthPrefixed(&m.from) ||
        !d.GetLengthPrefixed(&m.into) || !d.GetVarint64(&ids) || ids > bytes.size()) {
      return bad();
    }
    m.identifiers.resize(ids);
    for (auto& id : m.identifiers) {
      if (!GetIdentifier(&d, &id)) return bad();
    }
    if (!d.GetLengthPrefixed(&m.message_id) || !d.GetVarint64(&m.seq) || !d.GetVarsint64(&m.at)) {
      return bad();
    }
  }
  if (!d.done()) return bad();
  return n;
}

}  // namespace tessera::identity
