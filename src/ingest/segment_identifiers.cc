// Identifier extraction and normalisation for Segment messages: which values of a message name a
// person (user id, email, phone, device, workspace-defined kinds) and their canonical forms, so
// that the identity graph matches "Ada@Example.com " with "ada@example.com".
#include <phonenumbers/phonenumberutil.h>

#include <charconv>
#include <span>

#include "ingest/segment.h"
#include "ingest/segment_internal.h"

namespace tessera::ingest {
namespace {

bool IsAsciiSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

std::optional<simdjson::dom::element> Member(simdjson::dom::object object, std::string_view key) {
  simdjson::dom::element value;
  if (object.at_key(key).get(value) != simdjson::SUCCESS || value.is_null()) return std::nullopt;
  return value;
}

// Appends {kind, value} unless that exact pair is already there (a custom kind may repeat a
// built-in one, e.g. a "user_id" kind read from properties.user_id).
void AddUnique(std::vector<Identifier>* ids, std::string_view kind, std::string value) {
  for (const auto& id : *ids) {
    if (id.kind == kind && id.value == value) return;
  }
  ids->push_back(Identifier{std::string(kind), std::move(value)});
}

// Where person traits live: identify's own "traits" first, then "context.traits". Other types
// carry person traits only in context.traits (the "traits" of a group describe the group).
constexpr std::string_view kIdentifyEmailPaths[] = {"traits.email", "context.traits.email"};
constexpr std::string_view kIdentifyPhonePaths[] = {"traits.phone", "context.traits.phone"};

std::span<const std::string_view> TraitPaths(MessageType type,
                                             std::span<const std::string_view> identify_paths) {
  return type == MessageType::kIdentify ? identify_paths : identify_paths.subspan(1);
}

std::vector<std::string_view> SplitPath(std::string_view path) {
  std::vector<std::string_view> steps;
  for (;;) {
    size_t dot = path.find('.');
    steps.push_back(path.substr(0, dot));
    if (dot == std::string_view::npos) return steps;
    path.remove_prefix(dot + 1);
  }
}

}  // namespace

std::string NormalizeEmail(std::string_view email) {
  while (!email.empty() && IsAsciiSpace(email.front())) email.remove_prefix(1);
  while (!email.empty() && IsAsciiSpace(email.back())) email.remove_suffix(1);
  std::string out(email);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::optional<std::string> NormalizePhone(std::string_view phone, std::string_view default_region) {
  using i18n::phonenumbers::PhoneNumber;
  using i18n::phonenumbers::PhoneNumberUtil;
  // libphonenumber expects UTF-8; JSON input is already validated, other callers may not be.
  if (phone.empty() || !simdjson::validate_utf8(phone.data(), phone.size())) return std::nullopt;
  const PhoneNumberUtil* util = PhoneNumberUtil::GetInstance();
  PhoneNumber number;
  if (util->Parse(std::string(phone), std::string(default_region), &number) !=
      PhoneNumberUtil::NO_PARSING_ERROR) {
    return std::nullopt;
  }
  // A valid number is in a range known to the metadata. A full-length possible number is also
  // kept because metadata lags new ranges; "local only" lengths are not, since their E.164 form
  // would lack the area code and could name someone else.
  if (!util->IsValidNumber(number) &&
      util->IsPossibleNumberWithReason(number) != PhoneNumberUtil::IS_POSSIBLE) {
    return std::nullopt;
  }
  std::string out;
  util->Format(number, PhoneNumberUtil::E164, &out);
  return out;
}

namespace internal {

std::optional<simdjson::dom::element> ContextView::Get(std::string_view key) const {
  if (message) {
    simdjson::dom::element value;
    // A key present in the message's context hides the batch's, even when it is null.
    if (message->at_key(key).get(value) == simdjson::SUCCESS) {
      if (value.is_null()) return std::nullopt;
      return value;
    }
  }
  if (batch) return Member(*batch, key);
  return std::nullopt;
}

std::optional<simdjson::dom::element> Lookup(const MessageView& message, std::string_view path) {
  std::vector<std::string_view> steps = SplitPath(path);
  std::optional<simdjson::dom::element> current;
  size_t i = 1;
  if (steps.size() >= 2 && steps[0] == "context") {
    current = message.context.Get(steps[1]);
    i = 2;
  } else {
    current = Member(message.object, steps[0]);
  }
  for (; current && i < steps.size(); ++i) {
    simdjson::dom::object object;
    if (current->get_object().get(object) != simdjson::SUCCESS) return std::nullopt;
    current = Member(object, steps[i]);
  }
  return current;
}

std::optional<std::string> IdText(simdjson::dom::element value) {
  switch (value.type()) {
    case simdjson::dom::element_type::STRING: {
      std::string_view s;
      if (value.get_string().get(s) != simdjson::SUCCESS) return std::nullopt;
      return std::string(s);
    }
    case simdjson::dom::element_type::INT64: {
      int64_t v = 0;
      if (value.get_int64().get(v) != simdjson::SUCCESS) return std::nullopt;
      return std::to_string(v);
    }
    case simdjson::dom::element_type::UINT64: {
      uint64_t v = 0;
      if (value.get_uint64().get(v) != simdjson::SUCCESS) return std::nullopt;
      return std::to_string(v);
    }
    case simdjson::dom::element_type::DOUBLE: {
      double v = 0;
      if (value.get_double().get(v) != simdjson::SUCCESS) return std::nullopt;
      // Shortest round-trip text, as JavaScript's String(number) prints it ("1.5", "1e+21").
      char buf[32];
      auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
      if (ec != std::errc()) return std::nullopt;
      return std::string(buf, end);
    }
    default:
      return std::nullopt;
  }
}

std::vector<Identifier> ExtractIdentifiers(const MessageView& message, const std::string& user_id,
                                           const std::string& anonymous_id,
                                           const IdentifierConfig& config) {
  std::vector<Identifier> ids;
  if (!user_id.empty()) AddUnique(&ids, id_kind::kUserId, user_id);
  if (!anonymous_id.empty()) AddUnique(&ids, id_kind::kAnonymousId, anonymous_id);

  // Emails and phones inside traits are free-form user data, not envelope fields: a value of the
  // wrong type or shape is skipped rather than failing the request.
  for (std::string_view path : TraitPaths(message.type, kIdentifyEmailPaths)) {
    auto value = Lookup(message, path);
    std::string_view text;
    if (!value || value->get_string().get(text) != simdjson::SUCCESS) continue;
    std::string email = NormalizeEmail(text);
    if (email.empty() || email.find('@') == std::string::npos) continue;
    AddUnique(&ids, id_kind::kEmail, std::move(email));
    break;
  }
  for (std::string_view path : TraitPaths(message.type, kIdentifyPhonePaths)) {
    auto value = Lookup(message, path);
    std::optional<std::string> text = value ? IdText(*value) : std::nullopt;
    if (!text) continue;
    std::optional<std::string> phone = NormalizePhone(*text, config.default_phone_region);
    if (!phone) continue;
    AddUnique(&ids, id_kind::kPhone, std::move(*phone));
    break;
  }
  if (auto device = message.context.Get("device")) {
    simdjson::dom::object device_object;
    std::string_view device_id;
    if (device->get_object().get(device_object) == simdjson::SUCCESS) {
      auto id = Member(device_object, "id");
      if (id && id->get_string().get(device_id) == simdjson::SUCCESS && !device_id.empty()) {
        AddUnique(&ids, id_kind::kDeviceId, std::string(device_id));
      }
    }
  }
  for (const CustomIdentifierKind& custom : config.custom) {
    for (const std::string& path : custom.paths) {
      auto value = Lookup(message, path);
      std::optional<std::string> text = value ? IdText(*value) : std::nullopt;
      if (!text || text->empty()) continue;
      AddUnique(&ids, custom.kind, std::move(*text));
      break;
    }
  }
  return ids;
}

}  // namespace internal
}  // namespace tessera::ingest
