// The batch evaluator's tree: compilation, chunked bitset evaluation, threads (batch.h).
#include "audience/batch.h"

#include <algorithm>
#include <atomic>
#include <bit>
#include <map>
#include <set>
#include <thread>

#include "audience/batch_internal.h"

namespace tessera::audience {
namespace batch {

ColumnTest::ColumnTest(const ValueTest& test, const Column& column, TimeMs now)
    : test_(test, now),
      column_(column),
      memo_(std::make_unique<std::atomic<uint8_t>[]>(column.string_count())) {
  for (bool b : {false, true}) {
    ValueRef r;
    r.kind = ValueRef::Kind::kBool;
    r.boolean = b;
    bool_answers_[b] = test_.Apply(r);
  }
}

bool ColumnTest::Row(size_t row) const {
  const std::optional<Range<double>>& numbers = test_.number_range();
  const std::optional<Range<TimeMs>>& times = test_.time_range();
  switch (column_.type(row)) {
    case ValueType::kMissing:
      return test_.OnMissing();
    case ValueType::kInt:
      if (numbers) return numbers->Contains(static_cast<double>(column_.int_value(row)));
      if (times) return times->Contains(column_.int_value(row));
      break;
    case ValueType::kFloat:
      if (numbers) return numbers->Contains(column_.float_value(row));
      if (times) {
        std::optional<TimeMs> t = FloatAsTime(column_.float_value(row));
        return t && times->Contains(*t);
      }
      break;
    case ValueType::kString: {
      std::atomic<uint8_t>& memo = memo_[column_.string_code(row)];
      uint8_t answer = memo.load(std::memory_order_relaxed);
      if (answer == 0) {
        answer = Slow(row) ? 2 : 1;
        memo.store(answer, std::memory_order_relaxed);
      }
      return answer == 2;
    }
    case ValueType::kTime:
      if (times) return times->Contains(column_.time_value(row));
      if (numbers) return false;  // a string is no number
      break;
    case ValueType::kBool:
      return bool_answers_[column_.bool_value(row)];
    case ValueType::kJson:
      break;
  }
  return Slow(row);
}

bool ColumnTest::Slow(size_t row) const {
  std::string text;
  return test_.Apply(column_.Ref(row, test_.reads_strings(), &text));
}

namespace {

constexpr size_t kChunkWords = 128;  // 8192 profiles: a chunk's bitsets stay in L1
constexpr size_t kChunkRows = kChunkWords * 64;

using AudienceBits = std::map<std::string, const MembershipBits*, std::less<>>;

struct PlanNode {
  enum class Kind : uint8_t {
    kTrait,
    kAggregate,
    kSequence,
    kNotFollowedBy,
    kBits,  // audience membership or consent: a copy of given bits
    kIdentifier,
    kAnd,
    kOr,
    kNot,
  };
  Kind kind = Kind::kBits;
  int cost = 1;                    // rough work per profile, to run cheap children first
  std::vector<PlanNode> children;  // and/or (cheapest first), not (one)
  std::unique_ptr<ColumnTest> trait;
  std::unique_ptr<AggregateConditionPlan> aggregate;
  std::unique_ptr<SequencePlan> sequence;
  std::unique_ptr<NotFollowedByPlan> not_followed_by;
  const MembershipBits* bits = nullptr;           // kBits; nullptr: nobody
  const std::vector<uint32_t>* counts = nullptr;  // kIdentifier
  std::optional<CompiledTest> count_test;         // kIdentifier
};

void CollectAudiences(const Condition& c, std::set<std::string>* out) {
  if (const auto* a = std::get_if<AudienceCondition>(&c.node)) out->insert(a->audience);
  if (const auto* a = std::get_if<AndCondition>(&c.node)) {
    for (const Condition& child : a->children) CollectAudiences(child, out);
  }
  if (const auto* o = std::get_if<OrCondition>(&c.node)) {
    for (const Condition& child : o->children) CollectAudiences(child, out);
  }
  if (const auto* n = std::get_if<NotCondition>(&c.node)) CollectAudiences(*n->child, out);
}

int FilterCost(const EventFilter& f) { return f.name && !f.where ? 8 : 16; }

class Compiler {
 public:
  Compiler(const Population& population, TimeMs now, const AudienceBits& audiences)
      : population_(population), now_(now), audiences_(audiences) {}

