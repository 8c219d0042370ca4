// Bulk import of a CSV or NDJSON file into a running Tessera server (`tessera import`).
//
// RunImport reads the input as a stream, turns rows into Segment messages (mapping.h for CSV,
// ndjson.h for NDJSON), sends them in batches to POST {url}/v1/sources/{source}/batch
// (batch_sender.h) and reports what happened to every row (report.h).
//
// Idempotent: every message has a deterministic messageId (message_id.h), so importing the same
// data again stores nothing new; those rows count as duplicates.
// Resumable: after each acknowledged batch a checkpoint (checkpoint.h) records how far the file
// has been imported; a later run with the same file and settings continues from there.
//
// Thread-safety: RunImport may run on any thread. Two checkpointed imports of the same file are
// refused (an advisory flock on the input), since they would race on the checkpoint.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <ostream>
#include <string>

#include "core/status.h"
#include "importer/http_client.h"
#include "importer/mapping.h"
#include "importer/report.h"

namespace tessera::importer {

enum class Format { kAuto, kCsv, kNdjson };

// "csv" / "ndjson" (also "jsonl"); nullopt otherwise.
std::optional<Format> ParseFormat(std::string_view name);

struct ImportOptions {
  std::string url = "http://127.0.0.1:8080";
  std::string admin_token{};
  std::string source{};  // name or id
  std::string path{};    // a file, or "-" for stdin
  // kAuto: by extension (.csv, .tsv, .ndjson, .jsonl); stdin needs an explicit format.
  Format format = Format::kAuto;
  Mapping mapping{};   // CSV only
  char delimiter = 0;  // CSV; 0: ',' (tab for .tsv)
  size_t batch_messages = 500;
  size_t batch_bytes = 400 * 1024;  // JSON bytes of the messages in one request (before gzip)
  // The checkpoint file. Empty: "<path>.tessera-import" when path is a regular file, none for
  // stdin and other non-seekable inputs.
  std::string state_path{};
  bool checkpoint = true;  // false: never read or write one
  bool restart = false;    // ignore (and replace) an existing checkpoint
  bool progress = false;   // draw a progress bar on progress_out
  std::ostream* progress_out = nullptr;
  // Retries of a batch on 429/5xx/connection errors (see batch_sender.h).
  int max_attempts = 8;
  std::chrono::milliseconds initial_backoff{250};
  HttpOptions http{};
  Transport* transport = nullptr;  // tests: used instead of libcurl when set
  // Test hook: stop (as if interrupted) after this many acknowledged batches; 0 = never.
  size_t TEST_stop_after_batches = 0;
};

// Checks the options without touching the input or the server: required fields, limits, the
// format (resolved from the file name for kAuto) and the mapping. InvalidArgument says what is
// wrong; the CLI reports it as a usage error.
Status ValidateImportOptions(const ImportOptions& options);

// The summary, or the error that stopped the import: InvalidArgument for bad options, a bad
// mapping or a CSV syntax error ("line N: ..."); NotFound for a missing file or an unknown
// source; Unauthenticated/PermissionDenied for a refused token; Unavailable when the server
// stayed unreachable; Conflict when another import of the same file (with a checkpoint) runs.
// Rows acknowledged before a failure stay imported and checkpointed.
Result<ImportSummary> RunImport(const ImportOptions& options);

// The default checkpoint path for an input ("" for stdin).
std::string DefaultStatePath(const std::string& path);

}  // namespace tessera::importer
