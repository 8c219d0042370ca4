// Mapping tests: golden cases from testdata/mapping/*.test, and messageId stability.
//
// Golden case directives (applied in this order): "map: <mapping JSON>", "type: <t>",
// "event: <name>", "id: COLUMN=KIND" (repeatable), "trait: COLUMN[=NAME]" (repeatable),
// "timestamp: <column>", "source: <name>" (default "crm"). The input is a CSV file with a header.
// Expected: per data row "<line>: <message without messageId>" or "<line>: rejected: <reason>";
// or a single "error: <substring>" when the mapping does not fit the header.
#include "importer/mapping.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <regex>

#include "importer/csv.h"
#include "importer/message_id.h"
#include "importer/testutil.h"

namespace tessera::importer {
namespace {

using nlohmann::json;
using testing::GoldenCase;

const std::set<std::string> kKeys = {"map", "type", "event", "id", "trait", "timestamp", "source"};

Result<Mapping> BuildMapping(const GoldenCase& c) {
  Mapping m;
  if (std::string text = c.Directive("map"); !text.empty()) {
    TESSERA_ASSIGN_OR_RETURN(m, ParseMappingJson(text));
  }
  if (std::string type = c.Directive("type"); !type.empty()) {
    m.type = *ParseMessageType(type);
  }
  if (std::string event = c.Directive("event"); !event.empty()) m.event = event;
  auto all = [&c](const std::string& key) {
    auto it = c.directives.find(key);
    return it == c.directives.end() ? std::vector<std::string>{} : it->second;
  };
  for (const std::string& id : all("id")) TESSERA_RETURN_IF_ERROR(AddIdentifierFlag(id, &m));
  for (const std::string& t : all("trait")) TESSERA_RETURN_IF_ERROR(AddTraitFlag(t, &m));
  if (std::string ts = c.Directive("timestamp"); !ts.empty()) m.timestamp_column = ts;
  return m;
}

std::vector<std::string> Render(const GoldenCase& c) {
  Result<Mapping> mapping = BuildMapping(c);
  if (!mapping.ok()) return {"error: " + mapping.status().message()};
  CsvReader reader(c.input, CsvOptions{});
  CsvRecord header;
  if (!*reader.Next(&header)) return {"error: no header"};
  Result<RowMapper> mapper =
      RowMapper::Create(*mapping, header.fields, c.Directive("source", "crm"));
  if (!mapper.ok()) return {"error: " + mapper.status().message()};
  std::vector<std::string> lines;
  CsvRecord row;
  static const std::regex kId("imp-[0-9a-f]{32}");
  while (*reader.Next(&row)) {
    std::string prefix = std::to_string(row.line) + ": ";
    Result<std::string> message = mapper->Map(row.fields);
    if (!message.ok()) {
      lines.push_back(prefix + "rejected: " + message.status().message());
      continue;
    }
    json j = json::parse(*message);
    std::string id = j.value("messageId", "");
    if (!std::regex_match(id, kId)) lines.push_back(prefix + "bad messageId " + id);
    j.erase("messageId");
    lines.push_back(prefix + j.dump());
  }
  return lines;
}

class MappingGoldenTest : public ::testing::TestWithParam<GoldenCase> {};

TEST_P(MappingGoldenTest, Matches) { testing::ExpectGolden(GetParam(), Render(GetParam())); }

INSTANTIATE_TEST_SUITE_P(Golden, MappingGoldenTest,
                         ::testing::ValuesIn(testing::LoadGoldenCases("mapping", kKeys)),
                         testing::GoldenName);

TEST(MappingGoldenFiles, Found) {
  EXPECT_GE(testing::LoadGoldenCases("mapping", kKeys).size(), 30u);
}

RowMapper DefaultMapper(const std::vector<std::string>& header, const std::string& source) {
  Result<RowMapper> m = RowMapper::Create(Mapping{}, header, source);
  EXPECT_TRUE(m.ok()) << m.status().ToString();
  return std::move(m).value();
}

std::string IdOf(const std::string& message) { return json::parse(message)["messageId"]; }

TEST(MessageIdTest, SameRowSameId) {
  RowMapper a = DefaultMapper({"user_id", "email", "name"}, "crm");
  RowMapper b = DefaultMapper({"user_id", "email", "name"}, "crm");
  std::string first = *a.Map({"u1", "a@x.io", "Ada"});
  EXPECT_EQ(first, *b.Map({"u1", "a@x.io", "Ada"}));
  EXPECT_EQ(IdOf(first), ImportMessageId("crm", json::parse(first)));
}

TEST(MessageIdTest, ColumnOrderDoesNotMatter) {
  RowMapper a = DefaultMapper({"user_id", "email", "name"}, "crm");
  RowMapper b = DefaultMapper({"name", "user_id", "email"}, "crm");
  EXPECT_EQ(IdOf(*a.Map({"u1", "a@x.io", "Ada"})), IdOf(*b.Map({"Ada", "u1", "a@x.io"})));
}

TEST(MessageIdTest, DifferentSourceOrContentDifferentId) {
  RowMapper crm = DefaultMapper({"user_id", "name"}, "crm");
  RowMapper shop = DefaultMapper({"user_id", "name"}, "shop");
  std::string base = IdOf(*crm.Map({"u1", "Ada"}));
  EXPECT_NE(base, IdOf(*shop.Map({"u1", "Ada"})));
  EXPECT_NE(base, IdOf(*crm.Map({"u1", "Ada "})));
  EXPECT_NE(base, IdOf(*crm.Map({"u2", "Ada"})));
}

TEST(MessageIdTest, IgnoresAnExistingMessageIdAndKeyOrder) {
  json a = json::parse(R"({"type":"track","event":"x","userId":"u"})");
  json b = json::parse(R"({"userId":"u","messageId":"m1","event":"x","type":"track"})");
  EXPECT_EQ(ImportMessageId("s", a), ImportMessageId("s", b));
  EXPECT_EQ(ImportMessageId("s", a).size(), 4u + 32u);
  // Pinned, so that a change of the scheme (which would re-import everything) is deliberate.
  // sha256("crm\n{\"type\":\"identify\",\"userId\":\"u1\"}"), first 16 bytes.
  EXPECT_EQ(ImportMessageId("crm", json::parse(R"({"userId":"u1","type":"identify"})")),
            "imp-4f984cb99d35cfcf18263d3646df86b7");
}

TEST(MappingTest, ToJsonIsCanonical) {
  Mapping a;
  ASSERT_TRUE(AddIdentifierFlag("crm=user_id", &a).ok());
  ASSERT_TRUE(AddTraitFlag("first_name=firstName", &a).ok());
  Result<Mapping> b = ParseMappingJson(
      R"({"identifiers": {"crm": "user_id"}, "traits": {"first_name": "firstName"}})");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(a.ToJson(), b->ToJson());
  EXPECT_NE(a.ToJson(), Mapping().ToJson());
  EXPECT_TRUE(Mapping().IsDefault());
  EXPECT_FALSE(a.IsDefault());
}

TEST(MappingTest, FlagErrors) {
  Mapping m;
  EXPECT_FALSE(AddIdentifierFlag("crm", &m).ok());
  EXPECT_FALSE(AddIdentifierFlag("=user_id", &m).ok());
  EXPECT_FALSE(AddIdentifierFlag("crm=", &m).ok());
  EXPECT_FALSE(AddIdentifierFlag("crm=tessera_id", &m).ok());
  EXPECT_FALSE(AddTraitFlag("", &m).ok());
  EXPECT_FALSE(AddTraitFlag("a=", &m).ok());
  EXPECT_TRUE(AddTraitFlag("a", &m).ok());
  EXPECT_FALSE(ParseMappingJson("[1]").ok());
  EXPECT_FALSE(ParseMappingJson("{").ok());
  EXPECT_FALSE(ParseMappingJson(R"({"types": {"a": "int"}})").ok());
  EXPECT_FALSE(ParseMappingJson(R"({"traits": "all"})").ok());
  Mapping both = *ParseMappingJson(R"({"type":"track","event":"e","traits":"*","properties":"*"})");
  EXPECT_FALSE(ValidateMapping(both).ok());
  Mapping identify_props = *ParseMappingJson(R"({"properties":"*"})");
  EXPECT_FALSE(ValidateMapping(identify_props).ok());
}

TEST(MappingTest, OverlongMessageIsRejected) {
  RowMapper m = DefaultMapper({"user_id", "blob"}, "crm");
  Result<std::string> big = m.Map({"u1", std::string(40000, 'x')});
  ASSERT_FALSE(big.ok());
  EXPECT_NE(big.status().message().find("over the limit"), std::string::npos);
}

}  // namespace
}  // namespace tessera::importer
