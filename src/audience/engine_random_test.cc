// A randomized differential test of the audience engine (STYLE.md rule 14). Random profiles
// (RandomConditions::MakeProfile) become event streams (identify with traits, consent choices,
// identifiers, track events) that go through the log, the pipeline and the engine in several
// rounds, interleaved in random order, with the clock moving between rounds: minutes, hours,
// days, and exactly onto (or 1 ms before) instants where a reference answer changes. Random
// audiences and computed traits exist before the events (the live path) or are created, changed
// (condition, aggregate, a computed trait's name) and deleted between rounds (the backfill
// path); small batches and backfill slices interleave the two. After every round, every
// membership and computed value must equal the reference evaluator's answer over the full
// history appended so far, at the clock's now, and the last Audience Entered / Exited event in
// its timeline must agree with the membership. Deleting an audience or computed trait, or renaming
// a computed trait, must be refused (Conflict) exactly while a live audience reads it.
// The seed is printed; rerun one with TESSERA_AUDIENCE_SEED=<seed>. The generators and the
// model of a profile are in engine_random_testutil.h.
//
// Random trees alone rarely change as the test's clock moves, so some definitions are targeted
// at the generated data: short windows over names the events have, recency tests on the date
// properties they carry, sums of large numbers, counts of an earlier audience's Audience
// Entered / Exited events (Tessera's own, by name); half the track events are stamped just
// before the clock's now when appended.
//
// What the streams leave out or adapt, so that the pipeline carries them faithfully:
// - Names come from the first kNamePool names of RandomConditions' pool: all valid UTF-8 (the
//   log keeps JSON text) and none of them "Audience Entered" / "Audience Exited".
// - Identifier values are prefixed with the profile's index, so that no two profiles ever link
//   (a merge would fold two model profiles into one); distinct values per kind stay as many.
// - Computed traits are named ct_0, ct_1, ...: no generated trait has such a name.
// - An event whose source is not registered reaches the engine with touchpoint "other" (its
//   source id is a pool name, so `from source` filters match some); the others come through
//   one registered source per touchpoint.
// The engine's own Audience Entered / Exited events (source "tessera", touchpoint "other") are
// on the profile's timeline, and `any event` filters see them: the reference view includes
// them, read back from the timelines, rather than leaving out every condition that could match
// them.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "audience/engine.h"
#include "audience/engine_random_testutil.h"

namespace tessera::audience {
namespace {

using nlohmann::json;
using testutil::Describe;
using testutil::EngineHarness;
using testutil::EngineWorkload;
using testutil::kDay;
using testutil::kHour;
using testutil::kMinute;
using testutil::Message;
using testutil::ModelDefinition;
using testutil::ModelProfile;
using testutil::NextValueChange;
using testutil::Show;

constexpr int kSeeds = 5;
constexpr size_t kProfiles = 24;
constexpr int kRounds = 6;
constexpr int kNamePool = 8;
constexpr int kMaxReports = 3;  // per seed; later mismatches are usually the same one again

// The engine's own events (on the timelines).
struct SystemEvents {
  std::map<std::string, std::vector<EventView>> by_profile;
  std::map<std::pair<std::string, std::string>, std::string> last;  // (profile, def) -> name
};

// What the reference says about one profile.
struct Expected {
  ProfileView view;                            // with the computed values overlaid as traits
  std::vector<std::optional<json>> values;     // by computed trait, as computed_
  std::set<std::string, std::less<>> members;  // audience names
};

class RandomRun {
 public:
  RandomRun(uint64_t seed, EngineOptions options)
      : seed_(seed), h_(options), w_(seed, kNamePool, [this](std::string_view touchpoint) {
          return h_.SourceId(touchpoint);
        }) {}

