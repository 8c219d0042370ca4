// HttpServer behaviour seen from a client: routing, parsing, async responses, keep-alive,
// error handling, metrics. Limits, timeouts and shutdown are in http_server_limits_test.cc.
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

void Echo(Request&& req, Respond respond) {
  nlohmann::json j;
  j["method"] = req.method;
  j["target"] = req.target;
  j["path"] = req.path;
  j["route"] = req.route;
  j["params"] = req.path_params;
  j["query"] = req.query;
  j["body"] = req.body;
  j["write_key"] = req.Header("x-write-key");
  j["remote"] = req.remote;
  respond(Response{.body = j.dump()});
}

class HttpServerTest : public testing::ServerTest {
 protected:
  void SetUp() override {
    Router router;
    router.Add("GET", "/v1/profiles/{id}/events", Echo);
    router.Add("GET", "/v1/profiles/search", Echo);
    router.Add("POST", "/v1/echo", Echo);
    router.Add("GET", "/", [](Request&&, Respond respond) { respond(Response{.body = "{\"root\":1}"}); });
    router.Add("GET", "/later", [this](Request&&, Respond respond) {
      workers_.Run([respond] {
        std::this_thread::sleep_for(200ms);
        respond(Response{.status = 202, .body = "{\"later\":true}"});
      });
    });
    router.Add("GET", "/work/{i}", [this](Request&& req, Respond respond) {
      handled_.fetch_add(1);
      int i = std::stoi(req.path_params[0]);
      std::string body = "{\"i\":" + req.path_params[0] + "}";
      if (i % 2 == 0) return respond(Response{.body = body});
      workers_.Run([respond, body] {
        std::this_thread::sleep_for(10ms);
        respond(Response{.body = body});
      });
    });
    router.Add("GET", "/throw", [](Request&&, Respond) -> void { throw std::runtime_error("boom"); });
    router.Add("GET", "/throw-int", [](Request&&, Respond) -> void { throw 42; });
    router.Add("GET", "/drop", [](Request&&, Respond) {});
    router.Add("GET", "/twice/{n}", [](Request&& req, Respond respond) {
      respond(Response{.body = "first-" + req.path_params[0]});
      respond(Response{.body = "second-" + req.path_params[0]});
    });
    router.Add("GET", "/bad-status", [](Request&&, Respond respond) { respond(Response{.status = 42}); });
    router.Add("GET", "/custom", [](Request&&, Respond respond) {
      respond(Response{.content_type = "text/plain",
                       .body = "hi",
                       .headers = {{"X-A", "1"},
                                   {"X-Evil", "a\r\nInjected: yes"},
                                   {"Bad Name", "x"},
                                   {"Content-Type", "text/csv"}}});
    });
    router.Add("DELETE", "/thing/{id}", [](Request&&, Respond respond) {
      respond(Response{.status = 204, .content_type = "", .body = "ignored"});
    });
    router.Add("GET", "/metrics", MetricsHandler(&registry_));
    StartServer(std::move(router));
  }

  std::atomic<int> handled_{0};
};

TEST_F(HttpServerTest, RoutesWithParamsQueryAndHeaders) {
  auto r = Curl({.url = U("/v1/profiles/a%20b%2Fc/events?limit=10&q=x+y&q=dup&flag"),
                 .headers = {"X-Write-Key: k1"}});
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.headers["content-type"], "application/json");
  auto j = nlohmann::json::parse(r.body);
  EXPECT_EQ(j["params"], nlohmann::json::array({"a b/c"}));
  EXPECT_EQ(j["route"], "/v1/profiles/{id}/events");
  EXPECT_EQ(j["path"], "/v1/profiles/a%20b%2Fc/events");
  EXPECT_EQ(j["target"], "/v1/profiles/a%20b%2Fc/events?limit=10&q=x+y&q=dup&flag");
  EXPECT_EQ(j["query"], nlohmann::json({{"limit", "10"}, {"q", "x y"}, {"flag", ""}}));
  EXPECT_EQ(j["write_key"], "k1");
  EXPECT_TRUE(j["remote"].get<std::string>().starts_with("127.0.0.1:"));

  r = Get(U("/v1/profiles/search"));  // literal beats {id}
  EXPECT_EQ(nlohmann::json::parse(r.body)["route"], "/v1/profiles/search");
  r = Get(U("/"));
  EXPECT_EQ(r.body, "{\"root\":1}");
}

TEST_F(HttpServerTest, PostBodyReachesHandler) {
  std::string body(5000, 'x');
  auto r = Curl({.method = "POST", .url = U("/v1/echo"), .body = body});
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(nlohmann::json::parse(r.body)["body"], body);
  // Expect: 100-continue is answered before the body is read.
  r = Curl({.method = "POST", .url = U("/v1/echo"), .body = body, .headers = {"Expect: 100-continue"}});
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(nlohmann::json::parse(r.body)["body"], body);
}

