#include <gtest/gtest.h>

#include "server/http_server.h"
#include "server/url.h"

namespace tessera::server {
namespace {

TEST(UrlTest, PercentDecode) {
  EXPECT_EQ(PercentDecode("a%20b%2Fc"), "a b/c");
  EXPECT_EQ(PercentDecode("%e2%82%AC"), "\xe2\x82\xac");
  EXPECT_EQ(PercentDecode("a+b"), "a+b");
  EXPECT_EQ(PercentDecode("a+b", /*plus_as_space=*/true), "a b");
  EXPECT_EQ(PercentDecode(""), "");
  EXPECT_EQ(PercentDecode("%00").value().size(), 1u);
  EXPECT_FALSE(PercentDecode("%"));
  EXPECT_FALSE(PercentDecode("%4"));
  EXPECT_FALSE(PercentDecode("ab%4"));
  EXPECT_FALSE(PercentDecode("%zz"));
}

TEST(UrlTest, ParseQuery) {
  auto q = ParseQuery("a=1&b=x%20y+z&flag&&a=2&empty=&k%3D=v%26");
  ASSERT_TRUE(q);
  std::map<std::string, std::string> want = {
      {"a", "1"}, {"b", "x y z"}, {"flag", ""}, {"empty", ""}, {"k=", "v&"}};
  EXPECT_EQ(*q, want);
  EXPECT_EQ(ParseQuery("")->size(), 0u);
  EXPECT_FALSE(ParseQuery("a=%G0"));
}

TEST(UrlTest, SplitRequestTarget) {
  auto t = SplitRequestTarget("/v1/x?y=1");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->path, "/v1/x");
  EXPECT_EQ(t->query, "y=1");
  t = SplitRequestTarget("/only");
  EXPECT_EQ(t->path, "/only");
  EXPECT_EQ(t->query, "");
  t = SplitRequestTarget("http://example.com:8080/p/q?z");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->path, "/p/q");
  EXPECT_EQ(t->query, "z");
  t = SplitRequestTarget("HTTP://example.com");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->path, "/");
  EXPECT_FALSE(SplitRequestTarget("*"));
  EXPECT_FALSE(SplitRequestTarget("relative"));
  EXPECT_FALSE(SplitRequestTarget(""));
}

TEST(UrlTest, SplitPathSegments) {
  using V = std::vector<std::string_view>;
  EXPECT_EQ(SplitPathSegments("/"), V({""}));
  EXPECT_EQ(SplitPathSegments("/a"), V({"a"}));
  EXPECT_EQ(SplitPathSegments("/a/b%2Fc/"), V({"a", "b%2Fc", ""}));
  EXPECT_EQ(SplitPathSegments("/a//b"), V({"a", "", "b"}));
}

Handler Tag(int* called, int tag) {
  return [called, tag](Request&&, Respond) { *called = tag; };
}

TEST(RouterTest, MatchesLiteralsAndParams) {
  Router router;
  int called = 0;
  router.Add("GET", "/v1/profiles/{id}/events", Tag(&called, 1));
  router.Add("GET", "/v1/profiles/{id}", Tag(&called, 2));
  router.Add("GET", "/v1/profiles/search", Tag(&called, 3));
  router.Add("DELETE", "/v1/profiles/{id}", Tag(&called, 4));
  router.Add("GET", "/", Tag(&called, 5));

  auto m = router.Find("GET", "/v1/profiles/a%20b%2Fc/events");
  ASSERT_EQ(m.kind, Router::Match::Kind::kFound);
  EXPECT_EQ(router.pattern(m.route_index), "/v1/profiles/{id}/events");
  EXPECT_EQ(m.params, std::vector<std::string>({"a b/c"}));

  // The literal beats the parameter, whatever the registration order.
  m = router.Find("GET", "/v1/profiles/search");
  ASSERT_EQ(m.kind, Router::Match::Kind::kFound);
  EXPECT_EQ(router.pattern(m.route_index), "/v1/profiles/search");
  EXPECT_TRUE(m.params.empty());

  m = router.Find("DELETE", "/v1/profiles/search");  // only the {id} route has DELETE
  ASSERT_EQ(m.kind, Router::Match::Kind::kFound);
  EXPECT_EQ(router.method(m.route_index), "DELETE");
  EXPECT_EQ(m.params, std::vector<std::string>({"search"}));

  m = router.Find("GET", "/");
  ASSERT_EQ(m.kind, Router::Match::Kind::kFound);
  (*m.handler)(Request{}, nullptr);
  EXPECT_EQ(called, 5);
}

