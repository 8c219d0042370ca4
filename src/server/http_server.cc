// ServerCore: listening, the io threads, the connection registry and graceful shutdown; plus
// the HttpServer facade and the "http" logger.
#include <pthread.h>

#include <system_error>

#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "server/http_session.h"

namespace tessera::server {
namespace internal {
namespace {

constexpr std::chrono::milliseconds kAcceptBackoff{50};

Registry& MetricsOf(const ServerOptions& options) {
  return options.metrics != nullptr ? *options.metrics : DefaultRegistry();
}

// Sent, without reading the request, to a connection over max_connections.
const std::string& BusyResponse() {
  static const std::string kResponse = [] {
    std::string body = ErrorBody("unavailable", "too many connections");
    return "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
           "Retry-After: 1\r\nConnection: close\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\n\r\n" + body;
  }();
  return kResponse;
}

}  // namespace

spdlog::logger& HttpLog() {
  static const std::shared_ptr<spdlog::logger> logger = [] {
    if (auto existing = spdlog::get("http")) return existing;
    try {
      return spdlog::stderr_color_mt("http");
    } catch (const spdlog::spdlog_ex&) {
      return spdlog::get("http");  // registered by someone else meanwhile
    }
  }();
  return *logger;
}

ServerCore::ServerCore(ServerOptions options, Router router)
    : options_(std::move(options)),
      router_(std::move(router)),
      gate_(std::make_shared<ResponseGate>()),
      requests_total_(MetricsOf(options_).AddCounterFamily(
          "tessera_http_requests_total", "HTTP requests answered, by route pattern and status.",
          {"method", "route", "status"})),
      request_duration_(MetricsOf(options_).AddHistogramFamily(
          "tessera_http_request_duration_seconds",
          "Time from a request fully received to its response ready to write.",
          {"method", "route"})),
      connections_(MetricsOf(options_).AddGauge("tessera_http_connections",
                                                "Open HTTP connections.")),
      rejected_total_(MetricsOf(options_).AddCounter(
          "tessera_http_connections_rejected_total",
          "Connections refused with 503 because max_connections was reached.")),
      iocs_(MakeContexts(options_.threads)),
      acceptor_(asio::make_strand(*iocs_[0])),
      accept_backoff_(acceptor_.get_executor()) {}

ServerCore::~ServerCore() { Stop(); }

std::vector<std::unique_ptr<asio::io_context>> ServerCore::MakeContexts(int threads) {
  std::vector<std::unique_ptr<asio::io_context>> iocs;
  for (int i = 0; i < std::max(threads, 1); ++i) {
    iocs.push_back(std::make_unique<asio::io_context>(/*concurrency_hint=*/1));
  }
  return iocs;
}

Status ServerCore::Start() {
  {
    MutexLock lock(&mu_);
    if (state_ != State::kNew) return Status::InvalidArgument("HttpServer: Start called twice");
  }
  if (options_.threads < 1) return Status::InvalidArgument("HttpServer: threads must be >= 1");
  if (options_.max_connections < 1) {
    return Status::InvalidArgument("HttpServer: max_connections must be >= 1");
  }
  std::string where = options_.host + ":" + std::to_string(options_.port);
  beast::error_code ec;
  asio::ip::tcp::endpoint endpoint;
  auto address = asio::ip::make_address(options_.host, ec);
  if (!ec) {
    endpoint = {address, options_.port};
  } else {
    asio::ip::tcp::resolver resolver(*iocs_[0]);
    auto results = resolver.resolve(options_.host, std::to_string(options_.port), ec);
    if (ec || results.empty()) {
      return Status::InvalidArgument("HttpServer: cannot resolve " + where + ": " + ec.message());
    }
    endpoint = results.begin()->endpoint();
  }
  if (acceptor_.open(endpoint.protocol(), ec); ec) {
    return Status::IOError("HttpServer: open " + where + ": " + ec.message());
  }
  // Lets a restarted process bind while old connections sit in TIME_WAIT; a live listener on
  // the port still makes bind fail (Linux semantics).
  acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (acceptor_.bind(endpoint, ec); ec) {
    acceptor_.close(ec);
    return Status::IOError("HttpServer: bind " + where + ": " + ec.message());
  }
  if (acceptor_.listen(asio::socket_base::max_listen_connections, ec); ec) {
    acceptor_.close(ec);
    return Status::IOError("HttpServer: listen " + where + ": " + ec.message());
  }
  auto local = acceptor_.local_endpoint(ec);
  port_.store(ec ? 0 : local.port(), std::memory_order_release);
  {
    MutexLock lock(&mu_);
    state_ = State::kRunning;
  }
  for (auto& ioc : iocs_) work_.push_back(asio::make_work_guard(*ioc));
  DoAccept();  // no io thread runs yet, so this is as good as on the strand
  try {
    threads_.reserve(iocs_.size());
    for (auto& ioc : iocs_) {
      threads_.emplace_back([this, ioc = ioc.get()] { RunIoThread(ioc); });
    }
  } catch (const std::system_error& e) {  // out of threads: stop at the border (rule 5)
    Stop();
    return Status::IOError(std::string("HttpServer: cannot start io threads: ") + e.what());
  }
  HttpLog().info("listening on {}:{} with {} io threads", options_.host, port(), options_.threads);
  return Status::Ok();
}

void ServerCore::RunIoThread(asio::io_context* ioc) {
  pthread_setname_np(pthread_self(), "tsr-http-io");
  // Handlers catch their own exceptions; this is the last line for anything else (bad_alloc
  // inside Asio, a throwing logger sink): log and keep serving rather than terminate.
  while (true) {
    try {
      ioc->run();
      return;
    } catch (const std::exception& e) {
      HttpLog().error("io thread: uncaught exception: {}", e.what());
    } catch (...) {
      HttpLog().error("io thread: uncaught non-exception");
    }
  }
}

void ServerCore::DoAccept() {
  asio::io_context& ioc = *iocs_[next_ioc_++ % iocs_.size()];
  acceptor_.async_accept(asio::make_strand(ioc),
                         [this](beast::error_code ec, asio::ip::tcp::socket socket) {
                           OnAccept(ec, std::move(socket));
                         });
}

void ServerCore::OnAccept(beast::error_code ec, asio::ip::tcp::socket socket) {
  if (!acceptor_.is_open() || ec == asio::error::operation_aborted) return;  // Stop closed it
  if (ec) {
    // E.g. EMFILE: retrying at once would spin; back off briefly.
    HttpLog().warn("accept failed: {}; retrying", ec.message());
    accept_backoff_.expires_after(kAcceptBackoff);
    accept_backoff_.async_wait([this](beast::error_code wait_ec) {
      if (!wait_ec && acceptor_.is_open()) DoAccept();
    });
    return;
  }
  if (stopping()) return;  // socket closes as it goes out of scope
  size_t open;
  {
    MutexLock lock(&mu_);
    open = sessions_.size();
  }
  if (open >= options_.max_connections) {
    rejected_total_->Inc();
    HttpLog().warn("{} connections open: rejecting a new one", open);
    RejectBusy(std::move(socket));
    return DoAccept();
  }
  beast::error_code ignored;
  socket.set_option(asio::ip::tcp::no_delay(true), ignored);  // small responses, no Nagle delay
  auto session = std::make_shared<Session>(this, std::move(socket));
  {
    MutexLock lock(&mu_);
    sessions_.emplace(session.get(), session);
  }
  session->Start();
  DoAccept();
}

void ServerCore::RejectBusy(asio::ip::tcp::socket socket) {
  auto stream = std::make_shared<beast::tcp_stream>(std::move(socket));
  stream->expires_after(std::chrono::seconds(1));
  const std::string& response = BusyResponse();
  asio::async_write(*stream, asio::buffer(response.data(), response.size()),
                    [stream](beast::error_code, size_t) {
                      beast::error_code ignored;
                      stream->socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
                      stream->close();
                    });
}

void ServerCore::RemoveSession(Session* session) {
  std::shared_ptr<Session> doomed;  // released after unlocking
  MutexLock lock(&mu_);
  auto it = sessions_.find(session);
  if (it == sessions_.end()) return;
  doomed = std::move(it->second);
  sessions_.erase(it);
  if (sessions_.empty()) sessions_empty_.SignalAll();
}

void ServerCore::RecordRequest(std::string_view method, std::string_view route, int status,
                               double seconds) {
  std::string status_text = std::to_string(status);
  requests_total_->WithLabels({method, route, status_text})->Inc();
  request_duration_->WithLabels({method, route})->Observe(seconds);
}

void ServerCore::Stop() {
  {
    MutexLock lock(&mu_);
    if (state_ == State::kNew) state_ = State::kStopped;
    if (state_ != State::kRunning) return;
    state_ = State::kStopping;
  }
  auto started = std::chrono::steady_clock::now();
  stopping_.store(true, std::memory_order_release);
  asio::post(acceptor_.get_executor(), [this] {
    beast::error_code ignored;
    acceptor_.close(ignored);
    accept_backoff_.cancel();
  });

  // Idle connections close now; busy ones after their response (Send sees stopping()).
  std::vector<std::shared_ptr<Session>> open;
  {
    MutexLock lock(&mu_);
    for (const auto& entry : sessions_) open.push_back(entry.second);
  }
  for (const auto& session : open) session->OnServerStop();
  open.clear();

  size_t left;
  {
    MutexLock lock(&mu_);
    auto deadline = started + options_.stop_timeout;
    while (!sessions_.empty()) {
      auto now = std::chrono::steady_clock::now();
      if (now >= deadline) break;
      sessions_empty_.WaitFor(&mu_, deadline - now);
    }
    left = sessions_.size();
  }

  work_.clear();
  for (auto& ioc : iocs_) ioc->stop();
  for (auto& thread : threads_) thread.join();
  threads_.clear();
  // From here on a Respond must not post: the io_context may be destroyed next.
  gate_->Close();

  std::unordered_map<Session*, std::shared_ptr<Session>> remaining;
  {
    MutexLock lock(&mu_);
    remaining.swap(sessions_);
    state_ = State::kStopped;
  }
  for (auto& entry : remaining) entry.second->CloseNow();  // no io thread runs: safe
  remaining.clear();
  if (left > 0) {
    HttpLog().warn("stopped; {} connections still busy after {}s were closed", left,
                   options_.stop_timeout.count());
  } else {
    HttpLog().info("stopped");
  }
}

}  // namespace internal

HttpServer::HttpServer(ServerOptions options, Router router)
    : core_(std::make_unique<internal::ServerCore>(std::move(options), std::move(router))) {}

HttpServer::~HttpServer() = default;  // ServerCore's destructor stops

Status HttpServer::Start() { return core_->Start(); }

uint16_t HttpServer::port() const { return core_->port(); }

void HttpServer::Stop() { core_->Stop(); }

}  // namespace tessera::server
