// CSV reader tests: golden cases from testdata/csv/*.test, plus a random round trip and seeking.
//
// Golden case directives: "delimiter: <c>|tab", "max_record_bytes: <n>", "final_newline: no".
// Expected lines: "<line>: [field] [field] ..." per record, then "error: <code> <substring>"
// when reading stops with an error.
#include "importer/csv.h"

#include <gtest/gtest.h>

#include <random>

#include "importer/report.h"
#include "importer/testutil.h"

namespace tessera::importer {
namespace {

using testing::GoldenCase;

std::vector<std::string> ReadAll(const GoldenCase& c) {
  CsvOptions options;
  std::string delimiter = c.Directive("delimiter", ",");
  options.delimiter = delimiter == "tab" ? '\t' : delimiter[0];
  if (std::string max = c.Directive("max_record_bytes"); !max.empty()) {
    options.max_record_bytes = std::stoul(max);
  }
  CsvReader reader(c.input, options);
  std::vector<std::string> lines;
  CsvRecord record;
  for (int guard = 0; guard < 10000; ++guard) {
    Result<bool> more = reader.Next(&record);
    if (!more.ok()) {
      lines.push_back("error: " + std::string(StatusCodeName(more.status().code())) + " " +
                      more.status().message());
      break;
    }
    if (!*more) break;
    std::string line = std::to_string(record.line) + ":";
    for (const std::string& f : record.fields) line += " [" + testing::Escape(f) + "]";
    lines.push_back(line);
  }
  return lines;
}

class CsvGoldenTest : public ::testing::TestWithParam<GoldenCase> {};

TEST_P(CsvGoldenTest, Matches) { testing::ExpectGolden(GetParam(), ReadAll(GetParam())); }

INSTANTIATE_TEST_SUITE_P(Golden, CsvGoldenTest,
                         ::testing::ValuesIn(testing::LoadGoldenCases(
                             "csv", {"delimiter", "max_record_bytes", "final_newline"})),
                         testing::GoldenName);

TEST(CsvGoldenFiles, Found) {
  EXPECT_GE(
      testing::LoadGoldenCases("csv", {"delimiter", "max_record_bytes", "final_newline"}).size(),
      20u);
}

std::vector<std::vector<std::string>> RandomRecords(std::mt19937* rng, size_t count) {
  const std::string alphabet = "ab,;\"\r\n \t\xC3\xA9x";
  std::vector<std::vector<std::string>> records;
  for (size_t r = 0; r < count; ++r) {
    std::vector<std::string> fields((*rng)() % 5 + 1);
    for (std::string& f : fields) {
      size_t len = (*rng)() % 12;
      for (size_t i = 0; i < len; ++i) f.push_back(alphabet[(*rng)() % alphabet.size()]);
    }
    records.push_back(std::move(fields));
  }
  return records;
}

std::string Encode(const std::vector<std::vector<std::string>>& records, bool crlf) {
  std::string out;
  for (const auto& fields : records) {
    for (size_t i = 0; i < fields.size(); ++i) {
      if (i > 0) out.push_back(',');
      // A lone empty field would be a blank line (skipped), so quote it.
      out += fields.size() == 1 && fields[0].empty() ? "\"\"" : CsvQuote(fields[i]);
    }
    out += crlf ? "\r\n" : "\n";
  }
  return out;
}

// Crosses the reader's 64 KiB blocks with quotes, CRLF and multi-byte characters at the seams.
TEST(CsvReaderTest, RandomRoundTrip) {
  for (uint32_t seed : {1u, 2u, 3u}) {
    std::mt19937 rng(seed);
    auto records = RandomRecords(&rng, 20000);
    std::istringstream in(Encode(records, seed % 2 == 0));
    CsvReader reader(&in, CsvOptions{});
    CsvRecord record;
    for (size_t i = 0; i < records.size(); ++i) {
      Result<bool> more = reader.Next(&record);
      ASSERT_TRUE(more.ok()) << "seed " << seed << ": " << more.status().ToString();
      ASSERT_TRUE(*more) << "seed " << seed << " record " << i;
      ASSERT_EQ(record.fields, records[i]) << "seed " << seed << " record " << i;
    }
    Result<bool> end = reader.Next(&record);
    ASSERT_TRUE(end.ok());
    EXPECT_FALSE(*end);
  }
}

TEST(CsvReaderTest, SeekContinuesAfterAnyRecord) {
  std::mt19937 rng(7);
  std::string text = "\xEF\xBB\xBF" + Encode(RandomRecords(&rng, 300), false);
  CsvReader all(text, CsvOptions{});
  std::vector<CsvRecord> records;
  std::vector<uint64_t> next_lines;
  CsvRecord record;
  while (*all.Next(&record)) {
    records.push_back(record);
    next_lines.push_back(all.line());
    EXPECT_EQ(all.offset(), record.end_offset);
  }
  ASSERT_EQ(records.size(), 300u);
  for (size_t k = 0; k < records.size(); k += 17) {
    CsvReader reader(text, CsvOptions{});
    ASSERT_TRUE(reader.Seek(records[k].end_offset, next_lines[k]).ok());
    for (size_t i = k + 1; i < records.size(); ++i) {
      ASSERT_TRUE(*reader.Next(&record));
      EXPECT_EQ(record.fields, records[i].fields);
      EXPECT_EQ(record.line, records[i].line);
      EXPECT_EQ(record.end_offset, records[i].end_offset);
    }
    EXPECT_FALSE(*reader.Next(&record));
  }
}

TEST(CsvReaderTest, ErrorsAreSticky) {
  CsvReader reader(std::string("a\n\"x\n"), CsvOptions{});
  CsvRecord record;
  ASSERT_TRUE(*reader.Next(&record));
  Result<bool> first = reader.Next(&record);
  ASSERT_FALSE(first.ok());
  Result<bool> second = reader.Next(&record);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(first.status(), second.status());
}

TEST(CsvReaderTest, RejectsUnusableDelimiters) {
  for (char d : {'"', '\n', '\r', '\0'}) {
    EXPECT_FALSE(ValidateCsvOptions(CsvOptions{.delimiter = d}).ok()) << int(d);
  }
  EXPECT_TRUE(ValidateCsvOptions(CsvOptions{.delimiter = '\t'}).ok());
}

}  // namespace
}  // namespace tessera::importer
