// End to end: RunImport against an in-process Tessera (api::App on an in-memory store), checking
// the summary, the profiles the pipeline builds, idempotent re-imports and resuming.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "api/app.h"
#include "identity/identity_graph.h"
#include "importer/checkpoint.h"
#include "importer/importer.h"
#include "importer/testutil.h"
#include "profile/profile.h"

namespace tessera::importer {
namespace {

using testing::TempDir;
using testing::WriteFile;

class ImportIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    api::AppOptions options;
    options.data_dir = "";  // an in-memory store
    options.port = 0;
    options.admin_token = "t";
    app_ = std::make_unique<api::App>(options);
    ASSERT_TRUE(app_->Start().ok());
    ASSERT_TRUE(app_->sources()->Create("crm", "crm", 0).ok());
    url_ = "http://127.0.0.1:" + std::to_string(app_->port());
  }
  void TearDown() override { app_->Stop(); }

  ImportOptions Options(const std::string& path) {
    ImportOptions o;
    o.url = url_;
    o.admin_token = "t";
    o.source = "crm";
    o.path = path;
    o.initial_backoff = std::chrono::milliseconds(1);
    return o;
  }

  void WaitProcessed() {
    ASSERT_TRUE(
        app_->processor()->WaitProcessed(app_->log()->last_seq(), std::chrono::seconds(10)));
  }

  // The profile's trait as JSON text, or "" when the identifier or trait is unknown.
  std::string Trait(const std::string& kind, const std::string& value, const std::string& trait) {
    auto id = identity::IdentityGraph::Lookup(app_->store(), {kind, value});
    if (!id.ok()) return "";
    auto profile = profile::LoadProfile(app_->store(), *id);
    if (!profile.ok()) return "";
    auto it = profile->traits.find(trait);
    return it == profile->traits.end() ? "" : it->second.json;
  }

  std::unique_ptr<api::App> app_;
  std::string url_;
  TempDir dir_;
};

constexpr int kRows = 2000;

// kRows data rows, line = index + 2. Rows 100, 500 and 900 are bad locally; row 1500 has only
// an email that is no email (the server finds no identifier); row 1700 has only an email.
std::vector<std::string> CustomerRows() {
  std::vector<std::string> rows;
  for (int i = 0; i < kRows; ++i) {
    std::string n = std::to_string(i);
    if (i == 100) {
      rows.push_back(",,Nobody,free,2024-01-01");  // no identifier
    } else if (i == 500) {
      rows.push_back("u500,u500@x.io,Bad,free,last tuesday");  // bad timestamp
    } else if (i == 900) {
      rows.push_back("u900,u900@x.io");  // too few fields
    } else if (i == 1500) {
      rows.push_back(",not-an-email,Broken,free,2024-01-01");
    } else if (i == 1700) {
      rows.push_back(",only@x.io,Only,pro,2024-01-01");
    } else {
      rows.push_back("u" + n + ",U" + n + "@Example.com,\"Name " + n +
                     "\",pro,2024-05-01T10:00:00Z");
    }
  }
  return rows;
}

std::string Csv(const std::vector<std::string>& rows) {
  std::string text = "user_id,email,first_name,plan,updated_at\n";
  for (const std::string& r : rows) text += r + "\n";
  return text;
}

