// zlib glue for request bodies. Output is produced in fixed-size chunks and checked against the
// cap before it is appended, so a gzip bomb costs at most max_output_bytes of memory.
#include "ingest/gzip.h"

#include <zlib.h>

#include <algorithm>
#include <climits>

namespace tessera::ingest {
namespace {

constexpr size_t kChunkBytes = 16 * 1024;
constexpr int kAutoDetectWindow = 32 + MAX_WBITS;  // gzip or zlib header, detected
constexpr int kGzipWindow = 16 + MAX_WBITS;
constexpr int kRawWindow = -MAX_WBITS;  // bare deflate, no header or trailer

// Owns an inflate stream; ends it on every return path.
class Inflater {
 public:
  explicit Inflater(int window_bits) { ok_ = inflateInit2(&stream_, window_bits) == Z_OK; }
  ~Inflater() {
    if (ok_) inflateEnd(&stream_);
  }
  Inflater(const Inflater&) = delete;
  Inflater& operator=(const Inflater&) = delete;

  Result<std::string> Run(std::string_view in, size_t max_output_bytes);

 private:
  Status Invalid(std::string_view what) const {
    std::string msg = "invalid gzip body: ";
    msg += stream_.msg != nullptr ? stream_.msg : std::string(what);
    return Status::InvalidArgument(std::move(msg));
  }

  z_stream stream_{};
  bool ok_ = false;
};

Result<std::string> Inflater::Run(std::string_view in, size_t max_output_bytes) {
  if (!ok_) return Status::Internal("inflateInit2 failed");
  std::string out;
  char chunk[kChunkBytes];
  size_t fed = 0;
  for (;;) {
    // avail_in is 32-bit: feed larger inputs in pieces.
    if (stream_.avail_in == 0 && fed < in.size()) {
      size_t n = std::min<size_t>(in.size() - fed, UINT_MAX);
      stream_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data() + fed));
      stream_.avail_in = static_cast<uInt>(n);
      fed += n;
    }
    stream_.next_out = reinterpret_cast<Bytef*>(chunk);
    stream_.avail_out = sizeof(chunk);
    int rc = inflate(&stream_, Z_NO_FLUSH);
    size_t produced = sizeof(chunk) - stream_.avail_out;
    if (produced > max_output_bytes - out.size()) {
      return Status::TooLarge("decompressed body is over the limit of " +
                              std::to_string(max_output_bytes) + " bytes");
    }
    out.append(chunk, produced);
    bool input_left = stream_.avail_in > 0 || fed < in.size();
    switch (rc) {
      case Z_STREAM_END:
        if (!input_left) return out;
        // Another member follows (concatenated gzip files are one valid gzip stream).
        if (inflateReset(&stream_) != Z_OK) return Invalid("cannot reset stream");
        break;
      case Z_OK:
        break;
      case Z_BUF_ERROR:
        // No progress possible: all input is consumed but the stream has not ended.
        if (!input_left) return Status::InvalidArgument("invalid gzip body: truncated input");
        break;
      case Z_NEED_DICT:
        return Status::InvalidArgument("invalid gzip body: needs a preset dictionary");
      case Z_MEM_ERROR:
        return Status::Internal("gzip: out of memory");
      default:
        return Invalid("corrupt data");
    }
  }
}

std::string AsciiLowerTrimmed(std::string_view s) {
  auto space = [](char c) { return c == ' ' || c == '\t'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

}  // namespace

Result<std::string> Gunzip(std::string_view compressed, size_t max_output_bytes) {
  if (compressed.empty()) return Status::InvalidArgument("invalid gzip body: empty input");
  return Inflater(kAutoDetectWindow).Run(compressed, max_output_bytes);
}

Result<std::string> DecodeBody(std::string_view content_encoding, std::string body,
                               size_t max_bytes) {
  std::string encoding = AsciiLowerTrimmed(content_encoding);
  if (encoding.empty() || encoding == "identity") {
    if (body.size() > max_bytes) {
      return Status::TooLarge("body is over the limit of " + std::to_string(max_bytes) +
                              " bytes");
    }
    return body;
  }
  if (encoding == "gzip" || encoding == "x-gzip") return Gunzip(body, max_bytes);
  if (encoding == "deflate") {
    // HTTP "deflate" means zlib-wrapped, but some clients send bare deflate: try both, and
    // report the zlib error if neither works.
    Result<std::string> wrapped = Gunzip(body, max_bytes);
    if (wrapped.ok() || wrapped.status().code() != StatusCode::kInvalidArgument) return wrapped;
    Result<std::string> raw = Inflater(kRawWindow).Run(body, max_bytes);
    if (raw.ok() || raw.status().code() == StatusCode::kTooLarge) return raw;
    return wrapped;
  }
  return Status::Unsupported("unsupported Content-Encoding: " + std::string(content_encoding));
}

std::string Gzip(std::string_view data) {
  z_stream stream{};
  int rc = deflateInit2(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, kGzipWindow, 8,
                        Z_DEFAULT_STRATEGY);
  TESSERA_CHECK(rc == Z_OK, "deflateInit2 failed");
  std::string out;
  char chunk[kChunkBytes];
  size_t fed = 0;
  do {
    if (stream.avail_in == 0 && fed < data.size()) {
      size_t n = std::min<size_t>(data.size() - fed, UINT_MAX);
      stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data() + fed));
      stream.avail_in = static_cast<uInt>(n);
      fed += n;
    }
    stream.next_out = reinterpret_cast<Bytef*>(chunk);
    stream.avail_out = sizeof(chunk);
    rc = deflate(&stream, fed == data.size() ? Z_FINISH : Z_NO_FLUSH);
    out.append(chunk, sizeof(chunk) - stream.avail_out);
  } while (rc != Z_STREAM_END);
  deflateEnd(&stream);
  return out;
}

}  // namespace tessera::ingest
