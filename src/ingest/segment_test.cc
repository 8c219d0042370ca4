// Unit tests for the pieces of ingest/segment.h that are not request-shaped; the request rules
// themselves are golden tests (segment_golden_test.cc, testdata/*.test).
#include "ingest/segment.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <thread>

namespace tessera::ingest {
namespace {

constexpr TimeMs kNow = 1714564800000;  // 2024-05-01T12:00:00Z

TEST(NormalizeEmailTest, TrimsAndLowerCases) {
  EXPECT_EQ(NormalizeEmail("  Ada@Example.COM\t\r\n"), "ada@example.com");
  EXPECT_EQ(NormalizeEmail("ada@example.com"), "ada@example.com");
  EXPECT_EQ(NormalizeEmail(""), "");
  EXPECT_EQ(NormalizeEmail(" \t "), "");
  // Only ASCII is folded; other bytes pass through untouched.
  EXPECT_EQ(NormalizeEmail("J\xC3\x96RG@X.DE"), "j\xC3\x96rg@x.de");
  // Inner spaces are kept: this is a normaliser, not a validator.
  EXPECT_EQ(NormalizeEmail(" A B@C "), "a b@c");
}

TEST(NormalizePhoneTest, E164) {
  EXPECT_EQ(NormalizePhone("+44 20 7946 0958", "US"), "+442079460958");
  EXPECT_EQ(NormalizePhone("(415) 555-2671", "US"), "+14155552671");
  EXPECT_EQ(NormalizePhone("415.555.2671", "US"), "+14155552671");
  EXPECT_EQ(NormalizePhone("+1 415 555 2671", "GB"), "+14155552671");
  EXPECT_EQ(NormalizePhone("020 7946 0958", "GB"), "+442079460958");
  EXPECT_EQ(NormalizePhone("00 44 20 7946 0958", "DE"), "+442079460958");
  EXPECT_EQ(NormalizePhone("030 901820", "DE"), "+4930901820");
}

TEST(NormalizePhoneTest, Rejects) {
  EXPECT_EQ(NormalizePhone("", "US"), std::nullopt);
  EXPECT_EQ(NormalizePhone("not a phone", "US"), std::nullopt);
  EXPECT_EQ(NormalizePhone("12", "US"), std::nullopt);
  EXPECT_EQ(NormalizePhone("555-2671", "US"), std::nullopt);  // local only: no area code
  EXPECT_EQ(NormalizePhone("020 7946 0958", ""), std::nullopt);  // no region, no +
  EXPECT_EQ(NormalizePhone("020 7946 0958", "ZZ"), std::nullopt);
  EXPECT_EQ(NormalizePhone("+1 415 555 2671 \xff", "US"), std::nullopt);  // not UTF-8
  EXPECT_EQ(NormalizePhone(std::string(1000, '5'), "US"), std::nullopt);
}

TEST(EndpointTest, Paths) {
  EXPECT_EQ(EndpointFromPath("/v1/identify"), Endpoint::kIdentify);
  EXPECT_EQ(EndpointFromPath("/v1/track"), Endpoint::kTrack);
  EXPECT_EQ(EndpointFromPath("/v1/page"), Endpoint::kPage);
  EXPECT_EQ(EndpointFromPath("/v1/screen"), Endpoint::kScreen);
  EXPECT_EQ(EndpointFromPath("/v1/group"), Endpoint::kGroup);
  EXPECT_EQ(EndpointFromPath("/v1/alias"), Endpoint::kAlias);
  EXPECT_EQ(EndpointFromPath("/v1/batch"), Endpoint::kBatch);
  EXPECT_EQ(EndpointFromPath("/v1/b"), Endpoint::kBatch);
  EXPECT_EQ(EndpointFromPath("/v1/import"), Endpoint::kBatch);
  EXPECT_EQ(EndpointFromPath("/v1/track/"), Endpoint::kTrack);
  for (std::string_view bad : {"", "/", "/v1", "/v1/", "/v1/Track", "/v2/track", "/v1/track?x=1",
                               "v1/track", "/v1/batch/x", "/v1/track//"}) {
    EXPECT_EQ(EndpointFromPath(bad), std::nullopt) << bad;
  }
}

Result<ParsedRequest> Parse(Endpoint endpoint, std::string_view body, TimeMs now = kNow) {
  return ParseRequest(endpoint, body, now, IngestLimits{}, IdentifierConfig{});
}

TEST(ParseRequestTest, GeneratedMessageIdIsStableAndContentBound) {
  std::string body = R"({"batch":[{"type":"track","event":"A","userId":"u1"}],"sentAt":"2024-05-01T11:59:59Z"})";
  auto a = Parse(Endpoint::kBatch, body);
  auto b = Parse(Endpoint::kBatch, body, kNow + 60000);  // a retry, a minute later
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->events[0].message_id, b->events[0].message_id);
  EXPECT_EQ(a->events[0].message_id.rfind("gen-", 0), 0u);
  EXPECT_EQ(a->events[0].message_id.size(), 4u + 32u);
  // Whitespace does not matter (the hash is over minified JSON); content does.
  auto spaced = Parse(Endpoint::kBatch, R"({ "batch" : [ { "type" : "track", "event" : "A", "userId" : "u1" } ] })");
  auto other = Parse(Endpoint::kBatch, R"({"batch":[{"type":"track","event":"B","userId":"u1"}]})");
  ASSERT_TRUE(spaced.ok() && other.ok());
  EXPECT_EQ(spaced->events[0].message_id, a->events[0].message_id);
  EXPECT_NE(other->events[0].message_id, a->events[0].message_id);
}

TEST(ParseRequestTest, EventJsonIsValidJsonWithMergedContext) {
  auto r = Parse(Endpoint::kBatch, R"({
    "writeKey": "wk",
    "context": {"library": {"name": "batch-lib"}, "ip": "1.2.3.4"},
    "batch": [
      {"type": "track", "event": "E\"\u0001\n", "userId": "u1", "context": {"ip": "5.6.7.8"}},
      {"type": "identify", "userId": "u2", "context": null, "writeKey": "leak"}
    ]})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->events.size(), 2u);
  auto first = nlohmann::json::parse(r->events[0].json);
  EXPECT_EQ(first["event"], "E\"\x01\n");
  EXPECT_EQ(first["context"]["ip"], "5.6.7.8");
  EXPECT_EQ(first["context"]["library"]["name"], "batch-lib");
  auto second = nlohmann::json::parse(r->events[1].json);
  EXPECT_EQ(second["context"]["ip"], "1.2.3.4");
  EXPECT_FALSE(second.contains("writeKey"));
  EXPECT_EQ(r->write_key, "wk");
}

