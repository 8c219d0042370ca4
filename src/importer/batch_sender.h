// Sends batches of messages to POST {url}/v1/sources/{source}/batch and turns the answers into
// per-row outcomes (ResolveSourceId uses the same retry and error rules):
//   200                   stored + duplicates counted from the reply
//   400/413 "batch[i]: …" message i is rejected with the server's reason (tagged with its line);
//                         the rest of the batch is re-sent until it goes through
//   413 without an index  the batch is split in halves (a single message is rejected)
//   429, 5xx, no answer   retried with exponential backoff (Retry-After honoured), at most
//                         max_attempts tries in a row, then Unavailable
//   401 / 403 / 404       fatal: Unauthenticated / PermissionDenied / NotFound with the server's
//                         message; any other status is fatal too
// Re-sending is safe: messages carry messageIds, and the server stores each id once.
//
// Thread-safety: one thread at a time (it drives one Transport).
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "core/status.h"
#include "importer/http_client.h"
#include "importer/report.h"

namespace tessera::importer {

struct BatchMessage {
  uint64_t line = 0;
  std::string json{};  // one minified message
};

struct BatchResult {
  uint64_t stored = 0;
  uint64_t duplicates = 0;
  std::vector<Rejection> rejections{};
};

struct SenderOptions {
  std::string url{};  // "http://host:port", no trailing slash needed
  std::string admin_token{};
  std::string source{};
  int max_attempts = 8;
  std::chrono::milliseconds initial_backoff{250};
  std::chrono::milliseconds max_backoff{30'000};
  std::chrono::milliseconds max_retry_after{60'000};
  size_t gzip_min_bytes = 1024;                            // smaller bodies go uncompressed
  std::function<void(std::chrono::milliseconds)> sleep{};  // default: std::this_thread::sleep_for
};

class BatchSender {
 public:
  // REQUIRES: transport outlives the sender.
  BatchSender(Transport* transport, SenderOptions options);

  // Sends until every message is stored, a duplicate or rejected; or fails (see above).
  Result<BatchResult> Send(std::vector<BatchMessage> batch);

  // The source's id (GET {url}/v1/sources/{source}), which names it however it was given (by
  // name or id); messageIds are derived from it. Fails like Send: NotFound for an unknown source,
  // Unauthenticated/PermissionDenied for a refused token, Unavailable when unreachable.
  Result<std::string> ResolveSourceId();

  const std::string& endpoint() const { return endpoint_; }

 private:
  std::vector<std::string> AuthHeaders() const;
  // Runs request until it answers with neither 429 nor 5xx, with backoff between tries.
  Result<HttpResponse> WithRetry(std::string_view what,
                                 const std::function<Result<HttpResponse>()>& request);
  Result<HttpResponse> PostWithRetry(const std::vector<BatchMessage>& part);
  // The fatal Status for a refusal (401, 403, 404, other 4xx) of `request` ("POST url").
  Status Refused(const HttpResponse& r, const std::string& request) const;

  Transport* const transport_;
  const SenderOptions options_;
  const std::string endpoint_;
};

// Parses "batch[12]: reason" into 12 and "reason"; false for any other text.
bool ParseBatchError(std::string_view message, size_t* index, std::string* reason);

}  // namespace tessera::importer
