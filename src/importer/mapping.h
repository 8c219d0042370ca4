// How the columns of a CSV file become Segment messages.
//
// A Mapping comes from a JSON file (--map) and/or CLI flags, or is the default: columns whose
// name looks like an identifier (user_id/userId/customer_id, anonymous_id, email/e_mail/
// email_address, phone/mobile/phone_number; case, '-' and ' ' ignored) are identifiers, every
// other column is a trait named after the column. The file format (all keys optional):
//
//   {"type": "identify" | "track",          default identify
//    "event": "Store Purchase",             track only, required there
//    "identifiers": {"crm_id": "user_id", "email": "email", "loyalty_no": "loyalty_id"},
//    "traits": {"first_name": "firstName"} | ["col", ...] | "*",
//    "properties": {...} | [...] | "*",     track only
//    "timestamp": "updated_at",
//    "skip": ["internal_notes"],
//    "types": {"age": "number", "vip": "boolean", "zip": "string"}}
//
// "*" means every column not used otherwise (identifier, timestamp, skip, listed elsewhere).
// Defaults: identify -> traits "*"; track -> properties "*" and no traits. Identifier kinds land
// where Segment puts them: user_id -> userId, anonymous_id -> anonymousId, device_id ->
// context.device.id, any other kind K (email, phone, loyalty_id, ...) -> traits.K on identify
// and context.traits.K on track; explicit traits on a track go to context.traits too.
// Empty cells are left out. Cells stay strings unless "types" says otherwise.
//
// Thread-safety: Mapping is a value; a RowMapper is immutable after Create() and may be shared.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/event.h"
#include "core/status.h"

namespace tessera::importer {

enum class ValueType { kString, kNumber, kBoolean };

// Which columns become traits (or properties), and under which names.
struct ColumnSelection {
  enum class Mode { kUnset, kAll, kListed };
  Mode mode = Mode::kUnset;
  std::vector<std::pair<std::string, std::string>> columns{};  // column -> name, for kListed
  bool operator==(const ColumnSelection&) const = default;
};

struct Mapping {
  MessageType type = MessageType::kIdentify;  // identify or track only
  std::string event{};                        // track: the event name
  // column -> identifier kind, in order. Empty: detect identifier columns by name.
  std::vector<std::pair<std::string, std::string>> identifiers{};
  ColumnSelection traits{};
  ColumnSelection properties{};
  std::string timestamp_column{};  // empty: none (the server stamps the receive time)
  std::vector<std::string> skip{};
  std::map<std::string, ValueType> types{};

  bool operator==(const Mapping&) const = default;
  bool IsDefault() const { return *this == Mapping(); }
  // Canonical JSON (for checkpoint fingerprints): equal mappings give equal text.
  std::string ToJson() const;
};

// InvalidArgument naming the offending key or value. Does not ValidateMapping(): flags may still
// complete it (e.g. --event for a track mapping).
Result<Mapping> ParseMappingJson(std::string_view json);
Result<Mapping> LoadMappingFile(const std::string& path);

// Flag forms, applied on top of a mapping. "COLUMN=KIND" adds an identifier column.
Status AddIdentifierFlag(std::string_view spec, Mapping* mapping);
// "COLUMN" or "COLUMN=NAME": an explicit trait (switches traits from "*" to a list).
Status AddTraitFlag(std::string_view spec, Mapping* mapping);

// Checks the parts that do not need the header: type, event, kinds, "*" use.
Status ValidateMapping(const Mapping& mapping);

// "user_id", "anonymous_id", "email", "phone", "device_id" or a custom kind: lower-case ASCII
// letters, digits and '_', starting with a letter, at most 64 bytes; not "tessera_id".
bool IsValidIdentifierKind(std::string_view kind);

// Turns rows of one CSV file into messages. Immutable.
class RowMapper {
 public:
  // Resolves the mapping against the header. InvalidArgument when the mapping names a column
  // the header lacks, the header repeats a column name, or two columns would set the same field.
  // `source` goes into every messageId (see message_id.h).
  static Result<RowMapper> Create(const Mapping& mapping, const std::vector<std::string>& header,
                                  std::string source);

  // The message for one row, minified JSON with its messageId. InvalidArgument with the reason
  // when the row is rejected: wrong field count, no identifier, a cell that does not convert,
  // a bad timestamp, invalid UTF-8, or a message over kMaxMessageBytes.
  Result<std::string> Map(const std::vector<std::string>& fields) const;

  size_t columns() const { return header_size_; }

  enum class Target { kUserId, kAnonymousId, kDeviceId, kTrait, kProperty, kTimestamp };
  struct Action {
    size_t column = 0;
    Target target = Target::kTrait;
    std::string name{};  // trait/property name
    ValueType type = ValueType::kString;
    bool identifier = false;  // a non-empty cell makes the row identified
  };

 private:
  RowMapper() = default;

  MessageType type_ = MessageType::kIdentify;
  std::string event_;
  std::string source_;
  std::vector<std::string> header_;
  size_t header_size_ = 0;
  std::vector<Action> actions_;
};

// Segment's per-message limit; the importer rejects bigger messages itself.
inline constexpr size_t kMaxMessageBytes = 32 * 1024;

}  // namespace tessera::importer
