// Server linkage settings: parsing with JSON paths in errors, inference from trait names,
// extraction of a profile's values (nested traits, identifiers, fallbacks).
#include "linkage/server_settings.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace tessera::linkage {
namespace {

bool HasComparison(const ServerSettings& s, const std::string& column, ComparisonKind kind) {
  return std::any_of(s.linkage.comparisons.begin(), s.linkage.comparisons.end(),
                     [&](const ComparisonSettings& c) {
                       return c.column == column && c.kind == kind;
                     });
}

const Field* FindField(const ServerSettings& s, const std::string& column) {
  for (const Field& f : s.fields) {
    if (f.column == column) return &f;
  }
  return nullptr;
}

TEST(ServerSettingsTest, InfersFromCommonTraitNames) {
  std::vector<std::string> ignored;
  ServerSettings s = InferServerSettings(
      {"first_name", "last_name", "birthday", "address.city", "address.postal_code",
       "address.street", "email", "plan"},
      {"user_id", "email", "phone"}, &ignored);
  EXPECT_TRUE(HasComparison(s, "first_name", ComparisonKind::kName));
  EXPECT_TRUE(HasComparison(s, "last_name", ComparisonKind::kName));
  EXPECT_TRUE(HasComparison(s, "birthday", ComparisonKind::kDate));
  EXPECT_TRUE(HasComparison(s, "city", ComparisonKind::kString));
  EXPECT_TRUE(HasComparison(s, "postal_code", ComparisonKind::kPostcode));
  EXPECT_TRUE(HasComparison(s, "street", ComparisonKind::kAddress));
  EXPECT_TRUE(HasComparison(s, "email", ComparisonKind::kEmail));
  EXPECT_TRUE(HasComparison(s, "phone", ComparisonKind::kPhone));
  EXPECT_EQ(ignored, std::vector<std::string>{"plan"});
  ASSERT_NE(FindField(s, "city"), nullptr);
  EXPECT_EQ(FindField(s, "city")->sources, std::vector<std::string>{"trait:address.city"});
  EXPECT_EQ(FindField(s, "email")->sources,
            (std::vector<std::string>{"trait:email", "identifier:email"}));
  EXPECT_EQ(FindField(s, "phone")->sources, std::vector<std::string>{"identifier:phone"});
  EXPECT_FALSE(s.linkage.blocking.empty());
  EXPECT_TRUE(ValidateSettings(s.linkage, s.Columns()).ok());
  // Round trip through the JSON form.
  s.version = 3;
  auto back = ParseServerSettings(ServerSettingsToJson(s));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->fields.size(), s.fields.size());
  EXPECT_EQ(back->linkage.comparisons.size(), s.linkage.comparisons.size());
  EXPECT_EQ(ServerSettingsToJson(*back).find("\"version\": 0") != std::string::npos, true);
}

TEST(ServerSettingsTest, ParseErrorsNameThePath) {
  auto bad = [](std::string text) {
    auto r = ParseServerSettings(text);
    EXPECT_FALSE(r.ok()) << text;
    return r.ok() ? std::string() : r.status().message();
  };
  EXPECT_EQ(bad("[1]"), "$: expected an object");
  EXPECT_EQ(bad(R"({"fields": {"x": 3}})"),
            "$.fields.x: expected a source or a non-empty list of sources");
  EXPECT_EQ(bad(R"({"fields": {"x": ["profile:x"]}})"),
            "$.fields.x[0]: expected \"trait:NAME\" or \"identifier:KIND\", got \"profile:x\"");
  EXPECT_EQ(bad(R"({"max_candidates": 0})"), "$.max_candidates: must be a positive integer");
  EXPECT_EQ(bad(R"({"threshold": 2})"), "$.threshold: must lie in (0, 1)");
  EXPECT_EQ(bad(R"({"nope": 1})"), "$.nope: unknown setting");
  EXPECT_EQ(bad(R"({"comparisons": [{"column": "a"}]})"),
            "no blocking rule: name them in a settings file");
  // Columns without a field read the trait of the same name.
  auto ok = ParseServerSettings(
      R"({"comparisons": [{"column": "surname", "kind": "name"}],
          "blocking": [[{"column": "surname"}]],
          "fields": {"dob": "trait:birthday"}, "max_cluster_size": 5})");
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(FindField(*ok, "surname")->sources, std::vector<std::string>{"trait:surname"});
  EXPECT_EQ(ok->max_cluster_size, 5u);
  EXPECT_EQ(ok->auto_train, AutoTrain{});  // on by default: 1000 profiles, then each doubling
  EXPECT_TRUE(ok->auto_train.enabled);
}

