// `tessera import`: bulk import of a CSV or NDJSON file (or stdin) into a running server.
// The work is in importer/importer.h; this file turns flags into ImportOptions and the outcome
// into output and an exit code:
//   0  every row imported (new or already there)
//   1  a fatal error (message on stderr)
//   2  a usage error
//   3  finished, but some rows were rejected (listed in the summary / --rejects file)
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>

#include "cli/commands.h"
#include "importer/importer.h"

namespace tessera::cli {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitFatal = 1;
constexpr int kExitUsage = 2;
constexpr int kExitRejected = 3;

struct ImportFlags {
  std::string source;
  std::string url;
  std::string admin_token;
  std::string data_dir;
  std::string format;
  std::string map;
  std::vector<std::string> ids;
  std::vector<std::string> traits;
  std::string timestamp_column;
  std::string type;
  std::string event;
  std::string delimiter;
  std::string batch_size;
  std::string rejects;
  bool restart = false;
  bool no_progress = false;
  bool progress = false;
  std::string file;
};

int Usage(const std::string& message) {
  std::cerr << "tessera import: " << message << "\n"
            << "Run 'tessera import --help' for usage.\n";
  return kExitUsage;
}

std::string Env(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? "" : value;
}

// --admin-token, else $TESSERA_ADMIN_TOKEN, else the first line of DATA_DIR/admin-token.
Result<std::string> AdminToken(const ImportFlags& flags) {
  if (!flags.admin_token.empty()) return flags.admin_token;
  if (std::string env = Env("TESSERA_ADMIN_TOKEN"); !env.empty()) return env;
  if (flags.data_dir.empty()) {
    return Status::InvalidArgument(
        "no admin token: pass --admin-token, set TESSERA_ADMIN_TOKEN or give --data-dir");
  }
  std::string path = flags.data_dir + "/admin-token";
  std::ifstream in(path);
  std::string token;
  if (!in || !std::getline(in, token) || token.empty()) {
    return Status::InvalidArgument("no admin token in " + path);
  }
  while (!token.empty() && (token.back() == '\r' || token.back() == ' ')) token.pop_back();
  return token;
}

Result<char> Delimiter(const std::string& text) {
  if (text.empty()) return char{0};
  if (text == "tab" || text == "\\t" || text == "\t") return '\t';
  if (text.size() != 1) {
    return Status::InvalidArgument("--delimiter takes one character (or \"tab\"), got \"" + text +
                                   "\"");
  }
  return text[0];
}

Result<size_t> BatchSize(const std::string& text) {
  if (text.empty()) return size_t{500};
  if (text.size() > 6 || text.find_first_not_of("0123456789") != std::string::npos) {
    return Status::InvalidArgument("--batch-size takes a number from 1 to 10000");
  }
  size_t n = std::stoul(text);
  if (n < 1 || n > 10000)
    return Status::InvalidArgument("--batch-size takes a number from 1 to 10000");
  return n;
}

Result<importer::ImportOptions> BuildOptions(const ImportFlags& flags) {
  importer::ImportOptions o;
  if (flags.file.empty()) return Status::InvalidArgument("no input: give FILE, or - for stdin");
  o.path = flags.file;
  o.source = flags.source;
  if (o.source.empty()) return Status::InvalidArgument("--source NAME is required");
  o.url = !flags.url.empty() ? flags.url : Env("TESSERA_URL");
  if (o.url.empty()) o.url = "http://127.0.0.1:8080";
  TESSERA_ASSIGN_OR_RETURN(o.admin_token, AdminToken(flags));
  if (!flags.format.empty()) {
    std::optional<importer::Format> format = importer::ParseFormat(flags.format);
    if (!format) return Status::InvalidArgument("--format must be csv or ndjson");
    o.format = *format;
  }
  TESSERA_ASSIGN_OR_RETURN(o.delimiter, Delimiter(flags.delimiter));
  if (flags.format == "tsv" && o.delimiter == 0) o.delimiter = '\t';
  TESSERA_ASSIGN_OR_RETURN(o.batch_messages, BatchSize(flags.batch_size));

  importer::Mapping& m = o.mapping;
  if (!flags.map.empty()) {
    TESSERA_ASSIGN_OR_RETURN(m, importer::LoadMappingFile(flags.map));
  }
  if (!flags.type.empty()) {
    if (flags.type == "identify") {
      m.type = MessageType::kIdentify;
    } else if (flags.type == "track") {
      m.type = MessageType::kTrack;
    } else {
      return Status::InvalidArgument("--type must be identify or track");
    }
  }
  if (!flags.event.empty()) m.event = flags.event;
  for (const std::string& id : flags.ids) {
    TESSERA_RETURN_IF_ERROR(importer::AddIdentifierFlag(id, &m));
  }
  for (const std::string& trait : flags.traits) {
    TESSERA_RETURN_IF_ERROR(importer::AddTraitFlag(trait, &m));
  }
  if (!flags.timestamp_column.empty()) m.timestamp_column = flags.timestamp_column;

  o.restart = flags.restart;
  o.progress = flags.progress || (!flags.no_progress && ::isatty(::fileno(stderr)) == 1);
  o.progress_out = &std::cerr;
  TESSERA_RETURN_IF_ERROR(importer::ValidateImportOptions(o));
  return o;
}

int RunImportCommand(const ImportFlags& flags, const std::vector<std::string>& extras) {
  if (!extras.empty()) return Usage("unexpected argument \"" + extras[0] + "\"");
  Result<importer::ImportOptions> options = BuildOptions(flags);
  if (!options.ok()) return Usage(options.status().message());

  Result<importer::ImportSummary> summary = importer::RunImport(*options);
  if (!summary.ok()) {
    std::cerr << "tessera import: error: " << summary.status().message() << "\n";
    return kExitFatal;
  }
  for (const std::string& warning : summary->warnings) {
    std::cerr << "tessera import: warning: " << warning << "\n";
  }
  std::cout << importer::FormatSummary(*summary) << std::flush;
  if (!flags.rejects.empty()) {
    Status written = importer::WriteRejectsCsv(flags.rejects, *summary);
    if (!written.ok()) {
      std::cerr << "tessera import: error: " << written.message() << "\n";
      return kExitFatal;
    }
  }
  return summary->rejected > 0 ? kExitRejected : kExitOk;
}

}  // namespace

