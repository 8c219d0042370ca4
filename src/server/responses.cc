// Building responses: JSON error bodies, Status -> HTTP mapping, the /metrics handler.
#include <nlohmann/json.hpp>

#include "server/http_server.h"
#include "server/metrics.h"

namespace tessera::server {

std::string ErrorBody(std::string_view code, std::string_view message) {
  nlohmann::json body = {{"error", {{"code", code}, {"message", message}}}};
  // replace: messages may quote client input, which need not be valid UTF-8; never throw.
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Response ErrorResponse(int status, std::string_view code, std::string_view message) {
  Response res;
  res.status = status;
  res.body = ErrorBody(code, message);
  return res;
}

Response StatusResponse(const Status& status) {
  if (status.ok()) return Response{.body = "{}"};
  int http = 500;
  switch (status.code()) {
    case StatusCode::kInvalidArgument: http = 400; break;
    case StatusCode::kUnauthenticated: http = 401; break;
    case StatusCode::kPermissionDenied: http = 403; break;
    case StatusCode::kNotFound: http = 404; break;
    case StatusCode::kConflict:
    case StatusCode::kAlreadyExists: http = 409; break;
    case StatusCode::kTooLarge: http = 413; break;
    case StatusCode::kUnsupported: http = 415; break;
    case StatusCode::kUnavailable: http = 503; break;
    default: http = 500; break;
  }
  Response res = ErrorResponse(http, StatusCodeName(status.code()), status.message());
  if (http == 503) res.headers.emplace_back("Retry-After", "1");
  return res;
}

Handler MetricsHandler(Registry* registry) {
  return [registry](Request&&, Respond respond) {
    respond(Response{.content_type = "text/plain; version=0.0.4; charset=utf-8",
                     .body = registry->Render()});
  };
}

}  // namespace tessera::server