  void Run() {
    const TimeMs t0 = h_.clock().NowMs();
    std::vector<Message> all;
    for (size_t i = 0; i < kProfiles; ++i) {
      profiles_.emplace_back();
      profiles_.back().user = "u" + std::to_string(i);
      for (Message& m : w_.MakeMessages(i, profiles_.back().user, t0)) {
        all.push_back(std::move(m));
      }
    }
    std::shuffle(all.begin(), all.end(), w_.rng());

    // The live path: these exist before any event arrives.
    for (int i = 0; i < 3; ++i) AddComputed();
    for (int i = 0; i < 4; ++i) AddAudience();
    h_.Settle();

    size_t next = 0;
    for (int round = 0; round < kRounds && !Stopped(); ++round) {
      const std::string name = "round " + std::to_string(round);
      if (round > 0) {
        ChangeDefinitions();  // the backfill path
        if (Chance(50)) {
          h_.Settle();
          Check(name + ", after definitions changed");
        }
      }
      size_t end = all.size();  // rounds of uneven sizes; the last takes the rest
      if (round + 1 < kRounds) {
        end = std::min(end, next + all.size() / kRounds * (50 + Uniform(100)) / 100);
      }
      std::vector<Event> batch;
      for (; next < end; ++next) {
        if (all[next].live) {
          // Recent events, so that short windows hold some and then lose them as time passes.
          TimeMs at = h_.clock().NowMs() - static_cast<TimeMs>(w_.rng()() % (3 * kHour));
          all[next].event.timestamp = all[next].event.received_at = all[next].track->timestamp = at;
        }
        batch.push_back(all[next].event);
        profiles_[all[next].profile].Apply(all[next]);
      }
      if (!batch.empty()) h_.Append(std::move(batch));
      h_.Settle();
      Check(name + ", after its events");
      for (int k = 0, n = 1 + Uniform(3); k < n; ++k) {
        h_.clock().Set(NextInstant());
        h_.Settle();
        Check(name + ", after time passed", /*time_only=*/true);
      }
    }
    std::printf(
        "seed %llu: %d checks (%d in an audience, %d with a value, %d changed by time "
        "alone); %d deleted, %d renamed, %d refused; engine: %llu transitions, %llu timers "
        "fired, %llu evaluations\n",
        static_cast<unsigned long long>(seed_), checks_, members_, values_, time_changes_,
        deleted_, renamed_, refused_,
        static_cast<unsigned long long>(h_.engine().transitions()),
        static_cast<unsigned long long>(h_.engine().timers_fired()),
        static_cast<unsigned long long>(h_.engine().evaluations()));
  }

 private:
  int Uniform(size_t n) { return w_.Uniform(n); }
  bool Chance(int percent) { return w_.Chance(percent); }
  bool Stopped() const { return reports_ >= kMaxReports || ::testing::Test::HasFatalFailure(); }

  // ---- Definitions ----

  // Names of the live audiences before index `limit`: what the audience at `limit` may read, so
  // that creation order stays a dependency order.
  std::vector<std::string> Readable(size_t limit) const {
    std::vector<std::string> names;
    for (size_t i = 0; i < limit; ++i) {
      if (!audiences_[i].deleted) names.push_back(audiences_[i].def.name);
    }
    return names;
  }

  // Whether another live audience reads the audience `d` (by name or id); the catalog then
  // refuses to delete it.
  bool AudienceRead(const Definition& d) const {
    return std::any_of(audiences_.begin(), audiences_.end(), [&](const ModelDefinition& a) {
      if (a.deleted || a.def.id == d.id) return false;
      auto read = Dependencies(*a.def.condition).audiences;
      return read.count(d.id) > 0 || read.count(d.name) > 0;
    });
  }

  // Whether a live audience reads the trait `name`; the catalog then refuses to delete or rename
  // the computed trait of that name.
  bool TraitRead(const std::string& name) const {
    return std::any_of(audiences_.begin(), audiences_.end(), [&](const ModelDefinition& a) {
      return !a.deleted && Dependencies(*a.def.condition).traits.count(name) > 0;
    });
  }

  void AddAudience() {
    Condition c = w_.MakeCondition(Readable(audiences_.size()));
    auto d = h_.catalog().Create(DefinitionKind::kAudience,
                                 {"seg_" + std::to_string(audiences_.size()), {}, c, {}},
                                 h_.clock().NowMs());
    ASSERT_TRUE(d.ok()) << d.status().ToString() << "\n" << ToText(c);
    audiences_.push_back({*d});
  }

