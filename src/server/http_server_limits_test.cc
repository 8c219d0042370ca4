// HttpServer under hostile or unlucky conditions: oversized requests, slow and idle clients,
// connection limits, and Stop() with requests in flight.
#include <nlohmann/json.hpp>

#include <atomic>
#include <thread>

#include "server/http_server.h"
#include "server/testutil.h"

namespace tessera::server {
namespace {

using namespace std::chrono_literals;
using testing::Curl;
using testing::Get;
using testing::RawClient;
using Clock = std::chrono::steady_clock;

void Ok(Request&& req, Respond respond) {
  respond(Response{.body = "{\"bytes\":" + std::to_string(req.body.size()) + "}"});
}

Router BasicRouter() {
  Router router;
  router.Add("GET", "/", Ok);
  router.Add("POST", "/ingest", Ok);
  return router;
}

class LimitsTest : public testing::ServerTest {};

TEST_F(LimitsTest, BodyOverMaxIs413) {
  StartServer(BasicRouter(), ServerOptions{.max_body_bytes = 1024});
  auto r = Curl({.method = "POST", .url = U("/ingest"), .body = std::string(1024, 'a')});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "{\"bytes\":1024}");

  r = Curl({.method = "POST", .url = U("/ingest"), .body = std::string(4096, 'a')});
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(r.headers["content-type"], "application/json");
  EXPECT_EQ(nlohmann::json::parse(r.body)["error"]["code"], "too_large");

  // Judged from Content-Length alone: the 413 comes without the client sending any body.
  RawClient c;
  ASSERT_TRUE(c.Connect(port()));
  ASSERT_TRUE(c.Send("POST /ingest HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\n"));
  auto res = c.ReadResponse(5s);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 413);
  EXPECT_EQ(res->headers["connection"], "close");
  EXPECT_TRUE(c.WaitClosed(5s));

  // Chunked bodies are cut off once they pass the limit.
  RawClient chunked;
  ASSERT_TRUE(chunked.Connect(port()));
  ASSERT_TRUE(chunked.Send("POST /ingest HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                           "800\r\n" + std::string(0x800, 'b') + "\r\n"));
  res = chunked.ReadResponse(5s);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 413);
}

TEST_F(LimitsTest, HeaderOverMaxIs431) {
  StartServer(BasicRouter(), ServerOptions{.max_header_bytes = 4096});
  auto r = Curl({.url = U("/"), .headers = {"X-Big: " + std::string(8000, 'h')}});
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.status, 431);
  EXPECT_EQ(Get(U("/")).status, 200);
}

TEST_F(LimitsTest, SlowClientIsDisconnectedAfterReadTimeout) {
  StartServer(BasicRouter(), ServerOptions{.read_timeout = 1s});
  RawClient half_header;
  ASSERT_TRUE(half_header.Connect(port()));
  RawClient half_body;
  ASSERT_TRUE(half_body.Connect(port()));
  auto start = Clock::now();
  ASSERT_TRUE(half_header.Send("GET / HTTP/1.1\r\nHo"));
  ASSERT_TRUE(half_body.Send("POST /ingest HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc"));
  EXPECT_TRUE(half_header.WaitClosed(5s));
  EXPECT_TRUE(half_body.WaitClosed(5s));
  EXPECT_GE(Clock::now() - start, 900ms);
  EXPECT_FALSE(half_header.ReadResponse(10ms));  // closed without an answer

  // Trickling a byte now and then does not extend the deadline.
  RawClient trickle;
  ASSERT_TRUE(trickle.Connect(port()));
  std::string request = "GET / HTTP/1.1\r\nHost: x\r\nX-Pad: " + std::string(100, 'p');
  start = Clock::now();
  bool closed = false;
  for (char ch : request) {
    if (!trickle.Send(std::string_view(&ch, 1)) || trickle.WaitClosed(150ms)) {
      closed = true;
      break;
    }
  }
  EXPECT_TRUE(closed);
  EXPECT_LT(Clock::now() - start, 3s);
}

