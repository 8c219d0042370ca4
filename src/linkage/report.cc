#include "linkage/report.h"

#include <cmath>
#include <cstdio>
#include <fstream>

namespace tessera::linkage {
namespace {

using nlohmann::json;

json MetricsJson(const PairMetrics& m) {
  return {{"true_pairs", m.truth},          {"predicted", m.predicted},
          {"true_positives", m.true_positives}, {"false_positives", m.false_positives},
          {"false_negatives", m.false_negatives}, {"precision", m.precision},
          {"recall", m.recall},              {"f1", m.f1}};
}

std::string Line(const char* format, double a, double b = 0, double c = 0, double d = 0) {
  char buf[256];
  std::snprintf(buf, sizeof buf, format, a, b, c, d);
  return buf;
}

}  // namespace

uint64_t PeakRssBytes() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with("VmHWM:")) return std::stoull(line.substr(6)) * 1024;
  }
  return 0;
}

json ReportJson(const LinkInput& input, const Settings& settings, const LinkResult& result,
                const Evaluation* evaluation) {
  json j;
  j["mode"] = input.dedupe() ? "dedupe" : "link";
  j["records"] = {{"left", input.left_count()}, {"right", input.right_count()}};
  j["all_pairs"] = result.all_pairs;
  j["candidates"] = result.candidates;
  j["blocking"] = json::array();
  for (size_t r = 0; r < result.rules.size(); ++r) {
    const RuleStats& s = result.rules[r];
    json rule = {{"rule", s.rule}, {"pairs", s.pairs}, {"generated", s.generated},
                 {"skipped_blocks", s.skipped_blocks}, {"skipped_pairs", s.skipped_pairs}};
    if (evaluation != nullptr) {
      rule["recall"] = evaluation->rule_recall[r];
      rule["unique_recall"] = evaluation->rule_unique_recall[r];
    }
    j["blocking"].push_back(std::move(rule));
  }
  const Model& m = result.model;
  j["model"] = {{"lambda", m.lambda},
                {"prior_weight", m.PriorWeight()},
                {"lambda_candidates", m.lambda_candidates},
                {"em_iterations", m.em_iterations},
                {"em_converged", m.em_converged},
                {"random_pairs", m.random_pairs},
                {"comparisons", json::array()}};
  for (size_t c = 0; c < m.comparisons.size(); ++c) {
    json levels = json::array();
    for (size_t l = 1; l < m.levels[c].size(); ++l) {
      const LevelParams& p = m.levels[c][l];
      levels.push_back({{"level", p.label}, {"m", p.m}, {"u", p.u},
                        {"weight", m.LevelWeight(c, static_cast<int>(l), 0)},
                        {"candidates", p.candidates}});
    }
    j["model"]["comparisons"].push_back(
        {{"column", m.comparisons[c]}, {"tf", static_cast<bool>(m.tf[c])}, {"levels", levels},
         {"null_candidates", m.levels[c][0].candidates}});
  }
  uint64_t matches = 0, reviews = 0;
  for (const ScoredPair& p : result.pairs) (p.decision == Decision::kMatch ? matches : reviews)++;
  uint64_t clustered = 0, clusters = 0;
  std::vector<uint32_t> size(result.clusters.size(), 0);
  for (uint32_t c : result.clusters) ++size[c];
  for (uint32_t s : size) {
    if (s > 1) ++clusters, clustered += s;
  }
  j["decisions"] = {{"threshold", settings.threshold}, {"review_low", settings.review_low},
                    {"matches", matches}, {"reviews", reviews},
                    {"clusters", clusters}, {"records_in_clusters", clustered}};
  j["seconds"] = {{"reading", result.seconds.reading}, {"blocking", result.seconds.blocking}, {"comparing", result.seconds.comparing},
                  {"estimating", result.seconds.estimating}, {"scoring", result.seconds.scoring},
                  {"clustering", result.seconds.clustering}};
  j["peak_rss_bytes"] = PeakRssBytes();
  if (evaluation != nullptr) {
    j["evaluation"] = {{"pairs", MetricsJson(evaluation->pairs)},
                       {"clusters", MetricsJson(evaluation->clusters)},
                       {"blocking_recall", evaluation->blocking_recall}};
  }
  return j;
}

