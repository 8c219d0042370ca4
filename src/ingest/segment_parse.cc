// Request shape, field validation, context merge, clock-skew correction and message ids for the
// Segment Tracking API (see segment.h). Identifier rules live in segment_identifiers.cc.
//
// simdjson is used with error codes only, so nothing here throws except std::bad_alloc.
#include <algorithm>
#include <unordered_set>
#include <vector>

#include "core/json_text.h"
#include "ingest/segment.h"
#include "ingest/segment_internal.h"

namespace tessera::ingest {
namespace {

using simdjson::dom::element;
using simdjson::dom::object;

// Segment rejects longer message ids; they are also dedupe keys, so keep them bounded.
constexpr size_t kMaxMessageIdBytes = 200;
// Client-supplied text quoted in an error message is cut to this many bytes.
constexpr size_t kMaxQuotedBytes = 64;

// Request-level values that apply to every message of a batch.
struct BatchDefaults {
  std::optional<object> context;
  std::optional<TimeMs> sent_at;
};

std::optional<MessageType> EndpointType(Endpoint endpoint) {
  switch (endpoint) {
    case Endpoint::kIdentify: return MessageType::kIdentify;
    case Endpoint::kTrack: return MessageType::kTrack;
    case Endpoint::kPage: return MessageType::kPage;
    case Endpoint::kScreen: return MessageType::kScreen;
    case Endpoint::kGroup: return MessageType::kGroup;
    case Endpoint::kAlias: return MessageType::kAlias;
    case Endpoint::kBatch: return std::nullopt;
  }
  return std::nullopt;
}

// Client text for an error message: quoted and cut at a UTF-8 boundary, so the server can put it
// in a JSON reply without producing invalid UTF-8.
std::string QuoteForError(std::string_view text) {
  std::string out = "\"";
  if (text.size() <= kMaxQuotedBytes) {
    out.append(text);
  } else {
    size_t end = kMaxQuotedBytes;
    while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
    out.append(text.substr(0, end));
    out.append("...");
  }
  out.push_back('"');
  return out;
}

// Appends `value` minified. simdjson::to_string builds a fresh string_builder (a vector<char>
// grown a character at a time) and a std::string for every call; one builder per thread keeps
// its buffer between calls, which matters at ~20 members per message.
template <typename T>
void AppendMinified(std::string* out, T value) {
  thread_local simdjson::internal::string_builder<> builder;
  builder.clear();
  builder.append(value);
  out->append(builder.str());
}

template <typename T>
std::string Minified(T value) {
  std::string out;
  AppendMinified(&out, value);
  return out;
}

// Writes minified JSON objects member by member. A key seen before in the same object is
// dropped: simdjson's at_key() reads the first of duplicate keys, so the output keeps exactly the
// values that were validated.
class ObjectWriter {
 public:
  explicit ObjectWriter(std::string* out) : out_(out) {
    few_.reserve(kFewKeys);
    out_->push_back('{');
  }
  void Skip(std::string_view key) { Insert(key); }
  bool Seen(std::string_view key) const {
    return many_.empty() ? std::find(few_.begin(), few_.end(), key) != few_.end()
                         : many_.contains(key);
  }
  // Starts member key; false (and nothing written) when the key was already written or skipped.
  bool Key(std::string_view key) {
    if (!Insert(key)) return false;
    if (!first_) out_->push_back(',');
    first_ = false;
    AppendJsonString(out_, key);
    out_->push_back(':');
    return true;
  }
  void Member(std::string_view key, element value) {
    if (Key(key)) AppendMinified(out_, value);
  }
  void Finish() { out_->push_back('}'); }

 private:
  // Objects have a dozen keys or so: a linear search in a vector beats a node per key, and a
  // hash set takes over for objects with many.
  static constexpr size_t kFewKeys = 32;
  bool Insert(std::string_view key) {
    if (Seen(key)) return false;
    if (many_.empty() && few_.size() < kFewKeys) {
      few_.push_back(key);
    } else {
      if (many_.empty()) many_.insert(few_.begin(), few_.end());
      many_.insert(key);
    }
    return true;
  }