TEST(RouterTest, NotFoundMethodNotAllowedBadPath) {
  Router router;
  int called = 0;
  router.Add("GET", "/v1/profiles/{id}", Tag(&called, 1));
  router.Add("DELETE", "/v1/profiles/{id}", Tag(&called, 2));
  router.Add("POST", "/v1/batch", Tag(&called, 3));

  EXPECT_EQ(router.Find("GET", "/v1/profiles").kind, Router::Match::Kind::kNotFound);
  EXPECT_EQ(router.Find("GET", "/v1/profiles/").kind, Router::Match::Kind::kNotFound);  // empty {id}
  EXPECT_EQ(router.Find("GET", "/v1/profiles/x/").kind, Router::Match::Kind::kNotFound);
  EXPECT_EQ(router.Find("GET", "/v1/batch/").kind, Router::Match::Kind::kNotFound);
  EXPECT_EQ(router.Find("GET", "/V1/batch").kind, Router::Match::Kind::kNotFound);

  auto m = router.Find("PUT", "/v1/profiles/x");
  EXPECT_EQ(m.kind, Router::Match::Kind::kMethodNotAllowed);
  EXPECT_EQ(m.allow, "DELETE, GET, HEAD");
  m = router.Find("get", "/v1/profiles/x");  // methods are case-sensitive
  EXPECT_EQ(m.kind, Router::Match::Kind::kMethodNotAllowed);
  m = router.Find("GET", "/v1/batch");
  EXPECT_EQ(m.kind, Router::Match::Kind::kMethodNotAllowed);
  EXPECT_EQ(m.allow, "POST");

  EXPECT_EQ(router.Find("GET", "/v1/profiles/%zz").kind, Router::Match::Kind::kBadPath);
  EXPECT_EQ(router.Find("GET", "/v1/%7").kind, Router::Match::Kind::kBadPath);
}

TEST(RouterTest, HeadFallsBackToGet) {
  Router router;
  int called = 0;
  router.Add("GET", "/a/{x}", Tag(&called, 1));
  router.Add("HEAD", "/b", Tag(&called, 2));
  router.Add("GET", "/b", Tag(&called, 3));
  auto m = router.Find("HEAD", "/a/1");
  ASSERT_EQ(m.kind, Router::Match::Kind::kFound);
  EXPECT_EQ(router.method(m.route_index), "GET");
  m = router.Find("HEAD", "/b");
  ASSERT_EQ(m.kind, Router::Match::Kind::kFound);
  EXPECT_EQ(router.method(m.route_index), "HEAD");  // an explicit HEAD route wins
}

TEST(RouterDeathTest, BadPatternsAreProgrammerErrors) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  auto noop = [](Request&&, Respond) {};
  Router router;
  router.Add("GET", "/a/{id}", noop);
  EXPECT_DEATH(router.Add("GET", "/a/{other}", noop), "clashes");
  EXPECT_DEATH(router.Add("GET", "a", noop), "must start with /");
  EXPECT_DEATH(router.Add("GET", "/a/x{id}", noop), "literal");
  EXPECT_DEATH(router.Add("GET", "/a/{}", noop), "bad parameter");
  EXPECT_DEATH(router.Add("GET", "/q?x", noop), "plain decoded path");
  router.Add("POST", "/a/{id}", noop);  // another method is fine
}

TEST(RequestTest, HeaderIsCaseInsensitiveAndJoinsRepeats) {
  Request req;
  req.headers = {{"Content-Type", "application/json"}, {"X-Tag", "a"}, {"x-tag", "b"}};
  EXPECT_EQ(req.Header("content-type"), "application/json");
  EXPECT_EQ(req.Header("CONTENT-TYPE"), "application/json");
  EXPECT_EQ(req.Header("X-TAG"), "a, b");
  EXPECT_EQ(req.Header("missing"), "");
}

TEST(ResponsesTest, ErrorBodyAndStatusMapping) {
  EXPECT_EQ(ErrorBody("not_found", "no \"x\""),
            R"({"error":{"code":"not_found","message":"no \"x\""}})");
  EXPECT_NE(ErrorBody("bad", "\xff\xfe").find("\"code\":\"bad\""), std::string::npos);  // no throw

  struct Case {
    Status status;
    int http;
    std::string code;
  };
  std::vector<Case> cases = {
      {Status::InvalidArgument("m"), 400, "invalid_argument"},
      {Status::Unauthenticated("m"), 401, "unauthenticated"},
      {Status::PermissionDenied("m"), 403, "permission_denied"},
      {Status::NotFound("m"), 404, "not_found"},
      {Status::Conflict("m"), 409, "conflict"},
      {Status::AlreadyExists("m"), 409, "already_exists"},
      {Status::TooLarge("m"), 413, "too_large"},
      {Status::Unsupported("m"), 415, "unsupported"},
      {Status::Unavailable("m"), 503, "unavailable"},
      {Status::Corruption("m"), 500, "corruption"},
      {Status::IOError("m"), 500, "io_error"},
      {Status::Internal("m"), 500, "internal"},
  };
  for (const auto& c : cases) {
    Response res = StatusResponse(c.status);
    EXPECT_EQ(res.status, c.http) << c.status.ToString();
    EXPECT_EQ(res.content_type, "application/json");
    EXPECT_EQ(res.body, ErrorBody(c.code, "m"));
    bool retry_after = !res.headers.empty() && res.headers[0].first == "Retry-After";
    EXPECT_EQ(retry_after, c.http == 503) << c.status.ToString();
  }
  Response ok = StatusResponse(Status::Ok());
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.body, "{}");
}

}  // namespace
}  // namespace tessera::server
