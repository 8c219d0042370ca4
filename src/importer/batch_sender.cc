#include "importer/batch_sender.h"

#include <nlohmann/json.hpp>
#include <thread>

#include "ingest/gzip.h"

namespace tessera::importer {
namespace {

using nlohmann::json;

std::string TrimSlash(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

std::string Body(const std::vector<BatchMessage>& part) {
  size_t size = 16;
  for (const BatchMessage& m : part) size += m.json.size() + 1;
  std::string body;
  body.reserve(size);
  body += "{\"batch\":[";
  for (size_t i = 0; i < part.size(); ++i) {
    if (i > 0) body.push_back(',');
    body += part[i].json;
  }
  body += "]}";
  return body;
}

// The "message" of {"error":{"code","message"}}, else the start of the body.
std::string ErrorMessage(const HttpResponse& r) {
  json j = json::parse(r.body, nullptr, /*allow_exceptions=*/false);
  if (j.is_object()) {
    auto error = j.find("error");
    if (error != j.end() && error->is_object()) {
      auto message = error->find("message");
      if (message != error->end() && message->is_string()) return message->get<std::string>();
    }
  }
  std::string text = r.body.substr(0, 300);
  return text.empty() ? "(no message)" : text;
}

uint64_t Count(const json& j, const char* key, uint64_t fallback) {
  auto it = j.find(key);
  return it != j.end() && it->is_number_unsigned() ? it->get<uint64_t>() : fallback;
}

}  // namespace

bool ParseBatchError(std::string_view message, size_t* index, std::string* reason) {
  constexpr std::string_view kPrefix = "batch[";
  if (!message.starts_with(kPrefix)) return false;
  size_t i = kPrefix.size();
  size_t value = 0;
  size_t digits = 0;
  while (i < message.size() && message[i] >= '0' && message[i] <= '9' && digits < 9) {
    value = value * 10 + static_cast<size_t>(message[i] - '0');
    ++i;
    ++digits;
  }
  if (digits == 0 || message.substr(i, 3) != "]: ") return false;
  *index = value;
  *reason = std::string(message.substr(i + 3));
  return true;
}

BatchSender::BatchSender(Transport* transport, SenderOptions options)
    : transport_(transport),
      options_(std::move(options)),
      endpoint_(TrimSlash(options_.url) + "/v1/sources/" + EncodePathSegment(options_.source) +
                "/batch") {}

std::vector<std::string> BatchSender::AuthHeaders() const {
  return {"Authorization: Bearer " + options_.admin_token};
}

Result<HttpResponse> BatchSender::WithRetry(std::string_view what,
                                            const std::function<Result<HttpResponse>()>& request) {
  std::chrono::milliseconds backoff = options_.initial_backoff;
  std::string last_error;
  for (int attempt = 1;; ++attempt) {
    Result<HttpResponse> r = request();
    std::chrono::milliseconds delay = backoff;
    if (r.ok()) {
      long status = r->status;
      if (status != 429 && status < 500) return r;
      last_error = "HTTP " + std::to_string(status) + ": " + ErrorMessage(*r);
      if (r->retry_after_seconds) {
        delay = std::min(std::chrono::milliseconds(*r->retry_after_seconds * 1000),
                         options_.max_retry_after);
      }
    } else if (r.status().code() != StatusCode::kUnavailable) {
      return r.status();
    } else {
      last_error = r.status().message();
    }
    if (attempt >= options_.max_attempts) {
      return Status::Unavailable("the server did not " + std::string(what) + " after " +
                                 std::to_string(attempt) + " attempts; last error: " + last_error);
    }
    if (options_.sleep) {
      options_.sleep(delay);
    } else {
      std::this_thread::sleep_for(delay);
    }
    backoff = std::min(backoff * 2, options_.max_backoff);
  }
}

Status BatchSender::Refused(const HttpResponse& r, const std::string& request) const {
  const std::string message = ErrorMessage(r);
  const std::string where = " (" + request + ", HTTP " + std::to_string(r.status) + ")";
  switch (r.status) {
    case 401:
      return Status::Unauthenticated("the server refused the admin token: " + message + where);
    case 403:
      return Status::PermissionDenied("the server refused access: " + message + where);
    case 404:
      return Status::NotFound("source \"" + options_.source + "\" not found: " + message + where);
    default:
      return Status::InvalidArgument("the server refused the request: " + message + where);
  }
}

Result<std::string> BatchSender::ResolveSourceId() {
  const std::string url =
      TrimSlash(options_.url) + "/v1/sources/" + EncodePathSegment(options_.source);
  const std::vector<std::string> headers = AuthHeaders();
  TESSERA_ASSIGN_OR_RETURN(HttpResponse r,
                           WithRetry("answer", [&] { return transport_->Get(url, headers); }));
  if (r.status != 200) return Refused(r, "GET " + url);
  json j = json::parse(r.body, nullptr, /*allow_exceptions=*/false);
  auto id = j.is_object() ? j.find("id") : j.end();
  if (!j.is_object() || id == j.end() || !id->is_string() || id->get<std::string>().empty()) {
    return Status::Internal("GET " + url + " answered without a source id");
  }
  return id->get<std::string>();
}

Result<HttpResponse> BatchSender::PostWithRetry(const std::vector<BatchMessage>& part) {
  std::string body = Body(part);
  std::vector<std::string> headers = AuthHeaders();
  headers.push_back("Content-Type: application/json");
  if (body.size() >= options_.gzip_min_bytes) {
    body = ingest::Gzip(body);
    headers.push_back("Content-Encoding: gzip");
  }
  return WithRetry("take a batch", [&] { return transport_->Post(endpoint_, headers, body); });
}

Result<BatchResult> BatchSender::Send(std::vector<BatchMessage> batch) {
  BatchResult result;
  // Parts still to send, last one next; 413 splits push halves.
  std::vector<std::vector<BatchMessage>> work;
  if (!batch.empty()) work.push_back(std::move(batch));
  while (!work.empty()) {
    std::vector<BatchMessage> part = std::move(work.back());
    work.pop_back();
    while (!part.empty()) {
      TESSERA_ASSIGN_OR_RETURN(HttpResponse r, PostWithRetry(part));
      if (r.status >= 200 && r.status < 300) {
        json j = json::parse(r.body, nullptr, /*allow_exceptions=*/false);
        uint64_t stored = part.size();
        uint64_t duplicates = 0;
        if (j.is_object()) {
          stored = Count(j, "stored", stored);
          duplicates = Count(j, "duplicates", 0);
        }
        if (stored + duplicates != part.size()) {
          return Status::Internal("the server acknowledged " + std::to_string(stored) +
                                  " stored + " + std::to_string(duplicates) +
                                  " duplicates for a batch of " + std::to_string(part.size()));
        }
        result.stored += stored;
        result.duplicates += duplicates;
        break;
      }
      const std::string message = ErrorMessage(r);
      size_t index = 0;
      std::string reason;
      if ((r.status == 400 || r.status == 413) && ParseBatchError(message, &index, &reason) &&
          index < part.size()) {
        result.rejections.push_back(Rejection{part[index].line, std::move(reason)});
        part.erase(part.begin() + static_cast<std::ptrdiff_t>(index));
        continue;
      }
      if (r.status == 413) {
        if (part.size() == 1) {
          result.rejections.push_back(Rejection{part[0].line, message});
          break;
        }
        size_t half = part.size() / 2;
        std::vector<BatchMessage> second(std::make_move_iterator(part.begin() + half),
                                         std::make_move_iterator(part.end()));
        part.resize(half);
        work.push_back(std::move(second));
        work.push_back(std::move(part));
        break;
      }
      return Refused(r, "POST " + endpoint_);
    }
  }
  return result;
}

}  // namespace tessera::importer
