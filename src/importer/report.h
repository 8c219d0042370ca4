// What an import tells its user: the summary (counts and rejected rows), the rejects file and the
// progress bar drawn on a terminal while it runs.
//
// Thread-safety: ProgressBar is used by the importing thread only; the functions are pure.
#pragma once

#include <chrono>
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "core/status.h"

namespace tessera::importer {

// A row that was not imported: its (starting) line in the input and why.
struct Rejection {
  uint64_t line = 0;
  std::string reason{};
  bool operator==(const Rejection&) const = default;
};

// Counts cover the whole import, including a resumed run's earlier part.
// Invariant once complete: rows == accepted + duplicates + rejected.
struct ImportSummary {
  uint64_t rows = 0;        // data rows read (a CSV header and blank lines are not rows)
  uint64_t accepted = 0;    // newly stored by the server
  uint64_t duplicates = 0;  // already stored (same messageId): an earlier import had them
  uint64_t rejected = 0;    // refused by the importer or the server; see rejections
  // Sorted by line. May hold fewer than `rejected` entries after a resume (the checkpoint keeps
  // at most kMaxCheckpointRejections); unlisted_rejections says how many are missing.
  std::vector<Rejection> rejections{};
  uint64_t unlisted_rejections = 0;
  bool resumed = false;
  uint64_t resumed_from_line = 0;  // the first line this run read, when resumed
  bool complete = true;            // false only when stopped early by a test hook
  std::vector<std::string>
      warnings{};  // non-fatal problems (e.g. a checkpoint that cannot be saved)
};

// The end-of-import text: counts, then up to max_listed rejections as "line N: reason".
std::string FormatSummary(const ImportSummary& summary, size_t max_listed = 20);

// Writes every listed rejection as CSV "line,reason" (with a header row), atomically.
Status WriteRejectsCsv(const std::string& path, const ImportSummary& summary);

// "a,b" -> a CSV field, quoted when it holds a comma, quote or line end.
std::string CsvQuote(std::string_view field);

// A single status line redrawn in place with '\r': percent (when the size is known), rows,
// rows/s, accepted and rejected. Redraws at most every 100 ms.
class ProgressBar {
 public:
  // out == nullptr disables it. total_bytes == 0: unknown (stdin).
  ProgressBar(std::ostream* out, uint64_t total_bytes);
  ~ProgressBar();
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  void Update(uint64_t offset, const ImportSummary& summary, bool force = false);
  // Erases the line so that what follows starts clean.
  void Finish();

 private:
  std::ostream* out_;
  const uint64_t total_bytes_;
  const std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
  uint64_t start_rows_ = 0;  // rows already done when this run began (a resume)
  bool started_ = false;
  size_t last_width_ = 0;
};

}  // namespace tessera::importer
