// Admin API: sources, health, metrics. Every route here needs the admin bearer token except
// /healthz and /metrics (scraped by Prometheus; they expose counts, never data or keys).
#include <nlohmann/json.hpp>

#include "api/api.h"

namespace tessera::api {
namespace {

using nlohmann::json;
using server::Request;
using server::Respond;
using server::Response;

json SourceJson(const sources::Source& s) {
  return {{"id", s.id},
          {"name", s.name},
          {"touchpoint", s.touchpoint},
          {"created_at", FormatIso8601(s.created_at)}};
}

void CreateSource(const ApiContext& ctx, Request&& req, Respond respond) {
  json body = json::parse(req.body, nullptr, false);
  if (!body.is_object()) {
    return respond(server::ErrorResponse(400, "invalid_argument", "body must be a JSON object"));
  }
  if (!body.contains("name") || !body["name"].is_string()) {
    return respond(server::ErrorResponse(400, "invalid_argument", "\"name\" (string) is required"));
  }
  if (!body.contains("touchpoint") || !body["touchpoint"].is_string()) {
    return respond(
        server::ErrorResponse(400, "invalid_argument", "\"touchpoint\" (string) is required"));
  }
  auto created = ctx.sources->Create(body["name"].get<std::string>(),
                                     body["touchpoint"].get<std::string>(), ctx.clock->NowMs());
  if (!created.ok()) return respond(server::StatusResponse(created.status()));
  json out = SourceJson(created->source);
  out["write_key"] = created->write_key;
  respond(Response{.status = 201, .body = out.dump()});
}

}  // namespace

void AddAdminRoutes(const ApiContext* ctx, server::Router* router) {
  router->Add("POST", "/v1/sources", AdminOnly(ctx, CreateSource));
  router->Add("GET", "/v1/sources",
              AdminOnly(ctx, [](const ApiContext& c, Request&&, Respond respond) {
                json list = json::array();
                for (const auto& s : c.sources->List()) list.push_back(SourceJson(s));
                respond(Response{.body = json{{"sources", list}}.dump()});
              }));
  router->Add("GET", "/v1/sources/{source}",
              AdminOnly(ctx, [](const ApiContext& c, Request&& req, Respond respond) {
                auto s = c.sources->Find(req.path_params[0]);
                if (!s.ok()) return respond(server::StatusResponse(s.status()));
                respond(Response{.body = SourceJson(*s).dump()});
              }));
  router->Add("GET", "/healthz", [ctx](Request&&, Respond respond) {
    uint64_t logged = ctx->log->last_seq();
    uint64_t processed = ctx->processor->processed_seq();
    std::string error = ctx->processor->last_error();
    if (error.empty()) error = ctx->engine->last_error();
    json out = {{"status", error.empty() ? "ok" : "degraded"},
                {"log_seq", logged},
                {"processed_seq", processed},
                {"lag_events", logged - std::min(logged, processed)},
                {"audience_applied_seq", ctx->engine->applied_seq()}};
    if (!error.empty()) out["error"] = error;
    respond(Response{.status = error.empty() ? 200 : 503, .body = out.dump()});
  });
  router->Add("GET", "/metrics", server::MetricsHandler(&server::DefaultRegistry()));
}

}  // namespace tessera::api
