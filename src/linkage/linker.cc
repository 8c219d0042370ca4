#include "linkage/linker.h"

#include <absl/container/flat_hash_map.h>
#include <absl/container/flat_hash_set.h>

#include <chrono>

#include "linkage/parallel.h"

namespace tessera::linkage {
namespace {

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

uint64_t PairKey(RecordPair p) { return (uint64_t{p.a} << 32) | p.b; }

}  // namespace

LinkResult Link(const LinkInput& input, const Settings& settings,
                const std::vector<LabelledPair>& labels, bool keep_candidates) {
  LinkResult result;
  result.all_pairs = input.AllPairs();
  auto start = std::chrono::steady_clock::now();
  Blocker blocker(&input, settings);
  std::vector<RecordPair> candidates = blocker.Generate(&result.rules);
  result.candidates = candidates.size();
  result.seconds.blocking = SecondsSince(start);

  start = std::chrono::steady_clock::now();
  Comparator comparator(&input, settings);
  std::vector<Pattern> patterns(candidates.size());
  ParallelChunks(candidates.size(), 1 << 14, [&](size_t begin, size_t end, unsigned) {
    for (size_t i = begin; i < end; ++i) patterns[i] = comparator.Compare(candidates[i].a, candidates[i].b);
  });
  result.seconds.comparing = SecondsSince(start);

  start = std::chrono::steady_clock::now();
  EstimateOptions options{.random_pairs = settings.random_pairs,
                          .max_iterations = settings.max_em_iterations,
                          .seed = settings.seed};
  result.model = Estimate(input, comparator, candidates, patterns, labels, options);
  result.seconds.estimating = SecondsSince(start);

  start = std::chrono::steady_clock::now();
  absl::flat_hash_map<uint64_t, bool> labelled;
  for (const LabelledPair& l : labels) labelled[PairKey(l.pair)] = l.match;
  std::vector<float> probability(candidates.size());
  ParallelChunks(candidates.size(), 1 << 14, [&](size_t begin, size_t end, unsigned) {
    for (size_t i = begin; i < end; ++i) {
      probability[i] = static_cast<float>(ScorePair(result.model, comparator, candidates[i], patterns[i]).probability);
    }
  });
  std::vector<WeightedPair> links;
  absl::flat_hash_set<uint32_t> linked_records;
  for (size_t i = 0; i < candidates.size(); ++i) {
    double p = probability[i];
    auto label = labelled.empty() ? labelled.end() : labelled.find(PairKey(candidates[i]));
    if (label != labelled.end()) p = label->second ? 1.0 : 0.0;
    if (p < settings.review_low) continue;
    Score s = ScorePair(result.model, comparator, candidates[i], patterns[i]);
    Decision d = p >= settings.threshold ? Decision::kMatch : Decision::kReview;
    result.pairs.push_back({candidates[i], patterns[i], s.weight, p, d});
    if (d == Decision::kMatch) {
      links.push_back({candidates[i], p});
      linked_records.insert(candidates[i].a);
      linked_records.insert(candidates[i].b);
    }
  }
  // Labelled matches that blocking did not generate are linked too.
  for (const LabelledPair& l : labels) {
    if (!l.match || std::binary_search(candidates.begin(), candidates.end(), l.pair)) continue;
    Pattern pattern = comparator.Compare(l.pair.a, l.pair.b);
    Score s = ScorePair(result.model, comparator, l.pair, pattern);
    result.pairs.push_back({l.pair, pattern, s.weight, 1.0, Decision::kMatch});
    links.push_back({l.pair, 1.0});
    linked_records.insert(l.pair.a);
    linked_records.insert(l.pair.b);
  }
  std::sort(result.pairs.begin(), result.pairs.end(),
            [](const ScoredPair& x, const ScoredPair& y) { return x.pair < y.pair; });
  result.seconds.scoring = SecondsSince(start);

  start = std::chrono::steady_clock::now();
  std::vector<RecordPair> low;
  for (size_t i = 0; i < candidates.size(); ++i) {
    if (probability[i] < settings.cluster_guard && linked_records.contains(candidates[i].a) &&
        linked_records.contains(candidates[i].b)) {
      auto label = labelled.empty() ? labelled.end() : labelled.find(PairKey(candidates[i]));
      if (label == labelled.end() || !label->second) low.push_back(candidates[i]);
    }
  }
  result.clusters = Cluster(input.record_count(), std::move(links), low);
  // Name each cluster by its smallest record id, so the result does not depend on row order.
  absl::flat_hash_map<uint32_t, uint32_t> representative;
  for (uint32_t r = 0; r < input.record_count(); ++r) {
    uint32_t c = result.clusters[r];
    if (c == r && !linked_records.contains(r)) continue;
    auto [it, inserted] = representative.try_emplace(c, r);
    if (!inserted && input.id(r) < input.id(it->second)) it->second = r;
  }
  for (uint32_t& c : result.clusters) {
    if (auto it = representative.find(c); it != representative.end()) c = it->second;
  }
  result.seconds.clustering = SecondsSince(start);
  if (keep_candidates) result.candidate_pairs = std::move(candidates);
  return result;
}

}  // namespace tessera::linkage
