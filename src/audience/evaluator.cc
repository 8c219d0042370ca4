#include "audience/evaluator.h"

#include "core/coding.h"
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

void Outbox::Stage(const Event& event, storage::StagedWrites* staged) {
  staged->Put(Space::kAudiences, state::OutboxKey(next_++), EncodeEvent(event));
}

Event TransitionEvent(const Transition& t) {
  Event e;
  e.source_id = std::string(kSystemSource);
  e.type = MessageType::kTrack;
  e.message_id = t.message_id;
  e.event = t.entered ? "Audience Entered" : "Audience Exited";
  e.timestamp = e.received_at = t.at;
  e.identifiers = {{std::string(id_kind::kTesseraId), t.tessera_id}};
  json message = {{"type", "track"},
                  {"event", e.event},
                  {"messageId", e.message_id},
                  {"timestamp", FormatIso8601(t.at)},
                  {"properties",
                   {{"audience_id", t.def_id},
                    {"audience_name", t.name},
                    {"audience_version", t.version},
                    {"reason", t.reason}}},
                  {"context", {{"library", {{"name", "tessera"}}}, {"tessera_id", t.tessera_id}}}};
  e.json = message.dump(-1, ' ', false, json::error_handler_t::replace);
  return e;
}

state::DefinitionState& ProfileEvaluator::StateOf(const std::string& def_id) {
  return (*states_)[def_id];
}

Result<state::Membership> ProfileEvaluator::LoadMembership(const std::string& tessera_id,
                                                           const std::string& def_id) {
  std::string bytes;
  Status s = staged_->Get(Space::kAudiences, state::MembershipKey(tessera_id, def_id), &bytes);
  if (s.code() == StatusCode::kNotFound) return state::Membership{};
  TESSERA_RETURN_IF_ERROR(s);
  return state::DecodeMembership(bytes);
}

Status ProfileEvaluator::SetTimer(const std::string& def_id, const std::string& tessera_id,
                                  std::optional<TimeMs> at) {
  std::string index_key = state::TimerIndexKey(def_id, tessera_id);
  std::string old;
  Status s = staged_->Get(Space::kAudiences, index_key, &old);
  if (!s.ok() && s.code() != StatusCode::kNotFound) return s;
  std::optional<TimeMs> current;
  if (s.ok()) {
    if (old.size() != 8) return Status::Corruption("malformed timer index");
    current = state::DecodeTime(old.data());
  }
  if (current == at) return Status::Ok();
  if (current) staged_->Delete(Space::kAudiences, state::TimerKey(*current, def_id, tessera_id));
  if (at) {
    std::string v;
    state::PutTime(&v, *at);
    staged_->Put(Space::kAudiences, index_key, v);
    staged_->Put(Space::kAudiences, state::TimerKey(*at, def_id, tessera_id), "");
  } else {
    staged_->Delete(Space::kAudiences, index_key);
  }
  return Status::Ok();
}

Status ProfileEvaluator::WriteHistory(const std::string& tessera_id, const std::string& def_id,
                                      const std::string& name, uint64_t version, uint64_t n,
                                      bool entered, const std::string& reason, TimeMs at) {
  json entry = {{"audience_id", def_id},   {"audience_name", name},
                {"version", version},      {"event", entered ? "entered" : "exited"},
                {"at", FormatIso8601(at)}, {"reason", reason}};
  staged_->Put(Space::kAudiences, state::HistoryKey(tessera_id, at, def_id, n),
               entry.dump(-1, ' ', false, json::error_handler_t::replace));
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
    ++StateOf(id).size;
  } else {
    staged_->Delete(Space::kAudiences, state::MemberKey(id, tessera_id));
    auto& size = StateOf(id).size;
    if (size > 0) --size;
  }
  staged_->Put(Space::kAudiences, state::MembershipKey(tessera_id, id), state::EncodeMembership(*m));
  TESSERA_RETURN_IF_ERROR(
      WriteHistory(tessera_id, id, c.def.name, c.def.version, m->transitions, member, reason, now));
  outbox_->Stage(TransitionEvent(t), staged_);
  transitions_->push_back(std::move(t));
  return Status::Ok();
}

