// The reference evaluator. Deliberately simple: every node scans the whole history.
#include "audience/reference.h"

#include <algorithm>
#include <cmath>

#include "audience/internal.h"

namespace tessera::audience {
namespace {

using nlohmann::json;

TimeMs AddSat(TimeMs a, int64_t b) {
  TimeMs out;
  if (__builtin_add_overflow(a, b, &out)) return b > 0 ? INT64_MAX : INT64_MIN;
  return out;
}

// The value at path, or nullptr when missing or JSON null.
const json* Lookup(const json& root, const Path& path) {
  const json* cur = &root;
  for (const std::string& segment : path) {
    if (!cur->is_object()) return nullptr;
    auto it = cur->find(segment);
    if (it == cur->end()) return nullptr;
    cur = &*it;
  }
  return cur->is_null() ? nullptr : cur;
}

std::optional<double> AsNumber(const json& v) {
  if (!v.is_number()) return std::nullopt;
  double d = v.get<double>();
  if (std::isnan(d)) return std::nullopt;
  return d;
}

// Typed equality: nullopt when v is not of the operand's type (a type mismatch).
std::optional<bool> Equal(const json& v, const Scalar& operand) {
  if (auto* s = std::get_if<std::string>(&operand)) {
    if (!v.is_string()) return std::nullopt;
    return v.get_ref<const std::string&>() == *s;
  }
  if (auto* d = std::get_if<double>(&operand)) {
    std::optional<double> n = AsNumber(v);
    if (!n) return std::nullopt;
    return *n == *d;
  }
  if (auto* b = std::get_if<bool>(&operand)) {
    if (!v.is_boolean()) return std::nullopt;
    return v.get<bool>() == *b;
  }
  std::optional<TimeMs> t = internal::JsonAsTime(v);
  if (!t) return std::nullopt;
  return *t == std::get<Date>(operand).ms;
}

// Ordering of v against a number or date operand: <0, 0, >0; nullopt on a type mismatch.
std::optional<int> Compare(const json& v, const Scalar& operand) {
  if (auto* d = std::get_if<double>(&operand)) {
    std::optional<double> n = AsNumber(v);
    if (!n) return std::nullopt;
    return *n < *d ? -1 : *n > *d ? 1 : 0;
  }
  if (auto* date = std::get_if<Date>(&operand)) {
    std::optional<TimeMs> t = internal::JsonAsTime(v);
    if (!t) return std::nullopt;
    return *t < date->ms ? -1 : *t > date->ms ? 1 : 0;
  }
  return std::nullopt;
}

bool ApplyTest(const ValueTest& t, const json* v, TimeMs now) {
  if (t.op == Op::kExists) return v != nullptr;
  if (t.op == Op::kMissing) return v == nullptr;
  if (v == nullptr) return false;
  auto cmp = [&](size_t i) { return Compare(*v, t.values[i]); };
  switch (t.op) {
    case Op::kEq:
      return Equal(*v, t.values[0]) == std::optional<bool>(true);
    case Op::kNe:
      return Equal(*v, t.values[0]) == std::optional<bool>(false);
    case Op::kLt:
      return cmp(0) && *cmp(0) < 0;
    case Op::kLe:
      return cmp(0) && *cmp(0) <= 0;
    case Op::kGt:
      return cmp(0) && *cmp(0) > 0;
    case Op::kGe:
      return cmp(0) && *cmp(0) >= 0;
    case Op::kBetween:
      return cmp(0) && cmp(1) && *cmp(0) >= 0 && *cmp(1) <= 0;
    case Op::kIn:
      return std::any_of(t.values.begin(), t.values.end(), [v](const Scalar& s) {
        return Equal(*v, s) == std::optional<bool>(true);
      });
    case Op::kNotIn:
      return std::all_of(t.values.begin(), t.values.end(), [v](const Scalar& s) {
        return Equal(*v, s) == std::optional<bool>(false);
      });
    case Op::kContains: {
      if (v->is_array()) {
        return std::any_of(v->begin(), v->end(), [&t](const json& e) {
          return Equal(e, t.values[0]) == std::optional<bool>(true);
        });
      }
      const auto* s = std::get_if<std::string>(&t.values[0]);
      return s && v->is_string() && v->get_ref<const std::string&>().find(*s) != std::string::npos;
    }
    case Op::kStartsWith:
    case Op::kEndsWith: {
      if (!v->is_string()) return false;
      const std::string& text = v->get_ref<const std::string&>();
      const std::string& part = std::get<std::string>(t.values[0]);
      if (part.size() > text.size()) return false;
      return t.op == Op::kStartsWith
                 ? text.compare(0, part.size(), part) == 0
                 : text.compare(text.size() - part.size(), part.size(), part) == 0;
    }
    case Op::kWithinLast: {
      std::optional<TimeMs> ts = internal::JsonAsTime(*v);
      return ts && *ts > AddSat(now, -t.duration->Ms()) && *ts <= now;
    }
    case Op::kMoreThanAgo: {
      std::optional<TimeMs> ts = internal::JsonAsTime(*v);
      return ts && *ts <= AddSat(now, -t.duration->Ms());
    }
    default:
      return false;
  }
}

// A key equal for equal values, 1 and 1.0 included: numbers become doubles before dumping.
json Normalised(const json& v) {
  if (v.is_number()) return json(v.get<double>());
  if (v.is_array()) {
    json out = json::array();
    for (const json& e : v) out.push_back(Normalised(e));
    return out;
  }
  if (v.is_object()) {
    json out = json::object();
    for (const auto& item : v.items()) out[item.key()] = Normalised(item.value());
    return out;
  }
  return v;
}

std::string ValueKey(const json& v) {
  return Normalised(v).dump(-1, ' ', false, json::error_handler_t::replace);
}

class Evaluator {
 public:
  Evaluator(const ProfileView& p, TimeMs now, const AudienceMembership& m)
      : p_(p), events_(p), now_(now), membership_(m) {}

