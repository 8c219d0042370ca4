// Session, request side: turning a parsed message into a Request, routing it, running the
// handler, and turning its Response into a Beast message. ResponseSlot implements the Respond
// contract (exactly once, any thread, possibly after the server stopped).
#include <cctype>
#include <cstdio>
#include <ctime>

#include <boost/asio/post.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/write.hpp>

#include "server/http_session.h"
#include "server/url.h"

namespace tessera::server::internal {
namespace {

// Method label for metrics: clients can send any token as a method, so anything unusual is
// folded into "OTHER" to keep label cardinality bounded.
std::string_view MethodLabel(std::string_view method) {
  for (std::string_view known : {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"}) {
    if (method == known) return known;
  }
  return "OTHER";
}

bool HasCrLf(std::string_view s) { return s.find_first_of("\r\n") != std::string_view::npos; }

// A header name must be an RFC 9110 token; anything else would corrupt the response framing.
bool IsToken(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    bool ok = std::isalnum(static_cast<unsigned char>(c)) ||
              std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

// IMF-fixdate for the Date header (RFC 9110 6.6.1), formatted once per second per thread and
// without the C locale (strftime's %a/%b would follow setlocale).
const std::string& HttpDate() {
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  thread_local std::time_t cached_second = -1;
  thread_local std::string cached;
  std::time_t now = std::time(nullptr);
  if (now != cached_second) {
    std::tm tm{};
    gmtime_r(&now, &tm);
    char buf[40];
    std::snprintf(buf, sizeof(buf), "%s, %02d %s %04d %02d:%02d:%02d GMT", kDays[tm.tm_wday],
                  tm.tm_mday, kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                  tm.tm_sec);
    cached = buf;
    cached_second = now;
  }
  return cached;
}

// Shared by every copy of one request's Respond. The first Deliver wins; if all copies die
// without one, the destructor answers 500 so that the client is never left hanging.
class ResponseSlot {
 public:
  ResponseSlot(std::shared_ptr<ResponseGate> gate, std::weak_ptr<Session> session, uint64_t seq,
               std::string what)
      : gate_(std::move(gate)), session_(std::move(session)), seq_(seq), what_(std::move(what)) {}
  ResponseSlot(const ResponseSlot&) = delete;
  ResponseSlot& operator=(const ResponseSlot&) = delete;

  ~ResponseSlot() {
    if (done_.exchange(true, std::memory_order_acq_rel)) return;
    HttpLog().warn("{}: handler dropped Respond without calling it; answering 500", what_);
    Post(ErrorResponse(500, "internal", "the handler produced no response"));
  }

  void Deliver(Response response) {
    if (!DeliverIfPending(std::move(response))) {
      HttpLog().warn("{}: Respond called more than once; later call ignored", what_);
    }
  }

  bool DeliverIfPending(Response response) {
    if (done_.exchange(true, std::memory_order_acq_rel)) return false;
    Post(std::move(response));
    return true;
  }

 private:
  void Post(Response response) {
    bool open = gate_->IfOpen([&] {
      std::shared_ptr<Session> session = session_.lock();
      if (session == nullptr) return;  // connection already gone
      asio::post(session->executor(),
                 [session, seq = seq_, response = std::move(response)]() mutable {
                   session->DeliverResponse(seq, std::move(response));
                 });
    });
    if (!open) HttpLog().debug("{}: response after server stop dropped", what_);
  }

  const std::shared_ptr<ResponseGate> gate_;
  const std::weak_ptr<Session> session_;
  const uint64_t seq_;
  const std::string what_;        // "GET /path" for logs
  std::atomic<bool> done_{false};  // acq_rel: exactly one thread wins the exchange
};

}  // namespace

void Session::Dispatch() {
  state_ = State::kHandling;
  stream_.expires_never();  // a slow handler is not the client's fault
  ++seq_;
  current_.received = std::chrono::steady_clock::now();
  http::request<http::string_body> msg = parser_->release();
  parser_.reset();

  auto split = SplitRequestTarget(current_.target);
  if (!split) {
    return Send(ErrorResponse(400, "bad_request", "unsupported request target"), false, false);
  }
  auto query = ParseQuery(split->query);
  if (!query) {
    return Send(ErrorResponse(400, "bad_request", "bad percent-encoding in query"), false, false);
  }
  Router::Match match = core_->router().Find(current_.method, split->path);
  switch (match.kind) {
    case Router::Match::Kind::kFound:
      break;
    case Router::Match::Kind::kBadPath:
      return Send(ErrorResponse(400, "bad_request", "bad percent-encoding in path"), false, false);
    case Router::Match::Kind::kNotFound:
      return Send(ErrorResponse(404, "not_found", "no route for " + std::string(split->path)),
                  false, false);
    case Router::Match::Kind::kMethodNotAllowed: {
      Response res = ErrorResponse(405, "method_not_allowed",
                                   current_.method + " not allowed; allowed: " + match.allow);
      res.headers.emplace_back("Allow", match.allow);
      return Send(std::move(res), false, false);
    }
  }
  current_.route = core_->router().pattern(match.route_index);

  Request req;
  req.method = current_.method;
  req.target = current_.target;
  req.path = std::string(split->path);
  req.query = std::move(*query);
  for (const auto& field : msg) {
    req.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
  req.body = std::move(msg.body());
  req.remote = remote_;
  req.route = current_.route;
  req.path_params = std::move(match.params);

  auto slot = std::make_shared<ResponseSlot>(core_->gate(), weak_from_this(), seq_,
                                             current_.method + " " + current_.target);
  Respond respond = [slot](Response response) { slot->Deliver(std::move(response)); };
  // Exceptions stop here (STYLE.md rule 5): the client gets a 500, the server keeps running.
  try {
    (*match.handler)(std::move(req), std::move(respond));
  } catch (const std::exception& e) {
    HttpLog().warn("{} {}: handler threw: {}", current_.method, current_.target, e.what());
    slot->DeliverIfPending(ErrorResponse(500, "internal", "internal error"));
  } catch (...) {
    HttpLog().warn("{} {}: handler threw a non-exception", current_.method, current_.target);
    slot->DeliverIfPending(ErrorResponse(500, "internal", "internal error"));
  }
}

void Session::DeliverResponse(uint64_t request_seq, Response response) {
  if (state_ != State::kHandling || request_seq != seq_) {
    HttpLog().debug("{}: late response for a closed connection dropped", remote_);
    return;
  }
  Send(std::move(response), false, false);
}

void Session::Send(Response res, bool close, bool linger) {
  state_ = State::kWriting;
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - current_.received).count();
  if (res.status < 200 || res.status > 599) {
    HttpLog().warn("{} {}: handler returned invalid status {}", current_.method, current_.target,
                   res.status);
    res = ErrorResponse(500, "internal", "internal error");
  }
  close = close || !current_.keep_alive || core_->stopping();

  http::response<http::string_body> msg;
  msg.version(current_.version);
  msg.result(static_cast<unsigned>(res.status));
  msg.set(http::field::date, HttpDate());
  if (!res.content_type.empty()) msg.set(http::field::content_type, res.content_type);
  for (const auto& [name, value] : res.headers) {
    if (!IsToken(name) || HasCrLf(value)) {
      HttpLog().warn("{} {}: dropped malformed response header", current_.method, current_.target);
      continue;
    }
    if (beast::iequals(name, "Connection")) {
      std::string lower = value;
      for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      close = close || lower.find("close") != std::string::npos;
      continue;  // set below from close
    }
    if (beast::iequals(name, "Content-Length") || beast::iequals(name, "Transfer-Encoding")) {
      continue;  // framing is ours
    }
    if (beast::iequals(name, "Content-Type") || beast::iequals(name, "Date")) {
      msg.set(name, value);  // replaces ours rather than sending two
      continue;
    }
    msg.insert(name, value);
  }
  // 204 and 304 carry no body and no Content-Length (RFC 9110 8.6).
  bool bodiless = res.status == 204 || res.status == 304;
  size_t body_bytes = bodiless ? 0 : res.body.size();
  if (!bodiless) {
    msg.body() = std::move(res.body);
    msg.prepare_payload();
  }
  if (current_.head) {
    msg.body().clear();  // Content-Length still announces what GET would send
    if (!bodiless) msg.content_length(body_bytes);
  }
  msg.keep_alive(!close);

  core_->RecordRequest(MethodLabel(current_.method), current_.route, res.status, seconds);
  if (res.status >= 500) {
    HttpLog().warn("{} {} {} -> {} ({:.3f} ms)", remote_, current_.method, current_.target,
                   res.status, seconds * 1e3);
  } else {
    HttpLog().debug("{} {} {} -> {} {}B {:.3f}ms route={}", remote_, current_.method,
                    current_.target, res.status, body_bytes, seconds * 1e3, current_.route);
  }

  response_.emplace(std::move(msg));
  stream_.expires_after(core_->options().write_timeout);
  http::async_write(stream_, *response_,
                    [self = shared_from_this(), close, linger](beast::error_code ec, size_t) {
                      self->OnWrite(ec, close, linger);
                    });
}

}  // namespace tessera::server::internal