Status ProfileEvaluator::Evaluate(const identity::Node& node, const Touched& touched,
                                  const std::string& reason, TimeMs now) {
  const std::string& pid = node.tessera_id;
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
  EventNeeds needs;
  for (size_t i = 0; i < computed.size(); ++i) {
    if (computed[i]) needs.Add(snap_->computed[i].deps);
  }
  for (size_t i = 0; i < audiences.size(); ++i) {
    if (audiences[i]) needs.Add(snap_->audiences[i].deps);
  }
  auto loaded = loader_->Load(node, needs);
  if (loaded.status().code() == StatusCode::kNotFound) return Status::Ok();
  TESSERA_RETURN_IF_ERROR(loaded.status());
  ProfileView& view = *loaded;

  // Computed traits first: their current values are traits to the audiences.
  for (size_t i = 0; i < snap_->computed.size(); ++i) {
    const Compiled& c = snap_->computed[i];
    std::string key = state::ValueKey(pid, c.def.id);
    std::string stored;
    Status s = staged_->Get(Space::kAudiences, key, &stored);
    if (!s.ok() && s.code() != StatusCode::kNotFound) return s;
    std::optional<json> old;
    if (s.ok()) old = json::parse(stored, nullptr, false);
    std::optional<json> value = old;
    if (computed[i]) {
      value = EvaluateAggregateReference(*c.def.aggregate, view, now);
      if (value != old) {
        if (value) {
          std::string text = value->dump(-1, ' ', false, json::error_handler_t::replace);
          staged_->Put(Space::kAudiences, key, text);
          staged_->Put(Space::kAudiences, state::ValueByDefKey(c.def.id, pid), text);
          if (!old) ++StateOf(c.def.id).size;
        } else {
          staged_->Delete(Space::kAudiences, key);
          staged_->Delete(Space::kAudiences, state::ValueByDefKey(c.def.id, pid));
          auto& size = StateOf(c.def.id).size;
          if (size > 0) --size;
        }
      }
      std::optional<TimeMs> next;
      if (c.deps.time_dependent) next = NextAggregateChange(*c.def.aggregate, view, now);
      TESSERA_RETURN_IF_ERROR(SetTimer(c.def.id, pid, next));
    }
    if (value) {
      view.traits[c.def.name] = *value;
    } else {
      view.traits.erase(c.def.name);
    }
  }

  // Memberships that evaluated audiences read; an input evaluated before its readers (the
  // order is topological) is overwritten with its new answer.
  std::map<std::string, bool> current;
  for (size_t i = 0; i < snap_->audiences.size(); ++i) {
    if (!audiences[i]) continue;
    for (size_t input : snap_->audiences[i].audience_inputs) {
      const std::string& id = snap_->audiences[input].def.id;
      if (current.count(id)) continue;
      TESSERA_ASSIGN_OR_RETURN(state::Membership m, LoadMembership(pid, id));
      current[id] = m.member;
    }
  }
  ProfileMemberships memberships(snap_, &current);
  for (size_t i = 0; i < snap_->audiences.size(); ++i) {
    if (!audiences[i]) continue;
    const Compiled& c = snap_->audiences[i];
    bool member = EvaluateReference(*c.def.condition, view, now, memberships);
    TESSERA_ASSIGN_OR_RETURN(state::Membership m, LoadMembership(pid, c.def.id));
    current[c.def.id] = member;
    if (member != m.member) {
      TESSERA_RETURN_IF_ERROR(Transit(c, pid, &m, member, reason, now));
    } else if (m.member && m.version != c.def.version) {
      m.version = c.def.version;  // still a member under the new version: the stay goes on
      staged_->Put(Space::kAudiences, state::MembershipKey(pid, c.def.id),
                   state::EncodeMembership(m));
    }
    std::optional<TimeMs> next;
    if (c.deps.time_dependent) next = NextChange(*c.def.condition, view, now, memberships);
    TESSERA_RETURN_IF_ERROR(SetTimer(c.def.id, pid, next));
  }
  return Status::Ok();
}

Status ProfileEvaluator::Forget(const std::string& folded, const std::string& into, TimeMs now) {
  auto forget_reason = "merged into " + into;
  for (const auto& c : snap_->audiences) {
    TESSERA_ASSIGN_OR_RETURN(state::Membership m, LoadMembership(folded, c.def.id));
    if (m.member) {
      staged_->Delete(Space::kAudiences, state::MemberKey(c.def.id, folded));
      auto& size = StateOf(c.def.id).size;
      if (size > 0) --size;
      TESSERA_RETURN_IF_ERROR(WriteHistory(folded, c.def.id, c.def.name, c.def.version,
                                           m.transitions + 1, false, forget_reason, now));
    }
    staged_->Delete(Space::kAudiences, state::MembershipKey(folded, c.def.id));
    TESSERA_RETURN_IF_ERROR(SetTimer(c.def.id, folded, std::nullopt));
  }
  for (const auto& c : snap_->computed) {
    std::string ignored;
    Status s = staged_->Get(Space::kAudiences, state::ValueKey(folded, c.def.id), &ignored);
    if (s.ok()) {
      staged_->Delete(Space::kAudiences, state::ValueKey(folded, c.def.id));
      staged_->Delete(Space::kAudiences, state::ValueByDefKey(c.def.id, folded));
      auto& size = StateOf(c.def.id).size;
      if (size > 0) --size;
    } else if (s.code() != StatusCode::kNotFound) {
      return s;
    }
    TESSERA_RETURN_IF_ERROR(SetTimer(c.def.id, folded, std::nullopt));
  }
  return Status::Ok();
}

Result<bool> ProfileEvaluator::TearDown(const std::string& def_id, const std::string& name,
                                        TimeMs now, size_t budget) {
  storage::Store* store = staged_->store();
  // Members, or profiles with a value; then timers. Each pass deletes what it visits, so a
  // later call resumes where this one stopped.
  for (char tag : {'m', 'V', 'T'}) {
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
      if (tag == 'm') {
        TESSERA_ASSIGN_OR_RETURN(state::Membership m, LoadMembership(pid, def_id));
        Compiled gone{Definition{def_id, DefinitionKind::kAudience, name, "", m.version,
                                 std::nullopt, std::nullopt, 0, 0},
                      {},
                      {}};
        TESSERA_RETURN_IF_ERROR(Transit(gone, pid, &m, false, "deleted", now));
        staged_->Delete(Space::kAudiences, state::MembershipKey(pid, def_id));
      } else if (tag == 'V') {
        staged_->Delete(Space::kAudiences, std::string(it->key()));
        staged_->Delete(Space::kAudiences, state::ValueKey(pid, def_id));
      } else {
        TESSERA_RETURN_IF_ERROR(SetTimer(def_id, pid, std::nullopt));
      }
    }
    TESSERA_RETURN_IF_ERROR(it->status());
  }
  return true;
}

}  // namespace tessera::audience