  bool Eval(const Condition& c, const EventView* event) {
    return std::visit([&](const auto& n) { return Node(n, event); }, c.node);
  }

  std::optional<json> Aggregate(const audience::Aggregate& a) {
    std::vector<const EventView*> events;
    for (const EventView& e : events_) {
      if (Matches(a.events, e) && InWindow(a.window, e.timestamp)) events.push_back(&e);
    }
    if (a.fn == AggregateFn::kCount) return json(static_cast<int64_t>(events.size()));
    if (a.fn == AggregateFn::kFirstTime || a.fn == AggregateFn::kLastTime) {
      if (events.empty()) return std::nullopt;
      auto [lo, hi] = std::minmax_element(events.begin(), events.end(), [](auto* x, auto* y) {
        return x->timestamp < y->timestamp;
      });
      return json((a.fn == AggregateFn::kFirstTime ? *lo : *hi)->timestamp);
    }
    struct Seen {
      TimeMs at;
      const json* value;
    };
    std::vector<Seen> values;
    std::vector<double> numbers;
    for (const EventView* e : events) {
      if (const json* v = Lookup(e->properties, a.property)) {
        values.push_back({e->timestamp, v});
        if (std::optional<double> n = AsNumber(*v)) numbers.push_back(*n);
      }
    }
    double sum = 0;
    for (double n : numbers) sum += n;
    // A sum that overflows (or any non-finite result) has no value: JSON has no infinity.
    auto finite = [](double x) -> std::optional<json> {
      if (!std::isfinite(x)) return std::nullopt;
      return json(x);
    };
    switch (a.fn) {
      case AggregateFn::kSum:
        return finite(sum);
      case AggregateFn::kAvg:
        if (numbers.empty()) return std::nullopt;
        return finite(sum / static_cast<double>(numbers.size()));
      case AggregateFn::kMin:
      case AggregateFn::kMax:
        if (numbers.empty()) return std::nullopt;
        return finite(a.fn == AggregateFn::kMin
                          ? *std::min_element(numbers.begin(), numbers.end())
                          : *std::max_element(numbers.begin(), numbers.end()));
      case AggregateFn::kFirst:
      case AggregateFn::kLast: {
        // Earliest (latest) event; equal timestamps: the smallest (largest) value key.
        const Seen* best = nullptr;
        bool first = a.fn == AggregateFn::kFirst;
        for (const Seen& s : values) {
          if (best == nullptr) {
            best = &s;
            continue;
          }
          bool earlier =
              s.at < best->at || (s.at == best->at && ValueKey(*s.value) < ValueKey(*best->value));
          bool later =
              s.at > best->at || (s.at == best->at && ValueKey(*s.value) > ValueKey(*best->value));
          if (first ? earlier : later) best = &s;
        }
        if (best == nullptr) return std::nullopt;
        return *best->value;
      }
      case AggregateFn::kMostFrequent: {
        // Most events; ties: the value seen most recently; then the smallest value key.
        struct Tally {
          int64_t count = 0;
          TimeMs latest = INT64_MIN;
          const json* value = nullptr;
        };
        std::map<std::string, Tally> tallies;
        for (const Seen& s : values) {
          Tally& t = tallies[ValueKey(*s.value)];
          ++t.count;
          t.latest = std::max(t.latest, s.at);
          t.value = s.value;
        }
        const Tally* best = nullptr;
        for (const auto& [key, t] : tallies) {  // keys ascending: the first of equals wins
          if (best == nullptr || t.count > best->count ||
              (t.count == best->count && t.latest > best->latest)) {
            best = &t;
          }
        }
        if (best == nullptr) return std::nullopt;
        return *best->value;
      }
      case AggregateFn::kDistinctCount: {
        std::set<std::string> keys;
        for (const Seen& s : values) keys.insert(ValueKey(*s.value));
        return json(static_cast<int64_t>(keys.size()));
      }
      default:
        return std::nullopt;
    }
  }

 private:
  bool InWindow(const std::optional<Duration>& window, TimeMs t) const {
    return !window || (t > AddSat(now_, -window->Ms()) && t <= now_);
  }

