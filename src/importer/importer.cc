#include "importer/importer.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "importer/batch_sender.h"
#include "importer/checkpoint.h"
#include "importer/message_id.h"
#include "importer/row_source.h"

namespace tessera::importer {
namespace {

// The server's request limit is 500 KiB; leave room for the {"batch":[...]} wrapper.
constexpr size_t kMaxBatchBytes = 500 * 1024 - 1024;

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  return s;
}

bool EndsWith(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

Status ValidateOptions(const ImportOptions& o) {
  if (o.source.empty()) return Status::InvalidArgument("no source given (--source NAME)");
  if (o.url.empty()) return Status::InvalidArgument("no server URL given (--url)");
  if (o.admin_token.empty()) return Status::InvalidArgument("no admin token given");
  if (o.path.empty()) return Status::InvalidArgument("no input file given (FILE or - for stdin)");
  if (o.batch_messages == 0) return Status::InvalidArgument("the batch size must be at least 1");
  if (o.batch_bytes == 0 || o.batch_bytes > kMaxBatchBytes) {
    return Status::InvalidArgument("batch_bytes must be 1 to " + std::to_string(kMaxBatchBytes));
  }
  if (o.max_attempts < 1) return Status::InvalidArgument("max_attempts must be at least 1");
  return Status::Ok();
}

// The format and delimiter an import uses.
Status ResolveFormat(const ImportOptions& o, Format* format, char* delimiter) {
  *format = o.format;
  *delimiter = o.delimiter;
  const std::string name = Lower(o.path);
  if (*format == Format::kAuto) {
    if (EndsWith(name, ".csv") || EndsWith(name, ".tsv")) {
      *format = Format::kCsv;
    } else if (EndsWith(name, ".ndjson") || EndsWith(name, ".jsonl")) {
      *format = Format::kNdjson;
    } else if (o.path == "-") {
      return Status::InvalidArgument("reading stdin needs --format csv or --format ndjson");
    } else {
      return Status::InvalidArgument("cannot tell the format of " + o.path +
                                     " from its name; pass --format csv or --format ndjson");
    }
  }
  if (*delimiter == 0) *delimiter = EndsWith(name, ".tsv") ? '\t' : ',';
  if (*format == Format::kNdjson) {
    if (!o.mapping.IsDefault()) {
      return Status::InvalidArgument("a mapping (--map, --id, --trait, ...) applies to CSV only");
    }
  } else {
    TESSERA_RETURN_IF_ERROR(ValidateCsvOptions(CsvOptions{.delimiter = *delimiter}));
    TESSERA_RETURN_IF_ERROR(ValidateMapping(o.mapping));
  }
  return Status::Ok();
}

class ImportRun {
 public:
  explicit ImportRun(const ImportOptions& options) : o_(options) {}
  ~ImportRun() {
    if (lock_fd_ >= 0) ::close(lock_fd_);
  }
  ImportRun(const ImportRun&) = delete;
  ImportRun& operator=(const ImportRun&) = delete;

  Result<ImportSummary> Run() {
    TESSERA_RETURN_IF_ERROR(ValidateOptions(o_));
    TESSERA_RETURN_IF_ERROR(ResolveFormat(o_, &format_, &delimiter_));
    TESSERA_RETURN_IF_ERROR(OpenInput());
    if (o_.transport == nullptr) owned_transport_ = NewCurlTransport(o_.http);
    SenderOptions sender{.url = o_.url,
                         .admin_token = o_.admin_token,
                         .source = o_.source,
                         .max_attempts = o_.max_attempts,
                         .initial_backoff = o_.initial_backoff};
    sender_ = std::make_unique<BatchSender>(
        o_.transport != nullptr ? o_.transport : owned_transport_.get(), std::move(sender));
    // Checks the token and the source before reading anything, and names the source the same
    // way whether it was given by name or by id.
    TESSERA_ASSIGN_OR_RETURN(source_id_, sender_->ResolveSourceId());
    TESSERA_RETURN_IF_ERROR(OpenRows());
    TESSERA_RETURN_IF_ERROR(Resume());
    progress_ = std::make_unique<ProgressBar>(o_.progress ? o_.progress_out : nullptr,
                                              seekable_ ? total_bytes_ : 0);
    Status s = Loop();
    progress_->Finish();
    if (!s.ok()) return WithResumeHint(s);
    std::stable_sort(summary_.rejections.begin(), summary_.rejections.end(),
                     [](const Rejection& a, const Rejection& b) { return a.line < b.line; });
    if (!summary_.complete) return summary_;
    TESSERA_DCHECK(summary_.rows == summary_.accepted + summary_.duplicates + summary_.rejected,
                   "import counts do not add up");
    if (!state_path_.empty()) {
      Status removed = RemoveCheckpoint(state_path_);
      if (!removed.ok()) summary_.warnings.push_back(removed.message());
    }
    return summary_;
  }

 private:
  Status OpenInput() {
    if (o_.path == "-") {
      in_ = &std::cin;
      return Status::Ok();
    }
    struct stat st;
    if (::stat(o_.path.c_str(), &st) != 0) return Status::NotFound("cannot open " + o_.path);
    if (S_ISDIR(st.st_mode)) return Status::InvalidArgument(o_.path + " is a directory");
    file_ = std::make_unique<std::ifstream>(o_.path, std::ios::binary);
    if (!*file_) return Status::IOError("cannot open " + o_.path);
    in_ = file_.get();
    seekable_ = S_ISREG(st.st_mode);
    total_bytes_ = static_cast<uint64_t>(st.st_size);
    if (seekable_ && o_.checkpoint) {
      state_path_ = o_.state_path.empty() ? DefaultStatePath(o_.path) : o_.state_path;
      TESSERA_RETURN_IF_ERROR(LockInput());
    }
    return Status::Ok();
  }

  // Two imports of one file would race on its checkpoint: hold an advisory lock on the input
  // (released when the descriptor closes, also if the process dies).
  Status LockInput() {
    lock_fd_ = ::open(o_.path.c_str(), O_RDONLY | O_CLOEXEC);
    if (lock_fd_ < 0)
      return Status::IOError("cannot open " + o_.path + ": " + std::strerror(errno));
    if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
      if (errno == EWOULDBLOCK) {
        return Status::Conflict("another import of " + o_.path + " is running");
      }
      return Status::IOError("cannot lock " + o_.path + ": " + std::strerror(errno));
    }
    return Status::Ok();
  }

  Status OpenRows() {
    if (format_ == Format::kCsv) {
      TESSERA_ASSIGN_OR_RETURN(
          rows_, OpenCsvRows(in_, CsvOptions{.delimiter = delimiter_}, o_.mapping, source_id_));
    } else {
      rows_ = OpenNdjsonRows(in_, source_id_);
    }
    safe_offset_ = rows_->data_start();
    safe_line_ = rows_->line();
    return Status::Ok();
  }

  // Everything a checkpoint must agree on besides the file itself.
  std::string Fingerprint() const {
    nlohmann::json j = {{"url", o_.url},
                        {"source", source_id_},
                        {"format", format_ == Format::kCsv ? "csv" : "ndjson"},
                        {"delimiter", std::string(1, delimiter_)},
                        {"mapping", o_.mapping.ToJson()}};
    return ImportMessageId("", j);
  }

  Status Resume() {
    if (state_path_.empty()) return Status::Ok();
    fingerprint_ = Fingerprint();
    TESSERA_ASSIGN_OR_RETURN(identity_, IdentifyFile(o_.path));
    if (o_.restart) return RemoveCheckpoint(state_path_);
    Result<Checkpoint> c = LoadCheckpoint(state_path_);
    if (!c.ok()) {
      if (c.status().code() != StatusCode::kNotFound) {
        summary_.warnings.push_back("ignoring checkpoint: " + c.status().message());
      }
      return Status::Ok();
    }
    std::string why = CheckpointMismatch(*c, o_.path, identity_, fingerprint_, rows_->data_start());
    if (!why.empty()) {
      summary_.warnings.push_back("ignoring checkpoint " + state_path_ + ": " + why +
                                  "; starting from the beginning");
      return Status::Ok();
    }
    TESSERA_RETURN_IF_ERROR(rows_->Seek(c->offset, c->next_line));
    summary_ = std::move(c->counts);
    summary_.unlisted_rejections = summary_.rejected - summary_.rejections.size();
    summary_.resumed = true;
    summary_.resumed_from_line = c->next_line;
    safe_offset_ = c->offset;
    safe_line_ = c->next_line;
    return Status::Ok();
  }

  Status Loop() {
    Row row;
    for (;;) {
      Result<bool> more = rows_->Next(&row);
      if (!more.ok()) {
        // Keep what came before the bad spot: send it, then stop.
        bool stop = false;
        Status flushed = Flush(&stop);
        if (!flushed.ok()) return flushed;
        return more.status();
      }
      if (!*more) break;
      if (row.rejection.empty() && !batch_.empty() &&
          (batch_.size() >= o_.batch_messages ||
           batch_bytes_ + row.message.size() + 1 > o_.batch_bytes)) {
        bool stop = false;
        TESSERA_RETURN_IF_ERROR(Flush(&stop));
        if (stop) return Status::Ok();
      }
      ++summary_.rows;
      if (row.rejection.empty()) {
        batch_bytes_ += row.message.size() + 1;
        batch_.push_back(BatchMessage{row.line, std::move(row.message)});
      } else {
        ++summary_.rejected;
        summary_.rejections.push_back(Rejection{row.line, std::move(row.rejection)});
      }
      safe_offset_ = row.end_offset;
      safe_line_ = rows_->line();
      progress_->Update(rows_->offset(), summary_);
    }
    bool stop = false;
    TESSERA_RETURN_IF_ERROR(Flush(&stop));
    progress_->Update(rows_->offset(), summary_, /*force=*/true);
    return Status::Ok();
  }

  // Sends the pending batch (if any), then saves the checkpoint. *stop: the test hook fired.
  Status Flush(bool* stop) {
    if (batch_.empty()) return Status::Ok();
    std::vector<BatchMessage> batch = std::move(batch_);
    batch_.clear();
    batch_bytes_ = 0;
    TESSERA_ASSIGN_OR_RETURN(BatchResult result, sender_->Send(std::move(batch)));
    summary_.accepted += result.stored;
    summary_.duplicates += result.duplicates;
    summary_.rejected += result.rejections.size();
    for (Rejection& r : result.rejections) summary_.rejections.push_back(std::move(r));
    SaveCheckpoint();
    progress_->Update(rows_->offset(), summary_, /*force=*/true);
    if (++batches_ == o_.TEST_stop_after_batches) {
      summary_.complete = false;
      *stop = true;
    }
    return Status::Ok();
  }

  void SaveCheckpoint() {
    if (state_path_.empty()) return;
    Checkpoint c{.path = o_.path,
                 .fingerprint = fingerprint_,
                 .file = identity_,
                 .offset = safe_offset_,
                 .next_line = safe_line_};
    uint64_t begin = safe_offset_ > kBoundaryBytes ? safe_offset_ - kBoundaryBytes : 0;
    Result<std::string> boundary = HashFileRange(o_.path, begin, safe_offset_);
    Status s = boundary.status();
    if (s.ok()) {
      c.boundary_hash = *boundary;
      c.counts = summary_;
      c.counts.warnings.clear();
      s = importer::SaveCheckpoint(state_path_, c);
    }
    if (s.ok()) {
      checkpointed_line_ = safe_line_;
    } else if (!checkpoint_warned_) {
      checkpoint_warned_ = true;
      summary_.warnings.push_back(
          "cannot save the checkpoint (the import cannot resume, but "
          "re-running it is safe): " +
          s.message());
    }
  }

  Status WithResumeHint(const Status& s) const {
    if (checkpointed_line_ == 0) return s;
    std::string hint = s.message() + " [rows before line " + std::to_string(checkpointed_line_) +
                       " are imported; " +
                       (s.code() == StatusCode::kInvalidArgument
                            ? "after fixing the input, run the same command again: rows already "
                              "imported count as duplicates]"
                            : "run the same command again to resume]");
    switch (s.code()) {
      case StatusCode::kInvalidArgument:
        return Status::InvalidArgument(hint);
      case StatusCode::kNotFound:
        return Status::NotFound(hint);
      case StatusCode::kUnauthenticated:
        return Status::Unauthenticated(hint);
      case StatusCode::kPermissionDenied:
        return Status::PermissionDenied(hint);
      case StatusCode::kUnavailable:
        return Status::Unavailable(hint);
      case StatusCode::kIOError:
        return Status::IOError(hint);
      default:
        return Status::Internal(hint);
    }
  }

  const ImportOptions& o_;
  ImportSummary summary_;
  Format format_ = Format::kAuto;
  char delimiter_ = ',';
  std::unique_ptr<std::ifstream> file_;
  std::istream* in_ = nullptr;
  bool seekable_ = false;
  uint64_t total_bytes_ = 0;
  std::string state_path_;  // empty: no checkpoint
  std::string fingerprint_;
  FileIdentity identity_;
  std::unique_ptr<RowSource> rows_;
  std::string source_id_;  // the server's id for o_.source
  std::unique_ptr<Transport> owned_transport_;
  std::unique_ptr<BatchSender> sender_;
  std::unique_ptr<ProgressBar> progress_;
  std::vector<BatchMessage> batch_;
  size_t batch_bytes_ = 0;
  uint64_t safe_offset_ = 0;  // after the last row accounted for (sent-and-acked or rejected)
  uint64_t safe_line_ = 1;
  size_t batches_ = 0;
  uint64_t checkpointed_line_ = 0;  // next_line of the last saved checkpoint; 0: none
  bool checkpoint_warned_ = false;
  int lock_fd_ = -1;  // holds the flock on the input while checkpointing
};

}  // namespace

Status ValidateImportOptions(const ImportOptions& options) {
  TESSERA_RETURN_IF_ERROR(ValidateOptions(options));
  Format format;
  char delimiter;
  return ResolveFormat(options, &format, &delimiter);
}

std::optional<Format> ParseFormat(std::string_view name) {
  if (name == "csv" || name == "tsv") return Format::kCsv;
  if (name == "ndjson" || name == "jsonl") return Format::kNdjson;
  return std::nullopt;
}

std::string DefaultStatePath(const std::string& path) {
  if (path == "-") return "";
  return path + ".tessera-import";
}

Result<ImportSummary> RunImport(const ImportOptions& options) {
  ImportRun run(options);
  return run.Run();
}

}  // namespace tessera::importer
