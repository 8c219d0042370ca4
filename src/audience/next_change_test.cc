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
  EXPECT_GT(changes, 20);
}

}  // namespace
}  // namespace tessera::audience
