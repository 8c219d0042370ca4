// ValueTest helpers for the audience component: a seeded generator of random valid condition trees
// (awkward strings, extreme numbers, every node kind) and small profile builders.
#pragma once

#include <cmath>
#include <cstring>
#include <random>

#include "audience/condition.h"
#include "audience/internal.h"
#include "audience/reference.h"

namespace tessera::audience::testutil {

class RandomConditions {
 public:
  explicit RandomConditions(uint64_t seed) : rng_(seed) {}

  // A valid tree at most `height` levels high, of at most about kBudget conditions.
  Condition Make(int height) {
    budget_ = kBudget;
    return Node(height);
  }

  Aggregate MakeAggregate(int height) {
    budget_ = kBudget;
    Aggregate a;
    a.fn = static_cast<AggregateFn>(Uniform(11));
    if (AggregateTakesProperty(a.fn)) a.property = MakePath();
    a.events = Filter(height);
    if (Chance(60)) a.window = MakeDuration();
    return a;
  }

  uint64_t Next() { return rng_(); }

  // Draws names from the first n of the pool only: more matches between conditions and profiles.
  void SetNamePool(int n) { name_pool_ = n; }

  // A profile whose names, paths and values overlap the conditions' pools, with times within
  // about 100 days of now (dates as ISO strings or epoch ms), so random conditions often match.
  ProfileView MakeProfile(TimeMs now) {
    ProfileView p;
    for (int i = 0, n = Uniform(6); i < n; ++i) Set(&p.traits, MakePath(), JsonValue(now));
    static const char* kKinds[] = {"email", "device_id", "loyalty_id", "any", "count"};
    for (int i = 0, n = Uniform(5); i < n; ++i) {
      p.identifiers.push_back({kKinds[Uniform(5)], std::to_string(Uniform(3))});
    }
    for (int i = 0, n = Uniform(3); i < n; ++i) p.consent[Name()] = Chance(50);
    for (int i = 0, n = Uniform(10); i < n; ++i) {
      EventView e;
      e.name = Name();
      e.touchpoint = std::string(kTouchpoints[Uniform(9)]);
      // Some of Tessera's own events, which `any event` skips.
      e.source = Chance(15) ? std::string(kSystemSource) : Name();
      e.timestamp = now + static_cast<TimeMs>(rng_() % (200 * kDayMs)) - 180 * kDayMs;
      for (int k = 0, m = Uniform(4); k < m; ++k) Set(&e.properties, MakePath(), JsonValue(now));
      p.events.push_back(std::move(e));
    }
    return p;
  }

 private:
  static constexpr int kBudget = 60;
  static constexpr TimeMs kDayMs = 86400000;

  nlohmann::json JsonValue(TimeMs now) {
    TimeMs t = now + static_cast<TimeMs>(rng_() % (200 * kDayMs)) - 150 * kDayMs;
    switch (Uniform(7)) {
      case 0:
        return Name();
      case 1:
        return Uniform(5);
      case 2:
        return Chance(50);
      case 3:
        return FormatIso8601(t);
      case 4:
        return t;
      case 5:
        return nlohmann::json::array({Name(), Uniform(3)});
      default:
        return Number();
    }
  }

  // Sets root[path] = value where the path runs through objects (or nothing) only.
  static void Set(nlohmann::json* root, const Path& path, nlohmann::json value) {
    nlohmann::json* cur = root;
    for (const std::string& segment : path) {
      if (!cur->is_object() && !cur->is_null()) return;
      cur = &(*cur)[segment];
    }
    *cur = std::move(value);
  }

  Condition Node(int height) {
    --budget_;
    if (height <= 1 || budget_ <= 0 || Chance(35)) return Leaf(height);
    switch (Uniform(3)) {
      case 0:
        return Condition{AndCondition{Children(height - 1, false)}};
      case 1:
        return Condition{OrCondition{Children(height - 1, false)}};
      default:
        return Condition{NotCondition{Node(height - 1)}};
    }
  }

  int Uniform(int n) { return static_cast<int>(rng_() % static_cast<uint64_t>(n)); }
  bool Chance(int percent) { return Uniform(100) < percent; }

  std::string Name() {
    static const char* kNames[] = {"pro",        "Order Completed",
                                   "a\"b",       "back\\slash",
                                   "new\nline",  "tab\there",
                                   "ünïcödé",    "emoji 😀",
                                   "\x01x",      "count",
                                   "not",        "and",
                                   "properties", "any",
                                   "x.y",        "high-value",
                                   "\x7f",       "é.è",
                                   "where",      "1st",
                                   "_under",     "CamelCase",
                                   "\\u0041",    "a b c"};
    return kNames[Uniform(std::min(name_pool_, static_cast<int>(std::size(kNames))))];
  }

  Path MakePath() {
    Path p;
    int n = 1 + Uniform(3);
    for (int i = 0; i < n; ++i) p.push_back(Name());
    return p;
  }

  double Number() {
    static const double kNumbers[] = {0,
                                      -0.0,
                                      1,
                                      -1,
                                      3.5,
                                      1e100,
                                      -2.5e-300,
                                      5e-324,
                                      1e21,
                                      0.1,
                                      100,
                                      1e9,
                                      2,
                                      123456789012345678.0,
                                      9007199254740993.0,
                                      -1e308,
                                      1.7976931348623157e308};
    if (Chance(20)) {
      uint64_t bits = rng_();
      double d;
      std::memcpy(&d, &bits, sizeof d);
      if (std::isfinite(d)) return d;
    }
    return kNumbers[Uniform(static_cast<int>(std::size(kNumbers)))];
  }

