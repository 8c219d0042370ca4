#include "eventlog/segment_format.h"

#include <gtest/gtest.h>

#include "eventlog/crc32c.h"

namespace tessera::eventlog::segment {
namespace {

TEST(Crc32cTest, KnownValues) {
  EXPECT_EQ(crc32c::Value("123456789"), 0xe3069283u);
  EXPECT_EQ(crc32c::Value(std::string(32, '\0')), 0x8a9136aau);  // RFC 3720 B.4
  EXPECT_EQ(crc32c::Value(std::string(32, '\xff')), 0x62a8ab43u);
  std::string a = "hello, ", b = "world";
  EXPECT_EQ(crc32c::Extend(crc32c::Value(a), b.data(), b.size()), crc32c::Value(a + b));
  // Odd lengths and offsets take the byte-wise tail of the hardware path.
  std::string s = "The quick brown fox jumps over the lazy dog";
  EXPECT_EQ(crc32c::Value(s), 0x22620404u);
  EXPECT_EQ(crc32c::Unmask(crc32c::Mask(0x12345678u)), 0x12345678u);
  EXPECT_NE(crc32c::Mask(0x12345678u), 0x12345678u);
}

TEST(SegmentFormatTest, Names) {
  EXPECT_EQ(SegmentName(1), "00000000000000000001.seg");
  EXPECT_EQ(IndexName(42), "00000000000000000042.idx");
  EXPECT_EQ(ParseSegmentName("00000000000000000042.seg"), 42u);
  EXPECT_EQ(ParseSegmentName("00000000000000000042.idx"), std::nullopt);
  EXPECT_EQ(ParseSegmentName("0000000000000000004x.seg"), std::nullopt);
  EXPECT_EQ(ParseSegmentName("00000000000000000000.seg"), std::nullopt);
  EXPECT_EQ(ParseSegmentName("99999999999999999999.seg"), std::nullopt);  // > 2^64
}

TEST(SegmentFormatTest, Header) {
  std::string h = EncodeHeader(7);
  ASSERT_EQ(h.size(), kHeaderSize);
  EXPECT_TRUE(CheckHeader(h, 7).ok());
  EXPECT_EQ(CheckHeader(h, 8).code(), StatusCode::kCorruption);
  EXPECT_EQ(CheckHeader(h.substr(0, 20), 7).code(), StatusCode::kCorruption);
  h[10] ^= 1;
  EXPECT_EQ(CheckHeader(h, 7).code(), StatusCode::kCorruption);
  EXPECT_EQ(CheckHeader(std::string(kHeaderSize, '\0'), 7).code(), StatusCode::kCorruption);
}

TEST(SegmentFormatTest, RecordsRoundTripAndEveryDamageIsSeen) {
  std::string buf;
  AppendRecord(&buf, 5, "first");
  AppendRecord(&buf, 6, std::string(3000, 'x'));
  Record r;
  ASSERT_EQ(ParseRecord(buf, &r), Parse::kOk);
  EXPECT_EQ(r.seq, 5u);
  EXPECT_EQ(r.payload, "first");
  EXPECT_EQ(r.size, RecordSize(5));
  ASSERT_EQ(ParseRecord(std::string_view(buf).substr(r.size), &r), Parse::kOk);
  EXPECT_EQ(r.seq, 6u);
  EXPECT_EQ(r.payload.size(), 3000u);

  EXPECT_EQ(ParseRecord("", &r), Parse::kEnd);
  EXPECT_EQ(ParseRecord(std::string(100, '\0'), &r), Parse::kEnd);
  EXPECT_EQ(ParseRecord(std::string(7, '\0'), &r), Parse::kEnd);
  // Every truncation of a record is short, never a record.
  for (size_t n = 1; n < RecordSize(5); ++n) {
    EXPECT_EQ(ParseRecord(std::string_view(buf).substr(0, n), &r), Parse::kShort) << n;
  }
  // Every single-bit flip is caught.
  std::string one = buf.substr(0, RecordSize(5));
  for (size_t i = 0; i < one.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string bad = one;
      bad[i] ^= static_cast<char>(1 << bit);
      Parse p = ParseRecord(bad, &r);
      EXPECT_TRUE(p == Parse::kCorrupt || p == Parse::kShort) << i << ":" << bit;
    }
  }
  std::string huge = one;
  huge[7] = 0x7f;  // length far beyond kMaxPayload
  EXPECT_EQ(ParseRecord(huge, &r), Parse::kCorrupt);
}

TEST(SegmentFormatTest, IndexHeader) {
  std::string idx = EncodeIndex(10, 999, {32, 100, 200});
  ASSERT_EQ(idx.size(), kIndexHeaderSize + 12);
  auto h = DecodeIndexHeader(std::string_view(idx).substr(0, kIndexHeaderSize), idx.size(), 10);
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_EQ(h->count, 3u);
  EXPECT_EQ(h->data_end, 999u);
  EXPECT_EQ(DecodeFixed32LE(idx.data() + kIndexHeaderSize + 4), 100u);
  EXPECT_FALSE(DecodeIndexHeader(idx, idx.size() - 4, 10).ok());  // cut short
  EXPECT_FALSE(DecodeIndexHeader(idx, idx.size(), 11).ok());      // another segment's
  idx[17] ^= 1;
  EXPECT_FALSE(DecodeIndexHeader(idx, idx.size(), 10).ok());
}

}  // namespace
}  // namespace tessera::eventlog::segment
