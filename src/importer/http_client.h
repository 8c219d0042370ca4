// The importer's HTTP client: GET and POST with headers, over one reused libcurl handle
// (keep-alive). Transport is the seam for tests, which substitute a scripted server.
//
// Thread-safety: a Transport is used by one thread at a time.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"

namespace tessera::importer {

struct HttpResponse {
  long status = 0;
  std::string body{};
  std::optional<long> retry_after_seconds{};  // the Retry-After header, when it is a number
};

class Transport {
 public:
  virtual ~Transport() = default;
  // A response of any status, or Unavailable when no response arrived (connection refused or
  // reset, timeout, DNS failure), InvalidArgument for a malformed URL.
  virtual Result<HttpResponse> Post(const std::string& url, const std::vector<std::string>& headers,
                                    const std::string& body) = 0;
  virtual Result<HttpResponse> Get(const std::string& url,
                                   const std::vector<std::string>& headers) = 0;
};

struct HttpOptions {
  std::chrono::seconds connect_timeout{10};
  std::chrono::seconds request_timeout{120};  // whole request, including the server's fsync
};

std::unique_ptr<Transport> NewCurlTransport(HttpOptions options);

// Percent-encodes a URL path segment (everything but RFC 3986 unreserved characters).
std::string EncodePathSegment(std::string_view segment);

}  // namespace tessera::importer
