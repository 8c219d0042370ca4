// Unit tests for the tree itself: Dependencies(), Validate() on hand-built trees, durations,
// and the API details the golden files cannot show.
#include "audience/condition.h"

#include <gtest/gtest.h>

namespace tessera::audience {
namespace {

Condition Parse(std::string_view text) {
  Result<Condition> c = ParseCondition(text);
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return c.ok() ? *c : Condition{};
}

ValueTest Exists() { return ValueTest{Op::kExists, {}, std::nullopt}; }

TEST(Dependencies, CollectsWhatIsRead) {
  ConditionDeps d = Dependencies(Parse(
      "trait plan = \"pro\" and trait address.city = \"Paris\" and in audience \"vip\" "
      "and has email and count of device_id identifiers >= 2 and consented to \"email_marketing\" "
      "and (performed \"Order Completed\" where properties.total > 100 or "
      "performed \"A\" then \"B\" within 2 days)"));
  EXPECT_EQ(d.traits, (std::set<std::string>{"plan", "address"}));
  EXPECT_EQ(d.events, (std::set<std::string>{"Order Completed", "A", "B"}));
  EXPECT_FALSE(d.any_event);
  EXPECT_EQ(d.audiences, (std::set<std::string>{"vip"}));
  EXPECT_EQ(d.identifier_kinds, (std::set<std::string>{"email", "device_id"}));
  EXPECT_EQ(d.consent_purposes, (std::set<std::string>{"email_marketing"}));
  EXPECT_FALSE(d.time_dependent);
}

TEST(Dependencies, AnyEvent) {
  EXPECT_TRUE(Dependencies(Parse("count of any event > 3")).any_event);
  EXPECT_TRUE(Dependencies(Parse("performed \"A\" then any event within 1 hour")).any_event);
  EXPECT_TRUE(Dependencies(Parse("performed \"A\" and not any event within 1 hour")).any_event);
  EXPECT_FALSE(Dependencies(Parse("performed \"A\"")).any_event);
}

TEST(Dependencies, TesseraOwnEvents) {
  EXPECT_TRUE(Dependencies(Parse("performed \"Audience Entered\"")).own_events);
  EXPECT_TRUE(Dependencies(Parse("count of \"Audience Exited\" > 1")).own_events);
  EXPECT_TRUE(Dependencies(Parse("performed any event from source \"tessera\"")).own_events);
  EXPECT_FALSE(Dependencies(Parse("performed any event")).own_events);
  EXPECT_FALSE(Dependencies(Parse("performed \"A\"")).own_events);
}

TEST(Dependencies, TimeDependence) {
  for (const char* text : {
           "trait signup_at within last 30 days",
           "trait last_order_at more than 90 days ago",
           "performed \"A\" in last 30 days",
           "not performed \"A\" in last 14 days",
           "sum of properties.total over \"A\" in last 90 days > 1000",
           "last time performed \"A\" more than 90 days ago",
           "performed \"A\" then \"B\" within 2 days in last 30 days",
           "performed \"A\" and not \"B\" within 1 hour",
           "performed \"A\" where properties.delivery within last 3 days",
           "has email or not trait x within last 1 day",
       }) {
    EXPECT_TRUE(Dependencies(Parse(text)).time_dependent) << text;
  }
  for (const char* text : {
           "trait signup_at > date \"2024-01-01\"",
           "performed \"A\" at least 3 times",
           "last time performed \"A\" < date \"2024-01-01\"",
           "performed \"A\" then \"B\" within 2 days",
           "in audience \"x\" and consented to \"y\"",
       }) {
    EXPECT_FALSE(Dependencies(Parse(text)).time_dependent) << text;
  }
}

TEST(Dependencies, Aggregate) {
  Result<Aggregate> a = ParseAggregate(
      "sum of properties.total over \"Order Completed\" in last 90 days where properties.x = 1");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  ConditionDeps d = Dependencies(*a);
  EXPECT_EQ(d.events, (std::set<std::string>{"Order Completed"}));
  EXPECT_TRUE(d.time_dependent);
  EXPECT_TRUE(Dependencies(*ParseAggregate("count of any event")).any_event);
}

TEST(Validate, RejectsBrokenTrees) {
  auto invalid = [](const Condition& c, std::string_view message) {
    Status s = Validate(c);
    EXPECT_FALSE(s.ok());
    EXPECT_EQ(s.message(), message);
  };
  invalid(Condition{TraitCondition{{}, Exists()}}, "$.trait: expected a non-empty path");
  invalid(Condition{TraitCondition{{"a", ""}, Exists()}}, "$.trait: expected a non-empty string");
  invalid(Condition{TraitCondition{{"a"}, ValueTest{Op::kEq, {}, std::nullopt}}},
          "$: expected one value");
  invalid(Condition{TraitCondition{{"a"}, ValueTest{Op::kGt, {std::string("x")}, std::nullopt}}},
          "$: expected a number or a date, found a string");
  invalid(Condition{TraitCondition{{"a"}, ValueTest{Op::kIn, {1.0, true}, std::nullopt}}},
          "$: expected a number, like the first value in the list, found a boolean");
  invalid(
      Condition{TraitCondition{{"a"}, ValueTest{Op::kWithinLast, {}, Duration{0, TimeUnit::kDay}}}},
      "$: expected a duration from 1 second to 36500 days");
  invalid(Condition{PropertyCondition{{"a"}, Exists()}},
          "$: property conditions are allowed only inside where");
  invalid(Condition{AndCondition{{Condition{AudienceCondition{"x"}}}}},
          "$.and: expected at least 2 conditions");
  invalid(Condition{AudienceCondition{""}}, "$.audience: expected a non-empty string");
  invalid(Condition{AudienceCondition{"\xff"}}, "$.audience: invalid UTF-8");
  invalid(Condition{IdentifierCondition{"device-id", ValueTest{Op::kGe, {1.0}, std::nullopt}}},
          "$.identifier: expected an identifier kind like device_id");
  invalid(Condition{IdentifierCondition{"email", ValueTest{Op::kContains, {1.0}, std::nullopt}}},
          "$: expected a comparison of numbers (=, !=, <, <=, >, >=, between, in, not in, "
          "exists, missing)");

  AggregateCondition count{Aggregate{}, ValueTest{Op::kGe, {1.0}, std::nullopt}};
  count.aggregate.events.touchpoint = "fax";
  invalid(Condition{count}, "$.touchpoint: unknown touchpoint");
  count.aggregate.events.touchpoint = "store";
  count.aggregate.events.where = Condition{AudienceCondition{"x"}};
  invalid(Condition{count}, "$.where: only property conditions are allowed inside where");
  count.aggregate.events.where.reset();
  count.aggregate.property = {"total"};
  invalid(Condition{count}, "$.of: this aggregate takes no property");
  count.aggregate.property.clear();
  count.test.values = {Date{0}};
  invalid(Condition{count}, "$: expected a number, found a date");

  SequenceCondition seq{{EventFilter{}}, Duration{1, TimeUnit::kHour}, std::nullopt};
  invalid(Condition{seq}, "$.sequence: expected 2 to 8 steps");
  EXPECT_TRUE(
      Validate(Condition{AggregateCondition{Aggregate{}, ValueTest{Op::kGe, {1.0}, std::nullopt}}})
          .ok());
}

TEST(Validate, SizeLimits) {
  // Every valid tree's canonical text fits in kMaxTextBytes, so both forms accept the same trees.
  std::vector<Condition> children(kMaxNodes, Condition{AudienceCondition{"x"}});
  Result<Condition> many = FromJson(ToJson(Condition{OrCondition{children}}));
  ASSERT_FALSE(many.ok());
  EXPECT_EQ(many.status().message(), "$.or[9999]: more than 10000 conditions");
  children.resize(kMaxTextBytes / std::string("in audience \"x\" or ").size() + 1);
  Condition wide{OrCondition{children}};
  EXPECT_EQ(Validate(wide).message(), "$: too large: the text form is longer than 65536 bytes");
  EXPECT_EQ(FromJson(ToJson(wide)).status().message(),
            "$: too large: the text form is longer than 65536 bytes");
  EXPECT_EQ(ParseCondition(ToText(wide)).status().message(),
            "too large: the text is longer than 65536 bytes");
  children.resize(children.size() - 2);
  Condition fits{OrCondition{children}};
  EXPECT_TRUE(Validate(fits).ok());
  EXPECT_TRUE(ParseCondition(ToText(fits)).ok());
  EXPECT_TRUE(FromJson(ToJson(fits)).ok());
  // A text under the limit whose canonical form is over it (spaces around '=') is refused too.
  std::string dense;
  while (dense.size() < kMaxTextBytes - 40) dense += "trait a=1 or ";
  dense += "trait a=1";
  EXPECT_EQ(ParseCondition(dense).status().message(),
            "too large: the text form is longer than 65536 bytes");
}

TEST(Durations, CompactForm) {
  EXPECT_EQ(DurationFromCompact("30d"), (Duration{30, TimeUnit::kDay}));
  EXPECT_EQ(DurationFromCompact("1h"), (Duration{1, TimeUnit::kHour}));
  EXPECT_EQ(DurationFromCompact("90m"), (Duration{90, TimeUnit::kMinute}));
  EXPECT_EQ(DurationFromCompact("45s"), (Duration{45, TimeUnit::kSecond}));
  EXPECT_EQ(DurationFromCompact("2w"), (Duration{2, TimeUnit::kWeek}));
  EXPECT_EQ(DurationFromCompact("36500d"), (Duration{36500, TimeUnit::kDay}));
  for (const char* bad : {"", "d", "0d", "030d", "36501d", "5215w", "1y", "1.5d", "-1d", "1 d",
                          "1D", "99999999999s"}) {
    EXPECT_EQ(DurationFromCompact(bad), std::nullopt) << bad;
  }
  EXPECT_EQ(DurationToCompact(Duration{2, TimeUnit::kWeek}), "2w");
  EXPECT_EQ((Duration{2, TimeUnit::kDay}.Ms()), 172800000);
}

TEST(Text, KeywordsAreCaseInsensitiveNamesAreNot) {
  Condition a =
      Parse("TRAIT Plan = \"pro\" AND Performed \"X\" IN LAST 3 DAYS FROM TOUCHPOINT Store");
  EXPECT_EQ(ToText(a),
            "trait Plan = \"pro\" and performed \"X\" from touchpoint store in last 3 days");
}

TEST(Text, KeywordsWorkAsNames) {
  Condition c = Parse("trait not.and.or = 1 and trait count exists and has any");
  EXPECT_EQ(ToText(c), "trait not.and.or = 1 and trait count exists and has any");
}

TEST(Text, AggregateAlone) {
  Result<Aggregate> a = ParseAggregate(
      "most frequent of properties.store over \"Order Completed\" where (properties.total > 10 "
      "and properties.currency = \"EUR\") in last 90 days");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(ToText(*a),
            "most frequent of properties.store over \"Order Completed\" in last 90 days where "
            "(properties.total > 10 and properties.currency = \"EUR\")");
  Result<Aggregate> bad = ParseAggregate("count of \"A\" >= 3");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(),
            "line 1, column 14: expected 'from', 'in last', 'where' or end of input, found '>='");
}

TEST(Json, NeverThrowsOnOddInput) {
  for (const char* text :
       {"null", "1", "[]", "{}", "{\"and\": {}}", "{\"not\": []}", "{\"trait\": 1, \"op\": 2}",
        "{\"trait\": \"a\", \"op\": \"eq\"}", "{\"aggregate\": null}",
        "{\"sequence\": [1, 2], \"within\": 3}", "{\"performed\": {}, \"and_not\": {}}"}) {
    Result<Condition> r = FromJson(nlohmann::json::parse(text));
    EXPECT_FALSE(r.ok()) << text;
  }
  nlohmann::json bad_utf8 = {{"audience", "\xff"}};
  EXPECT_EQ(FromJson(bad_utf8).status().message(), "$.audience: invalid UTF-8");
  nlohmann::json nan = {{"trait", "a"}, {"op", "eq"}, {"value", std::nan("")}};
  EXPECT_EQ(FromJson(nan).status().message(), "$.value: expected a finite number");
}

TEST(Json, PathsWithDots) {
  Condition c{TraitCondition{{"a.b", "c"}, Exists()}};
  EXPECT_EQ(ToJson(c).dump(), R"({"op":"exists","trait":["a.b","c"]})");
  EXPECT_EQ(ToText(c), "trait \"a.b\".c exists");
  Result<Condition> r = FromJson(nlohmann::json::parse(R"({"op":"exists","trait":["a","c"]})"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(ToJson(*r).dump(), R"({"op":"exists","trait":"a.c"})");
}

}  // namespace
}  // namespace tessera::audience
