#include "audience/state.h"

#include "core/coding.h"

namespace tessera::audience::state {

using storage::Space;

namespace {
constexpr uint64_t kMembershipVersion = 1;
constexpr uint64_t kStateVersion = 1;
constexpr uint64_t kProfileStateVersion = 1;

std::string Join(char tag, std::string_view a, std::string_view b) {
  std::string key(1, tag);
  key += a;
  key += '\0';
  key += b;
  return key;
}

}  // namespace

void PutTime(std::string* dst, TimeMs at) {
  PutFixed64BE(dst, static_cast<uint64_t>(at) ^ (uint64_t{1} << 63));
}

TimeMs DecodeTime(const char* p) {
  return static_cast<TimeMs>(DecodeFixed64BE(p) ^ (uint64_t{1} << 63));
}

bool HasPrefix(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

std::string EncodeMembership(const Membership& m) {
  std::string out;
  PutVarint64(&out, kMembershipVersion);
  PutVarint64(&out, m.member ? 1 : 0);
  PutVarint64(&out, m.version);
  PutVarsint64(&out, m.entered_at);
  PutVarint64(&out, m.transitions);
  return out;
}

Result<Membership> DecodeMembership(std::string_view bytes) {
  Decoder d(bytes);
  Membership m;
  uint64_t version, member;
  if (!d.GetVarint64(&version) || version != kMembershipVersion || !d.GetVarint64(&member) ||
      member > 1 || !d.GetVarint64(&m.version) || !d.GetVarsint64(&m.entered_at) ||
      !d.GetVarint64(&m.transitions) || !d.done()) {
    return Status::Corruption("malformed membership record");
  }
  m.member = member == 1;
  return m;
}

std::string EncodeProfileState(const ProfileState& s) {
  std::string out;
  out.reserve(16 + 24 * s.memberships.size() + 32 * s.values.size() + 16 * s.timers.size());
  PutVarint64(&out, kProfileStateVersion);
  PutVarint64(&out, s.memberships.size());
  for (const auto& [def, m] : s.memberships) {
    PutLengthPrefixed(&out, def);
    PutVarint64(&out, m.member ? 1 : 0);
    PutVarint64(&out, m.version);
    PutVarsint64(&out, m.entered_at);
    PutVarint64(&out, m.transitions);
  }
  PutVarint64(&out, s.values.size());
  for (const auto& [def, v] : s.values) {
    PutLengthPrefixed(&out, def);
    PutLengthPrefixed(&out, v);
  }
  PutVarint64(&out, s.timers.size());
  for (const auto& [def, at] : s.timers) {
    PutLengthPrefixed(&out, def);
    PutVarsint64(&out, at);
  }
  return out;
}

Result<ProfileState> DecodeProfileState(std::string_view bytes) {
  Decoder d(bytes);
  ProfileState s;
  const Status bad = Status::Corruption("malformed profile audience state");
  uint64_t version, n;
  if (!d.GetVarint64(&version) || version != kProfileStateVersion) return bad;
  if (!d.GetVarint64(&n) || n > bytes.size()) return bad;
  // Encoded in key order, so each entry goes at the end of its map.
  for (uint64_t i = 0; i < n; ++i) {
    std::string_view def;
    Membership m;
    uint64_t member;
    if (!d.GetLengthPrefixed(&def) || !d.GetVarint64(&member) || member > 1 ||
        !d.GetVarint64(&m.version) || !d.GetVarsint64(&m.entered_at) ||
        !d.GetVarint64(&m.transitions)) {
      return bad;
    }
    m.member = member == 1;
    s.memberships.emplace_hint(s.memberships.end(), def, m);
  }
  if (!d.GetVarint64(&n) || n > bytes.size()) return bad;
  for (uint64_t i = 0; i < n; ++i) {
    std::string_view def, v;
    if (!d.GetLengthPrefixed(&def) || !d.GetLengthPrefixed(&v)) return bad;
    s.values.emplace_hint(s.values.end(), def, v);
  }
  if (!d.GetVarint64(&n) || n > bytes.size()) return bad;
  for (uint64_t i = 0; i < n; ++i) {
    std::string_view def;
    int64_t at;
    if (!d.GetLengthPrefixed(&def) || !d.GetVarsint64(&at)) return bad;
    s.timers.emplace_hint(s.timers.end(), def, at);
  }
  if (!d.done()) return bad;
  return s;
}

std::optional<TimeMs> ProfileState::wake() const {
  std::optional<TimeMs> out;
  for (const auto& [def, at] : timers) {
    if (!out || at < *out) out = at;
  }
  return out;
}

std::string EncodeDefinitionState(const DefinitionState& s) {
  std::string out;
  PutVarint64(&out, kStateVersion);
  PutLengthPrefixed(&out, s.name);
  PutVarint64(&out, s.version);
  PutVarint64(&out, s.backfilling ? 1 : 0);
  PutLengthPrefixed(&out, s.backfill_after);
  PutVarint64(&out, s.backfilled);
  PutVarint64(&out, s.size);
  PutVarsint64(&out, s.backfill_started);
  PutVarsint64(&out, s.backfill_finished);
  return out;
}

Result<DefinitionState> DecodeDefinitionState(std::string_view bytes) {
  Decoder d(bytes);
  DefinitionState s;
  uint64_t version, backfilling;
  if (!d.GetVarint64(&version) || version != kStateVersion || !d.GetLengthPrefixed(&s.name) ||
      !d.GetVarint64(&s.version) ||
      !d.GetVarint64(&backfilling) || backfilling > 1 || !d.GetLengthPrefixed(&s.backfill_after) ||
      !d.GetVarint64(&s.backfilled) || !d.GetVarint64(&s.size) ||
      !d.GetVarsint64(&s.backfill_started) || !d.GetVarsint64(&s.backfill_finished) ||
      !d.done()) {
    return Status::Corruption("malformed definition state");
  }
  s.backfilling = backfilling == 1;
  return s;
}

std::string ProfileStateKey(std::string_view tessera_id) {
  std::string key = "P";
  key += tessera_id;
  return key;
}
std::string MembershipKey(std::string_view tessera_id, std::string_view def_id) {
  return Join('r', tessera_id, def_id);
}
std::string MemberKey(std::string_view def_id, std::string_view tessera_id) {
  return Join('m', def_id, tessera_id);
}
std::string HistoryPrefix(std::string_view tessera_id) {
  std::string key = "h";
  key += tessera_id;
  key += '\0';
  return key;
}
std::string HistoryKey(std::string_view tessera_id, TimeMs at, std::string_view def_id,
                       uint64_t n) {
  std::string key = HistoryPrefix(tessera_id);
  PutTime(&key, at);
  key += def_id;
  key += '\0';
  PutFixed64BE(&key, n);
  return key;
}
std::string ValueKey(std::string_view tessera_id, std::string_view def_id) {
  return Join('v', tessera_id, def_id);
}
std::string ValueByDefKey(std::string_view def_id, std::string_view tessera_id) {
  return Join('V', def_id, tessera_id);
}
std::string WakeKey(TimeMs at, std::string_view tessera_id) {
  std::string key = "w";
  PutTime(&key, at);
  key += tessera_id;
  return key;
}
std::string TimerKey(TimeMs at, std::string_view def_id, std::string_view tessera_id) {
  std::string key = "t";
  PutTime(&key, at);
  key += def_id;
  key += '\0';
  key += tessera_id;
  return key;
}
std::string TimerIndexKey(std::string_view def_id, std::string_view tessera_id) {
  return Join('T', def_id, tessera_id);
}
std::string OutboxKey(uint64_t n) {
  std::string key = "o";
  PutFixed64BE(&key, n);
  return key;
}
std::string EncodeOutboxGroup(std::span<const Event> events) {
  std::string out;
  PutVarint64(&out, events.size());
  for (const Event& e : events) PutLengthPrefixed(&out, EncodeEvent(e));
  return out;
}

Result<uint64_t> OutboxGroupSize(std::string_view bytes) {
  Decoder d(bytes);
  uint64_t n;
  if (!d.GetVarint64(&n) || n > bytes.size()) return Status::Corruption("malformed outbox group");
  return n;
}

Result<std::vector<Event>> DecodeOutboxGroup(std::string_view bytes) {
  TESSERA_ASSIGN_OR_RETURN(uint64_t n, OutboxGroupSize(bytes));
  Decoder d(bytes);
  d.GetVarint64(&n);
  std::vector<Event> events;
  events.reserve(n);
  for (uint64_t i = 0; i < n; ++i) {
    std::string_view one;
    if (!d.GetLengthPrefixed(&one)) return Status::Corruption("malformed outbox group");
    TESSERA_ASSIGN_OR_RETURN(Event e, DecodeEvent(one));
    events.push_back(std::move(e));
  }
  if (!d.done()) return Status::Corruption("malformed outbox group");
  return events;
}

std::string StateKey(std::string_view def_id) { return "s" + std::string(def_id); }
std::string EncodeFormat(uint64_t version) {
  std::string out;
  PutVarint64(&out, version);
  return out;
}

Result<ProfileState> ReadProfileState(storage::Reader* reader, std::string_view tessera_id) {
  std::string bytes;
  Status s = reader->Get(Space::kAudiences, ProfileStateKey(tessera_id), &bytes);
  if (s.code() == StatusCode::kNotFound) return ProfileState{};
  TESSERA_RETURN_IF_ERROR(s);
  return DecodeProfileState(bytes);
}

Result<uint64_t> ReadFormat(storage::Store* store) {
  std::string v;
  Status s = store->Get(Space::kAudiences, kFormatKey, &v);
  if (s.ok()) {
    Decoder d(v);
    uint64_t version;
    if (!d.GetVarint64(&version) || !d.done()) return Status::Corruption("malformed format key");
    return version;
  }
  if (s.code() != StatusCode::kNotFound) return s;
  s = store->Get(Space::kAudiences, kCursorKey, &v);
  if (s.ok()) return uint64_t{1};
  if (s.code() != StatusCode::kNotFound) return s;
  return uint64_t{0};
}

Status MigrateFormat1(storage::Store* store, size_t batch_keys) {
  // Memberships ("r" tessera_id \0 def), values ("v" tessera_id \0 def) and timers ("T" def
  // \0 tessera_id -> at, with their "t" at def \0 tessera_id) move into the records and are
  // deleted, a batch at a time, so a rerun after a crash starts where the last write ended.
  for (char tag : {'r', 'v', 'T'}) {
    const std::string prefix(1, tag);
    for (;;) {
      std::map<std::string, ProfileState, std::less<>> records;
      storage::WriteBatch batch;
      size_t n = 0;
      auto it = store->NewIterator(Space::kAudiences);
      for (it->Seek(prefix); it->Valid() && HasPrefix(it->key(), prefix) && n < batch_keys;
           it->Next(), ++n) {
        std::string_view key = it->key();
        std::string_view rest = key.substr(1);
        size_t zero = rest.find('\0');
        if (zero == std::string_view::npos) return Status::Corruption("malformed audience key");
        std::string_view a = rest.substr(0, zero), b = rest.substr(zero + 1);
        std::string_view tessera_id = tag == 'T' ? b : a, def = tag == 'T' ? a : b;
        auto found = records.find(tessera_id);
        if (found == records.end()) {
          TESSERA_ASSIGN_OR_RETURN(ProfileState st, ReadProfileState(store, tessera_id));
          found = records.emplace(std::string(tessera_id), std::move(st)).first;
        }
        ProfileState& st = found->second;
        if (tag == 'r') {
          TESSERA_ASSIGN_OR_RETURN(Membership m, DecodeMembership(it->value()));
          st.memberships[std::string(def)] = m;
        } else if (tag == 'v') {
          st.values[std::string(def)] = std::string(it->value());
        } else {
          if (it->value().size() != 8) return Status::Corruption("malformed timer index");
          TimeMs at = DecodeTime(it->value().data());
          st.timers[std::string(def)] = at;
          batch.Delete(Space::kAudiences, TimerKey(at, def, tessera_id));
        }
        batch.Delete(Space::kAudiences, key);
      }
      TESSERA_RETURN_IF_ERROR(it->status());
      for (const auto& [tessera_id, st] : records) {
        batch.Put(Space::kAudiences, ProfileStateKey(tessera_id), EncodeProfileState(st));
      }
      if (!batch.empty()) TESSERA_RETURN_IF_ERROR(store->Write(batch, {}));
      if (n < batch_keys) break;
    }
  }
  // Any "t" key left had no index entry (none should); then a wake-up per record with timers.
  TESSERA_RETURN_IF_ERROR([&]() -> Status {
    storage::WriteBatch batch;
    auto it = store->NewIterator(Space::kAudiences);
    for (it->Seek("t"); it->Valid() && HasPrefix(it->key(), "t"); it->Next()) {
      batch.Delete(Space::kAudiences, it->key());
    }
    for (it->Seek("P"); it->Valid() && HasPrefix(it->key(), "P"); it->Next()) {
      TESSERA_ASSIGN_OR_RETURN(ProfileState st, DecodeProfileState(it->value()));
      if (auto at = st.wake()) batch.Put(Space::kAudiences, WakeKey(*at, it->key().substr(1)), "");
      if (batch.size() >= batch_keys) {
        TESSERA_RETURN_IF_ERROR(store->Write(batch, {}));
        batch.Clear();
      }
    }
    TESSERA_RETURN_IF_ERROR(it->status());
    return batch.empty() ? Status::Ok() : store->Write(batch, {});
  }());
  storage::WriteBatch done;
  done.Put(Space::kAudiences, kFormatKey, EncodeFormat(2));
  return store->Write(done, {.sync = true});
}

Status MigrateFormat2(storage::Store* store) {
  // The outbox is small (it is emptied as it is appended), so one write does.
  storage::WriteBatch batch;
  auto it = store->NewIterator(Space::kAudiences);
  for (it->Seek("o"); it->Valid() && HasPrefix(it->key(), "o"); it->Next()) {
    TESSERA_ASSIGN_OR_RETURN(Event e, DecodeEvent(it->value()));
    batch.Put(Space::kAudiences, it->key(), EncodeOutboxGroup(std::span(&e, 1)));
  }
  TESSERA_RETURN_IF_ERROR(it->status());
  batch.Put(Space::kAudiences, kFormatKey, EncodeFormat(3));
  return store->Write(batch, {.sync = true});
}

Result<std::vector<ProfileMembership>> ReadMemberships(storage::Store* store,
                                                       std::string_view tessera_id) {
  TESSERA_ASSIGN_OR_RETURN(ProfileState st, ReadProfileState(store, tessera_id));
  std::vector<ProfileMembership> out;
  out.reserve(st.memberships.size());
  for (const auto& [def, m] : st.memberships) out.push_back({def, m});
  return out;
}

Result<std::vector<std::pair<std::string, nlohmann::json>>> ReadValues(
    storage::Store* store, std::string_view tessera_id) {
  TESSERA_ASSIGN_OR_RETURN(ProfileState st, ReadProfileState(store, tessera_id));
  std::vector<std::pair<std::string, nlohmann::json>> out;
  out.reserve(st.values.size());
  for (const auto& [def, text] : st.values) {
    auto v = nlohmann::json::parse(text, nullptr, false);
    if (v.is_discarded()) return Status::Corruption("malformed computed value");
    out.emplace_back(def, std::move(v));
  }
  return out;
}

Result<std::vector<nlohmann::json>> ReadHistory(storage::Store* store,
                                                std::string_view tessera_id) {
  std::string prefix = HistoryPrefix(tessera_id);
  std::vector<nlohmann::json> out;
  auto it = store->NewIterator(Space::kAudiences);
  for (it->Seek(prefix); it->Valid() && HasPrefix(it->key(), prefix); it->Next()) {
    auto v = nlohmann::json::parse(it->value(), nullptr, false);
    if (v.is_discarded()) return Status::Corruption("malformed history entry");
    out.push_back(std::move(v));
  }
  TESSERA_RETURN_IF_ERROR(it->status());
  return out;
}

Result<MemberPage> ReadMembers(storage::Store* store, std::string_view def_id, bool computed,
                               size_t limit, std::string_view cursor) {
  std::string prefix = computed ? ValueByDefKey(def_id, "") : MemberKey(def_id, "");
  MemberPage page;
  auto it = store->NewIterator(Space::kAudiences);
  it->Seek(prefix + std::string(cursor));
  if (!cursor.empty() && it->Valid() && it->key() == prefix + std::string(cursor)) it->Next();
  for (; it->Valid() && HasPrefix(it->key(), prefix); it->Next()) {
    if (limit != 0 && page.members.size() == limit) {
      page.next_cursor = page.members.back().first;
      break;
    }
    std::string id(it->key().substr(prefix.size()));
    if (computed) {
      // The value is in the profile's record, which a later write may have changed since the
      // iterator's view: a profile whose value went meanwhile is passed over.
      TESSERA_ASSIGN_OR_RETURN(ProfileState st, ReadProfileState(store, id));
      auto found = st.values.find(def_id);
      if (found == st.values.end()) continue;
      auto v = nlohmann::json::parse(found->second, nullptr, false);
      if (v.is_discarded()) return Status::Corruption("malformed computed value");
      page.members.emplace_back(std::move(id), std::move(v));
    } else {
      Decoder d(it->value());
      int64_t entered;
      if (!d.GetVarsint64(&entered)) return Status::Corruption("malformed member entry");
      page.members.emplace_back(std::move(id), nlohmann::json(FormatIso8601(entered)));
    }
  }
  TESSERA_RETURN_IF_ERROR(it->status());
  return page;
}

Result<std::optional<DefinitionState>> ReadDefinitionState(storage::Store* store,
                                                           std::string_view def_id) {
  std::string bytes;
  Status s = store->Get(Space::kAudiences, StateKey(def_id), &bytes);
  if (s.code() == StatusCode::kNotFound) return std::optional<DefinitionState>();
  TESSERA_RETURN_IF_ERROR(s);
  TESSERA_ASSIGN_OR_RETURN(DefinitionState st, DecodeDefinitionState(bytes));
  return std::optional<DefinitionState>(std::move(st));
}

}  // namespace tessera::audience::state