  PlanNode Compile(const Condition& c) {
    return std::visit([this](const auto& n) { return Node(n); }, c.node);
  }

 private:
  static PlanNode Leaf(PlanNode::Kind kind, int cost) {
    PlanNode p;
    p.kind = kind;
    p.cost = cost;
    return p;
  }

  PlanNode Node(const TraitCondition& n) {
    PlanNode p = Leaf(PlanNode::Kind::kTrait, 1);
    p.trait = std::make_unique<ColumnTest>(n.test, *population_.trait(n.trait), now_);
    return p;
  }
  // Only valid inside a where clause; the reference answers false anywhere else.
  PlanNode Node(const PropertyCondition&) { return Leaf(PlanNode::Kind::kBits, 1); }
  PlanNode Node(const AggregateCondition& n) {
    PlanNode p = Leaf(PlanNode::Kind::kAggregate, FilterCost(n.aggregate.events));
    p.aggregate = std::make_unique<AggregateConditionPlan>();
    p.aggregate->aggregate = CompileAggregate(n.aggregate, population_, now_);
    p.aggregate->test.emplace(n.test, now_);
    AggregateFn fn = n.aggregate.fn;
    if (fn == AggregateFn::kFirst || fn == AggregateFn::kLast || fn == AggregateFn::kMostFrequent) {
      p.aggregate->row_test =
          std::make_unique<ColumnTest>(n.test, *p.aggregate->aggregate.property, now_);
    }
    return p;
  }
  PlanNode Node(const SequenceCondition& n) {
    PlanNode p = Leaf(PlanNode::Kind::kSequence, 0);
    p.sequence = std::make_unique<SequencePlan>();
    for (const EventFilter& step : n.steps) {
      p.sequence->steps.push_back(CompileFilter(step, population_, now_));
      p.cost += 2 * FilterCost(step);
    }
    p.sequence->within_ms = n.within.Ms();
    p.sequence->window = WindowRange(n.window, now_);
    return p;
  }
  PlanNode Node(const NotFollowedByCondition& n) {
    PlanNode p =
        Leaf(PlanNode::Kind::kNotFollowedBy, 2 * (FilterCost(n.first) + FilterCost(n.absent)));
    p.not_followed_by = std::make_unique<NotFollowedByPlan>();
    p.not_followed_by->first = CompileFilter(n.first, population_, now_);
    p.not_followed_by->absent = CompileFilter(n.absent, population_, now_);
    p.not_followed_by->within_ms = n.within.Ms();
    p.not_followed_by->window = WindowRange(n.window, now_);
    return p;
  }
  PlanNode Node(const AudienceCondition& n) {
    PlanNode p = Leaf(PlanNode::Kind::kBits, 1);
    p.bits = audiences_.at(n.audience);
    return p;
  }
  PlanNode Node(const IdentifierCondition& n) {
    PlanNode p = Leaf(PlanNode::Kind::kIdentifier, 1);
    p.counts = population_.identifier_counts(n.kind);
    p.count_test.emplace(n.test, now_);
    return p;
  }
  PlanNode Node(const ConsentCondition& n) {
    PlanNode p = Leaf(PlanNode::Kind::kBits, 1);
    p.bits = population_.consent(n.purpose);
    return p;
  }
  PlanNode Node(const AndCondition& n) { return Group(PlanNode::Kind::kAnd, n.children); }
  PlanNode Node(const OrCondition& n) { return Group(PlanNode::Kind::kOr, n.children); }
  PlanNode Node(const NotCondition& n) {
    PlanNode p = Leaf(PlanNode::Kind::kNot, 0);
    p.children.push_back(Compile(*n.child));
    p.cost = p.children[0].cost;
    return p;
  }

  // Children of and/or are pure, so any order gives the same answer: cheapest first.
  PlanNode Group(PlanNode::Kind kind, const std::vector<Condition>& children) {
    PlanNode p = Leaf(kind, 0);
    for (const Condition& c : children) {
      p.children.push_back(Compile(c));
      p.cost += p.children.back().cost;
    }
    std::stable_sort(p.children.begin(), p.children.end(),
                     [](const PlanNode& a, const PlanNode& b) { return a.cost < b.cost; });
    return p;
  }

