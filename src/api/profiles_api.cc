// Profile API: GET /v1/profiles/{kind}:{value} and its timeline /events. A profile is addressed
// by any identifier (normalised the way ingest normalises it) or by tessera_id.
#include <nlohmann/json.hpp>

#include "api/api.h"
#include "audience/state.h"
#include "core/json_text.h"
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

void WriteSourceRef(const ApiContext& ctx, const std::string& source_id, std::string* out) {
  JsonObjectWriter w(out);
  auto s = ctx.sources->Find(source_id);
  w.Field("id").String(s.ok() ? s->id : source_id);
  if (s.ok()) {
    w.Field("name").String(s->name);
    w.Field("touchpoint").String(s->touchpoint);
  }
  w.Close();
}

// Stored JSON text as it is (trait and computed values are stored as JSON); anything else,
// which nothing writes, as a string rather than a broken document.
void WriteStored(std::string_view text, std::string* out) {
  if (json::accept(text)) {
    out->append(text);
  } else {
    AppendJsonString(out, text);
  }
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
Result<std::string> ProfileJson(const ApiContext& ctx, const identity::Node& node) {
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
  // Written directly: this is the API's hot read, and the traits are stored as JSON already.
  std::string out;
  out.reserve(2048);
  JsonObjectWriter w(&out);
  w.Field("tessera_id").String(node.tessera_id);
  w.Field("identifiers");
  JsonArrayWriter ids(&out);
  for (const identity::Node* m : members) {
    for (const auto& r : m->identifiers) {
      JsonObjectWriter id(ids.Next());
      id.Field("kind").String(r.id.kind);
      id.Field("value").String(r.id.value);
      id.Field("first_seen").String(FormatIso8601(r.first_seen));
      id.Field("last_seen").String(FormatIso8601(r.last_seen));
      if (m != &node) id.Field("linked_profile").String(m->tessera_id);
      id.Close();
    }
  }
  ids.Close();
  if (entity.members.size() > 1) {
    w.Field("entity_id").String(entity.entity_id());
    w.Field("linked_profiles");
    JsonArrayWriter linked(&out);
    for (const identity::Node* m : members) {
      if (m != &node) AppendJsonString(linked.Next(), m->tessera_id);
    }
    linked.Close();
    w.Field("links").Raw(LinksJson(entity).dump(-1, ' ', false, json::error_handler_t::replace));
  }
  // Sent traits, then computed ones (they win over a sent trait of the same name).
  struct TraitOut {
    std::string_view value;                  // JSON text
    const profile::TraitValue* sent = nullptr;
    const std::string* computed = nullptr;  // the definition's id
  };
  std::map<std::string_view, TraitOut> traits;
  for (const auto& [name, t] : p->traits) traits[name] = {t.json, &t, nullptr};
  auto snap = ctx.catalog->snapshot();
  audience::state::ProfileState values;
  if (!snap->computed.empty()) {
    TESSERA_ASSIGN_OR_RETURN(values,
                             audience::state::ReadProfileState(ctx.store, node.tessera_id));
  }
  for (const auto& [def_id, text] : values.values) {
    const audience::Compiled* c = snap->Find(def_id);
    if (!c) continue;  // deleted; its values are being removed
    traits[c->def.name] = {text, nullptr, &def_id};
  }
  w.Field("traits");
  JsonObjectWriter trait_values(&out);
  for (const auto& [name, t] : traits) {
    trait_values.Field(name);
    WriteStored(t.value, &out);
  }
  trait_values.Close();
  w.Field("trait_provenance");
  JsonObjectWriter provenance(&out);
  for (const auto& [name, t] : traits) {
    provenance.Field(name);
    JsonObjectWriter one(&out);
    if (t.sent) {
      one.Field("source").String(t.sent->source_id);
      one.Field("message_id").String(t.sent->message_id);
      one.Field("at").String(FormatIso8601(t.sent->at));
    } else {
      one.Field("source").String("computed_trait");
      one.Field("computed_trait").String(*t.computed);
    }
    one.Close();
  }
  provenance.Close();
  w.Field("consent");
  JsonObjectWriter consent(&out);
  for (const auto& [purpose, c] : p->consent) {
    consent.Field(purpose);
    JsonObjectWriter one(&out);
    one.Field("granted").Bool(c.granted);
    one.Field("source").String(c.source_id);
    one.Field("message_id").String(c.message_id);
    one.Field("at").String(FormatIso8601(c.at));
    one.Close();
  }
  consent.Close();
  w.Field("sources");
  JsonArrayWriter sources(&out);
  for (const auto& s : p->sources) WriteSourceRef(ctx, s, sources.Next());
  sources.Close();
  std::vector<identity::MergeRecord> records;
  for (const identity::Node* m : members) {
    for (const auto& r : m->merges) {
      if (std::find(records.begin(), records.end(), r) == records.end()) records.push_back(r);
    }
  }
  std::stable_sort(records.begin(), records.end(),
                   [](const auto& a, const auto& b) { return a.seq < b.seq; });
  w.Field("merges");
  JsonArrayWriter merges(&out);
  for (const auto& m : records) {
    JsonObjectWriter one(merges.Next());
    one.Field("action").String(m.action);
    one.Field("from").String(m.from);
    one.Field("into").String(m.into);
    one.Field("identifiers");
    JsonArrayWriter merged_ids(&out);
    for (const auto& id : m.identifiers) {
      JsonObjectWriter i(merged_ids.Next());
      i.Field("kind").String(id.kind);
      i.Field("value").String(id.value);
      i.Close();
    }
    merged_ids.Close();
    one.Field("message_id").String(m.message_id);
    one.Field("seq").Uint(m.seq);
    one.Field("at").String(FormatIso8601(m.at));
    one.Close();
  }
  merges.Close();
  w.Field("merged_profiles");
  JsonArrayWriter folded(&out);
  for (size_t i = 1; i < node.fragments.size(); ++i) {
    AppendJsonString(folded.Next(), node.fragments[i]);
  }
  folded.Close();
  w.Field("first_seen").String(FormatIso8601(p->first_seen));
  w.Field("last_seen").String(FormatIso8601(p->last_seen));
  w.Field("event_count").Uint(p->event_count);
  w.Close();
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
    return respond(Response{.body = std::move(body).value()});
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
  for (size_t i = 0; i < page->seqs.size(); ++i) {
    auto e = profile::TimelineEvent(ctx.store, ctx.log, page->seqs[i], page->values[i]);
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
