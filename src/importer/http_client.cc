#include "importer/http_client.h"

#include <curl/curl.h>

#include <mutex>

namespace tessera::importer {
namespace {

size_t OnBody(char* data, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

size_t OnHeader(char* data, size_t size, size_t n, void* user) {
  std::string_view line(data, size * n);
  constexpr std::string_view kName = "retry-after:";
  if (line.size() > kName.size()) {
    bool match = true;
    for (size_t i = 0; i < kName.size() && match; ++i) {
      char c = line[i];
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      match = c == kName[i];
    }
    if (match) {
      long seconds = 0;
      bool digits = false;
      for (char c : line.substr(kName.size())) {
        if (c >= '0' && c <= '9') {
          if (seconds < 1'000'000) seconds = seconds * 10 + (c - '0');
          digits = true;
        } else if (c != ' ' && c != '\t' && c != '\r' && c != '\n') {
          digits = false;  // an HTTP date: not supported, fall back to backoff
          break;
        }
      }
      if (digits) static_cast<HttpResponse*>(user)->retry_after_seconds = seconds;
    }
  }
  return size * n;
}

class CurlTransport : public Transport {
 public:
  explicit CurlTransport(HttpOptions options) : options_(options) {
    static std::once_flag init;
    std::call_once(init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
    handle_ = curl_easy_init();
  }
  ~CurlTransport() override {
    if (handle_ != nullptr) curl_easy_cleanup(handle_);
  }
  CurlTransport(const CurlTransport&) = delete;
  CurlTransport& operator=(const CurlTransport&) = delete;

  Result<HttpResponse> Post(const std::string& url, const std::vector<std::string>& headers,
                            const std::string& body) override {
    return Perform(url, headers, &body);
  }

  Result<HttpResponse> Get(const std::string& url,
                           const std::vector<std::string>& headers) override {
    return Perform(url, headers, nullptr);
  }

 private:
  // A POST of *body, or a GET when body is null.
  Result<HttpResponse> Perform(const std::string& url, const std::vector<std::string>& headers,
                               const std::string* body) {
    if (handle_ == nullptr) return Status::Internal("curl_easy_init failed");
    HttpResponse response;
    struct curl_slist* list = nullptr;
    for (const std::string& h : headers) list = curl_slist_append(list, h.c_str());
    list = curl_slist_append(list, "Expect:");  // no 100-continue round trip
    char error[CURL_ERROR_SIZE] = {0};
    CURL* h = handle_;
    curl_easy_setopt(h, CURLOPT_URL, url.c_str());
    if (body != nullptr) {
      curl_easy_setopt(h, CURLOPT_POST, 1L);
      curl_easy_setopt(h, CURLOPT_POSTFIELDS, body->data());
      curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body->size()));
    } else {
      curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, OnBody);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &response.body);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, OnHeader);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &response);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(options_.connect_timeout.count() * 1000));
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS,
                     static_cast<long>(options_.request_timeout.count() * 1000));
    curl_easy_setopt(h, CURLOPT_USERAGENT, "tessera-import");
    CURLcode rc = curl_easy_perform(h);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, nullptr);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, nullptr);
    curl_slist_free_all(list);
    const char* method = body != nullptr ? "POST " : "GET ";
    if (rc == CURLE_URL_MALFORMAT || rc == CURLE_UNSUPPORTED_PROTOCOL) {
      return Status::InvalidArgument("bad server URL " + url + ": " + curl_easy_strerror(rc));
    }
    if (rc != CURLE_OK) {
      return Status::Unavailable(method + url + ": " +
                                 (error[0] != '\0' ? error : curl_easy_strerror(rc)));
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &response.status);
    return response;
  }

  const HttpOptions options_;
  CURL* handle_ = nullptr;
};

}  // namespace

std::unique_ptr<Transport> NewCurlTransport(HttpOptions options) {
  return std::make_unique<CurlTransport>(options);
}

std::string EncodePathSegment(std::string_view segment) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char ch : segment) {
    auto c = static_cast<unsigned char>(ch);
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~') {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    }
  }
  return out;
}

}  // namespace tessera::importer
