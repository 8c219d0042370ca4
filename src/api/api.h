// The HTTP API: Segment-spec ingest, sources, profiles, health and metrics, wired onto the
// generic server in server/http_server.h. Handlers translate between HTTP+JSON and the
// components; only here do Status values become status codes (server::StatusResponse).
#pragma once

#include <string>

#include "core/time.h"
#include "eventlog/event_log.h"
#include "ingest/segment.h"
#include "pipeline/processor.h"
#include "server/http_server.h"
#include "server/metrics.h"
#include "api/background.h"
#include "audience/engine.h"
#include "linkage/engine.h"
#include "sources/source_registry.h"

namespace tessera::api {

// Everything the handlers use; owned by App, borrowed here. Constant after construction.
struct ApiContext {
  storage::Store* store = nullptr;
  eventlog::EventLog* log = nullptr;
  pipeline::Processor* processor = nullptr;
  sources::SourceRegistry* sources = nullptr;
  audience::Catalog* catalog = nullptr;
  audience::Engine* engine = nullptr;
  linkage::Engine* linkage = nullptr;
  Background* background = nullptr;  // slow read-only work (previews)
  const Clock* clock = &Clock::System();
  std::string admin_token;
  ingest::IngestLimits limits;
  ingest::IdentifierConfig identifiers;
};

// Adds every route. REQUIRES: ctx outlives the router.
void AddIngestRoutes(const ApiContext* ctx, server::Router* router);
void AddAdminRoutes(const ApiContext* ctx, server::Router* router);
void AddProfileRoutes(const ApiContext* ctx, server::Router* router);
void AddAudienceRoutes(const ApiContext* ctx, server::Router* router);
void AddLinkageRoutes(const ApiContext* ctx, server::Router* router);

// The live identity node of a profile reference "kind:value" (normalised as ingest does;
// tessera_id:... included). InvalidArgument for a malformed reference, NotFound naming it.
Result<identity::Node> ResolveProfile(const ApiContext& ctx, std::string_view ref);

// Admin auth: "Authorization: Bearer <admin token>". Unauthenticated when missing or wrong,
// PermissionDenied when the caller presented a write key (write keys can only write).
Status CheckAdmin(const ApiContext& ctx, const server::Request& req);
using ApiHandler = std::function<void(const ApiContext&, server::Request&&, server::Respond)>;
// Wraps a handler so that it runs only for the admin token (see CheckAdmin).
server::Handler AdminOnly(const ApiContext* ctx, ApiHandler handler);
// The write key from "Authorization: Basic base64(key:)"; empty if none.
std::string BasicAuthUser(const server::Request& req);

}  // namespace tessera::api