TEST_F(HttpServerTest, NotFoundAndMethodNotAllowedAreJson) {
  auto r = Get(U("/nope"));
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.headers["content-type"], "application/json");
  EXPECT_EQ(nlohmann::json::parse(r.body)["error"]["code"], "not_found");

  r = Curl({.method = "PUT", .url = U("/v1/profiles/x/events"), .body = "{}"});
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.headers["allow"], "GET, HEAD");
  EXPECT_EQ(nlohmann::json::parse(r.body)["error"]["code"], "method_not_allowed");
}

TEST_F(HttpServerTest, BadPercentEncodingIs400) {
  RawClient c;
  ASSERT_TRUE(c.Connect(port()));
  ASSERT_TRUE(c.Send("GET /v1/profiles/%zz/events HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto res = c.ReadResponse(5s);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  EXPECT_EQ(nlohmann::json::parse(res->body)["error"]["code"], "bad_request");
  // Still well-framed, so the connection stays usable.
  ASSERT_TRUE(c.Send("GET /v1/profiles/x/events?a=%G1 HTTP/1.1\r\nHost: x\r\n\r\n"));
  res = c.ReadResponse(5s);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
}

TEST_F(HttpServerTest, HeadUsesGetHandlerWithoutBody) {
  auto get = Get(U("/"));
  auto head = Curl({.method = "HEAD", .url = U("/"), .no_body = true});
  ASSERT_TRUE(head.ok) << head.error;
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.body, "");
  EXPECT_EQ(head.headers["content-length"], std::to_string(get.body.size()));
}

TEST_F(HttpServerTest, AsyncRespondFromAnotherThread) {
  auto start = std::chrono::steady_clock::now();
  auto r = Get(U("/later"));
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.status, 202);
  EXPECT_EQ(r.body, "{\"later\":true}");
  EXPECT_GE(std::chrono::steady_clock::now() - start, 190ms);
}

TEST_F(HttpServerTest, HundredConcurrentRequestsAllAnswered) {
  constexpr int kClients = 100;
  std::vector<testing::HttpResult> results(kClients);
  std::vector<std::thread> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back([&, i] { results[i] = Get(U("/work/" + std::to_string(i))); });
  }
  for (auto& t : clients) t.join();
  for (int i = 0; i < kClients; ++i) {
    ASSERT_TRUE(results[i].ok) << i << ": " << results[i].error;
    EXPECT_EQ(results[i].status, 200);
    EXPECT_EQ(results[i].body, "{\"i\":" + std::to_string(i) + "}");
  }
  EXPECT_EQ(handled_.load(), kClients);
}

