// Randomized round-trip tests: random valid trees must survive text -> tree and JSON -> tree,
// through serialized JSON text too, and the canonical forms must be fixed points. The seed is
// printed; rerun one with TESSERA_AUDIENCE_SEED=<seed>.
#include <gtest/gtest.h>

#include <cstdlib>

#include "audience/testutil.h"

namespace tessera::audience {
namespace {

uint64_t BaseSeed() {
  if (const char* s = std::getenv("TESSERA_AUDIENCE_SEED"); s != nullptr && *s != '\0') {
    return std::strtoull(s, nullptr, 10);
  }
  return std::random_device()();
}

void CheckRoundTrip(const Condition& c) {
  ASSERT_TRUE(Validate(c).ok()) << Validate(c).ToString() << "\n" << ToText(c);
  std::string text = ToText(c);
  Result<Condition> parsed = ParseCondition(text);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString() << "\n" << text;
  EXPECT_TRUE(*parsed == c) << text << "\nreparsed as\n" << ToText(*parsed);
  EXPECT_EQ(ToText(*parsed), text);

  nlohmann::json json = ToJson(c);
  std::string json_text = json.dump();
  Result<Condition> read = FromJson(nlohmann::json::parse(json_text));
  ASSERT_TRUE(read.ok()) << read.status().ToString() << "\n" << json_text;
  EXPECT_TRUE(*read == c) << json_text << "\nread back as\n" << ToJson(*read).dump();
  EXPECT_EQ(ToJson(*read).dump(), json_text);
}

TEST(RoundTrip, RandomConditions) {
  uint64_t seed = BaseSeed();
  SCOPED_TRACE("TESSERA_AUDIENCE_SEED=" + std::to_string(seed));
  std::printf("round trip seed: %llu\n", static_cast<unsigned long long>(seed));
  testutil::RandomConditions gen(seed);
  for (int i = 0; i < 3000; ++i) {
    Condition c = gen.Make(1 + static_cast<int>(gen.Next() % 7));
    CheckRoundTrip(c);
    if (testing::Test::HasFailure()) {
      ADD_FAILURE() << "case " << i << " of seed " << seed;
      return;
    }
  }
}

TEST(RoundTrip, RandomAggregates) {
  uint64_t seed = BaseSeed();
  SCOPED_TRACE("TESSERA_AUDIENCE_SEED=" + std::to_string(seed));
  testutil::RandomConditions gen(seed);
  for (int i = 0; i < 1000; ++i) {
    Aggregate a = gen.MakeAggregate(4);
    ASSERT_TRUE(Validate(a).ok()) << Validate(a).ToString();
    Result<Aggregate> parsed = ParseAggregate(ToText(a));
    ASSERT_TRUE(parsed.ok()) << parsed.status().ToString() << "\n" << ToText(a);
    EXPECT_TRUE(*parsed == a) << ToText(a);
    Result<Aggregate> read = AggregateFromJson(nlohmann::json::parse(ToJson(a).dump()));
    ASSERT_TRUE(read.ok()) << read.status().ToString() << "\n" << ToJson(a).dump();
    EXPECT_TRUE(*read == a) << ToJson(a).dump();
  }
}

// The deepest tree the limits allow round-trips; one level more is refused by both readers.
TEST(RoundTrip, DepthLimit) {
  Condition deep{TraitCondition{{"x"}, ValueTest{Op::kExists, {}, std::nullopt}}};
  for (int i = 1; i < kMaxDepth; ++i) deep = Condition{NotCondition{deep}};
  CheckRoundTrip(deep);
  Condition deeper{NotCondition{deep}};
  EXPECT_FALSE(Validate(deeper).ok());
  Result<Condition> text = ParseCondition(ToText(deeper));
  ASSERT_FALSE(text.ok());
  EXPECT_EQ(text.status().message(), "line 1, column 1: conditions nest more than 64 levels deep");
  Result<Condition> json = FromJson(ToJson(deeper));
  ASSERT_FALSE(json.ok());
  EXPECT_NE(json.status().message().find("conditions nest more than 64 levels deep"),
            std::string::npos);

  // Alternating and/or nesting: height counts and/or levels too.
  Condition mixed{TraitCondition{{"x"}, ValueTest{Op::kExists, {}, std::nullopt}}};
  for (int i = 1; i < kMaxDepth; ++i) {
    Condition leaf{TraitCondition{{"y"}, ValueTest{Op::kMissing, {}, std::nullopt}}};
    if (i % 2) {
      mixed = Condition{AndCondition{{mixed, leaf}}};
    } else {
      mixed = Condition{OrCondition{{mixed, leaf}}};
    }
  }
  CheckRoundTrip(mixed);
  Condition too_mixed{OrCondition{{mixed, mixed}}};
  EXPECT_FALSE(ParseCondition(ToText(too_mixed)).ok());
  EXPECT_FALSE(FromJson(ToJson(too_mixed)).ok());
}

// Hostile nesting fails with an error instead of exhausting the stack.
TEST(RoundTrip, HostileNesting) {
  std::string parens(20000, '(');
  Result<Condition> r = ParseCondition(parens + "has email" + std::string(20000, ')'));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("nest more than 64"), std::string::npos);
  std::string nots;
  for (int i = 0; i < 10000; ++i) nots += "not ";
  EXPECT_FALSE(ParseCondition(nots + "has email").ok());
  std::string wheres = "performed \"A\"";
  for (int i = 0; i < 100; ++i) wheres += " where (properties.a = 1 and ";
  EXPECT_FALSE(ParseCondition(wheres).ok());
  EXPECT_FALSE(ParseCondition(std::string(kMaxTextBytes + 1, ' ')).ok());

  nlohmann::json j = {{"trait", "x"}, {"op", "exists"}};
  for (int i = 0; i < 1000; ++i) j = nlohmann::json{{"not", std::move(j)}};
  EXPECT_FALSE(FromJson(j).ok());
}

}  // namespace
}  // namespace tessera::audience