  Date MakeDate() {
    static const TimeMs kDates[] = {
        0, 1714521600000, 1714557600123, -62167219200000, 253402300799999, -86400000};
    if (Chance(50)) return Date{kDates[Uniform(static_cast<int>(std::size(kDates)))]};
    return Date{static_cast<TimeMs>(rng_() % 4102444800000ULL)};
  }

  Scalar Value(int type) {  // 0 string, 1 number, 2 bool, 3 date
    switch (type) {
      case 0:
        return Chance(10) ? std::string() : Name();
      case 1:
        return Number();
      case 2:
        return Chance(50);
      default:
        return MakeDate();
    }
  }

  Duration MakeDuration() {
    Duration d;
    d.unit = static_cast<TimeUnit>(Uniform(5));
    static const int64_t kMaxCount[] = {kMaxDurationMs / 1000, kMaxDurationMs / 60000,
                                        kMaxDurationMs / 3600000, 36500, 36500 / 7};
    d.count = Chance(70) ? 1 + Uniform(90)
                         : 1 + static_cast<int64_t>(rng_() % kMaxCount[static_cast<int>(d.unit)]);
    return d;
  }

  ValueTest MakeTest(internal::ValueKind kind) {
    using internal::ValueKind;
    ValueTest t;
    for (;;) {
      t.op = static_cast<Op>(Uniform(16));
      bool string_op = t.op == Op::kContains || t.op == Op::kStartsWith || t.op == Op::kEndsWith;
      bool recency = t.op == Op::kWithinLast || t.op == Op::kMoreThanAgo;
      if (kind == ValueKind::kNumber && (string_op || recency)) continue;
      if (kind == ValueKind::kTime && string_op) continue;
      break;
    }
    int type = kind == ValueKind::kNumber ? 1 : kind == ValueKind::kTime ? 3 : Uniform(4);
    switch (t.op) {
      case Op::kLt:
      case Op::kLe:
      case Op::kGt:
      case Op::kGe:
      case Op::kBetween:
        if (kind == ValueKind::kAny) type = Chance(50) ? 1 : 3;
        t.values.push_back(Value(type));
        if (t.op == Op::kBetween) t.values.push_back(Value(type));
        break;
      case Op::kIn:
      case Op::kNotIn:
        for (int i = 0, n = 1 + Uniform(4); i < n; ++i) t.values.push_back(Value(type));
        break;
      case Op::kStartsWith:
      case Op::kEndsWith:
        t.values.push_back(Value(0));
        break;
      case Op::kExists:
      case Op::kMissing:
        break;
      case Op::kWithinLast:
      case Op::kMoreThanAgo:
        t.duration = MakeDuration();
        break;
      default:
        t.values.push_back(Value(type));
    }
    return t;
  }

  Condition Where(int height) {
    --budget_;
    if (height <= 1 || budget_ <= 0 || Chance(50))
      return Condition{PropertyCondition{MakePath(), MakeTest(internal::ValueKind::kAny)}};
    switch (Uniform(3)) {
      case 0:
        return Condition{AndCondition{Children(height - 1, true)}};
      case 1:
        return Condition{OrCondition{Children(height - 1, true)}};
      default:
        return Condition{NotCondition{Where(height - 1)}};
    }
  }

  std::vector<Condition> Children(int height, bool in_where) {
    std::vector<Condition> out;
    for (int i = 0, n = 2 + Uniform(3); i < n; ++i)
      out.push_back(in_where ? Where(height) : Node(height));
    return out;
  }

  EventFilter Filter(int height) {
    EventFilter f;
    if (Chance(80)) f.name = Name();
    if (Chance(30)) f.touchpoint = std::string(kTouchpoints[Uniform(9)]);
    if (Chance(20)) f.source = Chance(25) ? std::string(kSystemSource) : Name();
    if (height > 1 && Chance(30)) f.where = Where(height - 1);
    return f;
  }

  Condition Leaf(int height) {
    switch (Uniform(8)) {
      case 0:
        return Condition{TraitCondition{MakePath(), MakeTest(internal::ValueKind::kAny)}};
      case 1:
      case 2: {
        Aggregate a = MakeAggregate(height);
        ValueTest t = MakeTest(internal::ResultKind(a.fn));
        if (a.fn == AggregateFn::kCount && Chance(50)) {
          t = ValueTest{
              static_cast<Op>(Uniform(6)), {static_cast<double>(Uniform(5))}, std::nullopt};
          if (t.op == Op::kNe) t.op = Op::kGe;
        }
        return Condition{AggregateCondition{std::move(a), std::move(t)}};
      }
      case 3: {
        SequenceCondition s;
        for (int i = 0, n = 2 + Uniform(3); i < n; ++i) s.steps.push_back(Filter(height));
        s.within = MakeDuration();
        if (Chance(50)) s.window = MakeDuration();
        return Condition{std::move(s)};
      }
      case 4: {
        NotFollowedByCondition n{Filter(height), Filter(height), MakeDuration(), std::nullopt};
        if (Chance(50)) n.window = MakeDuration();
        return Condition{std::move(n)};
      }
      case 5:
        return Condition{AudienceCondition{Name()}};
      case 6: {
        static const char* kKinds[] = {"email", "device_id", "loyalty_id", "any", "count"};
        ValueTest t = Chance(40) ? ValueTest{Op::kGe, {1.0}, std::nullopt}
                                 : MakeTest(internal::ValueKind::kNumber);
        return Condition{IdentifierCondition{kKinds[Uniform(5)], std::move(t)}};
      }
      default:
        return Condition{ConsentCondition{Name()}};
    }
  }

  std::mt19937_64 rng_;
  int budget_ = kBudget;
  int name_pool_ = 1 << 30;
};

}  // namespace tessera::audience::testutil
