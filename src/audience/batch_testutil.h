// Helpers for the batch evaluator's tests: a random "world" (conditions, aggregates, profiles,
// audience memberships) and its Population.
#pragma once

#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "audience/batch.h"
#include "audience/testutil.h"

namespace tessera::audience::testutil {

inline constexpr TimeMs kBatchNow = 1714564800000;  // 2024-05-01T12:00:00Z
inline constexpr TimeMs kDayMs = 86400000;

using AudienceBits = std::map<std::string, MembershipBits, std::less<>>;

// The reference's view of the same memberships, for one profile.
class ProfileMembership final : public AudienceMembership {
 public:
  ProfileMembership(const AudienceBits& bits, size_t index) : bits_(bits), index_(index) {}
  bool IsMember(std::string_view audience) const override {
    auto it = bits_.find(audience);
    return it != bits_.end() && it->second.Test(index_);
  }

 private:
  const AudienceBits& bits_;
  size_t index_;
};

inline BatchMembership MembershipOf(const AudienceBits& bits) {
  return [&bits](std::string_view audience) -> const MembershipBits* {
    auto it = bits.find(audience);
    return it == bits.end() ? nullptr : &it->second;
  };
}

inline void CollectAudiences(const Condition& c, std::set<std::string>* out) {
  std::visit(
      [out](const auto& n) {
        using T = std::decay_t<decltype(n)>;
        if constexpr (std::is_same_v<T, AudienceCondition>) {
          out->insert(n.audience);
        } else if constexpr (std::is_same_v<T, AndCondition> || std::is_same_v<T, OrCondition>) {
          for (const Condition& child : n.children) CollectAudiences(child, out);
        } else if constexpr (std::is_same_v<T, NotCondition>) {
          CollectAudiences(*n.child, out);
        }
      },
      c.node);
}

// Events at whole days (and some hours) before now, one sometimes duplicated: exact window
// edges and equal timestamps.
inline void AlignTimes(ProfileView* p, std::mt19937_64* rng) {
  for (EventView& e : p->events) {
    e.timestamp = kBatchNow - static_cast<TimeMs>((*rng)() % 40) * kDayMs -
                  ((*rng)() % 2 == 0 ? 0 : static_cast<TimeMs>((*rng)() % 3) * 3600000);
  }
  if (!p->events.empty() && (*rng)() % 2 == 0) {
    EventView copy = p->events[(*rng)() % p->events.size()];
    p->events.push_back(copy);
  }
}

struct World {
  std::vector<Condition> conditions;
  std::vector<Aggregate> aggregates;
  std::vector<ProfileView> profiles;
  AudienceBits audiences;  // the audiences conditions name, but not all: others have no members
};

// Random conditions (height 4) and aggregates (height 3) over random profiles whose names and
// values overlap theirs; a third of the profiles get aligned times (AlignTimes).
inline World MakeWorld(uint64_t seed, int conditions, int aggregates, int profiles) {
  RandomConditions gen(seed);
  std::mt19937_64 rng(seed);
  gen.SetNamePool(3 + static_cast<int>(seed % 4));
  World w;
  for (int i = 0; i < conditions; ++i) w.conditions.push_back(gen.Make(4));
  for (int i = 0; i < aggregates; ++i) w.aggregates.push_back(gen.MakeAggregate(3));
  for (int i = 0; i < profiles; ++i) {
    w.profiles.push_back(gen.MakeProfile(kBatchNow));
    if (i % 3 == 0) AlignTimes(&w.profiles.back(), &rng);
  }
  std::set<std::string> names;
  for (const Condition& c : w.conditions) CollectAudiences(c, &names);
  for (const std::string& name : names) {
    if (rng() % 3 == 0) continue;
    MembershipBits bits(w.profiles.size());
    for (size_t i = 0; i < w.profiles.size(); ++i) bits.Set(i, rng() % 2 == 0);
    w.audiences.emplace(name, std::move(bits));
  }
  return w;
}

// `copies` copies of the world's profiles (ids "<copy>-<index>"), holding what all its
// conditions and aggregates read.
inline Population Populate(const World& w, int copies = 1) {
  std::vector<const Condition*> cs;
  std::vector<const Aggregate*> as;
  for (const Condition& c : w.conditions) cs.push_back(&c);
  for (const Aggregate& a : w.aggregates) as.push_back(&a);
  PopulationBuilder builder(ProjectionFor(cs, as));
  for (int copy = 0; copy < copies; ++copy) {
    for (size_t i = 0; i < w.profiles.size(); ++i) {
      builder.AddProfile(std::to_string(copy) + "-" + std::to_string(i), w.profiles[i]);
    }
  }
  return std::move(builder).Build();
}

}  // namespace tessera::audience::testutil
