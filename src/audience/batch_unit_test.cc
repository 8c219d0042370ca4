// The batch evaluator's parts and edge cases, each also checked against the reference: column
// types, the typed loading path, projections, errors, window edges, order-dependent sums,
// sequence ties, dates in traits.
#include <gtest/gtest.h>

#include <cmath>

#include "audience/batch.h"

namespace tessera::audience {
namespace {

using nlohmann::json;

constexpr TimeMs kNow = 1714564800000;  // 2024-05-01T12:00:00Z
constexpr TimeMs kHour = 3600000;
constexpr TimeMs kDay = 24 * kHour;

EventView Ev(std::string name, TimeMs at, json properties = json::object(),
             std::string touchpoint = "web") {
  return EventView{std::move(name), std::move(touchpoint), "site", at, std::move(properties)};
}

Condition Parse(std::string_view text) {
  Result<Condition> c = ParseCondition(text);
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return c.ok() ? *c : Condition{ConsentCondition{"unparsable"}};
}

Population Populate(const std::vector<ProfileView>& profiles, const Projection& projection) {
  PopulationBuilder builder(projection);
  for (size_t i = 0; i < profiles.size(); ++i) builder.AddProfile(std::to_string(i), profiles[i]);
  return std::move(builder).Build();
}

// The batch answer for each profile, after checking it against the reference.
std::vector<bool> Eval(std::string_view text, const std::vector<ProfileView>& profiles,
                       TimeMs now = kNow) {
  Condition c = Parse(text);
  Population population = Populate(profiles, ProjectionFor({&c}, {}));
  Result<MembershipBits> bits = EvaluateBatch(c, population, now, nullptr, 2);
  EXPECT_TRUE(bits.ok()) << bits.status().ToString();
  std::vector<bool> out;
  for (size_t i = 0; i < profiles.size(); ++i) {
    bool expected = EvaluateReference(c, profiles[i], now, StaticMembership());
    EXPECT_EQ(bits.ok() && bits->Test(i), expected) << text << ", profile " << i;
    out.push_back(expected);
  }
  return out;
}

// The batch value for one profile, after checking it against the reference.
std::string Aggregate1(std::string_view text, const ProfileView& profile) {
  Result<Aggregate> a = ParseAggregate(text);
  EXPECT_TRUE(a.ok()) << a.status().ToString();
  Population population = Populate({profile}, ProjectionFor({}, {&*a}));
  auto values = EvaluateAggregateBatch(*a, population, kNow, 1);
  EXPECT_TRUE(values.ok());
  std::optional<json> expected = EvaluateAggregateReference(*a, profile, kNow);
  std::string got = (*values)[0] ? (*values)[0]->dump() : "none";
  EXPECT_EQ(got, expected ? expected->dump() : "none") << text;
  return got;
}

ProfileView WithEvents(std::vector<EventView> events) {
  ProfileView p;
  p.events = std::move(events);
  return p;
}

TEST(MembershipBits, Basics) {
  MembershipBits bits(130);
  EXPECT_EQ(bits.size(), 130u);
  EXPECT_EQ(bits.Count(), 0u);
  bits.Set(0);
  bits.Set(64);
  bits.Set(129);
  bits.Set(64, false);
  bits.Set(100);
  EXPECT_TRUE(bits.Test(0) && bits.Test(100) && bits.Test(129));
  EXPECT_FALSE(bits.Test(64));
  EXPECT_EQ(bits.Count(), 3u);
  std::vector<size_t> seen;
  bits.ForEach([&](size_t i) { seen.push_back(i); });
  EXPECT_EQ(seen, (std::vector<size_t>{0, 100, 129}));
  MembershipBits other(130);
  EXPECT_FALSE(bits == other);
  for (size_t i : seen) other.Set(i);
  EXPECT_TRUE(bits == other);
}

TEST(Column, TypesAndRoundTrip) {
  const json values[] = {json(nullptr),
                         json(42),
                         json(-7),
                         json(uint64_t{18446744073709551615ULL}),  // above INT64_MAX
                         json(1.5),
                         json(std::nan("")),
                         json("pro"),
                         json("2024-05-01T10:00:00.000Z"),  // FormatIso8601's form
                         json("2024-05-01"),                // a date, but kept as text
                         json(true),
                         json::array({1, "a"}),
                         json::object({{"k", 1}})};
  const ValueType types[] = {ValueType::kMissing, ValueType::kInt,   ValueType::kInt,
                             ValueType::kJson,    ValueType::kFloat, ValueType::kJson,
                             ValueType::kString,  ValueType::kTime,  ValueType::kString,
                             ValueType::kBool,    ValueType::kJson,  ValueType::kJson};
  Column column;
  column.Resize(std::size(values) + 1);
  for (size_t i = 0; i < std::size(values); ++i) {
    column.Set(i, &values[i]);
    EXPECT_EQ(column.type(i), types[i]) << values[i].dump();
    EXPECT_EQ(column.ToJson(i).dump(), values[i].dump());
  }
  column.Set(std::size(values), nullptr);
  EXPECT_EQ(column.type(std::size(values)), ValueType::kMissing);
  EXPECT_EQ(column.string_count(), 2u);  // "pro" and "2024-05-01"
}

TEST(Population, TypedLoadingEqualsJson) {
  Projection projection;
  projection.traits = {{"plan"}, {"ltv"}, {"n"}, {"vip"}, {"plan", "x"}, {"address", "city"}};
  PopulationBuilder typed(projection), from_json(projection);
  for (PopulationBuilder* b : {&typed, &from_json}) b->AddProfile("a");
  typed.AddTraitString(0, "plan", "pro");
  typed.AddTraitNumber(0, "ltv", 600.5);
  typed.AddTraitInt(0, "n", 3);
  typed.AddTraitBool(0, "vip", true);
  typed.AddTraitString(0, "address", "not an object");
  typed.AddTraitJson(0, "address", {{"city", "Paris"}});  // the later value wins
  typed.AddTraitString(0, "ignored", "not projected");
  from_json.AddTraitJson(0, "plan", "pro");
  from_json.AddTraitJson(0, "ltv", 600.5);
  from_json.AddTraitJson(0, "n", 3);
  from_json.AddTraitJson(0, "vip", true);
  from_json.AddTraitJson(0, "address", {{"city", "Paris"}});
  Population a = std::move(typed).Build(), b = std::move(from_json).Build();
  for (const Path& path : projection.traits) {
    EXPECT_EQ(a.trait(path)->ToJson(0), b.trait(path)->ToJson(0)) << path.front();
  }
  EXPECT_EQ(a.trait({"address", "city"})->ToJson(0), json("Paris"));
  EXPECT_EQ(a.trait({"plan", "x"})->type(0), ValueType::kMissing);  // a string has no fields
  EXPECT_EQ(a.trait({"ignored"}), nullptr);
}

TEST(Population, ProjectionDropsWhatIsNotRead) {
  Condition c = Parse("performed \"A\" at least 2 times and count of email identifiers >= 1");
  Projection projection = ProjectionFor({&c}, {});
  EXPECT_EQ(projection.event_names, (std::set<std::string, std::less<>>{"A"}));
  EXPECT_FALSE(projection.all_events);
  ProfileView p = WithEvents({Ev("A", kNow - kDay), Ev("B", kNow), Ev("A", kNow - 2 * kDay)});
  p.identifiers = {{"email", "x@y"}, {"email", "x@y"}, {"phone", "+331"}};
  Population population = Populate({p}, projection);
  EXPECT_EQ(population.events().size(), 2u);
  EXPECT_EQ((*population.identifier_counts("email"))[0], 1u);  // the same value twice
  EXPECT_EQ(population.identifier_counts("phone"), nullptr);
  EXPECT_TRUE(EvaluateBatch(c, population, kNow, nullptr, 1)->Test(0));
}

TEST(Batch, Errors) {
  Condition c = Parse("trait plan = \"pro\" and in audience \"vip\"");
  Population narrow = Populate({ProfileView()}, Projection());
  Result<MembershipBits> r = EvaluateBatch(c, narrow, kNow, nullptr, 1);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("trait plan"), std::string::npos) << r.status().message();

