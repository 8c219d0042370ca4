#include "profile/profile.h"

#include <nlohmann/json.hpp>

#include <algorithm>

#include "core/coding.h"

namespace tessera::profile {

using storage::Space;

namespace {
// 2 added consent; version 1 records (without it) still decode.
constexpr uint64_t kVersion = 2;

void AddSource(Profile* p, const std::string& source) {
  auto it = std::lower_bound(p->sources.begin(), p->sources.end(), source);
  if (it == p->sources.end() || *it != source) p->sources.insert(it, source);
}

// Last writer wins by timestamp; a tie goes to the later message (the one applied now).
void SetTrait(Profile* p, const std::string& name, TraitValue value) {
  auto it = p->traits.find(name);
  if (it == p->traits.end() || it->second.at <= value.at) p->traits[name] = std::move(value);
}

void SetConsent(Profile* p, const std::string& purpose, ConsentValue value) {
  auto it = p->consent.find(purpose);
  if (it == p->consent.end() || it->second.at <= value.at) p->consent[purpose] = std::move(value);
}

}  // namespace

void FoldProfile(Profile* into, Profile from) {
  for (auto& [name, value] : from.traits) {
    auto it = into->traits.find(name);
    if (it == into->traits.end() || it->second.at < value.at) into->traits[name] = std::move(value);
  }
  for (auto& [purpose, value] : from.consent) {
    auto it = into->consent.find(purpose);
    if (it == into->consent.end() || it->second.at < value.at) {
      into->consent[purpose] = std::move(value);
    }
  }
  for (const auto& s : from.sources) AddSource(into, s);
  if (into->event_count == 0) {
    into->first_seen = from.first_seen;
    into->last_seen = from.last_seen;
  } else if (from.event_count > 0) {
    into->first_seen = std::min(into->first_seen, from.first_seen);
    into->last_seen = std::max(into->last_seen, from.last_seen);
  }
  into->event_count += from.event_count;
}

namespace {

// Sort keys so that ascending key order is descending time.
uint64_t Inverted(int64_t v) { return ~(static_cast<uint64_t>(v) ^ (uint64_t{1} << 63)); }

Result<Profile> LoadOrNew(storage::Reader* reader, const std::string& tessera_id) {
  auto p = LoadProfile(reader, tessera_id);
  if (p.ok() || p.status().code() != StatusCode::kNotFound) return p;
  Profile fresh;
  fresh.tessera_id = tessera_id;
  return fresh;
}

}  // namespace

std::string ProfileKey(std::string_view tessera_id) { return "p" + std::string(tessera_id); }

std::string TimelineKey(std::string_view fragment, TimeMs at, uint64_t seq) {
  std::string key(fragment);
  PutFixed64BE(&key, Inverted(at));
  PutFixed64BE(&key, ~seq);
  return key;
}

std::string EncodeProfile(const Profile& p) {
  std::string out;
  PutVarint64(&out, kVersion);
  PutLengthPrefixed(&out, p.tessera_id);
  PutVarsint64(&out, p.first_seen);
  PutVarsint64(&out, p.last_seen);
  PutVarint64(&out, p.event_count);
  PutVarint64(&out, p.sources.size());
  for (const auto& s : p.sources) PutLengthPrefixed(&out, s);
  PutVarint64(&out, p.traits.size());
  for (const auto& [name, t] : p.traits) {
    PutLengthPrefixed(&out, name);
    PutLengthPrefixed(&out, t.json);
    PutVarsint64(&out, t.at);
    PutLengthPrefixed(&out, t.source_id);
    PutLengthPrefixed(&out, t.message_id);
  }
  PutVarint64(&out, p.consent.size());
  for (const auto& [purpose, c] : p.consent) {
    PutLengthPrefixed(&out, purpose);
    PutVarint64(&out, c.granted ? 1 : 0);
    PutVarsint64(&out, c.at);
    PutLengthPrefixed(&out, c.source_id);
    PutLengthPrefixed(&out, c.message_id);
  }
  return out;
}

Result<Profile> DecodeProfile(std::string_view bytes) {
  Decoder d(bytes);
  Profile p;
  uint64_t version, n;
  auto bad = [] { return Status::Corruption("malformed profile record"); };
  if (!d.GetVarint64(&version) || version < 1 || version > kVersion ||
      !d.GetLengthPrefixed(&p.tessera_id) ||
      !d.GetVarsint64(&p.first_seen) || !d.GetVarsint64(&p.last_seen) ||
      !d.GetVarint64(&p.event_count) || !d.GetVarint64(&n) || n > bytes.size()) {
    return bad();
  }
  p.sources.resize(n);
  for (auto& s : p.sources) {
    if (!d.GetLengthPrefixed(&s)) return bad();
  }
  if (!d.GetVarint64(&n) || n > bytes.size()) return bad();
  for (uint64_t i = 0; i < n; ++i) {
    std::string name;
    TraitValue t;
    if (!d.GetLengthPrefixed(&name) || !d.GetLengthPrefixed(&t.json) || !d.GetVarsint64(&t.at) ||
        !d.GetLengthPrefixed(&t.source_id) || !d.GetLengthPrefixed(&t.message_id)) {
      return bad();
    }
    p.traits.emplace(std::move(name), std::move(t));
  }
  if (version >= 2) {
    if (!d.GetVarint64(&n) || n > bytes.size()) return bad();
    for (uint64_t i = 0; i < n; ++i) {
      std::string purpose;
      ConsentValue c;
      uint64_t granted;
      if (!d.GetLengthPrefixed(&purpose) || !d.GetVarint64(&granted) || granted > 1 ||
          !d.GetVarsint64(&c.at) || !d.GetLengthPrefixed(&c.source_id) ||
          !d.GetLengthPrefixed(&c.message_id)) {
        return bad();
      }
      c.granted = granted == 1;
      p.consent.emplace(std::move(purpose), std::move(c));
    }
  }
  if (!d.done()) return bad();
  return p;
}

Result<Profile> LoadProfile(storage::Reader* reader, std::string_view tessera_id) {
  std::string bytes;
  TESSERA_RETURN_IF_ERROR(reader->Get(Space::kProfiles, ProfileKey(tessera_id), &bytes));
  return DecodeProfile(bytes);
}

Status ApplyEvent(const Event& event, const std::string& tessera_id,
                  const std::vector<std::string>& merged, storage::StagedWrites* staged) {
  TESSERA_ASSIGN_OR_RETURN(Profile profile, LoadOrNew(staged, tessera_id));
  for (const auto& other_id : merged) {
    auto other = LoadProfile(staged, other_id);
    if (other.status().code() == StatusCode::kNotFound) continue;
    TESSERA_RETURN_IF_ERROR(other.status());
    FoldProfile(&profile, std::move(other).value());
    staged->Delete(Space::kProfiles, ProfileKey(other_id));
  }
  if (event.type == MessageType::kIdentify && !event.traits_json.empty()) {
    // Ingest validated traits as a JSON object; a parse failure here means a corrupt record.
    nlohmann::json traits = nlohmann::json::parse(event.traits_json, nullptr, false);
    if (!traits.is_object()) {
      return Status::Corruption("stored traits are not an object, seq " + std::to_string(event.seq));
    }
    for (const auto& [name, value] : traits.items()) {
      SetTrait(&profile, name, {value.dump(), event.timestamp, event.source_id, event.message_id});
    }
  }
  if (!event.consent_json.empty()) {
    // Ingest checked it is an object of booleans.
    nlohmann::json consent = nlohmann::json::parse(event.consent_json, nullptr, false);
    if (!consent.is_object()) {
      return Status::Corruption("stored consent is not an object, seq " +
                                std::to_string(event.seq));
    }
    for (const auto& [purpose, granted] : consent.items()) {
      SetConsent(&profile, purpose,
                 {granted.is_boolean() && granted.get<bool>(), event.timestamp, event.source_id,
                  event.message_id});
    }
  }
  AddSource(&profile, event.source_id);
  if (profile.event_count == 0) {
    profile.first_seen = profile.last_seen = event.timestamp;
  } else {
    profile.first_seen = std::min(profile.first_seen, event.timestamp);
    profile.last_seen = std::max(profile.last_seen, event.timestamp);
  }
  ++profile.event_count;
  staged->Put(Space::kProfiles, ProfileKey(tessera_id), EncodeProfile(profile));
  AddToTimeline(event, tessera_id, staged);
  return Status::Ok();
}

void AddToTimeline(const Event& event, const std::string& tessera_id,
                   storage::StagedWrites* staged) {
  staged->Put(Space::kTimeline, TimelineKey(tessera_id, event.timestamp, event.seq),
              EncodeTimelineValue(event));
}

namespace {
constexpr uint8_t kSystemFlag = 0x80;  // in the type byte: Tessera's own event
constexpr uint8_t kStoredFlag = 0x40;  // ... not in the log (StoredEventKey)
}  // namespace

std::string EncodeTimelineValue(const Event& event) {
  uint8_t tag = static_cast<uint8_t>(event.type);
  if (event.source_id == kSystemSourceId) tag |= kSystemFlag;
  std::string out(1, static_cast<char>(tag));
  out += event.event;
  return out;
}

std::string EncodeStoredTimelineValue(const Event& event) {
  std::string out = EncodeTimelineValue(event);
  out[0] = static_cast<char>(static_cast<uint8_t>(out[0]) | kStoredFlag);
  return out;
}

std::optional<TimelineValue> DecodeTimelineValue(std::string_view bytes) {
  if (bytes.empty()) return std::nullopt;
  const auto tag = static_cast<uint8_t>(bytes[0]);
  const auto type = static_cast<uint8_t>(tag & ~(kSystemFlag | kStoredFlag));
  if (type > static_cast<uint8_t>(MessageType::kAlias)) return std::nullopt;
  return TimelineValue{static_cast<MessageType>(type), bytes.substr(1), (tag & kSystemFlag) != 0,
                       (tag & kStoredFlag) != 0};
}

std::string StoredEventKey(uint64_t seq) {
  std::string key = "e";
  PutFixed64BE(&key, seq);
  return key;
}

uint64_t TimelineKeySeq(std::string_view key) {
  return ~DecodeFixed64BE(key.data() + key.size() - 8);
}

Result<TimelinePage> ReadTimeline(storage::Store* store, const std::vector<std::string>& fragments,
                                  size_t limit, std::string_view cursor) {
  // A cursor is the 16-byte position (inverted time + inverted seq) of the last entry returned,
  // hex-encoded; each fragment resumes strictly after it.
  std::string position;
  if (!cursor.empty()) {
    auto decoded = HexDecode(cursor);
    if (cursor.size() != 32 || !decoded) return Status::InvalidArgument("malformed cursor");
    position = std::move(*decoded);
  }
  struct Head {
    std::unique_ptr<storage::Iterator> it;
    std::string prefix;
  };
  std::vector<Head> heads;
  for (const auto& f : fragments) {
    Head h{store->NewIterator(Space::kTimeline), f};
    h.it->Seek(f + position);
    if (!position.empty() && h.it->Valid() && h.it->key() == f + position) h.it->Next();
    heads.push_back(std::move(h));
  }
  auto valid = [](const Head& h) {
    return h.it->Valid() && h.it->key().size() == h.prefix.size() + 16 &&
           h.it->key().substr(0, h.prefix.size()) == h.prefix;
  };
  TimelinePage page;
  std::string last;
  while (page.seqs.size() < limit) {
    Head* best = nullptr;
    for (auto& h : heads) {
      if (!valid(h)) continue;
      if (!best || h.it->key().substr(h.prefix.size()) < best->it->key().substr(best->prefix.size())) {
        best = &h;
      }
    }
    if (!best) break;
    std::string_view pos = best->it->key().substr(best->prefix.size());
    page.seqs.push_back(~DecodeFixed64BE(pos.data() + 8));
    page.values.emplace_back(best->it->value());
    last.assign(pos);
    best->it->Next();
  }
  for (auto& h : heads) TESSERA_RETURN_IF_ERROR(h.it->status());
  bool more = std::any_of(heads.begin(), heads.end(), valid);
  if (more && !last.empty()) page.next_cursor = HexEncode(last);
  return page;
}

}  // namespace tessera::profile