  const Population& population_;
  const TimeMs now_;
  const AudienceBits& audiences_;
};

bool AllZero(const uint64_t* words, size_t n) {
  return std::all_of(words, words + n, [](uint64_t w) { return w == 0; });
}

// Evaluates plans over one chunk of profiles at a time. One per thread (it owns scratch).
class ChunkEvaluator {
 public:
  ChunkEvaluator(const Population& population, TimeMs now)
      : events_(population.events()), now_(now) {}

  // out = the node's answer for profiles 64 * first_word ..., only where mask is set (out is a
  // subset of mask). Uses scratch at levels >= depth.
  void Eval(const PlanNode& node, size_t first_word, size_t words, const uint64_t* mask,
            uint64_t* out, size_t depth) {
    switch (node.kind) {
      case PlanNode::Kind::kAnd: {
        std::copy(mask, mask + words, out);
        uint64_t* part = Scratch(depth);
        for (const PlanNode& child : node.children) {
          if (AllZero(out, words)) break;
          Eval(child, first_word, words, out, part, depth + 1);
          std::copy(part, part + words, out);
        }
        return;
      }
      case PlanNode::Kind::kOr: {
        uint64_t* rest = Scratch(depth);  // where no child has held yet
        uint64_t* part = rest + kChunkWords;
        std::copy(mask, mask + words, rest);
        std::fill(out, out + words, 0);
        for (const PlanNode& child : node.children) {
          if (AllZero(rest, words)) break;
          Eval(child, first_word, words, rest, part, depth + 1);
          for (size_t w = 0; w < words; ++w) {
            out[w] |= part[w];
            rest[w] &= ~part[w];
          }
        }
        return;
      }
      case PlanNode::Kind::kNot: {
        uint64_t* part = Scratch(depth);
        Eval(node.children[0], first_word, words, mask, part, depth + 1);
        for (size_t w = 0; w < words; ++w) out[w] = mask[w] & ~part[w];
        return;
      }
      case PlanNode::Kind::kBits:
        for (size_t w = 0; w < words; ++w) {
          out[w] = node.bits == nullptr ? 0 : mask[w] & node.bits->words()[first_word + w];
        }
        return;
      case PlanNode::Kind::kTrait:
        return PerProfile(first_word, words, mask, out,
                          [&](uint32_t i) { return node.trait->Row(i); });
      case PlanNode::Kind::kIdentifier:
        return PerProfile(first_word, words, mask, out, [&](uint32_t i) {
          uint32_t n = (*node.counts)[i];
          return TestNumber(*node.count_test, static_cast<double>(n), n);
        });
      case PlanNode::Kind::kAggregate:
        return PerProfile(first_word, words, mask, out, [&](uint32_t i) {
          const AggregateConditionPlan& a = *node.aggregate;
          return a.Test(ComputeAggregate(a.aggregate, events_, i, &scratch_events_));
        });
      case PlanNode::Kind::kSequence:
        return PerProfile(first_word, words, mask, out, [&](uint32_t i) {
          return MatchesSequence(*node.sequence, events_, i, &scratch_events_);
        });
      case PlanNode::Kind::kNotFollowedBy:
        return PerProfile(first_word, words, mask, out, [&](uint32_t i) {
          return MatchesNotFollowedBy(*node.not_followed_by, events_, i, now_, &scratch_events_);
        });
    }
  }

 private:
  // Two chunk-sized bitsets for one level of the tree.
  uint64_t* Scratch(size_t depth) {
    if (scratch_.size() <= depth) scratch_.resize(depth + 1);
    scratch_[depth].resize(2 * kChunkWords);
    return scratch_[depth].data();
  }

  template <typename F>
  static void PerProfile(size_t first_word, size_t words, const uint64_t* mask, uint64_t* out,
                         F&& f) {
    for (size_t w = 0; w < words; ++w) {
      uint64_t bits = 0;
      for (uint64_t m = mask[w]; m != 0; m &= m - 1) {
        int j = std::countr_zero(m);
        if (f(static_cast<uint32_t>((first_word + w) * 64 + static_cast<size_t>(j)))) {
          bits |= uint64_t{1} << j;
        }
      }
      out[w] = bits;
    }
  }