void AddImportCommand(CLI::App* app) {
  auto flags = std::make_shared<ImportFlags>();
  CLI::App* cmd = app->add_subcommand(
      "import",
      "Import a CSV or NDJSON file into a running Tessera server (idempotent, resumable).\n"
      "Exit codes: 0 all rows imported, 3 some rows rejected, 1 fatal error, 2 usage error.");
  cmd->add_option("--source", flags->source, "Source (name or id) the rows are imported into")
      ->type_name("NAME");
  cmd->add_option("--url", flags->url,
                  "Server URL (default: $TESSERA_URL, else http://127.0.0.1:8080)")
      ->type_name("URL");
  cmd->add_option("--admin-token", flags->admin_token,
                  "Admin bearer token (default: $TESSERA_ADMIN_TOKEN, else DATA_DIR/admin-token)")
      ->type_name("TOKEN");
  cmd->add_option("--data-dir", flags->data_dir, "Server data dir to read admin-token from")
      ->type_name("DIR");
  cmd->add_option("--format", flags->format,
                  "Input format (default: from the extension .csv/.tsv/.ndjson/.jsonl)")
      ->type_name("csv|ndjson");
  cmd->add_option("--map", flags->map, "CSV mapping file (JSON; see src/importer/README.md)")
      ->type_name("FILE");
  cmd->add_option("--id", flags->ids, "CSV identifier column COLUMN=KIND (repeatable)")
      ->type_name("COL=KIND")
      ->allow_extra_args(false);
  cmd->add_option("--trait", flags->traits, "CSV trait column COLUMN[=NAME] (repeatable)")
      ->type_name("COL[=NAME]")
      ->allow_extra_args(false);
  cmd->add_option("--timestamp-column", flags->timestamp_column,
                  "CSV column holding each row's ISO-8601 time")
      ->type_name("COL");
  cmd->add_option("--type", flags->type, "CSV message type (default identify)")
      ->type_name("identify|track");
  cmd->add_option("--event", flags->event, "Event name for --type track")->type_name("NAME");
  cmd->add_option("--delimiter", flags->delimiter, "CSV delimiter: , (default) ; tab |")
      ->type_name("C");
  cmd->add_option("--batch-size", flags->batch_size, "Messages per request (default 500)")
      ->type_name("N");
  cmd->add_option("--rejects", flags->rejects, "Write every rejected row as CSV line,reason")
      ->type_name("FILE");
  cmd->add_flag("--restart", flags->restart, "Ignore a saved checkpoint and start over");
  cmd->add_flag("--no-progress", flags->no_progress, "No progress bar");
  cmd->add_flag("--progress", flags->progress, "A progress bar even when stderr is no terminal");
  cmd->add_option("file", flags->file, "CSV or NDJSON file, or - for stdin")->type_name("FILE|-");
  cmd->footer(
      "Example: tessera import --source crm --id crm_id=user_id --trait first_name=firstName "
      "customers.csv\nRe-running an import is safe: rows already imported count as duplicates, "
      "and an\ninterrupted import resumes from its checkpoint (FILE.tessera-import).");
  cmd->allow_extras();
  cmd->callback([flags, cmd] { std::exit(RunImportCommand(*flags, cmd->remaining())); });
}

}  // namespace tessera::cli