  void AddComputed() {
    Aggregate a = w_.MakeAggregate();
    auto d = h_.catalog().Create(DefinitionKind::kComputedTrait, {w_.NewComputedName(), {}, {}, a},
                                 h_.clock().NowMs());
    ASSERT_TRUE(d.ok()) << d.status().ToString() << "\n" << ToText(a);
    computed_.push_back({*d});
  }

  void ChangeDefinitions() {
    if (Chance(60)) AddAudience();
    if (Chance(40)) AddComputed();
    if (Chance(30)) {
      size_t k = Uniform(audiences_.size());
      if (!audiences_[k].deleted) {
        Condition c = w_.MakeCondition(Readable(k));
        auto d = h_.catalog().Update(audiences_[k].def.id, {{}, {}, c, {}}, h_.clock().NowMs());
        ASSERT_TRUE(d.ok()) << d.status().ToString();
        audiences_[k].def = *d;
      }
    }
    if (Chance(25)) {
      size_t k = Uniform(computed_.size());
      if (!computed_[k].deleted) {
        // A new aggregate, or a new name (the trait it writes): refused while a trait of the
        // old name is read.
        DefinitionInput change;
        const bool rename = Chance(25);
        if (rename) {
          change.name = w_.NewComputedName();
        } else {
          change.aggregate = w_.MakeAggregate();
        }
        auto d = h_.catalog().Update(computed_[k].def.id, change, h_.clock().NowMs());
        if (rename && TraitRead(computed_[k].def.name)) {
          ASSERT_EQ(d.status().code(), StatusCode::kConflict) << d.status().ToString();
          ++refused_;
        } else {
          ASSERT_TRUE(d.ok()) << d.status().ToString();
          computed_[k].def = *d;
          renamed_ += rename ? 1 : 0;
        }
      }
    }
    if (Chance(15)) {
      // Refused (Conflict) while another audience reads it: then it stays.
      ModelDefinition& d = audiences_[Uniform(audiences_.size())];
      if (!d.deleted) {
        Status s = h_.catalog().Delete(d.def.id);
        if (AudienceRead(d.def)) {
          ASSERT_EQ(s.code(), StatusCode::kConflict) << s.ToString();
          ++refused_;
        } else {
          ASSERT_TRUE(s.ok()) << s.ToString();
          d.deleted = true;
          ++deleted_;
        }
      }
    }
    if (Chance(15)) {
      // Refused (Conflict) while an audience reads a trait of its name.
      ModelDefinition& d = computed_[Uniform(computed_.size())];
      if (!d.deleted) {
        Status s = h_.catalog().Delete(d.def.id);
        if (TraitRead(d.def.name)) {
          ASSERT_EQ(s.code(), StatusCode::kConflict) << s.ToString();
          ++refused_;
        } else {
          ASSERT_TRUE(s.ok()) << s.ToString();
          d.deleted = true;
          ++deleted_;
        }
      }
    }
  }

  // ---- The reference ----

  SystemEvents ReadSystemEvents() {
    SystemEvents out;
    for (const Event& e : h_.OwnEventsOnTimelines()) {
      json j = json::parse(e.json);
      std::string pid = j["context"]["tessera_id"].get<std::string>();
      out.last[{pid, j["properties"]["audience_id"].get<std::string>()}] = e.event;
      out.by_profile[pid].push_back({e.event, "other", e.source_id, e.timestamp, j["properties"]});
    }
    return out;
  }

  Expected Evaluate(const ModelProfile& p, const std::vector<EventView>& system, TimeMs now) {
    Expected e;
    for (const auto& [key, value] : p.traits) e.view.traits[key] = value.second;
    for (const auto& [purpose, value] : p.consent) e.view.consent[purpose] = value.second;
    e.view.identifiers = p.identifiers;
    // As the engine lists them: in timeline order, newest first, and of equal times the later
    // appended first. `sum` and `avg` add in this order, and floating-point addition is not
    // associative. (Ties between a sent and an engine event may be out of order: the engine's
    // events hold no property a generated aggregate reads.)
    e.view.events.assign(p.events.rbegin(), p.events.rend());
    e.view.events.insert(e.view.events.end(), system.rbegin(), system.rend());
    std::stable_sort(
        e.view.events.begin(), e.view.events.end(),
        [](const EventView& a, const EventView& b) { return a.timestamp > b.timestamp; });
    for (const ModelDefinition& c : computed_) {
      std::optional<json> value;
      if (!c.deleted) value = EvaluateAggregateReference(*c.def.aggregate, e.view, now);
      e.values.push_back(std::move(value));
    }
    for (size_t k = 0; k < computed_.size(); ++k) {
      if (e.values[k]) {
        e.view.traits[computed_[k].def.name] = *e.values[k];
      } else {
        e.view.traits.erase(computed_[k].def.name);
      }
    }
    for (const ModelDefinition& a : audiences_) {
      if (!a.deleted &&
          EvaluateReference(*a.def.condition, e.view, now, StaticMembership(e.members))) {
        e.members.insert(a.def.name);
      }
    }
    return e;
  }