  const EventTable& events_;
  const TimeMs now_;
  std::vector<std::vector<uint64_t>> scratch_;  // moved on growth; the buffers stay put
  EventScratch scratch_events_;
};

// Runs body(state, task) for every task in 0..tasks-1 on up to `threads` threads (the caller's
// included), each thread with its own state from make_state().
template <typename MakeState, typename Body>
void ParallelFor(size_t tasks, int threads, MakeState make_state, Body body) {
  std::atomic<size_t> next{0};  // relaxed: tasks are independent, join() publishes results
  auto worker = [&] {
    auto state = make_state();
    for (size_t t; (t = next.fetch_add(1, std::memory_order_relaxed)) < tasks;) body(state, t);
  };
  size_t n = std::min(static_cast<size_t>(std::max(threads, 1)), std::max<size_t>(tasks, 1));
  std::vector<std::thread> pool;
  for (size_t i = 1; i < n; ++i) pool.emplace_back(worker);
  worker();
  for (std::thread& t : pool) t.join();
}

Status CheckProjection(const Population& population, const Projection& needs) {
  std::string missing = population.projection().Missing(needs);
  if (missing.empty()) return Status::Ok();
  return Status::InvalidArgument("the population does not hold " + missing +
                                 " (build it with the ProjectionFor of what is evaluated)");
}

}  // namespace

Result<MembershipBits> Evaluate(const Condition& condition, const Population& population,
                                TimeMs now, const BatchMembership& membership, int threads) {
  TESSERA_RETURN_IF_ERROR(CheckProjection(population, ProjectionFor({&condition}, {})));
  std::set<std::string> names;
  CollectAudiences(condition, &names);
  AudienceBits audiences;
  for (const std::string& name : names) {
    const MembershipBits* bits = membership ? membership(name) : nullptr;
    if (bits != nullptr && bits->size() != population.size()) {
      return Status::InvalidArgument("membership of audience \"" + name + "\" has " +
                                     std::to_string(bits->size()) + " bits for " +
                                     std::to_string(population.size()) + " profiles");
    }
    audiences[name] = bits;
  }
  const PlanNode plan = Compiler(population, now, audiences).Compile(condition);

  MembershipBits result(population.size());
  const size_t words = result.words().size();
  uint64_t* out = result.mutable_words().data();
  const size_t chunks = (words + kChunkWords - 1) / kChunkWords;
  ParallelFor(
      chunks, threads, [&] { return ChunkEvaluator(population, now); },
      [&](ChunkEvaluator& evaluator, size_t chunk) {
        size_t first = chunk * kChunkWords;
        size_t n = std::min(kChunkWords, words - first);
        uint64_t mask[kChunkWords];
        std::fill(mask, mask + n, ~uint64_t{0});
        if (first + n == words && population.size() % 64 != 0) {
          mask[n - 1] = (uint64_t{1} << (population.size() % 64)) - 1;  // no bits past the end
        }
        evaluator.Eval(plan, first, n, mask, out + first, 0);
      });
  return result;
}

Result<std::vector<std::optional<nlohmann::json>>> EvaluateAggregate(const Aggregate& aggregate,
                                                                     const Population& population,
                                                                     TimeMs now, int threads) {
  TESSERA_RETURN_IF_ERROR(CheckProjection(population, ProjectionFor({}, {&aggregate})));
  const AggregatePlan plan = CompileAggregate(aggregate, population, now);
  std::vector<std::optional<nlohmann::json>> out(population.size());
  const size_t tasks = (population.size() + kChunkRows - 1) / kChunkRows;
  ParallelFor(
      tasks, threads, [] { return EventScratch(); },
      [&](EventScratch& scratch, size_t task) {
        size_t end = std::min(population.size(), (task + 1) * kChunkRows);
        for (size_t i = task * kChunkRows; i < end; ++i) {
          auto profile = static_cast<uint32_t>(i);
          out[i] =
              AggregateJson(plan, ComputeAggregate(plan, population.events(), profile, &scratch));
        }
      });
  return out;
}

}  // namespace batch

Result<MembershipBits> EvaluateBatch(const Condition& condition, const Population& population,
                                     TimeMs now, const BatchMembership& membership, int threads) {
  return batch::Evaluate(condition, population, now, membership, threads);
}

Result<std::vector<std::optional<nlohmann::json>>> EvaluateAggregateBatch(
    const Aggregate& aggregate, const Population& population, TimeMs now, int threads) {
  return batch::EvaluateAggregate(aggregate, population, now, threads);
}

}  // namespace tessera::audience
