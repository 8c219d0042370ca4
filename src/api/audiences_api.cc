// Audiences and computed traits: /v1/audiences and /v1/computed-traits, the same shape for both
// (create, list, get, change = new version, delete, members, preview). Creating or changing a
// definition answers once its backfill is done (201/200), or 202 with a status URL when the
// backfill takes longer than the request is willing to wait (?wait=seconds, default 5).
#include <nlohmann/json.hpp>

#include "api/api.h"
#include "audience/preview.h"
#include "audience/state.h"

namespace tessera::api {
namespace {

using audience::DefinitionKind;
using nlohmann::json;
using server::Request;
using server::Respond;
using server::Response;

constexpr size_t kDefaultPageSize = 100;
constexpr size_t kMaxPageSize = 10000;
constexpr size_t kPreviewSample = 20;

struct Kind {
  DefinitionKind kind;
  std::string_view path;       // "/v1/audiences"
  std::string_view body_key;   // "condition" or "aggregate"
};
constexpr Kind kAudiences{DefinitionKind::kAudience, "/v1/audiences", "condition"};
constexpr Kind kComputed{DefinitionKind::kComputedTrait, "/v1/computed-traits", "aggregate"};

std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

// The definition with its state: size, status and backfill progress.
json DefinitionView(const ApiContext& ctx, const audience::Definition& d) {
  json out = audience::DefinitionJson(d);
  auto st = audience::state::ReadDefinitionState(ctx.store, d.id);
  bool ready = st.ok() && st->has_value() && (*st)->version >= d.version && !(*st)->backfilling;
  out["status"] = ready ? "ready" : "backfilling";
  out["size"] = st.ok() && st->has_value() ? (*st)->size : 0;
  if (st.ok() && st->has_value()) {
    const auto& s = **st;
    json backfill = {{"version", s.version}, {"profiles_evaluated", s.backfilled}};
    if (s.backfill_started) backfill["started_at"] = FormatIso8601(s.backfill_started);
    if (s.backfill_finished) backfill["finished_at"] = FormatIso8601(s.backfill_finished);
    out["backfill"] = backfill;
  }
  return out;
}

// Reads the condition or aggregate of a request body; errors say where.
Status ReadBody(const Kind& k, const json& value, audience::DefinitionInput* input) {
  std::string key(k.body_key);
  if (k.kind == DefinitionKind::kAudience) {
    Result<audience::Condition> c = value.is_string()
                                        ? audience::ParseCondition(value.get<std::string>())
                                        : audience::FromJson(value);
    if (!value.is_string() && !value.is_object()) {
      return Status::InvalidArgument(
          "\"condition\" must be the text form (a string) or the JSON form (an object)");
    }
    if (!c.ok()) return Status::InvalidArgument("condition: " + c.status().message());
    input->condition = std::move(*c);
  } else {
    if (!value.is_string() && !value.is_object()) {
      return Status::InvalidArgument(
          "\"aggregate\" must be the text form (a string) or the JSON form (an object)");
    }
    Result<audience::Aggregate> a = value.is_string()
                                        ? audience::ParseAggregate(value.get<std::string>())
                                        : audience::AggregateFromJson(value);
    if (!a.ok()) return Status::InvalidArgument("aggregate: " + a.status().message());
    input->aggregate = std::move(*a);
  }
  return Status::Ok();
}

Result<audience::DefinitionInput> ReadInput(const Kind& k, const std::string& text) {
  json body = json::parse(text, nullptr, false);
  if (!body.is_object()) return Status::InvalidArgument("body must be a JSON object");
  audience::DefinitionInput input;
  for (const auto& [key, value] : body.items()) {
    if (key == "name" || key == "description") {
      if (!value.is_string()) return Status::InvalidArgument("\"" + key + "\" must be a string");
      (key == "name" ? input.name : input.description) = value.get<std::string>();
    } else if (key == k.body_key) {
      TESSERA_RETURN_IF_ERROR(ReadBody(k, value, &input));
    } else {
      return Status::InvalidArgument("unknown field \"" + key + "\"");
    }
  }
  return input;
}

Result<int64_t> WaitMs(const Request& req) {
  auto it = req.query.find("wait");
  if (it == req.query.end()) return 5000;
  const std::string& v = it->second;
  if (v.empty() || v.size() > 2 || v.find_first_not_of("0123456789") != std::string::npos ||
      std::stoi(v) > 60) {
    return Status::InvalidArgument("wait must be a whole number of seconds from 0 to 60");
  }
  return std::stoll(v) * 1000;
}

Result<audience::Definition> Find(const ApiContext& ctx, const Kind& k, const std::string& id) {
  auto d = ctx.catalog->Get(id);
  if (!d.ok() || d->kind != k.kind) {
    return Status::NotFound(std::string(k.kind == DefinitionKind::kAudience ? "no audience "
                                                                             : "no computed trait ") +
                            id);
  }
  return d;
}

// Answers when the backfill of d's version is done, or 202 at the deadline.
void RespondWhenReady(const ApiContext& ctx, const Kind& k, const audience::Definition& d,
                      int64_t wait_ms, int ready_status, Respond respond) {
  const ApiContext* c = &ctx;
  std::string location = std::string(k.path) + "/" + d.id;
  ctx.engine->NotifyWhenReady(
      d.id, d.version, ctx.clock->NowMs() + wait_ms,
      [c, d, location, ready_status, respond = std::move(respond)](bool ready) {
        json out = DefinitionView(*c, d);
        Response r{.status = ready ? ready_status : 202, .body = {}};
        if (!ready) out["status_url"] = location;
        r.headers.emplace_back("Location", location);
        r.body = Dump(out);
        respond(std::move(r));
      });
}

void Create(const Kind& k, const ApiContext& ctx, Request&& req, Respond respond) {
  auto wait = WaitMs(req);
  if (!wait.ok()) return respond(server::StatusResponse(wait.status()));
  auto input = ReadInput(k, req.body);
  if (!input.ok()) return respond(server::StatusResponse(input.status()));
  auto d = ctx.catalog->Create(k.kind, std::move(*input), ctx.clock->NowMs());
  if (!d.ok()) return respond(server::StatusResponse(d.status()));
  RespondWhenReady(ctx, k, *d, *wait, 201, std::move(respond));
}

void Update(const Kind& k, const ApiContext& ctx, Request&& req, Respond respond) {
  auto wait = WaitMs(req);
  if (!wait.ok()) return respond(server::StatusResponse(wait.status()));
  auto existing = Find(ctx, k, req.path_params[0]);
  if (!existing.ok()) return respond(server::StatusResponse(existing.status()));
  auto input = ReadInput(k, req.body);
  if (!input.ok()) return respond(server::StatusResponse(input.status()));
  auto d = ctx.catalog->Update(existing->id, std::move(*input), ctx.clock->NowMs());
  if (!d.ok()) return respond(server::StatusResponse(d.status()));
  RespondWhenReady(ctx, k, *d, *wait, 200, std::move(respond));
}

void Delete(const Kind& k, const ApiContext& ctx, Request&& req, Respond respond) {
  auto existing = Find(ctx, k, req.path_params[0]);
  if (!existing.ok()) return respond(server::StatusResponse(existing.status()));
  Status s = ctx.catalog->Delete(existing->id);
  if (!s.ok()) return respond(server::StatusResponse(s));
  respond(Response{.status = 204, .content_type = "", .body = {}});
}

void Get(const Kind& k, const ApiContext& ctx, Request&& req, Respond respond) {
  auto d = Find(ctx, k, req.path_params[0]);
  if (!d.ok()) return respond(server::StatusResponse(d.status()));
  respond(Response{.body = Dump(DefinitionView(ctx, *d))});
}

void List(const Kind& k, const ApiContext& ctx, Request&&, Respond respond) {
  json list = json::array();
  for (const auto& d : ctx.catalog->List(k.kind)) list.push_back(DefinitionView(ctx, d));
  respond(Response{.body = Dump(json{{k.kind == DefinitionKind::kAudience ? "audiences"
                                                                           : "computed_traits",
                                      list}})});
}

json MemberJson(const Kind& k, const std::string& id, const json& v) {
  if (k.kind == DefinitionKind::kAudience) return {{"tessera_id", id}, {"entered_at", v}};
  return {{"tessera_id", id}, {"value", v}};
}

void Members(const Kind& k, const ApiContext& ctx, Request&& req, Respond respond) {
  auto d = Find(ctx, k, req.path_params[0]);
  if (!d.ok()) return respond(server::StatusResponse(d.status()));
  const bool computed = k.kind == DefinitionKind::kComputedTrait;
  auto format = req.query.find("format");
  if (format != req.query.end()) {
    if (format->second != "csv" && format->second != "ndjson") {
      return respond(server::ErrorResponse(400, "invalid_argument", "format must be csv or ndjson"));
    }
    auto all = audience::state::ReadMembers(ctx.store, d->id, computed, 0, "");
    if (!all.ok()) return respond(server::StatusResponse(all.status()));
    std::string body;
    if (format->second == "csv") {
      body = computed ? "tessera_id,value\n" : "tessera_id,entered_at\n";
      for (const auto& [id, v] : all->members) {
        std::string cell = v.is_string() ? v.get<std::string>() : Dump(v);
        // RFC 4180: quote a cell holding a comma, a quote or a line break.
        if (cell.find_first_of(",\"\r\n") != std::string::npos) {
          std::string quoted = "\"";
          for (char ch : cell) quoted += ch == '"' ? std::string("\"\"") : std::string(1, ch);
          cell = quoted + "\"";
        }
        body += id + "," + cell + "\n";
      }
      return respond(Response{.content_type = "text/csv", .body = std::move(body)});
    }
    for (const auto& [id, v] : all->members) body += Dump(MemberJson(k, id, v)) + "\n";
    return respond(Response{.content_type = "application/x-ndjson", .body = std::move(body)});
  }
  size_t limit = kDefaultPageSize;
  if (auto it = req.query.find("limit"); it != req.query.end()) {
    const std::string& v = it->second;
    if (v.empty() || v.size() > 5 || v.find_first_not_of("0123456789") != std::string::npos ||
        std::stoul(v) == 0 || std::stoul(v) > kMaxPageSize) {
      return respond(server::ErrorResponse(400, "invalid_argument",
                                           "limit must be a number from 1 to 10000"));
    }
    limit = std::stoul(v);
  }
  auto cursor = req.query.find("cursor");
  auto page = audience::state::ReadMembers(ctx.store, d->id, computed, limit,
                                           cursor == req.query.end() ? "" : cursor->second);
  if (!page.ok()) return respond(server::StatusResponse(page.status()));
  json members = json::array();
  for (const auto& [id, v] : page->members) members.push_back(MemberJson(k, id, v));
  json out = {{"members", members},
              {"next_cursor", page->next_cursor.empty() ? json(nullptr) : json(page->next_cursor)}};
  respond(Response{.body = Dump(out)});
}

void PreviewHandler(const Kind& k, const ApiContext& ctx, Request&& req, Respond respond) {
  json body = json::parse(req.body, nullptr, false);
  if (!body.is_object() || !body.contains(k.body_key)) {
    return respond(server::ErrorResponse(
        400, "invalid_argument", "body must be a JSON object with \"" + std::string(k.body_key) + "\""));
  }
  audience::DefinitionInput input;
  Status s = ReadBody(k, body[std::string(k.body_key)], &input);
  if (s.ok() && input.condition) s = ctx.catalog->CheckReferences(*input.condition);
  if (!s.ok()) return respond(server::StatusResponse(s));
  std::variant<audience::Condition, audience::Aggregate> what =
      input.condition ? std::variant<audience::Condition, audience::Aggregate>(*input.condition)
                      : std::variant<audience::Condition, audience::Aggregate>(*input.aggregate);
  const ApiContext* c = &ctx;
  auto job = [c, k, what = std::move(what), respond]() mutable {
    auto snap = c->catalog->snapshot();
    auto result = audience::Preview(c->store, c->log, c->sources, *snap, what, c->clock->NowMs(),
                                    kPreviewSample);
    if (!result.ok()) return respond(server::StatusResponse(result.status()));
    json sample = json::array();
    for (const auto& [id, v] : result->sample) {
      sample.push_back(k.kind == DefinitionKind::kAudience ? json(id) : MemberJson(k, id, v));
    }
    respond(Response{.body = Dump(json{
                         {"size", result->size}, {"profiles", result->profiles}, {"sample", sample}})});
  };
  Status queued = ctx.background->Submit(std::move(job));
  if (!queued.ok()) {
    Response r = server::StatusResponse(queued);
    r.headers.emplace_back("Retry-After", "1");
    respond(std::move(r));
  }
}

template <const Kind& K>
void AddRoutes(const ApiContext* ctx, server::Router* router) {
  std::string base(K.path);
  auto bind = [](auto fn) {
    return [fn](const ApiContext& c, Request&& r, Respond respond) {
      fn(K, c, std::move(r), std::move(respond));
    };
  };
  router->Add("POST", base, AdminOnly(ctx, bind(Create)));
  router->Add("GET", base, AdminOnly(ctx, bind(List)));
  router->Add("POST", base + "/preview", AdminOnly(ctx, bind(PreviewHandler)));
  router->Add("GET", base + "/{id}", AdminOnly(ctx, bind(Get)));
  router->Add("PUT", base + "/{id}", AdminOnly(ctx, bind(Update)));
  router->Add("DELETE", base + "/{id}", AdminOnly(ctx, bind(Delete)));
  router->Add("GET", base + "/{id}/members", AdminOnly(ctx, bind(Members)));
}

}  // namespace

void AddAudienceRoutes(const ApiContext* ctx, server::Router* router) {
  AddRoutes<kAudiences>(ctx, router);
  AddRoutes<kComputed>(ctx, router);
}

}  // namespace tessera::api
