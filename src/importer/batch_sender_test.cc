// BatchSender against a scripted server: retries, per-message rejections, splitting, fatal codes.
#include "importer/batch_sender.h"

#include <gtest/gtest.h>

#include <deque>
#include <nlohmann/json.hpp>

#include "ingest/gzip.h"

namespace tessera::importer {
namespace {

using nlohmann::json;

// Answers from a script; when the script is empty, stores everything.
class FakeServer : public Transport {
 public:
  std::deque<Result<HttpResponse>> script;
  std::vector<json> bodies;  // every decoded request body
  std::vector<std::string> last_headers;

  Result<HttpResponse> Post(const std::string& url, const std::vector<std::string>& headers,
                            const std::string& body) override {
    last_url = url;
    last_headers = headers;
    bool gzip =
        std::find(headers.begin(), headers.end(), "Content-Encoding: gzip") != headers.end();
    bodies.push_back(json::parse(gzip ? *ingest::Gunzip(body, 1 << 20) : body));
    if (script.empty()) {
      size_t n = bodies.back()["batch"].size();
      return HttpResponse{
          .status = 200,
          .body = R"({"success":true,"stored":)" + std::to_string(n) + R"(,"duplicates":0})"};
    }
    Result<HttpResponse> r = std::move(script.front());
    script.pop_front();
    return r;
  }
  Result<HttpResponse> Get(const std::string& url,
                           const std::vector<std::string>& headers) override {
    last_url = url;
    last_headers = headers;
    ++gets;
    if (script.empty()) return HttpResponse{.status = 200, .body = R"({"id":"src_1","name":"x"})"};
    Result<HttpResponse> r = std::move(script.front());
    script.pop_front();
    return r;
  }

  std::string last_url;
  int gets = 0;
};

HttpResponse Error(long status, const std::string& message, std::optional<long> retry = {}) {
  json j = {{"error", {{"code", "x"}, {"message", message}}}};
  return HttpResponse{.status = status, .body = j.dump(), .retry_after_seconds = retry};
}

std::vector<BatchMessage> Messages(size_t n, uint64_t first_line = 2) {
  std::vector<BatchMessage> out;
  for (size_t i = 0; i < n; ++i) {
    out.push_back(
        {first_line + i, R"({"type":"identify","userId":"u)" + std::to_string(i) + "\"}"});
  }
  return out;
}

struct Fixture {
  FakeServer server;
  std::vector<std::chrono::milliseconds> sleeps;
  BatchSender sender{&server, SenderOptions{.url = "http://h:1/",
                                            .admin_token = "tok",
                                            .source = "my crm",
                                            .max_attempts = 4,
                                            .initial_backoff = std::chrono::milliseconds(100),
                                            .sleep = [this](auto d) { sleeps.push_back(d); }}};
};

TEST(BatchSenderTest, SendsOneBatch) {
  Fixture f;
  Result<BatchResult> r = f.sender.Send(Messages(3));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->stored, 3u);
  EXPECT_EQ(f.server.last_url, "http://h:1/v1/sources/my%20crm/batch");
  EXPECT_EQ(f.server.last_headers[0], "Authorization: Bearer tok");
  ASSERT_EQ(f.server.bodies.size(), 1u);
  EXPECT_EQ(f.server.bodies[0]["batch"][2]["userId"], "u2");
}

TEST(BatchSenderTest, LargeBodiesAreGzipped) {
  Fixture f;
  ASSERT_TRUE(f.sender.Send(Messages(100)).ok());
  EXPECT_NE(std::find(f.server.last_headers.begin(), f.server.last_headers.end(),
                      "Content-Encoding: gzip"),
            f.server.last_headers.end());
}

TEST(BatchSenderTest, CountsDuplicates) {
  Fixture f;
  f.server.script.push_back(HttpResponse{.status = 200, .body = R"({"stored":1,"duplicates":2})"});
  Result<BatchResult> r = f.sender.Send(Messages(3));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->stored, 1u);
  EXPECT_EQ(r->duplicates, 2u);
}

TEST(BatchSenderTest, RejectedMessageIsDroppedAndTheRestResent) {
  Fixture f;
  f.server.script.push_back(Error(400, "batch[1]: track message without \"event\""));
  f.server.script.push_back(Error(400, "batch[2]: message without userId or anonymousId"));
  Result<BatchResult> r = f.sender.Send(Messages(5, 10));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->stored, 3u);
  ASSERT_EQ(r->rejections.size(), 2u);
  EXPECT_EQ(r->rejections[0], (Rejection{11, "track message without \"event\""}));
  // After dropping index 1, index 2 of the re-sent batch is the original line 13.
  EXPECT_EQ(r->rejections[1], (Rejection{13, "message without userId or anonymousId"}));
  ASSERT_EQ(f.server.bodies.size(), 3u);
  EXPECT_EQ(f.server.bodies[2]["batch"].size(), 3u);
}

