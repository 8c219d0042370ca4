// The Fellegi-Sunter model. For every comparison c and level l:
//   m[c][l] = P(level l | the records are the same entity)
//   u[c][l] = P(level l | they are not)
// A pair's match weight is log2(lambda / (1 - lambda)) + sum over comparisons of
// log2(m / u) for its level (null levels add nothing), where lambda is the probability that two
// records drawn at random match; its match probability is 2^w / (1 + 2^w).
//
// Estimation, without labels:
//  - u from random record pairs (nearly all non-matches). The exact level's u is computed
//    exactly from the value frequencies (sum over values of the chance both records hold it),
//    the other levels' shares from a sample of random pairs.
//  - m by expectation-maximisation over the blocked candidate pairs, grouped by agreement
//    pattern: a two-class mixture with its own (nuisance) u for candidates, so that the
//    blocking's bias towards agreeing non-matches does not leak into m. Labelled pairs (review
//    decisions, a labels file) keep their class fixed in every iteration.
//  - lambda = (expected matches among candidates) / (all possible pairs).
//  - Term-frequency adjustment: on the exact level of a comparison with tf on, u becomes the
//    frequency of the shared value (how often a random record holds it), so agreeing on "smith"
//    weighs less than agreeing on "zbigniew".
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "linkage/blocking.h"
#include "linkage/compare.h"

namespace tessera::linkage {

struct LevelParams {
  std::string label;
  double m = 0, u = 0;
  uint64_t candidates = 0;  // candidate pairs at this level
};

struct Model {
  std::vector<std::string> comparisons;
  std::vector<std::vector<LevelParams>> levels;  // [comparison][level], level 0 = null
  std::vector<bool> tf;
  double lambda = 0;             // P(two random records match)
  double lambda_candidates = 0;  // P(a candidate pair matches), from EM
  int em_iterations = 0;
  bool em_converged = false;
  uint64_t random_pairs = 0;     // sample size behind u

  double PriorWeight() const;
  // log2(m/u) of one comparison level, with the term-frequency adjustment when frequency > 0.
  double LevelWeight(size_t c, int level, double frequency) const;
};

// A labelled pair: the records are (match=true) or are not the same entity.
struct LabelledPair {
  RecordPair pair;
  bool match = false;
};

struct EstimateOptions {
  uint64_t random_pairs = 1'000'000;
  int max_iterations = 100;
  uint64_t seed = 1;
};

// Estimates the model from the candidates (their patterns, in the same order) and labels.
Model Estimate(const LinkInput& input, const Comparator& comparator,
               const std::vector<RecordPair>& candidates, const std::vector<Pattern>& patterns,
               const std::vector<LabelledPair>& labels, const EstimateOptions& options);

struct Contribution {
  std::string comparison;
  std::string level;
  double weight = 0;  // log2 Bayes factor, 0 for null
  bool tf_adjusted = false;
};

struct Score {
  double weight = 0;
  double probability = 0;
};

// The model as JSON text and back (the server keeps its model this way). Doubles survive the
// round trip exactly. Corruption when the text is not a model.
std::string ModelToJson(const Model& model);
Result<Model> ModelFromJson(std::string_view text);

double ProbabilityFromWeight(double weight);
Score ScorePair(const Model& model, const Comparator& comparator, RecordPair pair, Pattern pattern);
// Each comparison's level and contribution, for explaining a pair.
std::vector<Contribution> Explain(const Model& model, const Comparator& comparator, RecordPair pair,
                                  Pattern pattern);

}  // namespace tessera::linkage