  Population population = Populate({ProfileView()}, ProjectionFor({&c}, {}));
  MembershipBits wrong(5);
  r = EvaluateBatch(
      c, population, kNow, [&](std::string_view) { return &wrong; }, 1);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("\"vip\""), std::string::npos);

  Result<Aggregate> a = ParseAggregate("sum of properties.total over \"A\"");
  EXPECT_FALSE(EvaluateAggregateBatch(*a, narrow, kNow, 1).ok());

  Projection with_properties;
  with_properties.all_events = true;
  with_properties.properties = {{"x"}};
  PopulationBuilder builder(with_properties);
  builder.AddProfile("p");
  EXPECT_FALSE(builder.AddEventJson(0, "A", "web", "s", kNow, "{not json").ok());
  EXPECT_TRUE(builder.AddEventJson(0, "A", "web", "s", kNow, R"({"x": 2})").ok());
  Population built = std::move(builder).Build();
  EXPECT_EQ(built.events().size(), 1u);
  EXPECT_EQ(built.events().properties.at({"x"}).ToJson(0), json(2));
}

TEST(Batch, EmptyPopulation) {
  Condition c = Parse("trait plan = \"pro\" or performed any event");
  Population population = Populate({}, ProjectionFor({&c}, {}));
  Result<MembershipBits> r = EvaluateBatch(c, population, kNow, nullptr, 3);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->size(), 0u);
}