TEST_F(LimitsTest, IdleKeepAliveConnectionIsClosed) {
  StartServer(BasicRouter(), ServerOptions{.read_timeout = 5s, .idle_timeout = 1s});
  RawClient c;
  ASSERT_TRUE(c.Connect(port()));
  ASSERT_TRUE(c.Send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(c.ReadResponse(5s));
  auto start = Clock::now();
  EXPECT_TRUE(c.WaitClosed(5s));
  EXPECT_GE(Clock::now() - start, 900ms);
}

TEST_F(LimitsTest, ConnectionsOverMaxGet503) {
  StartServer(BasicRouter(), ServerOptions{.max_connections = 2});
  RawClient a, b, c;
  for (RawClient* client : {&a, &b}) {  // a round trip each, so both are surely registered
    ASSERT_TRUE(client->Connect(port()));
    ASSERT_TRUE(client->Send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    ASSERT_TRUE(client->ReadResponse(5s));
  }
  ASSERT_TRUE(c.Connect(port()));
  auto res = c.ReadResponse(5s);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 503);
  EXPECT_EQ(res->headers["retry-after"], "1");
  EXPECT_EQ(nlohmann::json::parse(res->body)["error"]["code"], "unavailable");
  EXPECT_NE(registry_.Render().find("tessera_http_connections_rejected_total 1\n"),
            std::string::npos);
  EXPECT_NE(registry_.Render().find("tessera_http_connections 2\n"), std::string::npos);
}

TEST_F(LimitsTest, StopLetsInFlightRequestsFinish) {
  std::atomic<int> started{0};
  Router router;
  router.Add("GET", "/slow", [&](Request&&, Respond respond) {
    started.fetch_add(1);
    workers_.Run([respond] {
      std::this_thread::sleep_for(500ms);
      respond(Response{.body = "{\"done\":true}"});
    });
  });
  StartServer(std::move(router));
  RawClient idle;  // an idle keep-alive connection must not hold Stop up
  ASSERT_TRUE(idle.Connect(port()));

  constexpr int kClients = 5;
  std::vector<testing::HttpResult> results(kClients);
  std::vector<std::thread> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back([&, i] { results[i] = Get(U("/slow")); });
  }
  while (started.load() < kClients) std::this_thread::sleep_for(5ms);
  uint16_t old_port = port();
  auto start = Clock::now();
  server_->Stop();
  EXPECT_LT(Clock::now() - start, 5s);
  for (auto& t : clients) t.join();
  for (const auto& r : results) {
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "{\"done\":true}");
    EXPECT_EQ(r.headers.at("connection"), "close");
  }
  EXPECT_TRUE(idle.WaitClosed(1s));
  EXPECT_FALSE(Get(testing::Url(old_port, "/slow")).ok);  // no longer accepting
  server_->Stop();                                        // idempotent
}

TEST_F(LimitsTest, StopGivesUpOnHangingHandlersAfterTimeout) {
  Mutex mu;
  std::vector<Respond> parked;  // guarded by mu
  Router router;
  router.Add("GET", "/hang", [&](Request&&, Respond respond) {
    MutexLock lock(&mu);
    parked.push_back(std::move(respond));
  });
  StartServer(std::move(router), ServerOptions{.stop_timeout = 1s});
  std::vector<testing::HttpResult> results(2);
  std::vector<std::thread> clients;
  for (int i = 0; i < 2; ++i) clients.emplace_back([&, i] { results[i] = Get(U("/hang")); });
  while (true) {
    {
      MutexLock lock(&mu);
      if (parked.size() == 2) break;
    }
    std::this_thread::sleep_for(5ms);
  }
  auto start = Clock::now();
  server_->Stop();
  auto took = Clock::now() - start;
  EXPECT_GE(took, 900ms);
  EXPECT_LT(took, 5s);
  for (auto& t : clients) t.join();
  for (const auto& r : results) EXPECT_FALSE(r.ok);  // connection closed without a response

  // Late completions are dropped safely: one called after Stop, one only destroyed (its
  // "no response" 500) after the server itself is gone.
  MutexLock lock(&mu);
  parked[0](Response{});
  server_.reset();
  parked.clear();
}

TEST_F(LimitsTest, DestroyWithoutStartOrStopIsFine) {
  { HttpServer never_started(ServerOptions{.port = 0, .metrics = &registry_}, BasicRouter()); }
  StartServer(BasicRouter());
  EXPECT_EQ(Get(U("/")).status, 200);
  server_.reset();  // the destructor stops
}

}  // namespace
}  // namespace tessera::server
