// ProfileEvaluator: evaluates a catalog snapshot's definitions for one profile and stages the
// consequences in the engine's batch: computed trait values, membership transitions (with their
// history entries and Audience Entered / Exited events in the outbox), sizes and timers.
// Internal to the engine (engine.h); one engine thread uses it.
#pragma once

#include <map>
#include <string>
#include <unordered_set>
#include <vector>

#include "audience/catalog.h"
#include "audience/profile_loader.h"
#include "audience/state.h"
#include "storage/staged_writes.h"

namespace tessera::audience {

// A membership change, as subscribers see it.
struct Transition {
  std::string def_id;
  std::string name;
  uint64_t version = 0;
  std::string tessera_id;
  bool entered = false;
  TimeMs at = 0;
  std::string reason;  // event, time, backfill, merge, deleted
  std::string message_id;  // of the Audience Entered/Exited event
};

// Which definitions to evaluate for a profile (indexes into the snapshot's vectors).
struct Touched {
  bool all = false;
  std::vector<bool> computed;
  std::vector<bool> audiences;
  explicit Touched(const Snapshot& snap)
      : computed(snap.computed.size()), audiences(snap.audiences.size()) {}
  bool any() const;
  void Merge(const Touched& other);
  // Marks the definition with this id; false if the snapshot has none.
  bool Add(const Snapshot& snap, std::string_view def_id);
};

class ProfileEvaluator {
 public:
  // states: where membership and value counts go; null keeps them as deltas (size_deltas()),
  // for an evaluator of one partition of a step's profiles, whose work is added to the step's
  // evaluator afterwards; `step` is then that evaluator (what the step did before). transitions:
  // where entries and exits go (the engine writes their events onto the timelines with the
  // step).
  ProfileEvaluator(const Snapshot* snap, storage::StagedWrites* staged, ProfileLoader* loader,
                   std::map<std::string, state::DefinitionState>* states,
                   std::vector<Transition>* transitions, const ProfileEvaluator* step = nullptr)
      : snap_(snap), staged_(staged), loader_(loader), states_(states),
        transitions_(transitions), step_(step) {}

  // With no states: each definition's change in size so far.
  const std::map<std::string, int64_t>& size_deltas() const { return size_deltas_; }
  storage::StagedWrites* staged() const { return staged_; }
  // What an evaluator of one partition did, added to this one's: a transition, and its size
  // changes.
  void Record(Transition t) {
    transitioned_.insert(t.tessera_id);
    transitions_->push_back(std::move(t));
  }
  void AddSizes(const std::map<std::string, int64_t>& deltas);

  // Evaluates the touched definitions (and everything that reads them) for the live profile
  // `node` at time now. A profile without a record yet is skipped.
  Status Evaluate(const identity::Node& node, const Touched& touched, const std::string& reason,
                  TimeMs now);

  // The profile `folded` was merged into another: its memberships, values and timers end
  // (history says so); the surviving profile is evaluated separately.
  Status Forget(const std::string& folded, const std::string& into, TimeMs now);

  // The profile's timers due at `now`: marks those of the snapshot's definitions in *due (to
  // evaluate), and drops those of deleted definitions. Returns how many were due.
  Result<size_t> DueTimers(const std::string& tessera_id, TimeMs now, Touched* due);

  // The definition is gone: every member exits (with events) and values go; its timers go
  // when they fire. Returns true when done, false when `budget` ran out first (call again).
  Result<bool> TearDown(const std::string& def_id, const std::string& name, TimeMs now,
                        size_t budget);

 private:
  // Stages the transition's member-list change, history entry and event, and updates *m;
  // the caller keeps *m in the profile's record.
  Status Transit(const Compiled& c, const std::string& tessera_id, state::Membership* m,
                 bool member, const std::string& reason, TimeMs now);
  // Sets the profile's timer for the definition in *ps; true when it changed.
  static bool SetTimer(state::ProfileState* ps, const std::string& def_id,
                       std::optional<TimeMs> at);
  Status WriteHistory(const std::string& tessera_id, const std::string& def_id,
                      const std::string& name, uint64_t version, uint64_t n, bool entered,
                      const std::string& reason, TimeMs at);
  // The profile's record as this batch sees it, and its replacement; `wake` is the record's
  // wake() as loaded, so that the "w" key moves with it.
  Result<state::ProfileState> LoadState(const std::string& tessera_id);
  void StoreState(const std::string& tessera_id, const state::ProfileState& ps,
                  std::optional<TimeMs> wake);
  void AddToSize(const std::string& def_id, int64_t delta);
  // After entries or exits of the profile: the definitions that read Tessera's own events are
  // due now (the engine writes the events onto the timeline with the step, so the next step
  // sees them). True if ps changed.
  bool FeedOwnEventReaders(state::ProfileState* ps, TimeMs now);
  // Whether the profile entered or left an audience earlier in this step: its timeline lacks
  // those events until the step is written.
  bool TransitionedInStep(const std::string& tessera_id) const {
    return transitioned_.count(tessera_id) > 0 || (step_ && step_->TransitionedInStep(tessera_id));
  }

  const Snapshot* const snap_;
  storage::StagedWrites* const staged_;
  ProfileLoader* const loader_;
  std::map<std::string, state::DefinitionState>* const states_;
  std::vector<Transition>* const transitions_;
  std::map<std::string, int64_t> size_deltas_;
  const ProfileEvaluator* const step_;
  std::unordered_set<std::string> transitioned_;  // profiles with entries or exits
  std::optional<std::vector<std::string>> own_event_readers_;  // definition ids, when known
};

// The Audience Entered / Exited event for a transition (source kSystemSource, addressed by
// tessera_id).
Event TransitionEvent(const Transition& t);

}  // namespace tessera::audience