TEST(Batch, WindowEdges) {
  std::vector<ProfileView> ps = {WithEvents({Ev("A", kNow - 30 * kDay)}),      // exactly D old
                                 WithEvents({Ev("A", kNow - 30 * kDay + 1)}),  // just inside
                                 WithEvents({Ev("A", kNow)}),                  // at now
                                 WithEvents({Ev("A", kNow + 1)})};             // future
  EXPECT_EQ(Eval("performed \"A\" in last 30 days", ps), (std::vector<bool>{0, 1, 1, 0}));
  EXPECT_EQ(Eval("performed any event in last 30 days", ps), (std::vector<bool>{0, 1, 1, 0}));
  EXPECT_EQ(Eval("performed \"A\"", ps), (std::vector<bool>{1, 1, 1, 1}));  // no window: all
  EXPECT_EQ(Eval("last time performed \"A\" more than 30 days ago", ps),
            (std::vector<bool>{1, 0, 0, 0}));
}

TEST(Batch, SumsInOrderOfAddition) {
  // Added in this order, the sum is (1 + 1e100) - 1e100 = 0; in time order it would be 1.
  ProfileView p =
      WithEvents({Ev("A", kNow - 1 * kHour, {{"x", 1}}), Ev("A", kNow - 3 * kHour, {{"x", 1e100}}),
                  Ev("A", kNow - 2 * kHour, {{"x", -1e100}})});
  EXPECT_EQ(Aggregate1("sum of properties.x over \"A\"", p), "0.0");
  EXPECT_EQ(Aggregate1("avg of properties.x over \"A\"", p), "0.0");
  EXPECT_EQ(Eval("sum of properties.x over \"A\" = 0", {p}), (std::vector<bool>{1}));
}

TEST(Batch, OverflowingSumsHaveNoValue) {
  // 1e308 + 1.79e308 overflows to +inf before -1e308 is added: no value, as in the reference.
  ProfileView p = WithEvents({Ev("A", kNow - 3 * kHour, {{"x", 1e308}}),
                              Ev("A", kNow - 2 * kHour, {{"x", 1.7976931348623157e308}}),
                              Ev("A", kNow - 1 * kHour, {{"x", -1e308}})});
  EXPECT_EQ(Aggregate1("sum of properties.x over \"A\"", p), "none");
  EXPECT_EQ(Aggregate1("avg of properties.x over \"A\"", p), "none");
  EXPECT_EQ(Aggregate1("sum of properties.x over \"A\" in last 90 minutes", p),
            json(-1e308).dump());
  EXPECT_EQ(Eval("sum of properties.x over \"A\" missing", {p}), (std::vector<bool>{1}));
  EXPECT_EQ(Eval("sum of properties.x over \"A\" > 1000", {p}), (std::vector<bool>{0}));
  EXPECT_EQ(Eval("not avg of properties.x over \"A\" exists", {p}), (std::vector<bool>{1}));
}

TEST(Batch, ValuesAndTies) {
  ProfileView p =
      WithEvents({Ev("A", kNow - kHour, {{"v", 1}}), Ev("A", kNow - kHour, {{"v", 1.0}}),
                  Ev("A", kNow - kDay, {{"v", "b"}}), Ev("A", kNow - kDay, {{"v", "a"}}),
                  Ev("A", kNow - 2 * kDay, {{"v", 2}}), Ev("A", kNow, {{"w", nullptr}})});
  EXPECT_EQ(Aggregate1("distinct count of properties.v over \"A\"", p), "4");  // 1 and 1.0 as one
  EXPECT_EQ(Aggregate1("most frequent of properties.v over \"A\"", p), "1.0");
  EXPECT_EQ(Aggregate1("first of properties.v over \"A\" in last 36 hours", p), "\"a\"");
  EXPECT_EQ(Aggregate1("last of properties.v over \"A\"", p), "1");
  EXPECT_EQ(Aggregate1("min of properties.v over \"A\"", p), "1.0");
  EXPECT_EQ(Aggregate1("first of properties.w over \"A\"", p), "none");  // null is missing
  EXPECT_EQ(Aggregate1("count of \"Z\"", p), "0");
  EXPECT_EQ(Aggregate1("first time performed \"A\"", p), std::to_string(kNow - 2 * kDay));
}

TEST(Batch, SequenceTies) {
  // The any-event step must take C, not B, at the shared instant, or B is gone for step three.
  ProfileView p =
      WithEvents({Ev("A", kNow - 2 * kHour), Ev("B", kNow - kHour), Ev("C", kNow - kHour)});
  EXPECT_EQ(Eval("performed \"A\" then any event then \"B\" within 1 day", {p}),
            (std::vector<bool>{1}));
  EXPECT_EQ(Eval("performed \"A\" then any event then any event then \"B\" within 1 day", {p}),
            (std::vector<bool>{0}));
  // Equal timestamps count in either order of storage; one event serves one step only.
  ProfileView same = WithEvents({Ev("B", kNow), Ev("A", kNow)});
  EXPECT_EQ(Eval("performed \"A\" then \"B\" within 1 hour", {same}), (std::vector<bool>{1}));
  EXPECT_EQ(Eval("performed \"A\" then \"A\" within 1 hour", {same}), (std::vector<bool>{0}));
}