  std::string* out_;
  std::vector<std::string_view> few_;
  std::unordered_set<std::string_view> many_;  // all keys, once there are more than kFewKeys
  bool first_ = true;
};

// The message's context value with the batch context merged under it (message keys win).
void AppendContext(std::string* out, element message_context, const BatchDefaults& batch) {
  object message_object;
  if (!batch.context) {
    AppendMinified(out, message_context);
  } else if (message_context.get_object().get(message_object) != simdjson::SUCCESS) {
    AppendMinified(out, *batch.context);  // "context": null in the message
  } else {
    ObjectWriter merged(out);
    for (auto field : message_object) merged.Member(field.key, field.value);
    for (auto field : *batch.context) merged.Member(field.key, field.value);
    merged.Finish();
  }
}

// Event::json: the message minified, "type" set when the endpoint decided it, the batch context
// merged, and "writeKey" dropped so no credential is stored with the event.
std::string BuildMessageJson(object message, std::optional<MessageType> forced_type,
                             const BatchDefaults& batch) {
  std::string out;
  ObjectWriter writer(&out);
  writer.Skip("writeKey");
  if (forced_type && writer.Key("type")) AppendJsonString(&out, MessageTypeName(*forced_type));
  for (auto field : message) {
    if (field.key == "context") {
      if (writer.Key("context")) AppendContext(&out, field.value, batch);
    } else {
      writer.Member(field.key, field.value);
    }
  }
  if (!writer.Seen("context") && batch.context && writer.Key("context")) {
    AppendMinified(&out, *batch.context);
  }
  writer.Finish();
  return out;
}

// 128-bit FNV-1a over the message JSON and its batch index: stable across processes and
// releases (unlike std::hash), which retried requests rely on for deduplication.
std::string GeneratedMessageId(std::string_view json, size_t index) {
  using u128 = unsigned __int128;
  const u128 kPrime = (static_cast<u128>(0x0000000001000000ULL) << 64) | 0x000000000000013BULL;
  u128 hash = (static_cast<u128>(0x6c62272e07bb0142ULL) << 64) | 0x62b821756295c58dULL;
  auto mix = [&](unsigned char byte) {
    hash ^= byte;
    hash *= kPrime;
  };
  for (char c : json) mix(static_cast<unsigned char>(c));
  for (int shift = 56; shift >= 0; shift -= 8) mix(static_cast<unsigned char>(index >> shift));
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "gen-";
  for (int shift = 124; shift >= 0; shift -= 4) out.push_back(kHex[(hash >> shift) & 0xF]);
  return out;
}

// Field readers. JSON null reads as absent everywhere (SDKs serialise unset values as null).
// Errors name the field and carry the message prefix ("batch[3]: ").
std::optional<element> Field(object o, std::string_view key) {
  element value;
  if (o.at_key(key).get(value) != simdjson::SUCCESS || value.is_null()) return std::nullopt;
  return value;
}

Status WrongType(const std::string& prefix, std::string_view key, std::string_view expected) {
  return Status::InvalidArgument(prefix + "\"" + std::string(key) + "\" must be " +
                                 std::string(expected));
}

Status ReadString(object o, std::string_view key, const std::string& prefix,
                  std::optional<std::string_view>* out) {
  auto value = Field(o, key);
  if (!value) return Status::Ok();
  std::string_view s;
  if (value->get_string().get(s) != simdjson::SUCCESS) return WrongType(prefix, key, "a string");
  *out = s;
  return Status::Ok();
}

// userId, anonymousId, groupId, previousId: a string or a number (Segment accepts both).
Status ReadId(object o, std::string_view key, const std::string& prefix, std::string* out) {
  auto value = Field(o, key);
  if (!value) return Status::Ok();
  std::optional<std::string> text = internal::IdText(*value);
  if (!text) return WrongType(prefix, key, "a string or a number");
  *out = std::move(*text);
  return Status::Ok();
}

Status ReadObject(object o, std::string_view key, const std::string& prefix,
                  std::optional<object>* out) {
  auto value = Field(o, key);
  if (!value) return Status::Ok();
  object result;
  if (value->get_object().get(result) != simdjson::SUCCESS) {
    return WrongType(prefix, key, "an object");
  }
  *out = result;
  return Status::Ok();
}

Status ReadTime(object o, std::string_view key, const std::string& prefix,
                std::optional<TimeMs>* out) {
  std::optional<std::string_view> text;
  TESSERA_RETURN_IF_ERROR(ReadString(o, key, prefix, &text));
  if (!text) return Status::Ok();
  *out = ParseIso8601(*text);
  if (!*out) {
    return Status::InvalidArgument(prefix + "\"" + std::string(key) +
                                   "\" is not an ISO-8601 time: " + QuoteForError(*text));
  }
  return Status::Ok();
}

// The fields every message type shares, validated.
struct CommonFields {
  std::string user_id;
  std::string anonymous_id;
  std::optional<std::string_view> message_id;
  std::optional<object> traits;
  std::optional<object> context;
  std::optional<TimeMs> timestamp;
  std::optional<TimeMs> original_timestamp;
  std::optional<TimeMs> sent_at;
};

Status ReadCommonFields(object o, const std::string& prefix, CommonFields* f) {
  TESSERA_RETURN_IF_ERROR(ReadId(o, "userId", prefix, &f->user_id));
  TESSERA_RETURN_IF_ERROR(ReadId(o, "anonymousId", prefix, &f->anonymous_id));
  TESSERA_RETURN_IF_ERROR(ReadString(o, "messageId", prefix, &f->message_id));
  if (f->message_id && f->message_id->size() > kMaxMessageIdBytes) {
    return Status::InvalidArgument(prefix + "\"messageId\" is longer than " +
                                   std::to_string(kMaxMessageIdBytes) + " bytes");
  }
  std::optional<object> unused;
  TESSERA_RETURN_IF_ERROR(ReadObject(o, "traits", prefix, &f->traits));
  TESSERA_RETURN_IF_ERROR(ReadObject(o, "context", prefix, &f->context));
  TESSERA_RETURN_IF_ERROR(ReadObject(o, "properties", prefix, &unused));
  TESSERA_RETURN_IF_ERROR(ReadObject(o, "integrations", prefix, &unused));
  TESSERA_RETURN_IF_ERROR(ReadTime(o, "timestamp", prefix, &f->timestamp));
  TESSERA_RETURN_IF_ERROR(ReadTime(o, "originalTimestamp", prefix, &f->original_timestamp));
  TESSERA_RETURN_IF_ERROR(ReadTime(o, "sentAt", prefix, &f->sent_at));
  return Status::Ok();
}

// The fields particular to one type: Event::event, group_id, previous_id.
Status ReadTypeFields(object o, MessageType type, const std::string& prefix,
                      const CommonFields& common, Event* event) {
  std::optional<std::string_view> name;
  switch (type) {
    case MessageType::kTrack:
      TESSERA_RETURN_IF_ERROR(ReadString(o, "event", prefix, &name));
      if (!name || name->empty()) {
        return Status::InvalidArgument(prefix + "track message without \"event\"");
      }
      event->event = *name;
      break;
    case MessageType::kPage:
    case MessageType::kScreen:
      TESSERA_RETURN_IF_ERROR(ReadString(o, "name", prefix, &name));
      if (name) event->event = *name;
      break;
    case MessageType::kGroup:
      TESSERA_RETURN_IF_ERROR(ReadId(o, "groupId", prefix, &event->group_id));
      if (event->group_id.empty()) {
        return Status::InvalidArgument(prefix + "group message without \"groupId\"");
      }
      break;
    case MessageType::kAlias:
      TESSERA_RETURN_IF_ERROR(ReadId(o, "previousId", prefix, &event->previous_id));
      if (event->previous_id.empty()) {
        return Status::InvalidArgument(prefix + "alias message without \"previousId\"");
      }
      if (common.user_id.empty()) {
        return Status::InvalidArgument(prefix + "alias message without \"userId\"");
      }
      break;
    case MessageType::kIdentify:
      break;
  }
  return Status::Ok();
}

// Segment's clock-skew correction: the client's clock may be off, but the gap between its
// sentAt and its event time is trusted and re-applied to the server's received_at.
void SetTimes(const CommonFields& f, const BatchDefaults& batch, TimeMs received_at,
              Event* event) {
  std::optional<TimeMs> client_time = f.timestamp ? f.timestamp : f.original_timestamp;
  std::optional<TimeMs> sent_at = f.sent_at ? f.sent_at : batch.sent_at;
  event->received_at = received_at;
  event->original_timestamp = client_time;
  event->sent_at = sent_at;
  if (client_time && sent_at) {
    event->timestamp = received_at - (*sent_at - *client_time);
  } else if (client_time) {
    event->timestamp = *client_time;
  } else {
    event->timestamp = received_at;
  }
}

// context.consent.categoryPreferences, as Segment's consent spec sends it: an object of
// purpose -> true/false. Anything else there is refused rather than half-understood, because a
// misread consent is worse than a rejected request.
Status ReadConsent(const internal::MessageView& view, const std::string& prefix,
                   std::string* consent_json) {
  std::optional<element> prefs = internal::Lookup(view, "context.consent.categoryPreferences");
  if (!prefs) return Status::Ok();
  object o;
  if (prefs->get_object().get(o) != simdjson::SUCCESS) {
    return Status::InvalidArgument(prefix +
                                   "context.consent.categoryPreferences must be an object");
  }
  for (auto field : o) {
    if (!field.value.is_bool()) {
      return Status::InvalidArgument(prefix + "context.consent.categoryPreferences." +
                                     std::string(field.key) + " must be true or false");
    }
  }
  if (o.size() > 0) *consent_json = Minified(o);
  return Status::Ok();
}

// One message. forced_type is the endpoint's type (single-message endpoints); without it the
// message's own "type" decides. in_batch selects the "batch[i]: " error prefix.
Result<Event> ParseMessage(element item, std::optional<MessageType> forced_type, size_t index,
                           bool in_batch, const BatchDefaults& batch, TimeMs received_at,
                           const IngestLimits& limits, const IdentifierConfig& config) {
  const std::string prefix = in_batch ? "batch[" + std::to_string(index) + "]: " : "";
  object o;
  if (item.get_object().get(o) != simdjson::SUCCESS) {
    return Status::InvalidArgument(prefix + "message is not a JSON object");
  }
  // The size limit applies to the message as stored (minified, batch context merged), which
  // is built here once rather than serialised twice.
  std::string json = BuildMessageJson(o, forced_type, batch);
  size_t size = json.size();
  if (size > limits.max_message_bytes) {
    return Status::TooLarge(prefix + "message is " + std::to_string(size) +
                            " bytes, over the limit of " +
                            std::to_string(limits.max_message_bytes));
  }

  Event event;
  if (forced_type) {
    event.type = *forced_type;  // the path wins over any "type" in the body
  } else {
    std::optional<std::string_view> type_name;
    TESSERA_RETURN_IF_ERROR(ReadString(o, "type", prefix, &type_name));
    if (!type_name) return Status::InvalidArgument(prefix + "message without \"type\"");
    std::optional<MessageType> type = ParseMessageType(*type_name);
    if (!type) return Status::InvalidArgument(prefix + "unknown type " + QuoteForError(*type_name));
    event.type = *type;
  }

  CommonFields common;
  TESSERA_RETURN_IF_ERROR(ReadCommonFields(o, prefix, &common));
  TESSERA_RETURN_IF_ERROR(ReadTypeFields(o, event.type, prefix, common, &event));
  if (config.require_user_or_anonymous_id && common.user_id.empty() &&
      common.anonymous_id.empty()) {
    return Status::InvalidArgument(prefix + "message without userId or anonymousId");
  }

  event.user_id = common.user_id;
  event.anonymous_id = common.anonymous_id;
  event.json = std::move(json);
  event.message_id = common.message_id && !common.message_id->empty()
                         ? std::string(*common.message_id)
                         : GeneratedMessageId(event.json, index);
  SetTimes(common, batch, received_at, &event);
  if (event.type == MessageType::kIdentify && common.traits) {
    event.traits_json = Minified(*common.traits);
  }
  internal::MessageView view{o, event.type, internal::ContextView{common.context, batch.context}};
  TESSERA_RETURN_IF_ERROR(ReadConsent(view, prefix, &event.consent_json));
  event.identifiers =
      internal::ExtractIdentifiers(view, event.user_id, event.anonymous_id, config);
  if (event.identifiers.empty() && event.previous_id.empty()) {
    return Status::InvalidArgument(prefix +
                                   "message without any identifier (userId, anonymousId, email, "
                                   "phone, device id)");
  }
  return event;
}

}  // namespace

std::optional<Endpoint> EndpointFromPath(std::string_view path) {
  if (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  if (path == "/v1/identify") return Endpoint::kIdentify;
  if (path == "/v1/track") return Endpoint::kTrack;
  if (path == "/v1/page") return Endpoint::kPage;
  if (path == "/v1/screen") return Endpoint::kScreen;
  if (path == "/v1/group") return Endpoint::kGroup;
  if (path == "/v1/alias") return Endpoint::kAlias;
  if (path == "/v1/batch" || path == "/v1/b" || path == "/v1/import") return Endpoint::kBatch;
  return std::nullopt;
}

Result<ParsedRequest> ParseRequest(Endpoint endpoint, std::string_view body, TimeMs received_at,
                                   const IngestLimits& limits, const IdentifierConfig& config) {
  if (body.size() > limits.max_batch_bytes) {
    return Status::TooLarge("request body is " + std::to_string(body.size()) +
                            " bytes, over the limit of " + std::to_string(limits.max_batch_bytes));
  }
  // One parser per thread: it keeps its buffers between requests, and every handle into its
  // document dies before this function returns.
  thread_local simdjson::dom::parser parser;
  simdjson::padded_string padded(body);
  element root;
  if (auto error = parser.parse(padded).get(root); error != simdjson::SUCCESS) {
    return Status::InvalidArgument(std::string("malformed JSON: ") +
                                   simdjson::error_message(error));
  }
  object root_object;
  if (root.get_object().get(root_object) != simdjson::SUCCESS) {
    return Status::InvalidArgument("request body is not a JSON object");
  }

  ParsedRequest request;
  std::optional<std::string_view> write_key;
  TESSERA_RETURN_IF_ERROR(ReadString(root_object, "writeKey", "", &write_key));
  if (write_key) request.write_key = *write_key;

  if (std::optional<MessageType> type = EndpointType(endpoint)) {
    TESSERA_ASSIGN_OR_RETURN(Event event, ParseMessage(root, type, 0, /*in_batch=*/false, {},
                                                       received_at, limits, config));
    request.events.push_back(std::move(event));
    return request;
  }

  BatchDefaults batch;
  std::optional<object> integrations;
  TESSERA_RETURN_IF_ERROR(ReadObject(root_object, "context", "", &batch.context));
  TESSERA_RETURN_IF_ERROR(ReadObject(root_object, "integrations", "", &integrations));
  TESSERA_RETURN_IF_ERROR(ReadTime(root_object, "sentAt", "", &batch.sent_at));
  std::optional<element> items = Field(root_object, "batch");
  if (!items) return Status::InvalidArgument("request without a \"batch\" array");
  simdjson::dom::array array;
  if (items->get_array().get(array) != simdjson::SUCCESS) {
    return Status::InvalidArgument("\"batch\" must be an array");
  }
  request.events.reserve(array.size());
  size_t index = 0;
  for (element item : array) {
    TESSERA_ASSIGN_OR_RETURN(Event event, ParseMessage(item, std::nullopt, index, /*in_batch=*/true,
                                                       batch, received_at, limits, config));
    request.events.push_back(std::move(event));
    ++index;
  }
  return request;
}

}  // namespace tessera::ingest
