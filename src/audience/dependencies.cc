// Dependencies(): what a condition reads, for indexing audiences by what can change them.
#include "audience/condition.h"

namespace tessera::audience {
namespace {

bool IsRecency(const ValueTest& t) { return t.op == Op::kWithinLast || t.op == Op::kMoreThanAgo; }

class Collector {
 public:
  explicit Collector(ConditionDeps* deps) : deps_(deps) {}

  void Condition(const audience::Condition& c) {
    std::visit([this](const auto& n) { Node(n); }, c.node);
  }

  void Aggregate(const audience::Aggregate& a) {
    Filter(a.events);
    if (a.window) deps_->time_dependent = true;
  }

 private:
  void Filter(const EventFilter& f) {
    if (f.name) {
      deps_->events.insert(*f.name);
      if (*f.name == kAudienceEntered || *f.name == kAudienceExited) deps_->own_events = true;
    } else {
      deps_->any_event = true;
      if (f.source == kSystemSource) deps_->system_events = deps_->own_events = true;
    }
    if (f.where) Condition(**f.where);
  }
  void ReadTest(const audience::ValueTest& t) { deps_->time_dependent |= IsRecency(t); }

  void Node(const TraitCondition& n) {
    if (!n.trait.empty()) deps_->traits.insert(n.trait.front());
    ReadTest(n.test);
  }
  void Node(const PropertyCondition& n) { ReadTest(n.test); }
  void Node(const AggregateCondition& n) {
    Aggregate(n.aggregate);
    ReadTest(n.test);
  }
  void Node(const SequenceCondition& n) {
    for (const EventFilter& step : n.steps) Filter(step);
    if (n.window) deps_->time_dependent = true;
  }
  void Node(const NotFollowedByCondition& n) {
    Filter(n.first);
    Filter(n.absent);
    deps_->time_dependent = true;  // the `within` deadline passes with time
  }
  void Node(const AudienceCondition& n) { deps_->audiences.insert(n.audience); }
  void Node(const IdentifierCondition& n) { deps_->identifier_kinds.insert(n.kind); }
  void Node(const ConsentCondition& n) { deps_->consent_purposes.insert(n.purpose); }
  void Node(const AndCondition& n) {
    for (const audience::Condition& c : n.children) Condition(c);
  }
  void Node(const OrCondition& n) {
    for (const audience::Condition& c : n.children) Condition(c);
  }
  void Node(const NotCondition& n) { Condition(*n.child); }

  ConditionDeps* deps_;
};

}  // namespace

ConditionDeps Dependencies(const Condition& condition) {
  ConditionDeps deps;
  Collector(&deps).Condition(condition);
  return deps;
}

ConditionDeps Dependencies(const Aggregate& aggregate) {
  ConditionDeps deps;
  Collector(&deps).Aggregate(aggregate);
  return deps;
}

}  // namespace tessera::audience