TEST(Batch, NotFollowedBy) {
  std::vector<ProfileView> ps = {
      WithEvents({Ev("A", kNow - 2 * kHour)}),                                 // deadline passed
      WithEvents({Ev("A", kNow - 30 * 60000)}),                                // not yet
      WithEvents({Ev("A", kNow - 2 * kHour), Ev("B", kNow - kHour)}),          // B at the deadline
      WithEvents({Ev("A", kNow - 3 * kHour), Ev("B", kNow - 3 * kHour - 1)}),  // B before A
      WithEvents({Ev("A", kNow - 3 * kHour), Ev("A", kNow - 3 * kHour)})};     // A is no B
  EXPECT_EQ(Eval("performed \"A\" and not \"B\" within 1 hour", ps),
            (std::vector<bool>{1, 0, 0, 1, 1}));
  EXPECT_EQ(Eval("performed \"A\" and not \"A\" within 1 hour", ps),
            (std::vector<bool>{1, 0, 1, 1, 0}));
}

TEST(Batch, TraitDatesAndTypes) {
  std::vector<ProfileView> ps(5);
  ps[0].traits = {{"d", FormatIso8601(kNow - 10 * kDay)}, {"code", "42"}};  // canonical text
  ps[1].traits = {{"d", "2024-04-21 12:00"}, {"code", 42}};                 // other ISO text
  ps[2].traits = {{"d", kNow - 10 * kDay}, {"code", 42.0}};                 // epoch ms
  ps[3].traits = {{"d", static_cast<double>(kNow - 10 * kDay) + 0.75}, {"code", true}};
  ps[4].traits = {{"d", nullptr}, {"code", json::array({42, "x"})}};
  EXPECT_EQ(Eval("trait d within last 14 days", ps), (std::vector<bool>{1, 1, 1, 1, 0}));
  EXPECT_EQ(Eval("trait d = date \"2024-04-21T12:00:00Z\"", ps),
            (std::vector<bool>{1, 1, 1, 1, 0}));
  EXPECT_EQ(Eval("trait d starts with \"2024-04-21\"", ps), (std::vector<bool>{1, 1, 0, 0, 0}));
  EXPECT_EQ(Eval("trait d = \"2024-04-21T12:00:00.000Z\"", ps), (std::vector<bool>{1, 0, 0, 0, 0}));
  EXPECT_EQ(Eval("trait d missing", ps), (std::vector<bool>{0, 0, 0, 0, 1}));
  EXPECT_EQ(Eval("trait code = 42", ps), (std::vector<bool>{0, 1, 1, 0, 0}));
  EXPECT_EQ(Eval("trait code != 42", ps), (std::vector<bool>{0, 0, 0, 0, 0}));
  EXPECT_EQ(Eval("trait code contains 42", ps), (std::vector<bool>{0, 0, 0, 0, 1}));
  EXPECT_EQ(Eval("trait code not in [1, 2]", ps), (std::vector<bool>{0, 1, 1, 0, 0}));
  EXPECT_EQ(Eval("not trait code = true", ps), (std::vector<bool>{1, 1, 1, 0, 1}));
}

TEST(Batch, FiltersAndUnknownNames) {
  ProfileView p =
      WithEvents({Ev("A", kNow - kHour, {{"total", 120}}, "store"),
                  Ev("A", kNow - kHour, {{"total", 80}}, "kiosk"),  // unknown touchpoint
                  Ev("B", kNow - kDay, {{"total", "120"}})});
  EXPECT_EQ(Eval("performed \"A\" at least 2 times", {p}), (std::vector<bool>{1}));
  EXPECT_EQ(Eval("performed \"A\" at least 2 times from touchpoint store", {p}),
            (std::vector<bool>{0}));
  EXPECT_EQ(Eval("performed \"A\" from touchpoint other", {p}), (std::vector<bool>{0}));
  EXPECT_EQ(Eval("performed any event where properties.total > 100", {p}), (std::vector<bool>{1}));
  EXPECT_EQ(Eval("performed \"B\" where properties.total > 100", {p}), (std::vector<bool>{0}));
  EXPECT_EQ(Eval("performed \"Never\" or performed \"A\" from source \"nowhere\"", {p}),
            (std::vector<bool>{0}));
  EXPECT_EQ(Eval("not performed \"Never\"", {p}), (std::vector<bool>{1}));
}

}  // namespace
}  // namespace tessera::audience