TEST(ServerSettingsTest, AutoTrainSettings) {
  const std::string base = R"({"comparisons": [{"column": "surname", "kind": "name"}],
                               "blocking": [[{"column": "surname"}]], "auto_train": )";
  auto parse = [&](const std::string& auto_train) {
    return ParseServerSettings(base + auto_train + "}");
  };
  auto ok = parse(R"({"enabled": false, "min_profiles": 50, "growth": 1.5})");
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->auto_train, (AutoTrain{.enabled = false, .min_profiles = 50, .growth = 1.5}));
  // Written back and read again unchanged.
  auto again = ParseServerSettings(ServerSettingsToJson(*ok));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->auto_train, ok->auto_train);
  EXPECT_EQ(parse(R"({"growth": 1.0})").status().message(),
            "$.auto_train.growth: must be a number from 1.1 to 1000");
  EXPECT_EQ(parse(R"({"min_profiles": 1})").status().message(),
            "$.auto_train.min_profiles: must be an integer of at least 2");
  EXPECT_EQ(parse(R"({"enabled": "yes"})").status().message(),
            "$.auto_train.enabled: expected true or false");
  EXPECT_EQ(parse(R"({"every": 3})").status().message(),
            "$.auto_train.every: unknown key (enabled, min_profiles, growth)");
  EXPECT_EQ(parse("true").status().message(), "$.auto_train: expected an object");
}

TEST(ServerSettingsTest, ExtractsValuesFromTraitsAndIdentifiers) {
  auto s = ParseServerSettings(R"({
      "comparisons": [{"column": "first", "kind": "name"}, {"column": "city"},
                      {"column": "email", "kind": "email"},
                      {"column": "age", "kind": "exact"}],
      "blocking": [[{"column": "first"}]],
      "fields": {"first": ["trait:firstName", "trait:first_name"], "city": "trait:address.city",
                 "email": ["trait:email", "identifier:email"], "age": "trait:age"}})");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  profile::Profile p;
  p.traits["first_name"].json = R"("  Ada ")";
  p.traits["address"].json = R"({"city": "London", "zip": 1})";
  p.traits["age"].json = "36";
  identity::Node node;
  node.identifiers = {{{"email", "old@example.com"}, 1, 5}, {{"email", "ada@example.com"}, 2, 9}};
  std::vector<std::string> values = ExtractRecord(*s, &p, node);
  std::vector<std::string> columns = s->Columns();
  auto value = [&](const std::string& c) {
    return values[std::find(columns.begin(), columns.end(), c) - columns.begin()];
  };
  EXPECT_EQ(value("first"), "Ada");
  EXPECT_EQ(value("city"), "London");
  EXPECT_EQ(value("email"), "ada@example.com");  // the most recently seen
  EXPECT_EQ(value("age"), "36");
  EXPECT_EQ(ExtractRecord(*s, nullptr, identity::Node{})[0], "");
  std::vector<std::string> paths = TraitPaths(p);
  EXPECT_EQ(paths, (std::vector<std::string>{"address.city", "address.zip", "age", "first_name"}));
}

}  // namespace
}  // namespace tessera::linkage
