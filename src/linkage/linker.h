// One linkage run over a LinkInput: blocking, comparisons, estimation, scoring, decisions and
// clustering. This is what `tessera link` runs; the server runs the same pieces incrementally.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "linkage/blocking.h"
#include "linkage/cluster.h"
#include "linkage/compare.h"
#include "linkage/model.h"
#include "linkage/records.h"
#include "linkage/settings.h"

namespace tessera::linkage {

enum class Decision { kMatch, kReview };

struct ScoredPair {
  RecordPair pair;
  Pattern pattern = 0;
  double weight = 0;
  double probability = 0;
  Decision decision = Decision::kReview;
};

struct LinkResult {
  Model model;
  std::vector<RuleStats> rules;
  uint64_t all_pairs = 0;
  uint64_t candidates = 0;
  std::vector<ScoredPair> pairs;   // probability >= review_low (or labelled a match), by pair
  std::vector<uint32_t> clusters;  // per record: its entity's record with the smallest id
  std::vector<RecordPair> candidate_pairs;  // all blocked pairs, sorted (keep_candidates only)
  struct Timings {
    double reading = 0;  // set by the caller: reading and normalising the input
    double blocking = 0, comparing = 0, estimating = 0, scoring = 0, clustering = 0;
  } seconds;
};

// Labels override the model for their pairs: a labelled match is linked with probability 1, a
// labelled non-match is never linked. Labels also train m (see model.h).
LinkResult Link(const LinkInput& input, const Settings& settings,
                const std::vector<LabelledPair>& labels, bool keep_candidates = false);

}  // namespace tessera::linkage
