#include "audience/state.h"

#include "core/coding.h"

namespace tessera::audience::state {

using storage::Space;

namespace {
constexpr uint64_t kMembershipVersion = 1;
constexpr uint64_t kStateVersion = 1;

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
std::string StateKey(std::string_view def_id) { return "s" + std::string(def_id); }

Result<std::vector<ProfileMembership>> ReadMemberships(storage::Store* store,
                                                       std::string_view tessera_id) {
  std::string prefix = MembershipKey(tessera_id, "");
  std::vector<ProfileMembership> out;
  auto it = store->NewIterator(Space::kAudiences);
  for (it->Seek(prefix); it->Valid() && HasPrefix(it->key(), prefix); it->Next()) {
    TESSERA_ASSIGN_OR_RETURN(Membership m, DecodeMembership(it->value()));
    out.push_back({std::string(it->key().substr(prefix.size())), m});
  }
  TESSERA_RETURN_IF_ERROR(it->status());
  return out;
}

Result<std::vector<std::pair<std::string, nlohmann::json>>> ReadValues(
    storage::Store* store, std::string_view tessera_id) {
  std::string prefix = ValueKey(tessera_id, "");
  std::vector<std::pair<std::string, nlohmann::json>> out;
  auto it = store->NewIterator(Space::kAudiences);
  for (it->Seek(prefix); it->Valid() && HasPrefix(it->key(), prefix); it->Next()) {
    auto v = nlohmann::json::parse(it->value(), nullptr, false);
    if (v.is_discarded()) return Status::Corruption("malformed computed value");
    out.emplace_back(std::string(it->key().substr(prefix.size())), std::move(v));
  }
  TESSERA_RETURN_IF_ERROR(it->status());
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
      auto v = nlohmann::json::parse(it->value(), nullptr, false);
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
