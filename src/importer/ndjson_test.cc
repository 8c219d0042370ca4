#include "importer/ndjson.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "importer/message_id.h"

namespace tessera::importer {
namespace {

using nlohmann::json;

std::vector<NdjsonLine> ReadAll(std::string text, size_t max = kMaxMessageBytes) {
  NdjsonReader reader(std::move(text), max);
  std::vector<NdjsonLine> lines;
  NdjsonLine line;
  while (*reader.Next(&line)) lines.push_back(line);
  return lines;
}

TEST(NdjsonReaderTest, LinesNumbersAndOffsets) {
  std::string text = "\xEF\xBB\xBF{\"a\":1}\r\n\n   \n{\"b\":2}\n{\"c\":3}";
  auto lines = ReadAll(text);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0].text, "{\"a\":1}");
  EXPECT_EQ(lines[0].line, 1u);
  EXPECT_EQ(lines[0].end_offset, 3u + 9u);
  EXPECT_EQ(lines[1].text, "{\"b\":2}");
  EXPECT_EQ(lines[1].line, 4u);
  EXPECT_EQ(lines[2].text, "{\"c\":3}");
  EXPECT_EQ(lines[2].line, 5u);
  EXPECT_EQ(lines[2].end_offset, text.size());
}

TEST(NdjsonReaderTest, OverlongLineIsFlaggedNotKept) {
  std::string text = "{\"a\":1}\n" + std::string(100, 'x') + "\n{\"b\":2}\n";
  auto lines = ReadAll(text, 50);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_TRUE(lines[1].too_long);
  EXPECT_EQ(lines[1].bytes, 100u);
  EXPECT_TRUE(lines[1].text.empty());
  EXPECT_EQ(lines[1].line, 2u);
  EXPECT_FALSE(lines[2].too_long);
  EXPECT_EQ(lines[2].line, 3u);
}

TEST(NdjsonReaderTest, Seek) {
  std::string text = "{\"a\":1}\n\n{\"b\":2}\n{\"c\":3}\n";
  auto lines = ReadAll(text);
  NdjsonReader reader(text);
  ASSERT_TRUE(reader.Seek(lines[0].end_offset, 2).ok());
  NdjsonLine line;
  ASSERT_TRUE(*reader.Next(&line));
  EXPECT_EQ(line.text, "{\"b\":2}");
  EXPECT_EQ(line.line, 3u);
}

TEST(NdjsonMessageTest, KeepsItsOwnMessageIdVerbatim) {
  std::string line = R"( {"type":"track","event":"X","userId":"u","messageId":"m-1","n":1.50} )";
  Result<std::string> m = PrepareNdjsonMessage(line, "crm");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(*m, R"({"type":"track","event":"X","userId":"u","messageId":"m-1","n":1.50})");
}

TEST(NdjsonMessageTest, AddsADeterministicMessageId) {
  std::string line = R"({"type":"identify","userId":"u1","traits":{"a":1.50}})";
  Result<std::string> m = PrepareNdjsonMessage(line, "crm");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  json j = json::parse(*m);
  EXPECT_EQ(j["messageId"], ImportMessageId("crm", json::parse(line)));
  EXPECT_NE(m->find("\"a\":1.50"), std::string::npos) << "number text kept: " << *m;
  // Key order and spacing do not change the id; the source does.
  Result<std::string> reordered = PrepareNdjsonMessage(
      R"({ "traits": {"a": 1.5}, "userId": "u1", "type": "identify" })", "crm");
  EXPECT_EQ(json::parse(*reordered)["messageId"], j["messageId"]);
  EXPECT_NE(json::parse(*PrepareNdjsonMessage(line, "shop"))["messageId"], j["messageId"]);
}

TEST(NdjsonMessageTest, EmptyOrNullMessageIdIsReplaced) {
  for (const char* line : {R"({"type":"identify","userId":"u1","messageId":""})",
                           R"({"type":"identify","userId":"u1","messageId":null})"}) {
    Result<std::string> m = PrepareNdjsonMessage(line, "crm");
    ASSERT_TRUE(m.ok());
    EXPECT_EQ(json::parse(*m)["messageId"],
              ImportMessageId("crm", json::parse(R"({"type":"identify","userId":"u1"})")));
  }
}

TEST(NdjsonMessageTest, Rejections) {
  struct Case {
    std::string line;
    std::string reason;
  };
  std::vector<Case> cases = {
      {"{", "malformed JSON"},
      {"{\"type\":\"track\"} x", "malformed JSON"},
      {"[1,2]", "not a JSON object"},
      {"\"str\"", "not a JSON object"},
      {"{\"userId\":\"u\"}", "message without \"type\""},
      {"{\"type\":7}", "\"type\" must be a string"},
      {"{\"type\":\"purchase\"}", "unknown type \"purchase\""},
      {"{\"type\":\"track\",\"x\":\"\xFF\"}", "malformed JSON"},
      {std::string(200, '[') + std::string(200, ']'), "nested deeper than"},
      {"{\"type\":\"track\",\"p\":\"" + std::string(40000, 'x') + "\"}", "over the limit"},
  };
  for (const Case& c : cases) {
    Result<std::string> m = PrepareNdjsonMessage(c.line, "crm");
    ASSERT_FALSE(m.ok()) << c.line.substr(0, 80);
    EXPECT_NE(m.status().message().find(c.reason), std::string::npos)
        << c.line.substr(0, 80) << " -> " << m.status().message();
  }
}

TEST(NdjsonMessageTest, BomInsideTheFileIsNotSpliced) {
  Result<std::string> m =
      PrepareNdjsonMessage("\xEF\xBB\xBF{\"type\":\"identify\",\"userId\":\"u\"}", "crm");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_TRUE(json::accept(*m)) << *m;
}

}  // namespace
}  // namespace tessera::importer
