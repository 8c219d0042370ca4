#include "linkage/evaluate.h"

#include <absl/container/flat_hash_map.h>

#include <algorithm>
#include <fstream>

#include "importer/csv.h"

namespace tessera::linkage {
namespace {

std::string Trim(std::string s) {
  size_t b = s.find_first_not_of(" \t"), e = s.find_last_not_of(" \t");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

void Normalise(std::vector<RecordPair>* pairs) {
  for (RecordPair& p : *pairs) {
    if (p.a > p.b) std::swap(p.a, p.b);
  }
  std::sort(pairs->begin(), pairs->end());
  pairs->erase(std::unique(pairs->begin(), pairs->end()), pairs->end());
}

}  // namespace

Result<std::vector<LabelledIdPair>> ReadLabelledPairs(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IOError(path + ": cannot open");
  importer::CsvReader reader(&in, importer::CsvOptions{});
  importer::CsvRecord record;
  std::vector<LabelledIdPair> out;
  bool header = true;
  while (true) {
    auto next = reader.Next(&record);
    if (!next.ok()) return Status::InvalidArgument(path + ": " + next.status().message());
    if (!next.value()) break;
    if (header) {
      header = false;
      continue;
    }
    std::string where = path + ": line " + std::to_string(record.line);
    if (record.fields.size() < 2 || record.fields.size() > 3) {
      return Status::InvalidArgument(where + ": expected two ids and an optional label");
    }
    LabelledIdPair p{{Trim(record.fields[0]), Trim(record.fields[1])}, true};
    if (record.fields.size() == 3) {
      std::string label = Trim(record.fields[2]);
      if (label == "1" || label == "true" || label == "match") {
        p.match = true;
      } else if (label == "0" || label == "false" || label == "non-match" || label == "nonmatch") {
        p.match = false;
      } else {
        return Status::InvalidArgument(where + ": label \"" + label + "\" is not 1/0, true/false or match/non-match");
      }
    }
    out.push_back(std::move(p));
  }
  return out;
}

Result<std::vector<LabelledPair>> ResolveLabels(const LinkInput& input,
                                                const std::vector<LabelledIdPair>& pairs) {
  absl::flat_hash_map<std::string_view, uint32_t> left, right;
  for (uint32_t r = 0; r < input.left_count(); ++r) left[input.id(r)] = r;
  for (uint32_t r = input.left_count(); r < input.record_count(); ++r) right[input.id(r)] = r;
  const auto& right_ids = input.dedupe() ? left : right;
  std::vector<LabelledPair> out;
  for (size_t i = 0; i < pairs.size(); ++i) {
    auto a = left.find(pairs[i].ids.first);
    auto b = right_ids.find(pairs[i].ids.second);
    if (a == left.end() || b == right_ids.end()) {
      return Status::InvalidArgument("pair " + std::to_string(i + 1) + ": unknown id \"" +
                                     (a == left.end() ? pairs[i].ids.first : pairs[i].ids.second) + "\"");
    }
    RecordPair p{a->second, b->second};
    if (p.a == p.b) continue;
    if (p.a > p.b) std::swap(p.a, p.b);
    out.push_back({p, pairs[i].match});
  }
  return out;
}

PairMetrics ComparePairs(const std::vector<RecordPair>& predicted_in, const std::vector<RecordPair>& truth_in) {
  std::vector<RecordPair> predicted = predicted_in, truth = truth_in;
  Normalise(&predicted);
  Normalise(&truth);
  PairMetrics m;
  m.truth = truth.size();
  m.predicted = predicted.size();
  std::vector<RecordPair> common;
  std::set_intersection(predicted.begin(), predicted.end(), truth.begin(), truth.end(),
                        std::back_inserter(common));
  m.true_positives = common.size();
  m.false_positives = m.predicted - m.true_positives;
  m.false_negatives = m.truth - m.true_positives;
  m.precision = m.predicted == 0 ? 1 : static_cast<double>(m.true_positives) / m.predicted;
  m.recall = m.truth == 0 ? 1 : static_cast<double>(m.true_positives) / m.truth;
  m.f1 = m.precision + m.recall == 0 ? 0 : 2 * m.precision * m.recall / (m.precision + m.recall);
  return m;
}

std::vector<RecordPair> ClusterPairs(const LinkInput& input, const std::vector<uint32_t>& clusters) {
  absl::flat_hash_map<uint32_t, std::vector<uint32_t>> members;
  for (uint32_t r = 0; r < clusters.size(); ++r) members[clusters[r]].push_back(r);
  std::vector<RecordPair> out;
  for (const auto& [id, list] : members) {
    for (size_t i = 0; i < list.size(); ++i) {
      for (size_t j = i + 1; j < list.size(); ++j) {
        RecordPair p{std::min(list[i], list[j]), std::max(list[i], list[j])};
        bool cross = p.a < input.left_count() && p.b >= input.left_count();
        if (input.dedupe() || cross) out.push_back(p);
      }
    }
  }
  return out;
}

Evaluation Evaluate(const LinkInput& input, const Settings& settings, const LinkResult& result,
                    const std::vector<RecordPair>& truth) {
  Evaluation e;
  std::vector<RecordPair> linked;
  for (const ScoredPair& p : result.pairs) {
    if (p.decision == Decision::kMatch) linked.push_back(p.pair);
  }
  e.pairs = ComparePairs(linked, truth);
  e.clusters = ComparePairs(ClusterPairs(input, result.clusters), truth);
  Blocker blocker(&input, settings);
  uint64_t covered = 0;
  std::vector<uint64_t> per_rule(settings.blocking.size()), unique(settings.blocking.size());
  for (const RecordPair& p : truth) {
    size_t agreeing = 0, last = 0;
    for (size_t r = 0; r < settings.blocking.size(); ++r) {
      if (blocker.Agrees(r, p.a, p.b)) ++per_rule[r], ++agreeing, last = r;
    }
    if (agreeing == 1) ++unique[last];
    covered += std::binary_search(result.candidate_pairs.begin(), result.candidate_pairs.end(), p);
  }
  e.blocking_recall = truth.empty() ? 1 : static_cast<double>(covered) / truth.size();
  for (size_t r = 0; r < per_rule.size(); ++r) {
    e.rule_recall.push_back(truth.empty() ? 1 : static_cast<double>(per_rule[r]) / truth.size());
    e.rule_unique_recall.push_back(truth.empty() ? 0 : static_cast<double>(unique[r]) / truth.size());
  }
  return e;
}

}  // namespace tessera::linkage
