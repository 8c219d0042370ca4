#include "core/event.h"

#include "core/coding.h"

namespace tessera {
namespace {
// 2 added consent_json at the end; version 1 records (without it) still decode.
constexpr uint64_t kFormatVersion = 2;
constexpr MessageType kAllTypes[] = {MessageType::kIdentify, MessageType::kTrack,
                                     MessageType::kPage,     MessageType::kScreen,
                                     MessageType::kGroup,    MessageType::kAlias};

void PutOptionalTime(std::string* out, const std::optional<TimeMs>& t) {
  PutVarint64(out, t.has_value() ? 1 : 0);
  if (t) PutVarsint64(out, *t);
}

bool GetOptionalTime(Decoder* d, std::optional<TimeMs>* t) {
  uint64_t has;
  if (!d->GetVarint64(&has)) return false;
  if (has) {
    int64_t v;
    if (!d->GetVarsint64(&v)) return false;
    *t = v;
  }
  return true;
}
}  // namespace

std::string_view MessageTypeName(MessageType type) {
  switch (type) {
    case MessageType::kIdentify: return "identify";
    case MessageType::kTrack: return "track";
    case MessageType::kPage: return "page";
    case MessageType::kScreen: return "screen";
    case MessageType::kGroup: return "group";
    case MessageType::kAlias: return "alias";
  }
  return "?";
}

std::optional<MessageType> ParseMessageType(std::string_view name) {
  for (MessageType t : kAllTypes) {
    if (MessageTypeName(t) == name) return t;
  }
  return std::nullopt;
}

std::string EncodeEvent(const Event& e) {
  std::string out;
  out.reserve(e.json.size() + e.traits_json.size() + 128);
  AppendEventHead(&out, e.seq);
  AppendEventBody(&out, e);
  return out;
}

void AppendEventHead(std::string* out, uint64_t seq) {
  PutVarint64(out, kFormatVersion);
  PutVarint64(out, seq);
}

void AppendEventBody(std::string* dst, const Event& e) {
  std::string& out = *dst;
  PutLengthPrefixed(&out, e.source_id);
  PutVarint64(&out, static_cast<uint64_t>(e.type));
  PutLengthPrefixed(&out, e.message_id);
  PutLengthPrefixed(&out, e.user_id);
  PutLengthPrefixed(&out, e.anonymous_id);
  PutLengthPrefixed(&out, e.event);
  PutLengthPrefixed(&out, e.previous_id);
  PutLengthPrefixed(&out, e.group_id);
  PutVarsint64(&out, e.timestamp);
  PutVarsint64(&out, e.received_at);
  PutOptionalTime(&out, e.sent_at);
  PutOptionalTime(&out, e.original_timestamp);
  PutVarint64(&out, e.identifiers.size());
  for (const auto& id : e.identifiers) {
    PutLengthPrefixed(&out, id.kind);
    PutLengthPrefixed(&out, id.value);
  }
  PutLengthPrefixed(&out, e.traits_json);
  PutLengthPrefixed(&out, e.json);
  PutLengthPrefixed(&out, e.consent_json);
}

Result<Event> DecodeEvent(std::string_view bytes) {
  Decoder d(bytes);
  Event e;
  uint64_t version, type, n;
  auto bad = [] { return Status::Corruption("malformed event record"); };
  if (!d.GetVarint64(&version) || version < 1 || version > kFormatVersion) return bad();
  if (!d.GetVarint64(&e.seq) || !d.GetLengthPrefixed(&e.source_id) || !d.GetVarint64(&type) ||
      type > static_cast<uint64_t>(MessageType::kAlias) || !d.GetLengthPrefixed(&e.message_id) ||
      !d.GetLengthPrefixed(&e.user_id) || !d.GetLengthPrefixed(&e.anonymous_id) ||
      !d.GetLengthPrefixed(&e.event) || !d.GetLengthPrefixed(&e.previous_id) ||
      !d.GetLengthPrefixed(&e.group_id) || !d.GetVarsint64(&e.timestamp) ||
      !d.GetVarsint64(&e.received_at) || !GetOptionalTime(&d, &e.sent_at) ||
      !GetOptionalTime(&d, &e.original_timestamp) || !d.GetVarint64(&n) || n > bytes.size()) {
    return bad();
  }
  e.type = static_cast<MessageType>(type);
  e.identifiers.resize(n);
  for (auto& id : e.identifiers) {
    if (!d.GetLengthPrefixed(&id.kind) || !d.GetLengthPrefixed(&id.value)) return bad();
  }
  if (!d.GetLengthPrefixed(&e.traits_json) || !d.GetLengthPrefixed(&e.json) ||
      (version >= 2 && !d.GetLengthPrefixed(&e.consent_json)) || !d.done()) {
    return bad();
  }
  return e;
}

}  // namespace tessera
