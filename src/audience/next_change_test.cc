// NextChange() against hand-computed instants, and against sampling on random profiles: the
// answer must hold just before the instant, change at it, and never change earlier.
#include <gtest/gtest.h>

#include <cstdlib>

#include "audience/reference.h"
#include "audience/testutil.h"

namespace tessera::audience {
namespace {

using nlohmann::json;

constexpr TimeMs kNow = 1714564800000;  // 2024-05-01T12:00:00Z
constexpr TimeMs kMinute = 60000;
constexpr TimeMs kHour = 60 * kMinute;
constexpr TimeMs kDay = 24 * kHour;

EventView Ev(std::string name, TimeMs at) {
  return EventView{std::move(name), "web", "site", at, json::object()};
}

// NextChange, checked to be a real change: same answer one ms before, another at the instant.
std::optional<TimeMs> Next(std::string_view text, const ProfileView& p) {
  Result<Condition> c = ParseCondition(text);
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  StaticMembership none;
  std::optional<TimeMs> t = NextChange(*c, p, kNow, none);
  if (t) {
    bool now = EvaluateReference(*c, p, kNow, none);
    EXPECT_EQ(EvaluateReference(*c, p, *t - 1, none), now) << text;
    EXPECT_NE(EvaluateReference(*c, p, *t, none), now) << text;
  }
  return t;
}

TEST(NextChange, NotTimeDependent) {
  ProfileView p;
  p.events = {Ev("A", kNow - kDay)};
  EXPECT_EQ(Next("performed \"A\" at least 2 times", p), std::nullopt);
  EXPECT_EQ(Next("trait a > date \"2030-01-01\"", p), std::nullopt);
}

TEST(NextChange, TraitDates) {
  ProfileView p;
  p.traits = {{"signup", FormatIso8601(kNow - 10 * kDay)},
              {"last_order", kNow - 10 * kDay},
              {"future", FormatIso8601(kNow + 5 * kDay)}};
  EXPECT_EQ(Next("trait signup within last 30 days", p), kNow + 20 * kDay);        // goes false
  EXPECT_EQ(Next("trait last_order more than 90 days ago", p), kNow + 80 * kDay);  // goes true
  EXPECT_EQ(Next("trait future within last 30 days", p), kNow + 5 * kDay);         // goes true
  EXPECT_EQ(Next("trait missing_one within last 30 days", p), std::nullopt);
}

TEST(NextChange, Windows) {
  ProfileView p;
  p.events = {Ev("A", kNow - 6 * kDay), Ev("A", kNow - 1 * kDay), Ev("B", kNow - 3 * kDay),
              Ev("C", kNow + kHour)};
  // Two A in the last 7 days until the older leaves.
  EXPECT_EQ(Next("performed \"A\" at least 2 times in last 7 days", p), kNow + kDay);
  // At least one A until the newer leaves; the older leaving changes nothing.
  EXPECT_EQ(Next("performed \"A\" in last 7 days", p), kNow + 6 * kDay);
  // Not performed B in the last 14 days comes true when B leaves.
  EXPECT_EQ(Next("not performed \"B\" in last 14 days", p), kNow + 11 * kDay);
  // A future-dated event enters the window when its time comes.
  EXPECT_EQ(Next("performed \"C\" in last 1 day", p), kNow + kHour);
  EXPECT_EQ(Next("performed \"Nothing\" in last 1 day", p), std::nullopt);
  EXPECT_EQ(Next("last time performed \"A\" more than 3 days ago", p), kNow + 2 * kDay);
  EXPECT_EQ(Next("sum of properties.x over \"A\" in last 7 days = 0", p), std::nullopt);
}

TEST(NextChange, Sequences) {
  ProfileView p;
  p.events = {Ev("Complaint Opened", kNow - 10 * kMinute), Ev("A", kNow - 5 * kDay),
              Ev("B", kNow - 4 * kDay)};
  EXPECT_EQ(Next("performed \"Complaint Opened\" and not \"Complaint Resolved\" within 1 hour", p),
            kNow + 50 * kMinute);
  EXPECT_EQ(Next("performed \"A\" then \"B\" within 2 days in last 7 days", p), kNow + 2 * kDay);
  EXPECT_EQ(Next("performed \"A\" then \"B\" within 2 days", p), std::nullopt);
}

// NextAggregateChange, checked to be a real change like Next().
std::optional<TimeMs> NextValue(std::string_view text, const ProfileView& p) {
  Result<Aggregate> a = ParseAggregate(text);
  EXPECT_TRUE(a.ok()) << a.status().ToString();
  std::optional<TimeMs> t = NextAggregateChange(*a, p, kNow);
  if (t) {
    std::optional<json> now = EvaluateAggregateReference(*a, p, kNow);
    EXPECT_EQ(EvaluateAggregateReference(*a, p, *t - 1), now) << text;
    EXPECT_NE(EvaluateAggregateReference(*a, p, *t), now) << text;
  }
  return t;
}

TEST(NextAggregateChange, Windows) {
  ProfileView p;
  p.events = {Ev("A", kNow - 6 * kDay), Ev("A", kNow - 1 * kDay), Ev("B", kNow - 3 * kDay),
              Ev("C", kNow + kHour)};
  EXPECT_EQ(NextValue("count of \"A\" in last 7 days", p), kNow + kDay);
  // The older A leaving changes nothing; the newer one leaving takes the value away.
  EXPECT_EQ(NextValue("last time performed \"A\" in last 7 days", p), kNow + 6 * kDay);
  EXPECT_EQ(NextValue("count of \"C\" in last 1 day", p), kNow + kHour);  // enters
  EXPECT_EQ(NextValue("count of \"A\"", p), std::nullopt);                 // no window
  EXPECT_EQ(NextValue("count of \"Nothing\" in last 1 day", p), std::nullopt);
}

// Dates in the events' properties that the `where` tests against now: no window needed.
TEST(NextAggregateChange, DatesInWhere) {
  ProfileView p;
  p.events = {Ev("Invoice", kNow - 2 * kDay), Ev("Invoice", kNow - 1 * kDay)};
  p.events[0].properties = {{"due", FormatIso8601(kNow + 2 * kDay)}};
  p.events[1].properties = {{"due", kNow + 5 * kDay}};  // epoch ms
  // Overdue invoices: the first becomes overdue a day after it is due.
  EXPECT_EQ(NextValue("count of \"Invoice\" where properties.due more than 1 day ago", p),
            kNow + 3 * kDay);
  EXPECT_EQ(NextValue("last time performed \"Invoice\" where properties.due more than 1 day ago",
                      p),
            kNow + 3 * kDay);
  // Due within the last 10 days: the first comes in when due, then the second.
  EXPECT_EQ(NextValue("count of \"Invoice\" where properties.due within last 10 days", p),
            kNow + 2 * kDay);
  // A sum whose terms come and go as the dates pass; a value that stays the same is no change.
  p.events[0].properties["amount"] = 0;
  p.events[1].properties["amount"] = 7;
  EXPECT_EQ(NextValue("sum of properties.amount over \"Invoice\" where properties.due "
                      "within last 10 days",
                      p),
            kNow + 5 * kDay);
  EXPECT_EQ(NextValue("count of \"Invoice\" where properties.due > date \"2020-01-01\"", p),
            std::nullopt);
}

uint64_t Seed() {
  if (const char* s = std::getenv("TESSERA_AUDIENCE_SEED"); s != nullptr && *s != '\0') {
    return std::strtoull(s, nullptr, 10);
  }
  return std::random_device()();
}

// On random conditions and profiles: the answer is constant on [now, next) at sampled instants
// and at every candidate, and differs at next; without time dependence it never changes.
TEST(NextChange, AgreesWithSampling) {
  uint64_t seed = Seed();
  SCOPED_TRACE("TESSERA_AUDIENCE_SEED=" + std::to_string(seed));
  std::printf("next change seed: %llu\n", static_cast<unsigned long long>(seed));
  testutil::RandomConditions gen(seed);
  gen.SetNamePool(3);
  std::mt19937_64 rng(seed);
  StaticMembership none;
  int changes = 0;
  for (int i = 0; i < 1000; ++i) {
    Condition c = gen.Make(3);
    ProfileView p = gen.MakeProfile(kNow);
    bool now = EvaluateReference(c, p, kNow, none);
    std::optional<TimeMs> next = NextChange(c, p, kNow, none);
    TimeMs horizon = next ? *next : kNow + 400 * kDay;
    for (int k = 0; k < 30; ++k) {
      TimeMs t = kNow + static_cast<TimeMs>(rng() % static_cast<uint64_t>(horizon - kNow));
      ASSERT_EQ(EvaluateReference(c, p, t, none), now)
          << "changed at " << t << " before " << (next ? std::to_string(*next) : "never") << "\n"
          << ToText(c) << "\ncase " << i;
    }
    if (next) {
      ++changes;
      ASSERT_GT(*next, kNow);
      ASSERT_EQ(EvaluateReference(c, p, *next - 1, none), now) << ToText(c);
      ASSERT_NE(EvaluateReference(c, p, *next, none), now) << ToText(c);
      ASSERT_TRUE(Dependencies(c).time_dependent) << ToText(c);
    }
  }
  std::printf("%d of 1000 random profiles change with time\n", changes);
  EXPECT_GT(changes, 5);  // the sampling saw changes (11 to 48 of 1000 in 200 seeds)
}

// NextAggregateChange on random aggregates and profiles, as above; half the aggregates filter
// on a recency test of a date property the profile's events carry.
TEST(NextAggregateChange, AgreesWithSampling) {
  uint64_t seed = Seed();
  SCOPED_TRACE("TESSERA_AUDIENCE_SEED=" + std::to_string(seed));
  testutil::RandomConditions gen(seed);
  gen.SetNamePool(3);
  std::mt19937_64 rng(seed);
  int changes = 0;
  for (int i = 0; i < 1000; ++i) {
    Aggregate a = gen.MakeAggregate(2);
    ProfileView p = gen.MakeProfile(kNow);
    if (i % 2 == 0) {
      for (EventView& e : p.events) {
        e.properties["at"] = kNow + static_cast<TimeMs>(rng() % (60 * kDay)) - 30 * kDay;
      }
      ValueTest recent{i % 4 == 0 ? Op::kWithinLast : Op::kMoreThanAgo, {},
                       Duration{1 + static_cast<int64_t>(rng() % 20), TimeUnit::kDay}};
      a.events.where = Condition{PropertyCondition{{"at"}, std::move(recent)}};
      ASSERT_TRUE(Validate(a).ok()) << ToText(a);
    }
    std::optional<json> now = EvaluateAggregateReference(a, p, kNow);
    std::optional<TimeMs> next = NextAggregateChange(a, p, kNow);
    TimeMs horizon = next ? *next : kNow + 400 * kDay;
    for (int k = 0; k < 30; ++k) {
      TimeMs t = kNow + static_cast<TimeMs>(rng() % static_cast<uint64_t>(horizon - kNow));
      ASSERT_EQ(EvaluateAggregateReference(a, p, t), now)
          << "changed at " << t << " before " << (next ? std::to_string(*next) : "never") << "\n"
          << ToText(a) << "\ncase " << i;
    }
    if (next) {
      ++changes;
      ASSERT_GT(*next, kNow);
      ASSERT_EQ(EvaluateAggregateReference(a, p, *next - 1), now) << ToText(a);
      ASSERT_NE(EvaluateAggregateReference(a, p, *next), now) << ToText(a);
      ASSERT_TRUE(Dependencies(a).time_dependent) << ToText(a);
    }
  }
  std::printf("%d of 1000 random aggregates change with time\n", changes);
  EXPECT_GT(changes, 20);  // 65 to about 100 of 1000 in 200 seeds
}

}  // namespace
}  // namespace tessera::audience