  // time_only: nothing but the clock changed since the last check; answers that change then
  // are the timers' work, and are counted.
  void Check(const std::string& when, bool time_only = false) {
    if (Stopped()) return;
    const TimeMs now = h_.clock().NowMs();
    SystemEvents system = ReadSystemEvents();
    std::vector<std::set<std::string>> members;
    for (const ModelDefinition& a : audiences_) members.push_back(h_.Members(a.def.id));
    auto report = [&](const std::string& what, const ModelProfile& p, const std::string& pid,
                      const std::string& expected, const std::string& actual, const Expected& e) {
      if (Stopped()) return;
      ++reports_;
      std::string in, values;
      for (const std::string& name : e.members) in += " \"" + name + "\"";
      for (size_t k = 0; k < computed_.size(); ++k) {
        const Definition& d = computed_[k].def;
        values += "\n  " + d.name + (computed_[k].deleted ? " (deleted)" : "") + " = " +
                  Show(e.values[k]) + " (engine: " + Show(h_.Value(pid, d.id)) +
                  "): " + ToText(*d.aggregate);
      }
      ADD_FAILURE() << "seed " << seed_ << ", " << when << ", now " << FormatIso8601(now) << "\n"
                    << what << "\nprofile " << p.user << " (" << pid << ")\nexpected: " << expected
                    << "\nengine:   " << actual << "\nreference memberships:" << in
                    << "\ncomputed traits:" << values
                    << "\nthe profile as the reference sees it: " << Describe(e.view);
    };
    auto remember = [&](const std::string& pid, const std::string& def_id, std::string answer) {
      std::string& before = previous_[{pid, def_id}];
      if (time_only && before != answer) ++time_changes_;
      before = std::move(answer);
    };
    for (const ModelProfile& p : profiles_) {
      std::string pid = h_.ProfileOf({"user_id", p.user});
      if (!p.seen) {
        EXPECT_EQ(pid, "") << p.user << " has a profile before any of its events";
        continue;
      }
      ASSERT_NE(pid, "") << "seed " << seed_ << ": no profile for " << p.user;
      Expected e = Evaluate(p, system.by_profile[pid], now);
      for (size_t k = 0; k < computed_.size(); ++k) {
        const Definition& d = computed_[k].def;
        std::optional<json> actual = h_.Value(pid, d.id);
        ++checks_;
        values_ += actual ? 1 : 0;
        remember(pid, d.id, Show(e.values[k]));
        if (actual != e.values[k]) {
          report("computed trait " + d.name + " (" + d.id + " v" + std::to_string(d.version) +
                     (computed_[k].deleted ? ", deleted" : "") + "): " + ToText(*d.aggregate),
                 p, pid, Show(e.values[k]), Show(actual), e);
        }
      }
      for (size_t k = 0; k < audiences_.size(); ++k) {
        const Definition& d = audiences_[k].def;
        bool expected = e.members.count(d.name) > 0;
        bool actual = members[k].count(pid) > 0;
        ++checks_;
        members_ += actual ? 1 : 0;
        remember(pid, d.id, expected ? "in" : "out");
        auto last = system.last.find({pid, d.id});
        bool logged = last != system.last.end() && last->second == "Audience Entered";
        std::string what = "audience \"" + d.name + "\" (" + d.id + " v" +
                           std::to_string(d.version) + (audiences_[k].deleted ? ", deleted" : "") +
                           "): " + ToText(*d.condition);
        if (actual != expected) {
          report(what, p, pid, expected ? "member" : "not a member",
                 actual ? "member" : "not a member", e);
        } else if (logged != actual) {
          report(what + "\n(the last Audience Entered/Exited event on its timeline disagrees)", p, pid,
                 actual ? "Audience Entered" : "Audience Exited or none",
                 last == system.last.end() ? "none" : last->second, e);
        }
      }
    }
  }

