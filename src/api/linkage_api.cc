// Record linkage in the server (linkage/engine.h), admin only:
//   GET/PUT /v1/linkage/settings     which traits feed which comparisons, blocking, thresholds
//   POST    /v1/linkage/train        train the model over every profile, then re-score all
//   GET     /v1/linkage/status       state, model (when and why trained), automatic training,
//                                    backfill progress, withdrawn links, pending reviews
//   GET     /v1/linkage/model        the model: m, u and the weight of every level
//   GET     /v1/linkage/reviews      pending review items (?limit, ?cursor)
//   POST    /v1/linkage/reviews/{id} {"decision": "accept" | "reject"}
//   POST    /v1/linkage/unlink       {"profiles": ["user_id:a", "email:b@example.com"]}
// Commands are answered once the engine has made them durable.
#include <nlohmann/json.hpp>

#include "api/api.h"

namespace tessera::api {
namespace {

using nlohmann::json;
using server::Request;
using server::Respond;
using server::Response;

constexpr size_t kDefaultPageSize = 50;
constexpr size_t kMaxPageSize = 1000;

std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

void Reply(const Respond& respond, const Result<json>& r) {
  if (!r.ok()) return respond(server::StatusResponse(r.status()));
  respond(Response{.body = Dump(*r)});
}

linkage::Engine::Done Answer(Respond respond) {
  return [respond = std::move(respond)](Result<json> r) { Reply(respond, r); };
}

Result<json> JsonBody(const Request& req) {
  json body = json::parse(req.body, nullptr, false);
  if (!body.is_object()) return Status::InvalidArgument("body must be a JSON object");
  return body;
}

void GetSettings(const ApiContext& ctx, Request&&, Respond respond) {
  Reply(respond, ctx.linkage->GetSettings());
}

void PutSettings(const ApiContext& ctx, Request&& req, Respond respond) {
  ctx.linkage->PutSettings(std::move(req.body), Answer(std::move(respond)));
}

void Train(const ApiContext& ctx, Request&&, Respond respond) {
  ctx.linkage->Train(Answer(std::move(respond)));
}

void GetStatus(const ApiContext& ctx, Request&&, Respond respond) {
  Reply(respond, ctx.linkage->GetStatus());
}

void GetModel(const ApiContext& ctx, Request&&, Respond respond) {
  Reply(respond, ctx.linkage->GetModel());
}

void ListReviews(const ApiContext& ctx, Request&& req, Respond respond) {
  size_t limit = kDefaultPageSize;
  if (auto it = req.query.find("limit"); it != req.query.end()) {
    const std::string& v = it->second;
    if (v.empty() || v.size() > 6 || v.find_first_not_of("0123456789") != std::string::npos ||
        (limit = std::stoul(v)) == 0 || limit > kMaxPageSize) {
      return respond(server::StatusResponse(Status::InvalidArgument(
          "limit must be a number from 1 to " + std::to_string(kMaxPageSize))));
    }
  }
  auto cursor = req.query.find("cursor");
  Reply(respond, ctx.linkage->ListReviews(limit, cursor == req.query.end() ? "" : cursor->second));
}

void DecideReview(const ApiContext& ctx, Request&& req, Respond respond) {
  auto body = JsonBody(req);
  if (!body.ok()) return respond(server::StatusResponse(body.status()));
  auto decision = body->find("decision");
  if (decision == body->end() || !decision->is_string() ||
      (*decision != "accept" && *decision != "reject")) {
    return respond(server::StatusResponse(
        Status::InvalidArgument("\"decision\" must be \"accept\" or \"reject\"")));
  }
  ctx.linkage->Decide(req.path_params[0], *decision == "accept", Answer(std::move(respond)));
}

void Unlink(const ApiContext& ctx, Request&& req, Respond respond) {
  auto body = JsonBody(req);
  if (!body.ok()) return respond(server::StatusResponse(body.status()));
  auto profiles = body->find("profiles");
  if (profiles == body->end() || !profiles->is_array() || profiles->size() != 2 ||
      !(*profiles)[0].is_string() || !(*profiles)[1].is_string()) {
    return respond(server::StatusResponse(Status::InvalidArgument(
        "\"profiles\" must name two profiles, e.g. [\"user_id:42\", \"email:ada@example.com\"]")));
  }
  std::vector<std::string> ids;
  for (const json& ref : *profiles) {
    auto node = ResolveProfile(ctx, ref.get<std::string>());
    if (!node.ok()) return respond(server::StatusResponse(node.status()));
    ids.push_back(node->tessera_id);
  }
  ctx.linkage->Unlink(ids[0], ids[1], Answer(std::move(respond)));
}

}  // namespace

void AddLinkageRoutes(const ApiContext* ctx, server::Router* router) {
  router->Add("GET", "/v1/linkage/settings", AdminOnly(ctx, GetSettings));
  router->Add("PUT", "/v1/linkage/settings", AdminOnly(ctx, PutSettings));
  router->Add("POST", "/v1/linkage/train", AdminOnly(ctx, Train));
  router->Add("GET", "/v1/linkage/status", AdminOnly(ctx, GetStatus));
  router->Add("GET", "/v1/linkage/model", AdminOnly(ctx, GetModel));
  router->Add("GET", "/v1/linkage/reviews", AdminOnly(ctx, ListReviews));
  router->Add("POST", "/v1/linkage/reviews/{id}", AdminOnly(ctx, DecideReview));
  router->Add("POST", "/v1/linkage/unlink", AdminOnly(ctx, Unlink));
}

}  // namespace tessera::api
