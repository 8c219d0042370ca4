// Authentication for the API: admin bearer tokens and Segment write keys.
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "api/api.h"

namespace tessera::api {

std::string BasicAuthUser(const server::Request& req) {
  std::string header = req.Header("Authorization");
  constexpr std::string_view kBasic = "Basic ";
  if (header.size() <= kBasic.size() ||
      strncasecmp(header.c_str(), kBasic.data(), kBasic.size()) != 0) {
    return "";
  }
  std::string encoded = header.substr(kBasic.size());
  while (!encoded.empty() && encoded.back() == ' ') encoded.pop_back();
  if (encoded.empty() || encoded.size() % 4 != 0 || encoded.size() > 4096) return "";
  std::string decoded(encoded.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(decoded.data()),
                          reinterpret_cast<const unsigned char*>(encoded.data()),
                          static_cast<int>(encoded.size()));
  if (n < 0) return "";
  // EVP_DecodeBlock counts padding as output bytes.
  size_t len = static_cast<size_t>(n);
  for (size_t i = encoded.size(); i > 0 && encoded[i - 1] == '=' && len > 0; --i) --len;
  decoded.resize(len);
  return decoded.substr(0, decoded.find(':'));
}

Status CheckAdmin(const ApiContext& ctx, const server::Request& req) {
  std::string header = req.Header("Authorization");
  constexpr std::string_view kBearer = "Bearer ";
  if (header.size() > kBearer.size() &&
      strncasecmp(header.c_str(), kBearer.data(), kBearer.size()) == 0) {
    std::string token = header.substr(kBearer.size());
    if (token.size() == ctx.admin_token.size() &&
        CRYPTO_memcmp(token.data(), ctx.admin_token.data(), token.size()) == 0) {
      return Status::Ok();
    }
    return Status::Unauthenticated("invalid admin token");
  }
  std::string write_key = BasicAuthUser(req);
  if (!write_key.empty() && ctx.sources->Authenticate(write_key).ok()) {
    return Status::PermissionDenied("a write key can only send events; use the admin token");
  }
  return Status::Unauthenticated("missing admin token (Authorization: Bearer ...)");
}

server::Handler AdminOnly(const ApiContext* ctx, ApiHandler handler) {
  return [ctx, handler = std::move(handler)](server::Request&& req, server::Respond respond) {
    Status s = CheckAdmin(*ctx, req);
    if (!s.ok()) return respond(server::StatusResponse(s));
    handler(*ctx, std::move(req), std::move(respond));
  };
}

}  // namespace tessera::api