TEST_F(ImportIntegrationTest, CsvImportIsIdempotent) {
  std::string path = dir_.File("customers.csv");
  WriteFile(path, Csv(CustomerRows()));
  ImportOptions o = Options(path);
  o.mapping.timestamp_column = "updated_at";
  Result<ImportSummary> first = RunImport(o);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->rows, uint64_t{kRows});
  EXPECT_EQ(first->accepted, uint64_t{kRows - 4});
  EXPECT_EQ(first->duplicates, 0u);
  EXPECT_EQ(first->rejected, 4u);
  ASSERT_EQ(first->rejections.size(), 4u);
  EXPECT_EQ(first->rejections[0],
            (Rejection{102, "no identifier (user_id, anonymous_id, email, phone, ...)"}));
  EXPECT_EQ(first->rejections[1],
            (Rejection{502, "column \"updated_at\": \"last tuesday\" is not an ISO-8601 time"}));
  EXPECT_EQ(first->rejections[2], (Rejection{902, "expected 5 fields (as in the header), got 2"}));
  EXPECT_EQ(first->rejections[3].line, 1502u);
  EXPECT_NE(first->rejections[3].reason.find("without any identifier"), std::string::npos)
      << first->rejections[3].reason;
  EXPECT_FALSE(first->resumed);
  EXPECT_TRUE(first->warnings.empty());
  EXPECT_FALSE(std::filesystem::exists(path + ".tessera-import"));

  WaitProcessed();
  EXPECT_EQ(app_->log()->last_seq(), uint64_t{kRows - 4});
  EXPECT_EQ(Trait("user_id", "u42", "first_name"), "\"Name 42\"");
  EXPECT_EQ(Trait("email", "u42@example.com", "plan"), "\"pro\"");
  EXPECT_EQ(Trait("email", "only@x.io", "first_name"), "\"Only\"");  // email-only row
  EXPECT_EQ(Trait("user_id", "u500", "first_name"), "");

  // The same file again: nothing new.
  const uint64_t seq = app_->log()->last_seq();
  Result<ImportSummary> second = RunImport(o);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(second->accepted, 0u);
  EXPECT_EQ(second->duplicates, first->accepted);
  EXPECT_EQ(second->rejected, 4u);
  EXPECT_EQ(app_->log()->last_seq(), seq);

  // The source by id instead of by name: the same messageIds.
  ImportOptions by_id = o;
  by_id.source = app_->sources()->Find("crm")->id;
  Result<ImportSummary> by_id_run = RunImport(by_id);
  ASSERT_TRUE(by_id_run.ok()) << by_id_run.status().ToString();
  EXPECT_EQ(by_id_run->accepted, 0u);
  EXPECT_EQ(app_->log()->last_seq(), seq);

  // Re-saved in another order with CRLF line ends: still nothing new.
  std::vector<std::string> rows = CustomerRows();
  std::reverse(rows.begin(), rows.end());
  std::string text = Csv(rows);
  std::string crlf;
  for (char c : text) crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
  WriteFile(path, crlf);
  Result<ImportSummary> third = RunImport(o);
  ASSERT_TRUE(third.ok()) << third.status().ToString();
  EXPECT_EQ(third->accepted, 0u);
  EXPECT_EQ(third->duplicates, first->accepted);
  EXPECT_EQ(app_->log()->last_seq(), seq);
  EXPECT_EQ(third->rejections[0].line, uint64_t{kRows - 1500 + 1});  // was line 1502
}

TEST_F(ImportIntegrationTest, ResumesAfterAnInterruption) {
  std::string path = dir_.File("big.csv");
  std::vector<std::string> rows = CustomerRows();
  rows.resize(1000);
  WriteFile(path, Csv(rows));
  ImportOptions o = Options(path);
  o.batch_messages = 100;
  o.TEST_stop_after_batches = 3;
  Result<ImportSummary> partial = RunImport(o);
  ASSERT_TRUE(partial.ok()) << partial.status().ToString();
  EXPECT_FALSE(partial->complete);
  EXPECT_EQ(partial->accepted, 300u);
  // Row 100 (line 102) was rejected locally among the first 301 rows read.
  EXPECT_EQ(partial->rows, 301u);
  ASSERT_TRUE(std::filesystem::exists(path + ".tessera-import"));
  EXPECT_EQ(app_->log()->last_seq(), 300u);

  o.TEST_stop_after_batches = 0;
  Result<ImportSummary> rest = RunImport(o);
  ASSERT_TRUE(rest.ok()) << rest.status().ToString();
  EXPECT_TRUE(rest->complete);
  EXPECT_TRUE(rest->resumed);
  EXPECT_EQ(rest->resumed_from_line, 303u);
  EXPECT_EQ(rest->rows, 1000u);
  EXPECT_EQ(rest->accepted, 998u);  // rows 100 and 900 are bad
  EXPECT_EQ(rest->duplicates, 0u);
  EXPECT_EQ(rest->rejected, 2u);
  ASSERT_EQ(rest->rejections.size(), 2u);
  EXPECT_EQ(rest->rejections[0].line, 102u);  // carried over from the first run
  EXPECT_EQ(app_->log()->last_seq(), 998u);
  EXPECT_FALSE(std::filesystem::exists(path + ".tessera-import"));

  WaitProcessed();
  EXPECT_EQ(Trait("user_id", "u999", "first_name"), "\"Name 999\"");
  EXPECT_EQ(Trait("user_id", "u0", "first_name"), "\"Name 0\"");
}

