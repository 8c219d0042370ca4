// Segment HTTP Tracking API: POST /v1/{identify,track,page,screen,group,alias,batch,b,import}.
// A 200 goes out only after the events are fsync'ed in the event log.
#include <memory>
#include <optional>

#include "api/api.h"
#include "ingest/gzip.h"

namespace tessera::api {
namespace {

using server::Request;
using server::Respond;
using server::Response;

struct IngestMetrics {
  server::Counter* events;
  server::Counter* duplicates;
  server::Family<server::Counter>* rejected;  // by reason (status code name)
  server::Histogram* batch_size;
};

IngestMetrics* Metrics() {
  server::Registry* r = &server::DefaultRegistry();
  static IngestMetrics m{
      r->AddCounter("tessera_ingest_events_total", "Events durably accepted."),
      r->AddCounter("tessera_ingest_duplicates_total", "Events dropped as messageId repeats."),
      r->AddCounterFamily("tessera_ingest_rejected_requests_total",
                          "Ingest requests refused, by reason.", {"reason"}),
      r->AddHistogram("tessera_ingest_batch_events", "Events per accepted ingest request.",
                      {1, 5, 10, 25, 50, 100, 250, 500, 1000}),
  };
  return &m;
}

Response Rejected(const ApiContext& ctx, const Status& s) {
  Metrics()->rejected->WithLabels({StatusCodeName(s.code())})->Inc();
  return server::StatusResponse(s);
}

// Decodes, parses, authenticates (unless `fixed_source` is given) and appends; responds when
// the append is durable.
void HandleIngest(const ApiContext& ctx, ingest::Endpoint endpoint, Request&& req,
                  Respond respond, const sources::Source* fixed_source) {
  TimeMs now = ctx.clock->NowMs();
  // Segment SDKs send the write key as the Basic-auth user: check it before spending anything
  // on the body. Some clients put it in the body instead, known only after parsing.
  std::optional<sources::Source> source;
  if (fixed_source != nullptr) source = *fixed_source;
  std::string header_key = fixed_source ? "" : BasicAuthUser(req);
  if (!header_key.empty()) {
    auto authed = ctx.sources->Authenticate(header_key);
    if (!authed.ok()) return respond(Rejected(ctx, authed.status()));
    source = std::move(authed).value();
  }
  auto body = ingest::DecodeBody(req.Header("Content-Encoding"), std::move(req.body),
                                 ctx.limits.max_batch_bytes);
  if (!body.ok() && !source) {
    return respond(Rejected(ctx, Status::Unauthenticated("missing write key")));
  }
  if (!body.ok()) return respond(Rejected(ctx, body.status()));
  ingest::IdentifierConfig import_config;
  if (fixed_source != nullptr) {
    // An admin import may load records known only by email, phone or a custom id.
    import_config = ctx.identifiers;
    import_config.require_user_or_anonymous_id = false;
  }
  auto parsed = ingest::ParseRequest(endpoint, *body, now, ctx.limits,
                                     fixed_source ? import_config : ctx.identifiers);
  if (!source) {
    auto authed = ctx.sources->Authenticate(parsed.ok() ? parsed->write_key : "");
    if (!authed.ok()) return respond(Rejected(ctx, authed.status()));
    source = std::move(authed).value();
  }
  if (!parsed.ok()) return respond(Rejected(ctx, parsed.status()));

  std::vector<Event> events = std::move(parsed->events);
  for (Event& e : events) e.source_id = source->id;
  size_t count = events.size();
  IngestMetrics* m = Metrics();
  Status queued = ctx.log->Append(
      std::move(events), [respond, m, count](Result<eventlog::AppendResult> r) {
        if (!r.ok()) {
          respond(server::StatusResponse(Status::Unavailable("event log write failed: " +
                                                             r.status().message())));
          return;
        }
        m->events->Inc(r->stored);
        m->duplicates->Inc(r->duplicates);
        m->batch_size->Observe(static_cast<double>(count));
        // Segment answers {"success": true}; the counts are extra, for importers.
        respond(Response{.body = R"({"success":true,"stored":)" + std::to_string(r->stored) +
                                 R"(,"duplicates":)" + std::to_string(r->duplicates) + "}"});
      });
  if (!queued.ok()) {
    Response busy = Rejected(ctx, queued);
    respond(std::move(busy));
  }
}

}  // namespace

void AddIngestRoutes(const ApiContext* ctx, server::Router* router) {
  Metrics();
  for (const char* path : {"/v1/identify", "/v1/track", "/v1/page", "/v1/screen", "/v1/group",
                           "/v1/alias", "/v1/batch", "/v1/b", "/v1/import"}) {
    auto endpoint = ingest::EndpointFromPath(path);
    TESSERA_CHECK(endpoint.has_value(), path);
    router->Add("POST", path, [ctx, e = *endpoint](Request&& req, Respond respond) {
      HandleIngest(*ctx, e, std::move(req), std::move(respond), nullptr);
    });
  }
  // Bulk import by an admin into a named source (used by `tessera import`); a batch body.
  router->Add("POST", "/v1/sources/{source}/batch", [ctx](Request&& req, Respond respond) {
    Status admin = CheckAdmin(*ctx, req);
    if (!admin.ok()) return respond(server::StatusResponse(admin));
    auto source = ctx->sources->Find(req.path_params[0]);
    if (!source.ok()) return respond(server::StatusResponse(source.status()));
    HandleIngest(*ctx, ingest::Endpoint::kBatch, std::move(req), std::move(respond), &*source);
  });
}

}  // namespace tessera::api
