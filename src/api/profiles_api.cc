// Profile API: GET /v1/profiles/{kind}:{value} and its timeline /events. A profile is addressed
// by any identifier (normalised the way ingest normalises it) or by tessera_id.
#include <nlohmann/json.hpp>

#include "api/api.h"
#include "audience/state.h"
#include "identity/identity_graph.h"
#include "identity/links.h"
#include "profile/profile.h"

namespace tessera::api {
namespace {

using nlohmann::json;
using server::Request;
using server::Respond;
using server::Response;

constexpr size_t kDefaultPageSize = 50;
constexpr size_t kMaxPageSize = 1000;

Result<Identifier> ParseProfileRef(const ApiContext& ctx, std::string_view ref) {
  size_t colon = ref.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == ref.size()) {
    return Status::InvalidArgument(
        "a profile is addressed as kind:value, e.g. email:ada@example.com or user_id:42");
  }
  Identifier id{std::string(ref.substr(0, colon)), std::string(ref.substr(colon + 1))};
  if (id.kind == id_kind::kEmail) {
    id.value = ingest::NormalizeEmail(id.value);
  } else if (id.kind == id_kind::kPhone) {
    auto phone = ingest::NormalizePhone(id.value, ctx.identifiers.default_phone_region);
    if (!phone) return Status::InvalidArgument("not a phone number: " + id.value);
    id.value = *phone;
  }
  return id;
}

json ParseStored(const std::string& text) {
  json j = json::parse(text, nullptr, false);
  return j.is_discarded() ? json(text) : j;
}

json SourceRef(const ApiContext& ctx, const std::string& source_id) {
  auto s = ctx.sources->Find(source_id);
  if (!s.ok()) return {{"id", source_id}};
  return {{"id", s->id}, {"name", s->name}, {"touchpoint", s->touchpoint}};
}

json IdentifiersJson(const std::vector<Identifier>& ids) {
  json out = json::array();
  for (const auto& id : ids) out.push_back({{"kind", id.kind}, {"value", id.value}});
  return out;
}

json LinksJson(const identity::Entity& entity) {
  json links = json::array();
  for (const auto& e : entity.edges) {
    json explanation = json::parse(e.link.explanation, nullptr, false);
    json link = {{"profiles", {e.a, e.b}},
                 {"probability", e.link.probability},
                 {"decided_by", e.link.decided_by},
                 {"at", FormatIso8601(e.link.at)},
                 {"explanation", explanation.is_discarded() ? json(nullptr) : explanation}};
    if (!e.link.review_id.empty()) link["review_id"] = e.link.review_id;
    links.push_back(std::move(link));
  }
  return links;
}

// A profile as the API shows it: with the profiles linked to it (identity/links.h) read as
// one: their records folded (in tessera_id order, last writer wins by timestamp), identifiers
// and merge records united. Nothing of the fold is stored, so unlinking shows each as it is.
Result<json> ProfileJson(const ApiContext& ctx, const identity::Node& node) {
  auto p = profile::LoadProfile(ctx.store, node.tessera_id);
  if (p.status().code() == StatusCode::kNotFound) {
    return Status::NotFound("profile " + node.tessera_id + " has no events yet");
  }
  TESSERA_RETURN_IF_ERROR(p.status());
  TESSERA_ASSIGN_OR_RETURN(identity::Entity entity, identity::LoadEntity(ctx.store, node));
  std::vector<const identity::Node*> members;  // the requested profile first
  members.push_back(&node);
  for (const auto& m : entity.members) {
    if (m.tessera_id == node.tessera_id) continue;
    members.push_back(&m);
    auto other = profile::LoadProfile(ctx.store, m.tessera_id);
    if (other.status().code() == StatusCode::kNotFound) continue;  // no events yet
    TESSERA_RETURN_IF_ERROR(other.status());
    profile::FoldProfile(&p.value(), std::move(other).value());
  }
  json out;
  out["tessera_id"] = node.tessera_id;
  json ids = json::array();
  for (const identity::Node* m : members) {
    for (const auto& r : m->identifiers) {
      json id = {{"kind", r.id.kind},
                 {"value", r.id.value},
                 {"first_seen", FormatIso8601(r.first_seen)},
                 {"last_seen", FormatIso8601(r.last_seen)}};
      if (m != &node) id["linked_profile"] = m->tessera_id;
      ids.push_back(std::move(id));
    }
  }
  out["identifiers"] = ids;
  if (entity.members.size() > 1) {
    json linked = json::array();
    for (const identity::Node* m : members) {
      if (m != &node) linked.push_back(m->tessera_id);
    }
    out["entity_id"] = entity.entity_id();
    out["linked_profiles"] = linked;
    out["links"] = LinksJson(entity);
  }
  json traits = json::object(), provenance = json::object();
  for (const auto& [name, t] : p->traits) {
    traits[name] = ParseStored(t.json);
    provenance[name] = {
        {"source", t.source_id}, {"message_id", t.message_id}, {"at", FormatIso8601(t.at)}};
  }
  // Computed traits are traits too (they win over a sent trait of the same name).
  TESSERA_ASSIGN_OR_RETURN(auto values, audience::state::ReadValues(ctx.store, node.tessera_id));
  auto snap = ctx.catalog->snapshot();
  for (const auto& [def_id, value] : values) {
    const audience::Compiled* c = snap->Find(def_id);
    if (!c) continue;  // deleted; its values are being removed
    traits[c->def.name] = value;
    provenance[c->def.name] = {{"source", "computed_trait"}, {"computed_trait", def_id}};
  }
  out["traits"] = traits;
  out["trait_provenance"] = provenance;
  json consent = json::object();
  for (const auto& [purpose, c] : p->consent) {
    consent[purpose] = {{"granted", c.granted},
                        {"source", c.source_id},
                        {"message_id", c.message_id},
                        {"at", FormatIso8601(c.at)}};
  }
  out["consent"] = consent;
  json sources = json::array();
  for (const auto& s : p->sources) sources.push_back(SourceRef(ctx, s));
  out["sources"] = sources;
  json merges = json::array();
  std::vector<identity::MergeRecord> records;
  for (const identity::Node* m : members) {
    for (const auto& r : m->merges) {
      if (std::find(records.begin(), records.end(), r) == records.end()) records.push_back(r);
    }
  }
  std::stable_sort(records.begin(), records.end(),
                   [](const auto& a, const auto& b) { return a.seq < b.seq; });
  for (const auto& m : records) {
    merges.push_back({{"action", m.action},
                      {"from", m.from},
                      {"into", m.into},
                      {"identifiers", IdentifiersJson(m.identifiers)},
                      {"message_id", m.message_id},
                      {"seq", m.seq},
                      {"at", FormatIso8601(m.at)}});
  }
  out["merges"] = merges;
  out["merged_profiles"] =
      json(std::vector<std::string>(node.fragments.begin() + 1, node.fragments.end()));
  out["first_seen"] = FormatIso8601(p->first_seen);
  out["last_seen"] = FormatIso8601(p->last_seen);
  out["event_count"] = p->event_count;
  return out;
}

json EventJson(const Event& e) {
  json out = {{"seq", e.seq},
              {"type", std::string(MessageTypeName(e.type))},
              {"message_id", e.message_id},
              {"source", e.source_id},
              {"timestamp", FormatIso8601(e.timestamp)},
              {"received_at", FormatIso8601(e.received_at)}};
  if (!e.event.empty()) out[e.type == MessageType::kTrack ? "event" : "name"] = e.event;
  if (!e.user_id.empty()) out["user_id"] = e.user_id;
  if (!e.anonymous_id.empty()) out["anonymous_id"] = e.anonymous_id;
  if (e.sent_at) out["sent_at"] = FormatIso8601(*e.sent_at);
  if (e.original_timestamp) out["original_timestamp"] = FormatIso8601(*e.original_timestamp);
  out["message"] = ParseStored(e.json);
  return out;
}

Result<size_t> PageSize(const Request& req) {
  auto it = req.query.find("limit");
  if (it == req.query.end()) return kDefaultPageSize;
  size_t n = 0;
  const std::string& v = it->second;
  if (v.empty() || v.size() > 6 || v.find_first_not_of("0123456789") != std::string::npos ||
      (n = std::stoul(v)) == 0 || n > kMaxPageSize) {
    return Status::InvalidArgument("limit must be a number from 1 to " +
                                   std::to_string(kMaxPageSize));
  }
  return n;
}

void GetProfile(const ApiContext& ctx, Request&& req, Respond respond) {
  // The reads are not one snapshot: if the pipeline folds this profile into another between
  // them, the profile record is gone by the time it is read. Resolve again then.
  for (int attempt = 0;; ++attempt) {
    auto node = ResolveProfile(ctx, req.path_params[0]);
    if (!node.ok()) return respond(server::StatusResponse(node.status()));
    auto body = ProfileJson(ctx, *node);
    if (!body.ok() && body.status().code() == StatusCode::kNotFound && attempt < 3) continue;
    if (!body.ok()) return respond(server::StatusResponse(body.status()));
    return respond(Response{.body = body->dump(-1, ' ', false, json::error_handler_t::replace)});
  }
}

void GetEvents(const ApiContext& ctx, Request&& req, Respond respond) {
  auto limit = PageSize(req);
  if (!limit.ok()) return respond(server::StatusResponse(limit.status()));
  auto node = ResolveProfile(ctx, req.path_params[0]);
  if (!node.ok()) return respond(server::StatusResponse(node.status()));
  // Linked profiles read as one: their timelines too.
  auto entity = identity::LoadEntity(ctx.store, *node);
  if (!entity.ok()) return respond(server::StatusResponse(entity.status()));
  std::vector<std::string> fragments = node->fragments;
  for (const auto& m : entity->members) {
    if (m.tessera_id == node->tessera_id) continue;
    fragments.insert(fragments.end(), m.fragments.begin(), m.fragments.end());
  }
  auto cursor = req.query.find("cursor");
  auto page = profile::ReadTimeline(ctx.store, fragments, *limit,
                                    cursor == req.query.end() ? "" : cursor->second);
  if (!page.ok()) return respond(server::StatusResponse(page.status()));
  json events = json::array();
  for (uint64_t seq : page->seqs) {
    auto e = ctx.log->ReadOne(seq);
    if (!e.ok()) return respond(server::StatusResponse(e.status()));
    events.push_back(EventJson(*e));
  }
  json out = {{"tessera_id", node->tessera_id}, {"events", events}};
  out["next_cursor"] = page->next_cursor.empty() ? json(nullptr) : json(page->next_cursor);
  respond(Response{.body = out.dump(-1, ' ', false, json::error_handler_t::replace)});
}

void GetAudiences(const ApiContext& ctx, Request&& req, Respond respond) {
  auto node = ResolveProfile(ctx, req.path_params[0]);
  if (!node.ok()) return respond(server::StatusResponse(node.status()));
  auto memberships = audience::state::ReadMemberships(ctx.store, node->tessera_id);
  if (!memberships.ok()) return respond(server::StatusResponse(memberships.status()));
  // History of every profile folded into this one too, in time order.
  std::vector<json> history;
  for (const auto& fragment : node->fragments) {
    auto h = audience::state::ReadHistory(ctx.store, fragment);
    if (!h.ok()) return respond(server::StatusResponse(h.status()));
    for (auto& entry : *h) {
      entry["tessera_id"] = fragment;
      history.push_back(std::move(entry));
    }
  }
  std::stable_sort(history.begin(), history.end(), [](const json& a, const json& b) {
    return a.value("at", "") < b.value("at", "");
  });
  auto snap = ctx.catalog->snapshot();
  json audiences = json::array();
  for (const auto& m : *memberships) {
    const audience::Compiled* c = snap->Find(m.def_id);
    if (!c || !m.membership.member) continue;
    audiences.push_back({{"id", m.def_id},
                         {"name", c->def.name},
                         {"version", m.membership.version},
                         {"entered_at", FormatIso8601(m.membership.entered_at)}});
  }
  json out = {{"tessera_id", node->tessera_id}, {"audiences", audiences}};
  out["history"] = history;
  respond(Response{.body = out.dump(-1, ' ', false, json::error_handler_t::replace)});
}

}  // namespace

Result<identity::Node> ResolveProfile(const ApiContext& ctx, std::string_view ref) {
  TESSERA_ASSIGN_OR_RETURN(Identifier id, ParseProfileRef(ctx, ref));
  auto tessera_id = identity::IdentityGraph::Lookup(ctx.store, id);
  if (tessera_id.status().code() == StatusCode::kNotFound) {
    return Status::NotFound("no profile for " + id.ToString());
  }
  TESSERA_RETURN_IF_ERROR(tessera_id.status());
  return identity::IdentityGraph::LoadLive(ctx.store, *tessera_id);
}

void AddProfileRoutes(const ApiContext* ctx, server::Router* router) {
  router->Add("GET", "/v1/profiles/{id}", AdminOnly(ctx, GetProfile));
  router->Add("GET", "/v1/profiles/{id}/events", AdminOnly(ctx, GetEvents));
  router->Add("GET", "/v1/profiles/{id}/audiences", AdminOnly(ctx, GetAudiences));
}

}  // namespace tessera::api
