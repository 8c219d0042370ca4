#include "core/coding.h"
#include "importer/message_id.h"

#include <openssl/sha.h>

namespace tessera::importer {

std::string CanonicalJson(const nlohmann::json& value) {
  // nlohmann::json keeps object members in a std::map: dump() is already key-sorted.
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string ImportMessageId(std::string_view source, const nlohmann::json& message) {
  std::string input(source);
  input.push_back('\n');
  if (message.is_object() && message.contains("messageId")) {
    nlohmann::json copy = message;
    copy.erase("messageId");
    input += CanonicalJson(copy);
  } else {
    input += CanonicalJson(message);
  }
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest);
  return "imp-" + HexEncode(std::string_view(reinterpret_cast<const char*>(digest), 16));
}

}  // namespace tessera::importer
