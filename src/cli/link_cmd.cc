// `tessera link`: probabilistic record linkage of CSV files, offline. Two files are linked
// (left x right); one file is de-duplicated. Matched pairs go to --out (default stdout) as
// `left_id,right_id,probability`; the summary goes to stderr.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli/commands.h"
#include "linkage/evaluate.h"
#include "linkage/linker.h"
#include "linkage/report.h"

namespace tessera::cli {
namespace {

struct LinkFlags {
  std::vector<std::string> files;
  std::string id_column = "id";
  std::string settings;
  std::string out;
  std::string clusters;
  std::string report;
  std::string explain;
  std::string review;
  std::string truth;
  std::string labels;
  double threshold = -1;
  bool print_settings = false;
  bool quiet = false;
};

std::string CsvField(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string Probability(double p) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", p);
  return buf;
}

// Writes to the named file, or stdout for "" / "-".
Status WriteOutput(const std::string& path, const std::string& data) {
  if (path.empty() || path == "-") {
    std::fwrite(data.data(), 1, data.size(), stdout);
    return std::fflush(stdout) == 0 ? Status::Ok() : Status::IOError("stdout: write failed");
  }
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
  out.close();
  return out ? Status::Ok() : Status::IOError(path + ": cannot write");
}

int Fail(const Status& s) {
  std::fprintf(stderr, "tessera link: %s\n", s.message().c_str());
  return s.code() == StatusCode::kInvalidArgument ? 2 : 1;
}

int RunLink(const LinkFlags& flags) {
  using namespace linkage;
  if (flags.files.empty() || flags.files.size() > 2) {
    return Fail(Status::InvalidArgument("give one CSV file (de-duplicate) or two (link)"));
  }
  auto started = std::chrono::steady_clock::now();
  auto left = ReadTable(flags.files[0], flags.id_column);
  if (!left.ok()) return Fail(left.status());
  std::optional<Table> right;
  if (flags.files.size() == 2) {
    auto r = ReadTable(flags.files[1], flags.id_column);
    if (!r.ok()) return Fail(r.status());
    right = std::move(r.value());
  }
  Settings settings;
  if (!flags.settings.empty()) {
    std::ifstream in(flags.settings);
    if (!in) return Fail(Status::IOError(flags.settings + ": cannot open"));
    std::stringstream text;
    text << in.rdbuf();
    auto parsed = ParseSettings(text.str());
    if (!parsed.ok()) return Fail(Status::InvalidArgument(flags.settings + ": " + parsed.status().message()));
    settings = std::move(parsed.value());
  } else {
    std::vector<std::string> ignored;
    settings = InferSettings(left->columns, &ignored);
    if (!ignored.empty() && !flags.quiet) {
      std::string list;
      for (const std::string& c : ignored) list += (list.empty() ? "" : ", ") + c;
      std::fprintf(stderr, "not compared (unknown column names; use --settings): %s\n", list.c_str());
    }
  }
  if (flags.threshold >= 0) {
    if (!(flags.threshold > 0 && flags.threshold < 1)) {
      return Fail(Status::InvalidArgument("--threshold must lie in (0, 1)"));
    }
    settings.threshold = flags.threshold;
    settings.review_low = std::min(settings.review_low, settings.threshold);
  }
  if (flags.print_settings) {
    std::printf("%s\n", SettingsToJson(settings).c_str());
    return 0;
  }
  auto input = LinkInput::Build(&left.value(), right ? &*right : nullptr, settings);
  if (!input.ok()) return Fail(input.status());
  std::vector<LabelledPair> labels;
  if (!flags.labels.empty()) {
    auto pairs = ReadLabelledPairs(flags.labels);
    if (!pairs.ok()) return Fail(pairs.status());
    auto resolved = ResolveLabels(*input, *pairs);
    if (!resolved.ok()) return Fail(Status::InvalidArgument(flags.labels + ": " + resolved.status().message()));
    labels = std::move(resolved.value());
  }
  std::vector<RecordPair> truth;
  if (!flags.truth.empty()) {
    auto pairs = ReadLabelledPairs(flags.truth);
    if (!pairs.ok()) return Fail(pairs.status());
    auto resolved = ResolveLabels(*input, *pairs);
    if (!resolved.ok()) return Fail(Status::InvalidArgument(flags.truth + ": " + resolved.status().message()));
    for (const LabelledPair& p : *resolved) {
      if (p.match) truth.push_back(p.pair);
    }
  }
  double reading = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  LinkResult result = Link(*input, settings, labels, /*keep_candidates=*/!flags.truth.empty());
  result.seconds.reading = reading;
  std::optional<Evaluation> evaluation;
  if (!flags.truth.empty()) evaluation = Evaluate(*input, settings, result, truth);
  const Evaluation* eval = evaluation ? &*evaluation : nullptr;

  std::string out = "left_id,right_id,probability\n";
  for (const ScoredPair& p : result.pairs) {
    if (p.decision != Decision::kMatch) continue;
    out += CsvField(input->id(p.pair.a)) + "," + CsvField(input->id(p.pair.b)) + "," +
           Probability(p.probability) + "\n";
  }
  Status s = WriteOutput(flags.out, out);
  if (s.ok() && !flags.review.empty()) {
    std::string review = "left_id,right_id,probability\n";
    for (const ScoredPair& p : result.pairs) {
      if (p.decision != Decision::kReview) continue;
      review += CsvField(input->id(p.pair.a)) + "," + CsvField(input->id(p.pair.b)) + "," +
                Probability(p.probability) + "\n";
    }
    s = WriteOutput(flags.review, review);
  }
  if (s.ok() && !flags.clusters.empty()) {
    std::string clusters = "id,cluster_id\n";
    for (uint32_t r = 0; r < input->record_count(); ++r) {
      clusters += CsvField(input->id(r)) + "," + CsvField(input->id(result.clusters[r])) + "\n";
    }
    s = WriteOutput(flags.clusters, clusters);
  }
  if (s.ok() && !flags.explain.empty()) {
    Comparator comparator(&*input, settings);
    std::string explain;
    for (const ScoredPair& p : result.pairs) {
      explain += ExplainJson(*input, comparator, result.model, p).dump() + "\n";
    }
    s = WriteOutput(flags.explain, explain);
  }
  if (s.ok() && !flags.report.empty()) {
    s = WriteOutput(flags.report, ReportJson(*input, settings, result, eval).dump(2) + "\n");
  }
  if (!s.ok()) return Fail(s);
  if (!flags.quiet) std::fputs(ReportText(*input, settings, result, eval).c_str(), stderr);
  return 0;
}

}  // namespace

void AddLinkCommand(CLI::App* app) {
  auto flags = std::make_shared<LinkFlags>();
  CLI::App* cmd = app->add_subcommand(
      "link", "Probabilistic record linkage of CSV files: two files are linked, one is de-duplicated");
  cmd->add_option("files", flags->files, "One CSV file (de-duplicate) or two (link left with right)")
      ->required()
      ->expected(1, 2);
  cmd->add_option("--id-column", flags->id_column, "The column holding record ids")->capture_default_str();
  cmd->add_option("--settings", flags->settings,
                  "JSON settings (comparisons, blocking, thresholds); inferred from column names without it");
  cmd->add_option("--out", flags->out, "Matched pairs as CSV left_id,right_id,probability (default stdout)");
  cmd->add_option("--threshold", flags->threshold, "Match probability at or above which pairs are linked (default 0.5)");
  cmd->add_option("--review", flags->review, "Write the pairs in the review band to this CSV");
  cmd->add_option("--clusters", flags->clusters, "Write id,cluster_id for every record to this CSV");
  cmd->add_option("--report", flags->report, "Write the run's JSON report (blocking, model, decisions) here");
  cmd->add_option("--explain", flags->explain, "Write each scored pair's explanation as NDJSON here");
  cmd->add_option("--truth", flags->truth, "CSV of true pairs: report precision, recall, F1 and blocking recall");
  cmd->add_option("--labels", flags->labels, "CSV of labelled pairs (id,id,1|0) used to train and override");
  cmd->add_flag("--print-settings", flags->print_settings, "Print the settings that would be used and exit");
  cmd->add_flag("--quiet", flags->quiet, "No summary on stderr");
  cmd->callback([flags] { std::exit(RunLink(*flags)); });
}

}  // namespace tessera::cli
