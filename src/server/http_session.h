// Internal to tessera_http: the server core (listener, connection registry, shutdown) and one
// connection's state machine. Not for use outside src/server; include http_server.h instead.
//
// Lifetimes, the part that is easy to get wrong:
//  - ServerCore owns the io_context and, in sessions_, a strong reference to every open Session.
//    A Session removes itself (Finish) when its connection closes. Stop() joins the io threads
//    and then drops whatever is left, while the io_context still exists (sockets must die
//    before their io_context).
//  - A Respond callback may outlive the connection and even the server. It therefore holds only
//    a weak_ptr<Session> and a shared_ptr<ResponseGate>; the gate is closed in Stop() after the
//    io threads are joined and before the io_context goes away, and posting happens under the
//    gate's lock, so a late Respond never touches a destroyed io_context.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <spdlog/logger.h>

#include "core/mutex.h"
#include "core/status.h"
#include "server/http_server.h"
#include "server/metrics.h"

namespace tessera::server::internal {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;

// The named "http" spdlog logger (created on first use unless the application registered one).
spdlog::logger& HttpLog();

// Lets Respond callbacks post into the io_context only while it is guaranteed to exist.
class ResponseGate {
 public:
  // Runs fn() under the lock if the gate is still open; returns whether it ran.
  template <typename F>
  bool IfOpen(F&& fn) TESSERA_EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    if (!open_) return false;
    fn();
    return true;
  }
  void Close() TESSERA_EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    open_ = false;
  }

 private:
  Mutex mu_;
  bool open_ TESSERA_GUARDED_BY(mu_) = true;
};

class Session;

// What HttpServer delegates to. Thread-safety: Start/Stop from the owning thread; the rest is
// called by sessions on io threads.
class ServerCore {
 public:
  ServerCore(ServerOptions options, Router router);
  ~ServerCore();
  ServerCore(const ServerCore&) = delete;
  ServerCore& operator=(const ServerCore&) = delete;

  Status Start() TESSERA_EXCLUDES(mu_);
  void Stop() TESSERA_EXCLUDES(mu_);
  uint16_t port() const { return port_.load(std::memory_order_acquire); }

  // For sessions.
  const ServerOptions& options() const { return options_; }
  const Router& router() const { return router_; }
  const std::shared_ptr<ResponseGate>& gate() const { return gate_; }
  Gauge* connections_gauge() const { return connections_; }
  bool stopping() const { return stopping_.load(std::memory_order_acquire); }
  void RecordRequest(std::string_view method, std::string_view route, int status, double seconds);
  // The session's connection is closed; drop the registry's reference.
  // REQUIRES: the caller holds its own reference to session (it may be the last one otherwise).
  void RemoveSession(Session* session) TESSERA_EXCLUDES(mu_);

 private:
  enum class State { kNew, kRunning, kStopping, kStopped };

  void RunIoThread(asio::io_context* ioc);
  static std::vector<std::unique_ptr<asio::io_context>> MakeContexts(int threads);
  void DoAccept();  // REQUIRES: on the acceptor's strand (or before the io threads start)
  void OnAccept(beast::error_code ec, asio::ip::tcp::socket socket);
  void RejectBusy(asio::ip::tcp::socket socket);

  // Constant after construction.
  const ServerOptions options_;
  const Router router_;
  const std::shared_ptr<ResponseGate> gate_;
  Family<Counter>* const requests_total_;
  Family<Histogram>* const request_duration_;
  Gauge* const connections_;
  Counter* const rejected_total_;

  // One io_context per io thread, each run by its thread alone: a connection's reads, handler
  // and writes stay on one thread, with no hand-off between threads (a shared io_context wakes
  // another thread for each ready socket: a third of the io threads' time went to those
  // wake-ups). Declared before everything bound to them, so that they are destroyed last.
  std::vector<std::unique_ptr<asio::io_context>> iocs_;
  size_t next_ioc_ = 0;  // round robin for accepted connections; on the acceptor's strand
  // Only touched on the acceptor's strand once the io threads run.
  asio::ip::tcp::acceptor acceptor_;
  asio::steady_timer accept_backoff_;

  // Owned by the thread calling Start/Stop.
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> work_;
  std::vector<std::thread> threads_;

  mutable Mutex mu_;
  CondVar sessions_empty_;  // with mu_
  State state_ TESSERA_GUARDED_BY(mu_) = State::kNew;
  std::unordered_map<Session*, std::shared_ptr<Session>> sessions_ TESSERA_GUARDED_BY(mu_);

  std::atomic<uint16_t> port_{0};        // release on Start, acquire in port()
  std::atomic<bool> stopping_{false};  // release in Stop, acquire by sessions
};

// One connection. Reads one request at a time (pipelined bytes wait in buffer_), dispatches it,
// writes the response, repeats. Everything below the public methods runs on the connection's
// strand only, so the members need no lock; the public methods post onto the strand.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(ServerCore* core, asio::ip::tcp::socket socket);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Any thread.
  void Start();
  void OnServerStop();  // closes the connection if idle; busy ones close after their response
  const asio::any_io_executor& executor() const { return executor_; }

  // REQUIRES: on the strand. Ignores a response for anything but the current request.
  void DeliverResponse(uint64_t request_seq, Response response);

  // REQUIRES: the io threads are joined (no strand is running). Used by Stop after its grace.
  void CloseNow();

 private:
  enum class State { kIdle, kReading, kHandling, kWriting, kClosed };

  // Facts about the request in progress, for the response, logs and metrics.
  struct Current {
    std::string method = "-";
    std::string target = "-";
    std::string route = "<unmatched>";
    unsigned version = 11;
    bool keep_alive = false;
    bool head = false;
    std::chrono::steady_clock::time_point received;
  };

  void WaitForRequest();
  void OnFirstBytes(beast::error_code ec, size_t n);
  void ReadHeader();
  void OnHeader(beast::error_code ec);
  void ReadBody();
  void OnBody(beast::error_code ec);
  void OnReadError(beast::error_code ec);
  void NoteHeader();
  void Dispatch();    // http_dispatch.cc
  void Send(Response response, bool close, bool linger);
  void OnWrite(beast::error_code ec, bool close, bool linger);
  void Linger();
  void Finish();

  // Constant after construction.
  ServerCore* const core_;
  const asio::any_io_executor executor_;  // the strand; copied so other threads can post
  const std::string remote_;

  // Strand-only.
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::optional<http::response<http::string_body>> response_;
  State state_ = State::kIdle;
  uint64_t seq_ = 0;  // number of the current request on this connection
  Current current_;
  std::array<char, 512> discard_{};  // Linger's sink
};

}  // namespace tessera::server::internal