  bool Matches(const EventFilter& f, const EventView& e) {
    return SelectsNameAndSource(f, e.name, e.source) &&
           (!f.touchpoint || *f.touchpoint == e.touchpoint) && (!f.where || Eval(**f.where, &e));
  }

  // Backtracking over distinct events: step k at or after step k-1, within of the first.
  bool SequenceFrom(const SequenceCondition& s, size_t k, TimeMs start, TimeMs prev,
                    std::vector<char>* used) {
    if (k == s.steps.size()) return true;
    for (size_t i = 0; i < events_.size(); ++i) {
      const EventView& e = events_[i];
      if ((*used)[i] || e.timestamp < prev || !InWindow(s.window, e.timestamp)) continue;
      if (k > 0 && e.timestamp > AddSat(start, s.within.Ms())) continue;
      if (!Matches(s.steps[k], e)) continue;
      (*used)[i] = 1;
      if (SequenceFrom(s, k + 1, k == 0 ? e.timestamp : start, e.timestamp, used)) return true;
      (*used)[i] = 0;
    }
    return false;
  }

  bool Node(const TraitCondition& n, const EventView*) {
    return ApplyTest(n.test, Lookup(p_.traits, n.trait), now_);
  }
  bool Node(const PropertyCondition& n, const EventView* event) {
    return event != nullptr && ApplyTest(n.test, Lookup(event->properties, n.property), now_);
  }
  bool Node(const AggregateCondition& n, const EventView*) {
    std::optional<json> value = Aggregate(n.aggregate);
    return ApplyTest(n.test, value ? &*value : nullptr, now_);
  }
  bool Node(const SequenceCondition& n, const EventView*) {
    std::vector<char> used(events_.size(), 0);
    return SequenceFrom(n, 0, 0, INT64_MIN, &used);
  }
  bool Node(const NotFollowedByCondition& n, const EventView*) {
    for (size_t i = 0; i < events_.size(); ++i) {
      const EventView& a = events_[i];
      if (!Matches(n.first, a) || !InWindow(n.window, a.timestamp)) continue;
      TimeMs deadline = AddSat(a.timestamp, n.within.Ms());
      if (deadline > now_) continue;  // the customer qualifies only once `within` has passed
      bool followed = false;
      for (size_t j = 0; j < events_.size() && !followed; ++j) {
        const EventView& b = events_[j];
        followed =
            j != i && b.timestamp >= a.timestamp && b.timestamp <= deadline && Matches(n.absent, b);
      }
      if (!followed) return true;
    }
    return false;
  }
  bool Node(const AudienceCondition& n, const EventView*) {
    return membership_.IsMember(n.audience);
  }
  bool Node(const IdentifierCondition& n, const EventView*) {
    std::set<std::string> values;
    for (const Identifier& id : p_.identifiers) {
      if (id.kind == n.kind) values.insert(id.value);
    }
    json count(static_cast<int64_t>(values.size()));
    return ApplyTest(n.test, &count, now_);
  }
  bool Node(const ConsentCondition& n, const EventView*) {
    auto it = p_.consent.find(n.purpose);
    return it != p_.consent.end() && it->second;
  }
  bool Node(const AndCondition& n, const EventView* event) {
    return std::all_of(n.children.begin(), n.children.end(),
                       [&](const Condition& c) { return Eval(c, event); });
  }
  bool Node(const OrCondition& n, const EventView* event) {
    return std::any_of(n.children.begin(), n.children.end(),
                       [&](const Condition& c) { return Eval(c, event); });
  }
  bool Node(const NotCondition& n, const EventView* event) { return !Eval(*n.child, event); }

  const ProfileView& p_;
  const EventsOf events_;
  const TimeMs now_;
  const AudienceMembership& membership_;
};

}  // namespace

namespace internal {

std::optional<TimeMs> JsonAsTime(const nlohmann::json& v) {
  if (v.is_string()) return ParseIso8601(v.get_ref<const std::string&>());
  if (v.is_number_unsigned()) {
    auto u = v.get<uint64_t>();
    if (u > static_cast<uint64_t>(INT64_MAX)) return std::nullopt;
    return static_cast<TimeMs>(u);
  }
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_number_float()) {
    double d = v.get<double>();
    if (!std::isfinite(d) || std::fabs(d) >= 9.2e18) return std::nullopt;
    return static_cast<TimeMs>(std::trunc(d));
  }
  return std::nullopt;
}

}  // namespace internal

bool EvaluateReference(const Condition& condition, const ProfileView& profile, TimeMs now,
                       const AudienceMembership& membership) {
  return Evaluator(profile, now, membership).Eval(condition, nullptr);
}

std::optional<nlohmann::json> EvaluateAggregateReference(const Aggregate& aggregate,
                                                         const ProfileView& profile, TimeMs now) {
  StaticMembership none;
  return Evaluator(profile, now, none).Aggregate(aggregate);
}

}  // namespace tessera::audience