TEST(BatchSenderTest, RetriesUnavailableWithBackoffAndRetryAfter) {
  Fixture f;
  f.server.script.push_back(Status::Unavailable("connection refused"));
  f.server.script.push_back(Error(503, "overloaded", 2));
  f.server.script.push_back(Error(500, "oops"));
  Result<BatchResult> r = f.sender.Send(Messages(2));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->stored, 2u);
  using std::chrono::milliseconds;
  EXPECT_EQ(f.sleeps,
            (std::vector<milliseconds>{milliseconds(100), milliseconds(2000), milliseconds(400)}));
}

TEST(BatchSenderTest, GivesUpAfterMaxAttempts) {
  Fixture f;
  for (int i = 0; i < 4; ++i) f.server.script.push_back(Error(503, "overloaded"));
  Result<BatchResult> r = f.sender.Send(Messages(2));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(r.status().message().find("after 4 attempts"), std::string::npos);
  EXPECT_NE(r.status().message().find("overloaded"), std::string::npos);
  EXPECT_EQ(f.sleeps.size(), 3u);
}

TEST(BatchSenderTest, FatalStatuses) {
  struct Case {
    long status;
    StatusCode code;
  };
  for (Case c : {Case{401, StatusCode::kUnauthenticated}, Case{403, StatusCode::kPermissionDenied},
                 Case{404, StatusCode::kNotFound}, Case{400, StatusCode::kInvalidArgument},
                 Case{415, StatusCode::kInvalidArgument}}) {
    Fixture f;
    f.server.script.push_back(Error(c.status, "the server says no"));
    Result<BatchResult> r = f.sender.Send(Messages(2));
    ASSERT_FALSE(r.ok()) << c.status;
    EXPECT_EQ(r.status().code(), c.code) << c.status;
    EXPECT_NE(r.status().message().find("the server says no"), std::string::npos);
    EXPECT_TRUE(f.sleeps.empty());
  }
}

TEST(BatchSenderTest, TooLargeWithoutIndexSplits) {
  Fixture f;
  f.server.script.push_back(Error(413, "request body is 600000 bytes"));
  f.server.script.push_back(Error(413, "request body is 300000 bytes"));
  Result<BatchResult> r = f.sender.Send(Messages(4));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->stored, 4u);
  ASSERT_EQ(f.server.bodies.size(), 5u);  // 4, 2 (413), 1, 1, 2
  EXPECT_EQ(f.server.bodies[1]["batch"].size(), 2u);
  EXPECT_EQ(f.server.bodies[2]["batch"].size(), 1u);
  EXPECT_EQ(f.server.bodies[4]["batch"].size(), 2u);
}

TEST(BatchSenderTest, TooLargeSingleMessageIsRejected) {
  Fixture f;
  f.server.script.push_back(
      Error(413, "batch[0]: message is 40000 bytes, over the limit of 32768"));
  Result<BatchResult> r = f.sender.Send(Messages(1, 7));
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->rejections.size(), 1u);
  EXPECT_EQ(r->rejections[0].line, 7u);
}

TEST(BatchSenderTest, MismatchedCountsAreAnError) {
  Fixture f;
  f.server.script.push_back(HttpResponse{.status = 200, .body = R"({"stored":5,"duplicates":0})"});
  EXPECT_FALSE(f.sender.Send(Messages(2)).ok());
}

TEST(BatchSenderTest, ResolvesTheSourceId) {
  Fixture f;
  Result<std::string> id = f.sender.ResolveSourceId();
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  EXPECT_EQ(*id, "src_1");
  EXPECT_EQ(f.server.last_url, "http://h:1/v1/sources/my%20crm");

  f.server.script.push_back(Error(503, "busy"));
  f.server.script.push_back(Error(404, "no source \"my crm\""));
  Result<std::string> missing = f.sender.ResolveSourceId();
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(f.sleeps.size(), 1u);

  f.server.script.push_back(HttpResponse{.status = 200, .body = "{}"});
  EXPECT_FALSE(f.sender.ResolveSourceId().ok());
}

TEST(BatchSenderTest, ParseBatchError) {
  size_t i = 0;
  std::string reason;
  EXPECT_TRUE(ParseBatchError("batch[12]: bad thing", &i, &reason));
  EXPECT_EQ(i, 12u);
  EXPECT_EQ(reason, "bad thing");
  EXPECT_FALSE(ParseBatchError("batch[]: x", &i, &reason));
  EXPECT_FALSE(ParseBatchError("batch[1] x", &i, &reason));
  EXPECT_FALSE(ParseBatchError("malformed JSON", &i, &reason));
  EXPECT_FALSE(ParseBatchError("batch[99999999999999999999]: x", &i, &reason));
}

}  // namespace
}  // namespace tessera::importer
