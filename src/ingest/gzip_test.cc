#include "ingest/gzip.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <random>

namespace tessera::ingest {
namespace {

std::string RandomText(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string out(n, '\0');
  for (char& c : out) c = static_cast<char>('a' + rng() % 26);
  return out;
}

// zlib-wrapped ("Content-Encoding: deflate" per RFC 9110) or raw deflate.
std::string Deflate(std::string_view data, int window_bits) {
  z_stream s{};
  EXPECT_EQ(deflateInit2(&s, 6, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&s, data.size()), '\0');
  s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  s.avail_in = static_cast<uInt>(data.size());
  s.next_out = reinterpret_cast<Bytef*>(out.data());
  s.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&s, Z_FINISH), Z_STREAM_END);
  out.resize(s.total_out);
  deflateEnd(&s);
  return out;
}

TEST(GzipTest, RoundTrip) {
  for (size_t n : {size_t{0}, size_t{1}, size_t{100}, size_t{16 * 1024}, size_t{200 * 1024}}) {
    std::string text = RandomText(n, static_cast<uint32_t>(n));
    auto out = Gunzip(Gzip(text), n);
    ASSERT_TRUE(out.ok()) << n << " " << out.status().ToString();
    EXPECT_EQ(*out, text);
  }
}

TEST(GzipTest, ConcatenatedMembersAreOneStream) {
  auto out = Gunzip(Gzip("{\"batch\":") + Gzip("[]}"), 1024);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(*out, "{\"batch\":[]}");
}

TEST(GzipTest, ZlibStreamIsDetected) {
  auto out = Gunzip(Deflate("hello", MAX_WBITS), 100);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(*out, "hello");
}

TEST(GzipTest, OutputLimitIsExact) {
  std::string text(1000, 'x');
  std::string gz = Gzip(text);
  EXPECT_TRUE(Gunzip(gz, 1000).ok());
  EXPECT_EQ(Gunzip(gz, 999).status().code(), StatusCode::kTooLarge);
}

TEST(GzipTest, BombStopsAtLimit) {
  std::string gz = Gzip(std::string(64 * 1024 * 1024, '\0'));  // ~64 KiB compressed
  EXPECT_LT(gz.size(), 100u * 1024);
  auto out = Gunzip(gz, 500 * 1024);
  EXPECT_EQ(out.status().code(), StatusCode::kTooLarge);
  EXPECT_NE(out.status().message().find("512000"), std::string::npos) << out.status().message();
}

TEST(GzipTest, CorruptInputIsInvalidArgument) {
  std::string gz = Gzip(RandomText(5000, 7));
  std::vector<std::string> bad = {
      "",                              // empty
      "not gzip at all",               // no header
      gz.substr(0, gz.size() / 2),     // truncated in the data
      gz.substr(0, gz.size() - 4),     // truncated in the trailer
      gz + "trailing garbage",         // junk after the member
  };
  std::string flipped = gz;
  flipped[gz.size() / 2] ^= 0x55;
  bad.push_back(flipped);
  std::string bad_crc = gz;
  bad_crc[gz.size() - 6] ^= 1;
  bad.push_back(bad_crc);
  for (size_t i = 0; i < bad.size(); ++i) {
    auto out = Gunzip(bad[i], 1 << 20);
    EXPECT_EQ(out.status().code(), StatusCode::kInvalidArgument) << i;
    EXPECT_EQ(out.status().message().rfind("invalid gzip body: ", 0), 0u)
        << i << " " << out.status().message();
  }
}

TEST(DecodeBodyTest, Encodings) {
  std::string text = "{\"userId\":\"u1\"}";
  for (std::string_view identity : {"", "identity", " Identity "}) {
    auto out = DecodeBody(identity, text, 100);
    ASSERT_TRUE(out.ok()) << identity;
    EXPECT_EQ(*out, text);
  }
  for (std::string_view gzip : {"gzip", "x-gzip", "GZIP", "deflate"}) {
    auto out = DecodeBody(gzip, Gzip(text), 100);
    ASSERT_TRUE(out.ok()) << gzip << " " << out.status().ToString();
    EXPECT_EQ(*out, text);
  }
  for (int window : {MAX_WBITS, -MAX_WBITS}) {
    auto out = DecodeBody("deflate", Deflate(text, window), 100);
    ASSERT_TRUE(out.ok()) << window << " " << out.status().ToString();
    EXPECT_EQ(*out, text);
  }
}

TEST(DecodeBodyTest, RawDeflateOnlyForDeflate) {
  EXPECT_EQ(DecodeBody("gzip", Deflate("hello", -MAX_WBITS), 100).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(DecodeBody("deflate", "garbage!", 100).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(DecodeBodyTest, UnsupportedEncoding) {
  auto out = DecodeBody("br", "x", 100);
  EXPECT_EQ(out.status().code(), StatusCode::kUnsupported);
  EXPECT_EQ(out.status().message(), "unsupported Content-Encoding: br");
  EXPECT_EQ(DecodeBody("gzip, br", "x", 100).status().code(), StatusCode::kUnsupported);
  EXPECT_EQ(DecodeBody("zstd", "x", 100).status().code(), StatusCode::kUnsupported);
}

TEST(DecodeBodyTest, LimitAppliesToEveryEncoding) {
  std::string text(101, 'x');
  EXPECT_EQ(DecodeBody("", text, 100).status().code(), StatusCode::kTooLarge);
  EXPECT_EQ(DecodeBody("gzip", Gzip(text), 100).status().code(), StatusCode::kTooLarge);
  EXPECT_EQ(DecodeBody("deflate", Deflate(text, -MAX_WBITS), 100).status().code(),
            StatusCode::kTooLarge);
  EXPECT_TRUE(DecodeBody("gzip", Gzip(text), 101).ok());
}

}  // namespace
}  // namespace tessera::ingest