  // The next instant to move the clock to: a plain step, or exactly onto (or just before) an
  // instant where a reference answer changes (an audience's NextChange, a computed value's
  // NextValueChange) for a few sampled profiles.
  TimeMs NextInstant() {
    const TimeMs now = h_.clock().NowMs();
    switch (Uniform(8)) {
      case 0:
      case 1:
        return now + (1 + Uniform(59)) * kMinute;
      case 2:
        return now + (1 + Uniform(23)) * kHour;
      case 3:
        return now + (1 + Uniform(3)) * kDay;
      case 4:
        return now + (7 + Uniform(30)) * kDay;
      default:
        break;
    }
    std::optional<TimeMs> best;
    auto consider = [&](TimeMs t) {
      if (t > now && (!best || t < *best)) best = t;
    };
    SystemEvents system = ReadSystemEvents();
    for (int sample = 0; sample < 6; ++sample) {
      const ModelProfile& p = profiles_[Uniform(profiles_.size())];
      if (!p.seen) continue;
      std::string pid = h_.ProfileOf({"user_id", p.user});
      Expected e = Evaluate(p, system.by_profile[pid], now);
      const ModelDefinition& a = audiences_[Uniform(audiences_.size())];
      if (!a.deleted) {
        auto t = NextChange(*a.def.condition, e.view, now, StaticMembership(e.members));
        if (t) consider(*t);
      }
      const ModelDefinition& c = computed_[Uniform(computed_.size())];
      if (!c.deleted) {
        auto t = NextValueChange(*c.def.aggregate, e.view, now, now + 30 * kDay);
        if (t) consider(*t);
      }
    }
    if (!best || *best > now + 30 * kDay) return now + (1 + Uniform(12)) * kHour;
    return Chance(25) && *best - 1 > now ? *best - 1 : *best;
  }

  const uint64_t seed_;
  EngineHarness h_;
  EngineWorkload w_;
  std::vector<ModelProfile> profiles_;
  std::vector<ModelDefinition> audiences_;  // by creation, a dependency order
  std::vector<ModelDefinition> computed_;   // by creation
  int reports_ = 0;
  // How much the comparisons covered.
  int checks_ = 0, members_ = 0, values_ = 0, time_changes_ = 0;
  int deleted_ = 0, renamed_ = 0, refused_ = 0;  // deletions and renames done, and refused
  std::map<std::pair<std::string, std::string>, std::string> previous_;  // (profile, def)
};

TEST(EngineRandomTest, LiveAndBackfilledStateMatchesTheReference) {
  uint64_t base = std::random_device()();
  int seeds = kSeeds;
  if (const char* s = std::getenv("TESSERA_AUDIENCE_SEED"); s != nullptr && *s != '\0') {
    base = std::strtoull(s, nullptr, 10);
    seeds = 1;
  }
  std::printf("engine random seeds: %llu..%llu (rerun one with TESSERA_AUDIENCE_SEED)\n",
              static_cast<unsigned long long>(base),
              static_cast<unsigned long long>(base + seeds - 1));
  for (int k = 0; k < seeds && !HasFailure(); ++k) {
    const uint64_t seed = base + k;
    SCOPED_TRACE("TESSERA_AUDIENCE_SEED=" + std::to_string(seed));
    // Small batches and slices interleave live events, timers and backfill within a Settle().
    EngineOptions options;
    static const size_t kBatches[] = {1, 7, 2000};
    static const size_t kSlices[] = {3, 500};
    options.max_batch_events = kBatches[seed % 3];
    options.backfill_slice = kSlices[(seed / 3) % 2];
    static const size_t kThreads[] = {2, 1, 3};
    options.eval_threads = kThreads[(seed / 2) % 3];
    RandomRun(seed, options).Run();
  }
}

}  // namespace
}  // namespace tessera::audience