TEST_F(ImportIntegrationTest, ChangedFileOrRestartIgnoresTheCheckpoint) {
  std::string path = dir_.File("c.csv");
  std::vector<std::string> rows = CustomerRows();
  rows.resize(300);
  WriteFile(path, Csv(rows));
  ImportOptions o = Options(path);
  o.batch_messages = 50;
  o.TEST_stop_after_batches = 2;
  ASSERT_TRUE(RunImport(o).ok());
  o.TEST_stop_after_batches = 0;

  // --restart: reads everything again; the first 100 come back as duplicates.
  ImportOptions restart = o;
  restart.restart = true;
  Result<ImportSummary> all = RunImport(restart);
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  EXPECT_FALSE(all->resumed);
  EXPECT_EQ(all->duplicates, 100u);
  EXPECT_EQ(all->accepted, 199u);

  // A checkpoint for a file that changed since is ignored with a warning.
  o.TEST_stop_after_batches = 2;
  ASSERT_TRUE(RunImport(o).ok());
  rows[0] = "u0,changed@x.io,Changed,pro,2024-05-01T10:00:00Z";
  WriteFile(path, Csv(rows));
  o.TEST_stop_after_batches = 0;
  Result<ImportSummary> changed = RunImport(o);
  ASSERT_TRUE(changed.ok()) << changed.status().ToString();
  EXPECT_FALSE(changed->resumed);
  ASSERT_EQ(changed->warnings.size(), 1u);
  EXPECT_NE(changed->warnings[0].find("the file's content changed"), std::string::npos);
  EXPECT_EQ(changed->accepted, 1u);  // only the changed row is new
}

TEST_F(ImportIntegrationTest, NdjsonWithAServerRejection) {
  std::string path = dir_.File("events.ndjson");
  WriteFile(path,
            "{\"type\":\"identify\",\"userId\":\"n1\",\"traits\":{\"name\":\"One\"}}\n"
            "{\"type\":\"track\",\"userId\":\"n1\",\"event\":\"Bought\",\"messageId\":\"own-1\"}\n"
            "{\"type\":\"track\",\"userId\":\"n2\"}\n"
            "\n"
            "{\"type\":\"identify\",\"userId\":\"n2\"\n"
            "{\"type\":\"page\",\"anonymousId\":\"a1\",\"name\":\"Home\"}\n");
  ImportOptions o = Options(path);
  Result<ImportSummary> s = RunImport(o);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->rows, 5u);
  EXPECT_EQ(s->accepted, 3u);
  ASSERT_EQ(s->rejections.size(), 2u);
  EXPECT_EQ(s->rejections[0], (Rejection{3, "track message without \"event\""}));
  EXPECT_EQ(s->rejections[1].line, 5u);
  EXPECT_NE(s->rejections[1].reason.find("malformed JSON"), std::string::npos);
  EXPECT_TRUE(app_->log()->FindMessage("own-1").ok());

  WaitProcessed();
  EXPECT_EQ(Trait("user_id", "n1", "name"), "\"One\"");

  Result<ImportSummary> again = RunImport(o);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->accepted, 0u);
  EXPECT_EQ(again->duplicates, 3u);
}

