#include "identity/links.h"

#include <algorithm>
#include <bit>
#include <deque>
#include <map>
#include <set>

#include "core/coding.h"
#include "identity/identity_graph.h"

namespace tessera::identity {

using storage::Space;

namespace {
constexpr uint64_t kVersion = 1;

Status WriteLinks(storage::StagedWrites* staged, const std::string& id,
                  const std::vector<Link>& links) {
  if (links.empty()) {
    staged->Delete(Space::kLinks, LinksKey(id));
  } else {
    staged->Put(Space::kLinks, LinksKey(id), EncodeLinks(links));
  }
  return Status::Ok();
}

// Live id of a stored id; empty when the profile no longer exists.
Result<std::string> LiveId(storage::Reader* reader, const std::string& id) {
  auto node = IdentityGraph::LoadLive(reader, id);
  if (node.status().code() == StatusCode::kNotFound) return std::string();
  TESSERA_RETURN_IF_ERROR(node.status());
  return node->tessera_id;
}

}  // namespace

std::string LinksKey(std::string_view tessera_id) { return "a" + std::string(tessera_id); }

std::string EncodeLinks(const std::vector<Link>& links) {
  std::string out;
  PutVarint64(&out, kVersion);
  PutVarint64(&out, links.size());
  for (const Link& l : links) {
    PutLengthPrefixed(&out, l.other);
    PutVarint64(&out, std::bit_cast<uint64_t>(l.probability));
    PutLengthPrefixed(&out, l.decided_by);
    PutLengthPrefixed(&out, l.review_id);
    PutVarsint64(&out, l.at);
    PutLengthPrefixed(&out, l.explanation);
  }
  return out;
}

Result<std::vector<Link>> DecodeLinks(std::string_view bytes) {
  Decoder d(bytes);
  uint64_t version, n;
  auto bad = [] { return Status::Corruption("malformed link list"); };
  if (!d.GetVarint64(&version) || version != kVersion || !d.GetVarint64(&n) || n > bytes.size()) {
    return bad();
  }
  std::vector<Link> links(n);
  for (Link& l : links) {
    uint64_t bits;
    if (!d.GetLengthPrefixed(&l.other) || !d.GetVarint64(&bits) ||
        !d.GetLengthPrefixed(&l.decided_by) || !d.GetLengthPrefixed(&l.review_id) ||
        !d.GetVarsint64(&l.at) || !d.GetLengthPrefixed(&l.explanation)) {
      return bad();
    }
    l.probability = std::bit_cast<double>(bits);
  }
  if (!d.done()) return bad();
  return links;
}

Result<std::vector<Link>> ReadLinks(storage::Reader* reader, std::string_view tessera_id) {
  std::string bytes;
  Status s = reader->Get(Space::kLinks, LinksKey(tessera_id), &bytes);
  if (s.code() == StatusCode::kNotFound) return std::vector<Link>();
  TESSERA_RETURN_IF_ERROR(s);
  return DecodeLinks(bytes);
}

Status AddLink(storage::StagedWrites* staged, const std::string& a, const std::string& b,
               const Link& link) {
  TESSERA_DCHECK(a != b, "a profile cannot be linked to itself");
  for (const auto& ends : {std::pair{&a, &b}, std::pair{&b, &a}}) {
    const std::string* self = ends.first;
    const std::string* other = ends.second;
    TESSERA_ASSIGN_OR_RETURN(std::vector<Link> links, ReadLinks(staged, *self));
    Link l = link;
    l.other = *other;
    auto it = std::find_if(links.begin(), links.end(),
                           [other](const Link& x) { return x.other == *other; });
    if (it != links.end()) {
      *it = std::move(l);
    } else {
      links.push_back(std::move(l));
    }
    TESSERA_RETURN_IF_ERROR(WriteLinks(staged, *self, links));
  }
  return Status::Ok();
}

Result<std::vector<Edge>> RemoveLinksBetween(storage::StagedWrites* staged, const Node& x,
                                             const Node& y) {
  std::vector<Edge> removed;
  for (const std::string& fx : x.fragments) {
    TESSERA_ASSIGN_OR_RETURN(std::vector<Link> links, ReadLinks(staged, fx));
    std::vector<Link> kept;
    for (Link& l : links) {
      TESSERA_ASSIGN_OR_RETURN(std::string live, LiveId(staged, l.other));
      if (live != y.tessera_id) {
        kept.push_back(std::move(l));
        continue;
      }
      // The reverse edge, stored under the other end.
      TESSERA_ASSIGN_OR_RETURN(std::vector<Link> back, ReadLinks(staged, l.other));
      back.erase(std::remove_if(back.begin(), back.end(),
                                [&](const Link& b) { return b.other == fx; }),
                 back.end());
      TESSERA_RETURN_IF_ERROR(WriteLinks(staged, l.other, back));
      removed.push_back(Edge{x.tessera_id, y.tessera_id, fx, l.other, std::move(l)});
    }
    if (kept.size() != links.size()) TESSERA_RETURN_IF_ERROR(WriteLinks(staged, fx, kept));
  }
  return removed;
}

bool Entity::Contains(std::string_view tessera_id) const {
  return std::any_of(members.begin(), members.end(),
                     [&](const Node& n) { return n.tessera_id == tessera_id; });
}

Result<Entity> LoadEntity(storage::Reader* reader, const Node& live, size_t max_members) {
  std::map<std::string, Node> members;
  std::map<std::pair<std::string, std::string>, Edge> edges;
  std::deque<std::string> queue;
  members.emplace(live.tessera_id, live);
  queue.push_back(live.tessera_id);
  while (!queue.empty()) {
    std::string id = std::move(queue.front());
    queue.pop_front();
    const std::vector<std::string> fragments = members.at(id).fragments;
    for (const std::string& f : fragments) {
      TESSERA_ASSIGN_OR_RETURN(std::vector<Link> links, ReadLinks(reader, f));
      for (Link& l : links) {
        auto other = IdentityGraph::LoadLive(reader, l.other);
        if (other.status().code() == StatusCode::kNotFound) continue;  // gone in a rebuild
        TESSERA_RETURN_IF_ERROR(other.status());
        const std::string other_id = other->tessera_id;
        if (other_id == id) continue;  // both ends merged deterministically since
        auto key = std::minmax(id, other_id);
        if (!edges.count({key.first, key.second})) {
          Edge e{key.first, key.second, f, l.other, l};
          if (id != key.first) {
            std::swap(e.stored_a, e.stored_b);
            e.link.other = e.stored_b;
          }
          edges.emplace(std::pair{key.first, key.second}, std::move(e));
        }
        if (!members.count(other_id) && members.size() < max_members) {
          members.emplace(other_id, std::move(other).value());
          queue.push_back(other_id);
        }
      }
    }
  }
  Entity entity;
  for (auto& [id, node] : members) entity.members.push_back(std::move(node));
  for (auto& [key, edge] : edges) {
    if (entity.Contains(edge.a) && entity.Contains(edge.b)) entity.edges.push_back(std::move(edge));
  }
  return entity;
}

}  // namespace tessera::identity
