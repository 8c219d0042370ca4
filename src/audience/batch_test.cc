// Differential tests of the batch evaluator: random conditions and aggregates over random
// profiles, evaluated by EvaluateBatch / EvaluateAggregateBatch and by the reference evaluator
// profile by profile, at several `now`s. A third of the profiles get day-aligned timestamps and
// duplicated events, so window edges and equal timestamps (sequence ties) are hit. The seed is
// printed; rerun one with TESSERA_AUDIENCE_SEED=<seed>.
#include <gtest/gtest.h>

#include <cstdlib>

#include "audience/batch_testutil.h"

namespace tessera::audience {
namespace {

using testutil::AudienceBits;
using testutil::MembershipOf;
using testutil::ProfileMembership;
using testutil::World;

constexpr TimeMs kNow = testutil::kBatchNow;
constexpr TimeMs kDay = testutil::kDayMs;
constexpr TimeMs kNows[] = {kNow, kNow - 40 * kDay, kNow + 25 * kDay + 3600000};

uint64_t BaseSeed() {
  if (const char* s = std::getenv("TESSERA_AUDIENCE_SEED"); s != nullptr && *s != '\0') {
    return std::strtoull(s, nullptr, 10);
  }
  return std::random_device()();
}

std::string Show(const std::optional<nlohmann::json>& v) { return v ? v->dump() : "(none)"; }

TEST(BatchDifferential, ConditionsAndAggregatesMatchReference) {
  const uint64_t base = BaseSeed();
  std::printf("batch differential seed: %llu\n", static_cast<unsigned long long>(base));
  int members = 0, checks = 0;
  for (uint64_t round = 0; round < 20; ++round) {
    const uint64_t seed = base + round;
    SCOPED_TRACE("TESSERA_AUDIENCE_SEED=" + std::to_string(base) + " round " +
                 std::to_string(round));
    World w = testutil::MakeWorld(seed, 60, 25, 50);
    Population population = testutil::Populate(w);
    ASSERT_EQ(population.size(), w.profiles.size());
    for (const Condition& c : w.conditions) {
      for (TimeMs now : kNows) {
        Result<MembershipBits> bits =
            EvaluateBatch(c, population, now, MembershipOf(w.audiences), 1);
        ASSERT_TRUE(bits.ok()) << bits.status().ToString();
        ASSERT_TRUE(*bits == *EvaluateBatch(c, population, now, MembershipOf(w.audiences), 3));
        for (size_t i = 0; i < w.profiles.size(); ++i) {
          bool expected =
              EvaluateReference(c, w.profiles[i], now, ProfileMembership(w.audiences, i));
          ++checks;
          members += expected;
          ASSERT_EQ(bits->Test(i), expected)
              << ToText(c) << "\nprofile " << i << " at now=" << now << ": "
              << w.profiles[i].traits.dump() << " events " << w.profiles[i].events.size();
        }
      }
    }
    for (const Aggregate& a : w.aggregates) {
      for (TimeMs now : kNows) {
        auto values = EvaluateAggregateBatch(a, population, now, 1);
        ASSERT_TRUE(values.ok()) << values.status().ToString();
        for (size_t i = 0; i < w.profiles.size(); ++i) {
          ASSERT_EQ(Show((*values)[i]), Show(EvaluateAggregateReference(a, w.profiles[i], now)))
              << ToText(a) << "\nprofile " << i << " at now=" << now;
        }
      }
    }
  }
  std::printf("%d of %d reference answers were true\n", members, checks);
  EXPECT_GT(members, checks / 20);  // the random conditions are not all trivially false
  EXPECT_LT(members, checks - checks / 20);
}

// Several chunks and threads: copies of one world must answer as the first copy does.
TEST(BatchDifferential, ThreadsAndChunksAgree) {
  const uint64_t base = BaseSeed();
  SCOPED_TRACE("TESSERA_AUDIENCE_SEED=" + std::to_string(base));
  World w = testutil::MakeWorld(base ^ 0x9e3779b97f4a7c15ULL, 30, 10, 41);
  constexpr int kCopies = 500;  // 20500 profiles: three chunks of 8192, the last one partial
  Population population = testutil::Populate(w, kCopies);
  AudienceBits audiences;  // the world's bits, repeated per copy
  for (const auto& [name, bits] : w.audiences) {
    MembershipBits all(population.size());
    for (size_t i = 0; i < population.size(); ++i) all.Set(i, bits.Test(i % w.profiles.size()));
    audiences.emplace(name, std::move(all));
  }
  for (const Condition& c : w.conditions) {
    Result<MembershipBits> one = EvaluateBatch(c, population, kNow, MembershipOf(audiences), 1);
    Result<MembershipBits> three = EvaluateBatch(c, population, kNow, MembershipOf(audiences), 3);
    ASSERT_TRUE(one.ok() && three.ok());
    ASSERT_TRUE(*one == *three) << ToText(c);
    for (size_t i = 0; i < population.size(); ++i) {
      ASSERT_EQ(one->Test(i), one->Test(i % w.profiles.size())) << ToText(c) << " profile " << i;
    }
  }
  for (const Aggregate& a : w.aggregates) {
    auto one = EvaluateAggregateBatch(a, population, kNow, 1);
    auto three = EvaluateAggregateBatch(a, population, kNow, 3);
    ASSERT_TRUE(one.ok() && three.ok());
    for (size_t i = 0; i < population.size(); ++i) {
      ASSERT_EQ(Show((*three)[i]), Show((*one)[i % w.profiles.size()])) << ToText(a);
    }
  }
}

}  // namespace
}  // namespace tessera::audience
