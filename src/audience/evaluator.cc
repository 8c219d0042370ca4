#include "audience/evaluator.h"

#include "core/coding.h"
#include "core/json_text.h"
#include "identity/identity_graph.h"

namespace tessera::audience {

using nlohmann::json;
using storage::Space;

namespace {

std::string EnteredValue(TimeMs at) {
  std::string out;
  PutVarsint64(&out, at);
  return out;
}

// `in audience "x"` for one profile: its stored memberships, overlaid with this round's changes.
class ProfileMemberships final : public AudienceMembership {
 public:
  ProfileMemberships(const Snapshot* snap, std::map<std::string, bool>* current)
      : snap_(snap), current_(current) {}
  bool IsMember(std::string_view audience) const override {
    const Compiled* c = snap_->Find(audience);
    if (!c) return false;
    auto it = current_->find(c->def.id);
    return it != current_->end() && it->second;
  }

 private:
  const Snapshot* snap_;
  std::map<std::string, bool>* current_;
};

}  // namespace

bool Touched::any() const {
  if (all) return true;
  for (bool b : computed) {
    if (b) return true;
  }
  for (bool b : audiences) {
    if (b) return true;
  }
  return false;
}

void Touched::Merge(const Touched& other) {
  all = all || other.all;
  for (size_t i = 0; i < computed.size() && i < other.computed.size(); ++i) {
    computed[i] = computed[i] || other.computed[i];
  }
  for (size_t i = 0; i < audiences.size() && i < other.audiences.size(); ++i) {
    audiences[i] = audiences[i] || other.audiences[i];
  }
}

bool Touched::Add(const Snapshot& snap, std::string_view def_id) {
  bool known = false;
  for (size_t i = 0; i < snap.computed.size(); ++i) {
    if (snap.computed[i].def.id == def_id) computed[i] = known = true;
  }
  for (size_t i = 0; i < snap.audiences.size(); ++i) {
    if (snap.audiences[i].def.id == def_id) audiences[i] = known = true;
  }
  return known;
}

Event TransitionEvent(const Transition& t) {
  Event e;
  e.source_id = std::string(kSystemSource);
  e.type = MessageType::kTrack;
  e.message_id = t.message_id;
  e.event = t.entered ? kAudienceEntered : kAudienceExited;
  e.timestamp = e.received_at = t.at;
  e.identifiers = {{std::string(id_kind::kTesseraId), t.tessera_id}};
  // Written directly (one per entry or exit, so a hot path); the fields as a message has them.
  std::string& out = e.json;
  out.reserve(320 + t.name.size());
  JsonObjectWriter m(&out);
  m.Field("type").String("track");
  m.Field("event").String(e.event);
  m.Field("messageId").String(e.message_id);
  m.Field("timestamp").String(FormatIso8601(t.at));
  m.Field("properties");
  JsonObjectWriter p(&out);
  p.Field("audience_id").String(t.def_id);
  p.Field("audience_name").String(t.name);
  p.Field("audience_version").Uint(t.version);
  p.Field("reason").String(t.reason);
  p.Close();
  m.Field("context").Raw("{\"library\":{\"name\":\"tessera\"},\"tessera_id\":");
  AppendJsonString(&out, t.tessera_id);
  out.push_back('}');
  m.Close();
  return e;
}

void ProfileEvaluator::AddToSize(const std::string& def_id, int64_t delta) {
  if (!states_) {
    size_deltas_[def_id] += delta;
    return;
  }
  uint64_t& size = (*states_)[def_id].size;
  if (delta > 0) {
    size += static_cast<uint64_t>(delta);
  } else {
    size -= std::min(size, static_cast<uint64_t>(-delta));
  }
}

Result<state::ProfileState> ProfileEvaluator::LoadState(const std::string& tessera_id) {
  return state::ReadProfileState(staged_, tessera_id);
}

void ProfileEvaluator::StoreState(const std::string& tessera_id, const state::ProfileState& ps,
                                  std::optional<TimeMs> wake) {
  std::optional<TimeMs> next = ps.wake();
  if (next != wake) {
    if (wake) staged_->Delete(Space::kAudiences, state::WakeKey(*wake, tessera_id));
    if (next) staged_->Put(Space::kAudiences, state::WakeKey(*next, tessera_id), "");
  }
  if (ps.empty()) {
    staged_->Delete(Space::kAudiences, state::ProfileStateKey(tessera_id));
  } else {
    staged_->Put(Space::kAudiences, state::ProfileStateKey(tessera_id),
                 state::EncodeProfileState(ps));
  }
}

bool ProfileEvaluator::SetTimer(state::ProfileState* ps, const std::string& def_id,
                                std::optional<TimeMs> at) {
  auto it = ps->timers.find(def_id);
  if (it == ps->timers.end()) {
    if (!at) return false;
    ps->timers.emplace(def_id, *at);
    return true;
  }
  if (at == it->second) return false;
  if (at) {
    it->second = *at;
  } else {
    ps->timers.erase(it);
  }
  return true;
}

Result<size_t> ProfileEvaluator::DueTimers(const std::string& tessera_id, TimeMs now,
                                           Touched* due) {
  TESSERA_ASSIGN_OR_RETURN(state::ProfileState ps, LoadState(tessera_id));
  const std::optional<TimeMs> wake = ps.wake();
  size_t n = 0;
  bool dropped = false;
  for (auto it = ps.timers.begin(); it != ps.timers.end();) {
    if (it->second > now) {
      ++it;
      continue;
    }
    ++n;
    if (due->Add(*snap_, it->first)) {
      ++it;
    } else {
      it = ps.timers.erase(it);  // a definition deleted since
      dropped = true;
    }
  }
  if (dropped) StoreState(tessera_id, ps, wake);
  return n;
}

Status ProfileEvaluator::WriteHistory(const std::string& tessera_id, const std::string& def_id,
                                      const std::string& name, uint64_t version, uint64_t n,
                                      bool entered, const std::string& reason, TimeMs at) {
  std::string entry;
  JsonObjectWriter w(&entry);
  w.Field("audience_id").String(def_id);
  w.Field("audience_name").String(name);
  w.Field("version").Uint(version);
  w.Field("event").String(entered ? "entered" : "exited");
  w.Field("at").String(FormatIso8601(at));
  w.Field("reason").String(reason);
  w.Close();
  staged_->Put(Space::kAudiences, state::HistoryKey(tessera_id, at, def_id, n), entry);
  return Status::Ok();
}

Status ProfileEvaluator::Transit(const Compiled& c, const std::string& tessera_id,
                                 state::Membership* m, bool member, const std::string& reason,
                                 TimeMs now) {
  const std::string& id = c.def.id;
  Transition t{id, c.def.name, c.def.version, tessera_id, member, now, reason,
               "tsr-aud-" + id + "-" + tessera_id + "-" + std::to_string(m->transitions)};
  ++m->transitions;
  m->member = member;
  m->version = c.def.version;
  if (member) {
    m->entered_at = now;
    staged_->Put(Space::kAudiences, state::MemberKey(id, tessera_id), EnteredValue(now));
    AddToSize(id, 1);
  } else {
    staged_->Delete(Space::kAudiences, state::MemberKey(id, tessera_id));
    AddToSize(id, -1);
  }
  TESSERA_RETURN_IF_ERROR(
      WriteHistory(tessera_id, id, c.def.name, c.def.version, m->transitions, member, reason, now));
  transitioned_.insert(tessera_id);
  transitions_->push_back(std::move(t));
  return Status::Ok();
}

void ProfileEvaluator::AddSizes(const std::map<std::string, int64_t>& deltas) {
  for (const auto& [id, delta] : deltas) {
    if (delta != 0) AddToSize(id, delta);
  }
}

bool ProfileEvaluator::FeedOwnEventReaders(state::ProfileState* ps, TimeMs now) {
  if (!own_event_readers_) {
    own_event_readers_.emplace();
    for (const auto& c : snap_->computed) {
      if (c.deps.own_events) own_event_readers_->push_back(c.def.id);
    }
    for (const auto& c : snap_->audiences) {
      if (c.deps.own_events) own_event_readers_->push_back(c.def.id);
    }
  }
  if (own_event_readers_->empty()) return false;
  bool changed = false;
  for (const auto& id : *own_event_readers_) changed = SetTimer(ps, id, now) || changed;
  return changed;
}

Status ProfileEvaluator::Evaluate(const identity::Node& node, const Touched& touched,
                                  const std::string& reason, TimeMs now) {
  const std::string& pid = node.tessera_id;
  const size_t transitions_before = transitions_->size();
  // What to evaluate: the touched computed traits, the touched audiences, the audiences that
  // read a touched computed trait, and (in dependency order) every audience reading one of those.
  std::vector<bool> computed(snap_->computed.size(), touched.all);
  std::vector<bool> audiences(snap_->audiences.size(), touched.all);
  std::set<std::string> trait_names;
  for (size_t i = 0; i < computed.size(); ++i) {
    if (touched.all || touched.computed[i]) {
      computed[i] = true;
      trait_names.insert(snap_->computed[i].def.name);
    }
  }
  for (size_t i = 0; i < audiences.size(); ++i) {
    const Compiled& a = snap_->audiences[i];
    bool on = touched.all || touched.audiences[i];
    for (const auto& t : a.deps.traits) on = on || trait_names.count(t) > 0;
    for (size_t input : a.audience_inputs) on = on || audiences[input];
    audiences[i] = on;
  }
  // Entries or exits of the profile earlier in this step are not on its timeline yet (nor in
  // a view loaded before them): what reads them waits for the next step, due now, like after
  // this evaluation's own entries and exits.
  bool deferred = false;
  if (TransitionedInStep(pid)) {
    for (size_t i = 0; i < computed.size(); ++i) {
      if (computed[i] && snap_->computed[i].deps.own_events) {
        computed[i] = false;
        deferred = true;
      }
    }
    for (size_t i = 0; i < audiences.size(); ++i) {
      if (audiences[i] && snap_->audiences[i].deps.own_events) {
        audiences[i] = false;
        deferred = true;
      }
    }
  }
  EventNeeds needs;
  std::set<std::string> traits;  // what the evaluated definitions read of the profile's
  auto add = [&](const ConditionDeps& deps) {
    needs.Add(deps);
    traits.insert(deps.traits.begin(), deps.traits.end());
  };
  for (size_t i = 0; i < computed.size(); ++i) {
    if (computed[i]) add(snap_->computed[i].deps);
  }
  for (size_t i = 0; i < audiences.size(); ++i) {
    if (audiences[i]) add(snap_->audiences[i].deps);
  }
  auto loaded = loader_->Load(node, needs, &traits);
  if (loaded.status().code() == StatusCode::kNotFound) return Status::Ok();
  TESSERA_RETURN_IF_ERROR(loaded.status());
  ProfileView& view = *loaded;

  // All the profile's state in one read; written back once, if anything changed.
  TESSERA_ASSIGN_OR_RETURN(state::ProfileState ps, LoadState(pid));
  const std::optional<TimeMs> wake = ps.wake();
  bool dirty = false;

  // Computed traits first: their current values are traits to the audiences.
  for (size_t i = 0; i < snap_->computed.size(); ++i) {
    const Compiled& c = snap_->computed[i];
    if (!computed[i] && !traits.count(c.def.name)) continue;  // neither evaluated nor read
    auto stored = ps.values.find(c.def.id);
    std::optional<json> old;
    if (stored != ps.values.end()) old = json::parse(stored->second, nullptr, false);
    std::optional<json> value = old;
    if (computed[i]) {
      value = EvaluateAggregateReference(*c.def.aggregate, view, now);
      if (value != old) {
        dirty = true;
        if (value) {
          ps.values.insert_or_assign(
              c.def.id, value->dump(-1, ' ', false, json::error_handler_t::replace));
          if (!old) {
            staged_->Put(Space::kAudiences, state::ValueByDefKey(c.def.id, pid), "");
            AddToSize(c.def.id, 1);
          }
        } else {
          staged_->Delete(Space::kAudiences, state::ValueByDefKey(c.def.id, pid));
          ps.values.erase(c.def.id);
          AddToSize(c.def.id, -1);
        }
      }
      std::optional<TimeMs> next;
      if (c.deps.time_dependent) next = NextAggregateChange(*c.def.aggregate, view, now, &value);
      dirty = SetTimer(&ps, c.def.id, next) || dirty;
    }
    if (value) {
      view.traits[c.def.name] = std::move(*value);
    } else {
      view.traits.erase(c.def.name);
    }
  }

  // Memberships that evaluated audiences read; an input evaluated before its readers (the
  // order is topological) is overwritten with its new answer.
  auto membership_of = [&](const std::string& id) {
    auto it = ps.memberships.find(id);
    return it == ps.memberships.end() ? state::Membership{} : it->second;
  };
  std::map<std::string, bool> current;
  for (size_t i = 0; i < snap_->audiences.size(); ++i) {
    if (!audiences[i]) continue;
    for (size_t input : snap_->audiences[i].audience_inputs) {
      const std::string& id = snap_->audiences[input].def.id;
      if (current.count(id)) continue;
      current[id] = membership_of(id).member;
    }
  }
  ProfileMemberships memberships(snap_, &current);
  for (size_t i = 0; i < snap_->audiences.size(); ++i) {
    if (!audiences[i]) continue;
    const Compiled& c = snap_->audiences[i];
    bool member = EvaluateReference(*c.def.condition, view, now, memberships);
    state::Membership m = membership_of(c.def.id);
    current[c.def.id] = member;
    if (member != m.member) {
      TESSERA_RETURN_IF_ERROR(Transit(c, pid, &m, member, reason, now));
      ps.memberships.insert_or_assign(c.def.id, m);
      dirty = true;
    } else if (m.member && m.version != c.def.version) {
      m.version = c.def.version;  // still a member under the new version: the stay goes on
      ps.memberships.insert_or_assign(c.def.id, m);
      dirty = true;
    }
    std::optional<TimeMs> next;
    if (c.deps.time_dependent) next = NextChange(*c.def.condition, view, now, memberships, member);
    dirty = SetTimer(&ps, c.def.id, next) || dirty;
  }
  if (transitions_->size() > transitions_before || deferred) {
    dirty = FeedOwnEventReaders(&ps, now) || dirty;
  }
  if (dirty) StoreState(pid, ps, wake);
  return Status::Ok();
}

Status ProfileEvaluator::Forget(const std::string& folded, const std::string& into, TimeMs now) {
  auto forget_reason = "merged into " + into;
  TESSERA_ASSIGN_OR_RETURN(state::ProfileState ps, LoadState(folded));
  const std::optional<TimeMs> wake = ps.wake();
  // Only the snapshot's definitions: a deleted one still being torn down exits its members
  // (this one included) with the record's transition count.
  for (const auto& c : snap_->audiences) {
    auto it = ps.memberships.find(c.def.id);
    if (it != ps.memberships.end()) {
      const state::Membership& m = it->second;
      if (m.member) {
        staged_->Delete(Space::kAudiences, state::MemberKey(c.def.id, folded));
        AddToSize(c.def.id, -1);
        TESSERA_RETURN_IF_ERROR(WriteHistory(folded, c.def.id, c.def.name, c.def.version,
                                             m.transitions + 1, false, forget_reason, now));
      }
      ps.memberships.erase(it);
    }
    SetTimer(&ps, c.def.id, std::nullopt);
  }
  for (const auto& c : snap_->computed) {
    if (ps.values.erase(c.def.id) > 0) {
      staged_->Delete(Space::kAudiences, state::ValueByDefKey(c.def.id, folded));
      AddToSize(c.def.id, -1);
    }
    SetTimer(&ps, c.def.id, std::nullopt);
  }
  StoreState(folded, ps, wake);
  return Status::Ok();
}

Result<bool> ProfileEvaluator::TearDown(const std::string& def_id, const std::string& name,
                                        TimeMs now, size_t budget) {
  storage::Store* store = staged_->store();
  // Members, then profiles with a value. Each pass deletes what it visits, so a later call
  // resumes where this one stopped.
  for (char tag : {'m', 'V'}) {
    std::string prefix(1, tag);
    prefix += def_id;
    prefix += '\0';
    auto it = store->NewIterator(Space::kAudiences);
    for (it->Seek(prefix); it->Valid() && state::HasPrefix(it->key(), prefix); it->Next()) {
      if (budget-- == 0) return false;
      std::string pid(it->key().substr(prefix.size()));
      std::string ignored;
      if (staged_->Get(Space::kAudiences, std::string(it->key()), &ignored).code() ==
          StatusCode::kNotFound) {
        continue;  // already deleted in this batch
      }
      TESSERA_ASSIGN_OR_RETURN(state::ProfileState ps, LoadState(pid));
      const std::optional<TimeMs> wake = ps.wake();
      if (tag == 'm') {
        auto found = ps.memberships.find(def_id);
        state::Membership m = found == ps.memberships.end() ? state::Membership{} : found->second;
        Compiled gone{Definition{def_id, DefinitionKind::kAudience, name, "", m.version,
                                 std::nullopt, std::nullopt, 0, 0},
                      {},
                      {}};
        TESSERA_RETURN_IF_ERROR(Transit(gone, pid, &m, false, "deleted", now));
        ps.memberships.erase(def_id);
        FeedOwnEventReaders(&ps, now);
      } else {
        staged_->Delete(Space::kAudiences, std::string(it->key()));
        ps.values.erase(def_id);
      }
      StoreState(pid, ps, wake);
    }
    TESSERA_RETURN_IF_ERROR(it->status());
  }
  return true;
}

}  // namespace tessera::audience