TEST_F(ImportIntegrationTest, FatalErrors) {
  std::string path = dir_.File("x.csv");
  WriteFile(path, "user_id\nu1\n");

  ImportOptions unknown = Options(path);
  unknown.source = "nope";
  EXPECT_EQ(RunImport(unknown).status().code(), StatusCode::kNotFound);

  ImportOptions token = Options(path);
  token.admin_token = "wrong";
  EXPECT_EQ(RunImport(token).status().code(), StatusCode::kUnauthenticated);

  ImportOptions down = Options(path);
  down.url = "http://127.0.0.1:1";
  down.max_attempts = 2;
  Result<ImportSummary> r = RunImport(down);
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(r.status().message().find("after 2 attempts"), std::string::npos);

  ImportOptions missing = Options(dir_.File("missing.csv"));
  EXPECT_EQ(RunImport(missing).status().code(), StatusCode::kNotFound);

  ImportOptions format = Options(dir_.File("x.txt"));
  WriteFile(format.path, "user_id\nu1\n");
  EXPECT_EQ(RunImport(format).status().code(), StatusCode::kInvalidArgument);
  format.format = Format::kCsv;
  EXPECT_TRUE(RunImport(format).ok());

  ImportOptions semicolons = Options(dir_.File("semi.csv"));
  WriteFile(semicolons.path, "user_id;name\nu1;A\n");
  Result<ImportSummary> semi = RunImport(semicolons);
  EXPECT_EQ(semi.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(semi.status().message().find("pass --delimiter ;"), std::string::npos);
  semicolons.delimiter = ';';
  EXPECT_TRUE(RunImport(semicolons).ok());

  ImportOptions mapping = Options(path);
  mapping.mapping.identifiers = {{"crm_id", "user_id"}};
  Result<ImportSummary> bad = RunImport(mapping);
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("\"crm_id\" is not in the header"), std::string::npos);
}

TEST_F(ImportIntegrationTest, ConcurrentImportOfOneFileIsRefused) {
  std::string path = dir_.File("locked.csv");
  WriteFile(path, "user_id\nu1\n");
  int fd = ::open(path.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::flock(fd, LOCK_EX | LOCK_NB), 0);
  EXPECT_EQ(RunImport(Options(path)).status().code(), StatusCode::kConflict);
  ImportOptions no_checkpoint = Options(path);
  no_checkpoint.checkpoint = false;
  EXPECT_TRUE(RunImport(no_checkpoint).ok());
  ::close(fd);
  EXPECT_TRUE(RunImport(Options(path)).ok());
}

TEST_F(ImportIntegrationTest, CsvSyntaxErrorKeepsTheRowsBefore) {
  std::string path = dir_.File("broken.csv");
  std::string text = "user_id,name\n";
  for (int i = 0; i < 250; ++i) text += "b" + std::to_string(i) + ",x\n";
  text += "b250,\"unclosed\n";
  WriteFile(path, text);
  ImportOptions o = Options(path);
  o.batch_messages = 100;
  Result<ImportSummary> r = RunImport(o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("line 252: quoted field is not closed"), std::string::npos)
      << r.status().message();
  EXPECT_NE(r.status().message().find("invalid CSV: line 252"), std::string::npos);
  EXPECT_NE(r.status().message().find("rows before line 252 are imported"), std::string::npos);
  EXPECT_EQ(app_->log()->last_seq(), 250u);
}

TEST_F(ImportIntegrationTest, ProgressBarOnAForcedStream) {
  std::string path = dir_.File("p.csv");
  WriteFile(path, Csv(CustomerRows()));
  ImportOptions o = Options(path);
  std::ostringstream progress;
  o.progress = true;
  o.progress_out = &progress;
  ASSERT_TRUE(RunImport(o).ok());
  EXPECT_NE(progress.str().find("100.0%"), std::string::npos) << progress.str();
  EXPECT_NE(progress.str().find('\r'), std::string::npos);
}

}  // namespace
}  // namespace tessera::importer
