#include "importer/checkpoint.h"

#include <gtest/gtest.h>

#include "importer/report.h"
#include "importer/testutil.h"

namespace tessera::importer {
namespace {

using testing::TempDir;
using testing::WriteFile;

TEST(CheckpointTest, SaveLoadRoundTrip) {
  TempDir dir;
  std::string state = dir.File("x.csv.tessera-import");
  EXPECT_EQ(LoadCheckpoint(state).status().code(), StatusCode::kNotFound);
  Checkpoint c{.path = "x.csv",
               .fingerprint = "fp",
               .file = {10, 20, "hh"},
               .offset = 5,
               .next_line = 3,
               .boundary_hash = "bb"};
  c.counts.rows = 4;
  c.counts.accepted = 2;
  c.counts.duplicates = 1;
  c.counts.rejected = 1;
  c.counts.rejections = {{2, "no identifier"}};
  ASSERT_TRUE(SaveCheckpoint(state, c).ok());
  Result<Checkpoint> back = LoadCheckpoint(state);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->offset, 5u);
  EXPECT_EQ(back->next_line, 3u);
  EXPECT_EQ(back->file.head_hash, "hh");
  EXPECT_EQ(back->boundary_hash, "bb");
  EXPECT_EQ(back->counts.rows, 4u);
  EXPECT_EQ(back->counts.rejections, c.counts.rejections);
  ASSERT_TRUE(RemoveCheckpoint(state).ok());
  ASSERT_TRUE(RemoveCheckpoint(state).ok());
  EXPECT_EQ(LoadCheckpoint(state).status().code(), StatusCode::kNotFound);
}

TEST(CheckpointTest, DamagedIsCorruption) {
  TempDir dir;
  std::string state = dir.File("s");
  WriteFile(state, "{\"version\":1,");
  EXPECT_EQ(LoadCheckpoint(state).status().code(), StatusCode::kCorruption);
  WriteFile(state, "{\"version\":1}");
  EXPECT_EQ(LoadCheckpoint(state).status().code(), StatusCode::kCorruption);
}

TEST(CheckpointTest, RejectionsAreCapped) {
  TempDir dir;
  Checkpoint c;
  c.counts.rejected = 5000;
  for (uint64_t i = 0; i < 5000; ++i) c.counts.rejections.push_back({i, "r"});
  ASSERT_TRUE(SaveCheckpoint(dir.File("s"), c).ok());
  EXPECT_EQ(LoadCheckpoint(dir.File("s"))->counts.rejections.size(), kMaxCheckpointRejections);
}

TEST(CheckpointTest, MismatchReasons) {
  TempDir dir;
  std::string file = dir.File("in.csv");
  WriteFile(file, "a\n1\n2\n3\n");
  FileIdentity id = *IdentifyFile(file);
  Checkpoint c{.fingerprint = "fp",
               .file = id,
               .offset = 4,
               .next_line = 3,
               .boundary_hash = *HashFileRange(file, 0, 4)};
  EXPECT_EQ(CheckpointMismatch(c, file, id, "fp", 2), "");
  EXPECT_NE(CheckpointMismatch(c, file, id, "other", 2), "");
  EXPECT_NE(CheckpointMismatch(c, file, id, "fp", 6), "");
  // Appending keeps the checkpoint valid only when the start is unchanged: here the first
  // 64 KiB include everything, so any change shows.
  WriteFile(file, "a\n1\n2\n3\n4\n");
  EXPECT_NE(CheckpointMismatch(c, file, *IdentifyFile(file), "fp", 2), "");
}

TEST(CheckpointTest, BoundaryChangeBeyondTheHeadIsNoticed) {
  TempDir dir;
  std::string file = dir.File("big.csv");
  std::string text = "a\n" + std::string(100000, 'x') + "\n1\n2\n";
  WriteFile(file, text);
  FileIdentity id = *IdentifyFile(file);
  uint64_t offset = text.size() - 2;
  Checkpoint c{.fingerprint = "fp",
               .file = id,
               .offset = offset,
               .next_line = 4,
               .boundary_hash = *HashFileRange(file, offset - kBoundaryBytes, offset)};
  EXPECT_EQ(CheckpointMismatch(c, file, id, "fp", 2), "");
  text[text.size() - 5] = 'y';  // after the first 64 KiB, before the offset
  WriteFile(file, text);
  EXPECT_EQ(CheckpointMismatch(c, file, *IdentifyFile(file), "fp", 2),
            "the file changed before its position");
}

TEST(ReportTest, SummaryAndRejectsFile) {
  ImportSummary s;
  s.rows = 30;
  s.accepted = 5;
  s.duplicates = 3;
  s.rejected = 22;
  for (uint64_t i = 0; i < 22; ++i) s.rejections.push_back({i + 2, "bad, \"very\""});
  std::string text = FormatSummary(s);
  EXPECT_NE(text.find("rows:       30\n"), std::string::npos);
  EXPECT_NE(text.find("  line 2: bad, \"very\"\n"), std::string::npos);
  EXPECT_EQ(text.find("line 22:"), std::string::npos);
  EXPECT_NE(text.find("... and 2 more"), std::string::npos);
  TempDir dir;
  ASSERT_TRUE(WriteRejectsCsv(dir.File("r.csv"), s).ok());
  std::ifstream in(dir.File("r.csv"));
  std::string header, first;
  std::getline(in, header);
  std::getline(in, first);
  EXPECT_EQ(header, "line,reason");
  EXPECT_EQ(first, "2,\"bad, \"\"very\"\"\"");
}

TEST(ReportTest, ProgressBarDrawsOneLine) {
  std::ostringstream out;
  {
    ProgressBar bar(&out, 1000);
    ImportSummary s;
    s.rows = 10;
    bar.Update(500, s, true);
    bar.Finish();
  }
  EXPECT_NE(out.str().find(" 50.0% "), std::string::npos) << out.str();
  EXPECT_NE(out.str().find("10 rows"), std::string::npos);
  EXPECT_EQ(out.str().find('\n'), std::string::npos);
}

}  // namespace
}  // namespace tessera::importer
