// An asynchronous HTTP/1.1 server (Boost.Beast + Asio underneath, hidden from this header) with a
// small path router. API handlers build on this: they get a decoded Request and a Respond
// callback they may call later from any thread.
//
//   Router router;
//   router.Add("GET", "/v1/profiles/{id}", [](Request&& req, Respond respond) {
//     respond(Response{.body = LookUp(req.path_params[0])});
//   });
//   HttpServer server(ServerOptions{.port = 0}, std::move(router));
//   TESSERA_RETURN_IF_ERROR(server.Start());
//   ...
//   server.Stop();
//
// Every request is counted into the metrics Registry (ServerOptions::metrics, default
// DefaultRegistry()): tessera_http_requests_total{method,route,status} and
// tessera_http_request_duration_seconds{method,route}, where route is the matched pattern
// ("<unmatched>" for 404/405/400), so label cardinality stays bounded.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"

namespace tessera::server {

class Registry;

// Request, Response and ServerOptions give every member an initializer ({} included) so that
// designated initializers (Response{.body = ...}) stay clean under g++ -Wextra.
struct Request {
  std::string method{};  // as sent, e.g. "GET" (methods are case-sensitive)
  std::string target{};  // raw request target: "/v1/profiles/a%20b?limit=10"
  std::string path{};    // target without the query, still percent-encoded: "/v1/profiles/a%20b"
  std::map<std::string, std::string> query{};  // percent- and '+'-decoded; first occurrence wins
  std::vector<std::pair<std::string, std::string>> headers{};  // as received, in order
  std::string body{};
  std::string remote{};  // peer "ip:port"
  std::string route{};   // the matched pattern: "/v1/profiles/{id}"
  std::vector<std::string> path_params{};  // decoded values of the {x} segments, in pattern order

  // Case-insensitive lookup; "" when absent; a repeated field is joined with ", " (RFC 9110 5.3).
  std::string Header(std::string_view name) const;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";  // "" sends no Content-Type
  std::string body{};
  // Extra headers. The server sets Date, Content-Type (from content_type), Content-Length and
  // Connection itself: Content-Length/Transfer-Encoding here are ignored, Content-Type/Date
  // replace the server's, "Connection: close" closes the connection after this response.
  // Fields whose name is not a token or whose value holds CR/LF are dropped (injection).
  std::vector<std::pair<std::string, std::string>> headers{};
};

// Completes a request. Call it exactly once, from any thread, during or after the handler (e.g.
// once another thread made a write durable); the server writes the response on the
// connection's own strand. Copies share one request: later calls are ignored with a warning,
// and if every copy is destroyed without a call the client gets a 500. Safe to call after the
// server stopped (the response is then dropped).
using Respond = std::function<void(Response)>;

// Runs on an io thread: do no blocking work here (hand it to another thread and call respond
// from there). Exceptions thrown by a handler become a 500 response.
using Handler = std::function<void(Request&&, Respond)>;

// Maps (method, path) to a handler. Patterns are absolute paths whose segments are literals or
// "{name}" (matches one non-empty segment, percent-decoded into Request::path_params). When
// several patterns match, the one with a literal at the first differing segment wins
// ("/v1/profiles/search" beats "/v1/profiles/{id}"). A trailing slash is significant. HEAD falls
// back to the GET handler (body dropped on the wire).
// Thread-safety: build it fully before handing it to HttpServer; Find is const and then safe
// from any number of threads.
class Router {
 public:
  // REQUIRES: a well-formed pattern, and no other route with the same method and pattern shape
  // (both TESSERA_CHECKed: routes are wired at startup, a clash is a programmer error).
  void Add(std::string method, std::string pattern, Handler handler);

  struct Match {
    enum class Kind { kFound, kNotFound, kMethodNotAllowed, kBadPath };
    Kind kind = Kind::kNotFound;
    size_t route_index = 0;               // kFound: index into Add order
    const Handler* handler = nullptr;     // kFound
    std::vector<std::string> params{};    // kFound: decoded {x} segments
    std::string allow{};                  // kMethodNotAllowed: "GET, POST"
  };
  // path: the still-encoded path, starting with '/'. kBadPath on broken percent-encoding.
  Match Find(std::string_view method, std::string_view path) const;

  size_t size() const { return routes_.size(); }
  const std::string& method(size_t i) const { return routes_[i].method; }
  const std::string& pattern(size_t i) const { return routes_[i].pattern; }

 private:
  struct Segment {
    std::string literal;  // unused for a parameter
    bool is_param = false;
  };
  struct Route {
    std::string method;
    std::string pattern;
    std::vector<Segment> segments;
    Handler handler;
  };
  static bool MoreSpecific(const Route& a, const Route& b);

  std::vector<Route> routes_;
};

struct ServerOptions {
  std::string host = "127.0.0.1";  // an address literal or a resolvable name
  uint16_t port = 8080;            // 0 = pick an ephemeral port (see HttpServer::port())
  int threads = 2;                 // io threads
  size_t max_body_bytes = 1 << 20;     // larger -> 413 (from Content-Length, before reading it)
  size_t max_header_bytes = 16 << 10;  // larger -> 431
  // The whole request (headers and body) must arrive within this once its first byte has;
  // otherwise the connection is closed without a response (slow-loris defence).
  std::chrono::seconds read_timeout{30};
  std::chrono::seconds idle_timeout{60};   // keep-alive connection with no request starting
  std::chrono::seconds write_timeout{30};  // a client that does not read its response
  std::chrono::seconds stop_timeout{10};   // Stop(): grace period for in-flight requests
  size_t max_connections = 10000;          // beyond: 503 + close
  Registry* metrics = nullptr;  // nullptr = DefaultRegistry(); must outlive the server
};

namespace internal {
class ServerCore;
}

// Lifecycle: construct -> Start() -> Stop() (or destroy). Not restartable.
// Thread-safety: Start and Stop must not race each other, nor run on an io thread (i.e. inside
// a handler); port() is safe from any thread after Start returned.
class HttpServer {
 public:
  HttpServer(ServerOptions options, Router router);
  ~HttpServer();  // Stop()s
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds, listens and starts the io threads. IOError if the address is taken or unusable,
  // InvalidArgument for bad options or a second Start.
  [[nodiscard]] Status Start();

  // The bound port (useful with port 0); 0 before Start.
  uint16_t port() const;

  // Graceful: stops accepting, closes idle keep-alive connections, lets in-flight requests
  // finish and answers them with "Connection: close", waits up to stop_timeout, then closes
  // what is left and joins the io threads. Responses arriving later are dropped. Idempotent.
  void Stop();

 private:
  std::unique_ptr<internal::ServerCore> core_;
};

// {"error":{"code":"...","message":"..."}}; invalid UTF-8 is replaced, never thrown.
std::string ErrorBody(std::string_view code, std::string_view message);
Response ErrorResponse(int status, std::string_view code, std::string_view message);

// Maps a Status to HTTP: InvalidArgument 400, Unauthenticated 401, PermissionDenied 403,
// NotFound 404, Conflict/AlreadyExists 409, TooLarge 413, Unsupported 415, Unavailable 503 (with
// Retry-After: 1), anything else 500; the code is StatusCodeName. An ok Status gives 200 "{}".
Response StatusResponse(const Status& status);

// Serves registry->Render() (Prometheus text format): router.Add("GET", "/metrics", ...).
// REQUIRES: registry outlives the router.
Handler MetricsHandler(Registry* registry);

}  // namespace tessera::server
