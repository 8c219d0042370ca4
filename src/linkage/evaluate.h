// Quality against labelled data: pairwise precision, recall and F1 over unordered record pairs
// (as the FEBRL and Splink figures are computed), and the recall of the blocking alone.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"
#include "linkage/linker.h"

namespace tessera::linkage {

using IdPair = std::pair<std::string, std::string>;

// A CSV of id pairs with a header row (e.g. rec_id_l,rec_id_r); a third column, if present, is a
// label: 1/true/match or 0/false/non-match (without it every row is a match).
struct LabelledIdPair {
  IdPair ids;
  bool match = true;
};
Result<std::vector<LabelledIdPair>> ReadLabelledPairs(const std::string& path);

// Turns id pairs into record pairs of `input` (unknown ids are an error naming the line).
Result<std::vector<LabelledPair>> ResolveLabels(const LinkInput& input,
                                                const std::vector<LabelledIdPair>& pairs);

struct PairMetrics {
  uint64_t truth = 0, predicted = 0, true_positives = 0, false_positives = 0, false_negatives = 0;
  double precision = 0, recall = 0, f1 = 0;
};

PairMetrics ComparePairs(const std::vector<RecordPair>& predicted, const std::vector<RecordPair>& truth);

struct Evaluation {
  PairMetrics pairs;             // linked pairs (probability >= threshold)
  PairMetrics clusters;          // every pair inside a cluster
  double blocking_recall = 0;    // true pairs among the candidates (REQUIRES keep_candidates)
  std::vector<double> rule_recall;  // per rule: true pairs it puts in one block
  std::vector<double> rule_unique_recall;  // per rule: true pairs no other rule blocks
};

Evaluation Evaluate(const LinkInput& input, const Settings& settings, const LinkResult& result,
                    const std::vector<RecordPair>& truth);

// Every pair inside each cluster.
std::vector<RecordPair> ClusterPairs(const LinkInput& input, const std::vector<uint32_t>& clusters);

}  // namespace tessera::linkage
