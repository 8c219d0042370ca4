// Test helpers for server_test: a libcurl client for ordinary requests and a raw POSIX-socket
// client for what curl will not do (half requests, garbage, pipelining, watching for close).
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/mutex.h"
#include "server/http_server.h"
#include "server/metrics.h"

namespace tessera::server::testing {

struct HttpResult {
  bool ok = false;          // transport succeeded (curl's CURLE_OK)
  std::string error{};        // curl's message otherwise
  long status = 0;
  std::map<std::string, std::string> headers{};  // names lower-cased; last occurrence wins
  std::string body{};
  long connects = 0;        // new connections curl opened for this request
};

struct CurlCall {
  std::string method = "GET";
  std::string url{};
  std::string body{};
  std::vector<std::string> headers{};  // "Name: value"
  bool no_body = false;               // HEAD
  long timeout_ms = 10000;
};

HttpResult Curl(const CurlCall& call);
inline HttpResult Get(const std::string& url) { return Curl({.url = url}); }

std::string Url(uint16_t port, std::string_view path_and_query);

// A blocking client over one TCP connection, every wait bounded by a timeout.
class RawClient {
 public:
  RawClient() = default;
  ~RawClient();
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  bool Connect(uint16_t port);
  bool Send(std::string_view data);

  struct Response {
    int status = 0;
    std::map<std::string, std::string> headers{};  // lower-cased names
    std::string body{};
  };
  // Reads one Content-Length-framed response (no body when head is set).
  std::optional<Response> ReadResponse(std::chrono::milliseconds timeout, bool head = false);

  // True once the server closed the connection (EOF or reset) within timeout; bytes read
  // meanwhile are kept for ReadResponse.
  bool WaitClosed(std::chrono::milliseconds timeout);

 private:
  // Appends what arrives within timeout; false on timeout, EOF or error (sets closed_).
  bool ReadMore(std::chrono::milliseconds timeout);

  int fd_ = -1;
  bool closed_ = false;
  std::string buffer_;
};

// Threads that complete requests later, as a storage layer would. Joined on JoinAll/destruction.
class Workers {
 public:
  ~Workers() { JoinAll(); }
  void Run(std::function<void()> fn) TESSERA_EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    threads_.emplace_back(std::move(fn));
  }
  void JoinAll() TESSERA_EXCLUDES(mu_) {
    std::vector<std::thread> threads;
    {
      MutexLock lock(&mu_);
      threads.swap(threads_);
    }
    for (auto& t : threads) t.join();
  }

 private:
  Mutex mu_;
  std::vector<std::thread> threads_ TESSERA_GUARDED_BY(mu_);
};

// Starts an HttpServer on an ephemeral port with a private metrics Registry.
class ServerTest : public ::testing::Test {
 protected:
  void StartServer(Router router, ServerOptions options = {}) {
    options.port = 0;
    options.metrics = &registry_;
    server_ = std::make_unique<HttpServer>(std::move(options), std::move(router));
    Status st = server_->Start();
    ASSERT_TRUE(st.ok()) << st.ToString();
    ASSERT_NE(server_->port(), 0);
  }
  void TearDown() override {
    workers_.JoinAll();
    if (server_) server_->Stop();
  }
  std::string U(std::string_view path) const { return Url(server_->port(), path); }
  uint16_t port() const { return server_->port(); }

  // Declared first: outlives the server that records into it.
  Registry registry_;
  Workers workers_;
  std::unique_ptr<HttpServer> server_;
};

}  // namespace tessera::server::testing
