#include "core/event.h"

#include <gtest/gtest.h>

namespace tessera {
namespace {

TEST(EventTest, EncodeDecodeRoundTrip) {
  Event e;
  e.seq = 42;
  e.source_id = "src_1";
  e.type = MessageType::kIdentify;
  e.message_id = "m-1";
  e.user_id = "u1";
  e.anonymous_id = "a1";
  e.timestamp = -5;
  e.received_at = 1700000000000;
  e.sent_at = 1700000000100;
  e.identifiers = {{"user_id", "u1"}, {"email", "ada@example.com"}};
  e.traits_json = R"({"name":"Ada"})";
  e.consent_json = R"({"email":true})";
  e.json = R"({"type":"identify"})";
  auto decoded = DecodeEvent(EncodeEvent(e));
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(*decoded, e);
}

TEST(EventTest, VersionOneRecordsWithoutConsentStillDecode) {
  Event e;
  e.seq = 3;
  e.json = "{}";
  std::string bytes = EncodeEvent(e);
  ASSERT_EQ(bytes.front(), 2);  // format version
  ASSERT_EQ(bytes.back(), 0);   // empty consent_json, the field version 2 added
  std::string v1 = bytes.substr(0, bytes.size() - 1);
  v1[0] = 1;
  auto decoded = DecodeEvent(v1);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(*decoded, e);
}

TEST(EventTest, TruncatedRecordIsCorruption) {
  Event e;
  e.json = "{}";
  std::string bytes = EncodeEvent(e);
  for (size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_EQ(DecodeEvent(bytes.substr(0, n)).status().code(), StatusCode::kCorruption) << n;
  }
}

TEST(EventTest, MessageTypeNames) {
  for (auto name : {"identify", "track", "page", "screen", "group", "alias"}) {
    auto t = ParseMessageType(name);
    ASSERT_TRUE(t.has_value());
    EXPECT_EQ(MessageTypeName(*t), name);
  }
  EXPECT_FALSE(ParseMessageType("batch").has_value());
}

}  // namespace
}  // namespace tessera