TEST_F(HttpServerTest, KeepAliveAndPipelining) {
  RawClient c;
  ASSERT_TRUE(c.Connect(port()));
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(c.Send("GET /work/" + std::to_string(i) + " HTTP/1.1\r\nHost: x\r\n\r\n"));
    auto res = c.ReadResponse(5s);
    ASSERT_TRUE(res) << i;
    EXPECT_EQ(res->body, "{\"i\":" + std::to_string(i) + "}");
    EXPECT_EQ(res->headers.count("connection"), 0u);  // keep-alive is HTTP/1.1's default
  }
  // Three requests in one write: answered in order, one at a time.
  ASSERT_TRUE(c.Send("GET /work/7 HTTP/1.1\r\nHost: x\r\n\r\n"
                     "POST /v1/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
                     "GET /work/8 HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto a = c.ReadResponse(5s);
  auto b = c.ReadResponse(5s);
  auto d = c.ReadResponse(5s);
  ASSERT_TRUE(a && b && d);
  EXPECT_EQ(a->body, "{\"i\":7}");
  EXPECT_EQ(nlohmann::json::parse(b->body)["body"], "abc");
  EXPECT_EQ(d->body, "{\"i\":8}");
  EXPECT_FALSE(c.WaitClosed(200ms));
}

TEST_F(HttpServerTest, ConnectionCloseIsHonoured) {
  RawClient c;
  ASSERT_TRUE(c.Connect(port()));
  ASSERT_TRUE(c.Send("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  auto res = c.ReadResponse(5s);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->headers["connection"], "close");
  EXPECT_TRUE(c.WaitClosed(2s));

  RawClient old;  // HTTP/1.0 without keep-alive closes too
  ASSERT_TRUE(old.Connect(port()));
  ASSERT_TRUE(old.Send("GET / HTTP/1.0\r\n\r\n"));
  res = old.ReadResponse(5s);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->body, "{\"root\":1}");
  EXPECT_TRUE(old.WaitClosed(2s));
}

TEST_F(HttpServerTest, MalformedRequestIs400AndCloses) {
  for (std::string garbage : {"THIS IS NOT HTTP\r\n\r\n", "GET / HTTP/1.1\r\nBad Header\r\n\r\n",
                              "GET / HTTP/9.9\r\n\r\n",
                              "POST /v1/echo HTTP/1.1\r\nContent-Length: nope\r\n\r\n"}) {
    RawClient c;
    ASSERT_TRUE(c.Connect(port()));
    ASSERT_TRUE(c.Send(garbage));
    auto res = c.ReadResponse(5s);
    ASSERT_TRUE(res) << garbage;
    EXPECT_EQ(res->status, 400) << garbage;
    EXPECT_EQ(res->headers["connection"], "close");
    EXPECT_EQ(nlohmann::json::parse(res->body)["error"]["code"], "bad_request");
    EXPECT_TRUE(c.WaitClosed(3s)) << garbage;
  }
}

TEST_F(HttpServerTest, HandlerFailuresBecome500) {
  for (const char* path : {"/throw", "/throw-int", "/drop", "/bad-status"}) {
    auto r = Get(U(path));
    ASSERT_TRUE(r.ok) << path << ": " << r.error;
    EXPECT_EQ(r.status, 500) << path;
    EXPECT_EQ(nlohmann::json::parse(r.body)["error"]["code"], "internal") << path;
    EXPECT_EQ(r.body.find("boom"), std::string::npos);  // internals stay in the log
  }
  EXPECT_EQ(Get(U("/")).status, 200);  // and the server carries on
}

TEST_F(HttpServerTest, SecondRespondIsIgnored) {
  RawClient c;
  ASSERT_TRUE(c.Connect(port()));
  for (int n = 0; n < 3; ++n) {
    ASSERT_TRUE(c.Send("GET /twice/" + std::to_string(n) + " HTTP/1.1\r\nHost: x\r\n\r\n"));
    auto res = c.ReadResponse(5s);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->body, "first-" + std::to_string(n));
  }
  EXPECT_FALSE(c.ReadResponse(300ms));  // no stray second responses
}

TEST_F(HttpServerTest, ResponseFieldsAreApplied) {
  auto r = Get(U("/custom"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.headers["content-type"], "text/csv");  // headers override content_type
  EXPECT_EQ(r.headers.count("bad name"), 0u);
  EXPECT_EQ(r.headers["x-a"], "1");
  EXPECT_TRUE(r.headers["date"].ends_with(" GMT")) << r.headers["date"];
  EXPECT_EQ(r.headers["date"].size(), 29u);  // "Sun, 06 Nov 1994 08:49:37 GMT"
  EXPECT_EQ(r.headers.count("x-evil"), 0u);
  EXPECT_EQ(r.headers.count("injected"), 0u);
  EXPECT_EQ(r.body, "hi");

  RawClient c;
  ASSERT_TRUE(c.Connect(port()));
  ASSERT_TRUE(c.Send("DELETE /thing/1 HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto res = c.ReadResponse(5s);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 204);
  EXPECT_EQ(res->headers.count("content-length"), 0u);
  EXPECT_EQ(res->body, "");
  res = c.ReadResponse(5s);  // framing intact after a bodiless 204
  ASSERT_TRUE(res);
  EXPECT_EQ(res->body, "{\"root\":1}");
}

TEST_F(HttpServerTest, RequestMetricsAreRecorded) {
  Get(U("/v1/profiles/x/events"));
  Get(U("/v1/profiles/y/events"));
  Get(U("/nope"));
  Curl({.method = "BREW", .url = U("/nope")});
  std::string text = registry_.Render();
  for (const char* line : {
           "tessera_http_requests_total{method=\"GET\",route=\"/v1/profiles/{id}/events\","
           "status=\"200\"} 2\n",
           "tessera_http_requests_total{method=\"GET\",route=\"<unmatched>\",status=\"404\"} 1\n",
           "tessera_http_requests_total{method=\"OTHER\",route=\"<unmatched>\",status=\"404\"} 1\n",
           "tessera_http_request_duration_seconds_count{method=\"GET\","
           "route=\"/v1/profiles/{id}/events\"} 2\n",
           "tessera_http_request_duration_seconds_bucket{method=\"GET\","
           "route=\"/v1/profiles/{id}/events\",le=\"+Inf\"} 2\n",
           "# TYPE tessera_http_request_duration_seconds histogram\n",
           "# TYPE tessera_http_connections gauge\n",
       }) {
    EXPECT_NE(text.find(line), std::string::npos) << line << "\nin:\n" << text;
  }
  auto r = Get(U("/metrics"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.headers["content-type"], "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_NE(r.body.find("# TYPE tessera_http_requests_total counter\n"), std::string::npos);
}

TEST_F(HttpServerTest, StartFailsWhenPortTakenOrStartedTwice) {
  HttpServer other(ServerOptions{.port = port(), .metrics = &registry_}, Router());
  Status st = other.Start();
  EXPECT_EQ(st.code(), StatusCode::kIOError) << st.ToString();
  EXPECT_EQ(server_->Start().code(), StatusCode::kInvalidArgument);
  HttpServer bad(ServerOptions{.host = "not an address!", .port = 0, .metrics = &registry_}, Router());
  EXPECT_FALSE(bad.Start().ok());
}

}  // namespace
}  // namespace tessera::server