std::string ReportText(const LinkInput& input, const Settings& settings, const LinkResult& result,
                       const Evaluation* evaluation) {
  std::string out;
  out += Line("records: %.0f left, %.0f right; %.0f candidate pairs of %.0f\n", input.left_count(),
              input.right_count(), static_cast<double>(result.candidates), static_cast<double>(result.all_pairs));
  for (size_t r = 0; r < result.rules.size(); ++r) {
    const RuleStats& s = result.rules[r];
    out += "  rule " + s.rule + ": " + std::to_string(s.pairs) + " new pairs";
    if (s.skipped_blocks > 0) out += " (" + std::to_string(s.skipped_blocks) + " oversized blocks skipped)";
    if (evaluation != nullptr) {
      out += Line(", recall %.4f (%.4f by this rule only)", evaluation->rule_recall[r],
                  evaluation->rule_unique_recall[r]);
    }
    out += "\n";
  }
  uint64_t matches = 0, reviews = 0;
  for (const ScoredPair& p : result.pairs) (p.decision == Decision::kMatch ? matches : reviews)++;
  out += Line("model: lambda %.3g, EM %.0f iterations\n", result.model.lambda,
              result.model.em_iterations);
  if (!result.model.em_converged) out.insert(out.size() - 1, " (not converged)");
  out += Line("decisions: %.0f matches (p >= %.2f), %.0f to review (p >= %.2f)\n",
              static_cast<double>(matches), settings.threshold, static_cast<double>(reviews), settings.review_low);
  const auto& t = result.seconds;
  out += Line("time: reading %.2f s, blocking %.2f s, comparing %.2f s, ", t.reading, t.blocking,
              t.comparing);
  out += Line("estimating %.2f s, ", t.estimating);
  out += Line("scoring %.2f s, clustering %.2f s; peak memory %.0f MiB\n", t.scoring, t.clustering,
              static_cast<double>(PeakRssBytes()) / (1 << 20));
  if (evaluation != nullptr) {
    const PairMetrics& p = evaluation->pairs;
    out += Line("pairs:    precision %.4f recall %.4f F1 %.4f", p.precision, p.recall, p.f1);
    out += " (TP " + std::to_string(p.true_positives) + ", FP " + std::to_string(p.false_positives) +
           ", FN " + std::to_string(p.false_negatives) + ")\n";
    const PairMetrics& c = evaluation->clusters;
    out += Line("clusters: precision %.4f recall %.4f F1 %.4f", c.precision, c.recall, c.f1);
    out += " (TP " + std::to_string(c.true_positives) + ", FP " + std::to_string(c.false_positives) +
           ", FN " + std::to_string(c.false_negatives) + ")\n";
    out += Line("blocking recall %.4f\n", evaluation->blocking_recall);
  }
  return out;
}

json ExplainJson(const LinkInput& input, const Comparator& comparator, const Model& model,
                 const ScoredPair& pair) {
  json j = {{"left_id", input.id(pair.pair.a)},
            {"right_id", input.id(pair.pair.b)},
            {"probability", pair.probability},
            {"match_weight", pair.weight},
            {"prior_weight", model.PriorWeight()},
            {"comparisons", json::array()}};
  for (const Contribution& c : Explain(model, comparator, pair.pair, pair.pattern)) {
    json cj = {{"column", c.comparison}, {"level", c.level}, {"weight", c.weight}};
    if (c.tf_adjusted) cj["tf_adjusted"] = true;
    j["comparisons"].push_back(std::move(cj));
  }
  return j;
}

}  // namespace tessera::linkage