TEST(ParseRequestTest, EventsCarryReceivedAtAndNoSource) {
  auto r = Parse(Endpoint::kTrack, R"({"event":"A","anonymousId":"a1"})");
  ASSERT_TRUE(r.ok());
  const Event& e = r->events[0];
  EXPECT_EQ(e.received_at, kNow);
  EXPECT_EQ(e.seq, 0u);
  EXPECT_TRUE(e.source_id.empty());
  EXPECT_EQ(e.type, MessageType::kTrack);
  // The stored record survives the log's encoding.
  auto decoded = DecodeEvent(EncodeEvent(e));
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(*decoded, e);
}

TEST(ParseRequestTest, ConcurrentCallersDoNotShareState) {
  std::vector<std::thread> threads;
  std::vector<int> failures(8, 0);
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([t, &failures] {
      for (int i = 0; i < 200; ++i) {
        std::string user = "u" + std::to_string(t) + "_" + std::to_string(i);
        std::string body = R"({"event":"E","userId":")" + user +
                           R"(","context":{"traits":{"phone":"(415) 555-2671"}}})";
        auto r = Parse(Endpoint::kTrack, body);
        if (!r.ok() || r->events[0].user_id != user || r->events[0].identifiers.size() != 2) {
          ++failures[t];
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < 8; ++t) EXPECT_EQ(failures[t], 0) << t;
}

}  // namespace
}  // namespace tessera::ingest
