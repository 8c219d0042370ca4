#include "linkage/model.h"

#include <absl/container/flat_hash_map.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "linkage/parallel.h"

namespace tessera::linkage {
namespace {

constexpr double kMinProbability = 1e-12;

// Share of present-value pairs that agree exactly: the chance two random records hold the same
// value, from the value counts (no sampling, so rare agreements are not lost to noise).
double ExactShare(const Column& col, bool dedupe) {
  double agree = 0;
  for (size_t v = 1; v < col.text.size(); ++v) {
    double l = col.left_count[v];
    agree += dedupe ? l * (l - 1) : l * col.right_count[v];
  }
  double pairs = dedupe ? static_cast<double>(col.left_present) * (col.left_present - 1.0)
                        : static_cast<double>(col.left_present) * col.right_present;
  return pairs <= 0 ? 0 : agree / pairs;
}

uint64_t SplitMix(uint64_t* state) {
  uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// The random pairs behind u. Records are taken in a canonical order (by a hash of their id) and
// the side that draws first is chosen by content, so the sample, and so the model, does not
// depend on the order of the rows or on which file is left: linkage is symmetric.
class PairSampler {
 public:
  PairSampler(const LinkInput& in, uint64_t seed, uint64_t samples) : in_(in), seed_(seed) {
    enumerate_ = in.AllPairs() <= samples;
    auto canonical = [&](uint32_t begin, uint32_t end) {
      std::vector<std::pair<uint64_t, uint32_t>> keyed;
      for (uint32_t r = begin; r < end; ++r) keyed.emplace_back(std::hash<std::string>{}(in.id(r)), r);
      std::sort(keyed.begin(), keyed.end(), [&](const auto& x, const auto& y) {
        return x.first != y.first ? x.first < y.first : in.id(x.second) < in.id(y.second);
      });
      std::vector<uint32_t> order;
      for (const auto& k : keyed) order.push_back(k.second);
      return order;
    };
    first_ = canonical(0, in.left_count());
    if (!in.dedupe()) {
      second_ = canonical(in.left_count(), in.record_count());
      auto signature = [&](const std::vector<uint32_t>& side) {
        return std::make_pair(side.size(), side.empty() ? std::string() : in.id(side.front()));
      };
      if (signature(second_) < signature(first_)) std::swap(first_, second_);
    }
  }
  bool enumerate() const { return enumerate_; }

  RecordPair Pair(uint64_t i) const {
    uint64_t n1 = first_.size();
    if (in_.dedupe()) {
      uint64_t a, b;
      if (enumerate_) {
        a = 0;
        uint64_t remaining = i;
        while (remaining >= n1 - 1 - a) remaining -= n1 - 1 - a++;
        b = a + 1 + remaining;
      } else {
        uint64_t state = seed_ * 0x2545F4914F6CDD1DULL + i;
        a = SplitMix(&state) % n1;
        b = SplitMix(&state) % (n1 - 1);
        if (b >= a) ++b;
      }
      return Ordered(first_[a], first_[b]);
    }
    uint64_t n2 = second_.size();
    if (enumerate_) return Ordered(first_[i / n2], second_[i % n2]);
    uint64_t state = seed_ * 0x2545F4914F6CDD1DULL + i;
    uint64_t a = SplitMix(&state) % n1;
    return Ordered(first_[a], second_[SplitMix(&state) % n2]);
  }

 private:
  static RecordPair Ordered(uint32_t x, uint32_t y) { return {std::min(x, y), std::max(x, y)}; }
  const LinkInput& in_;
  uint64_t seed_;
  bool enumerate_ = false;
  std::vector<uint32_t> first_, second_;
};

using LevelCounts = std::vector<std::vector<double>>;  // [comparison][level]

LevelCounts ZeroCounts(const Comparator& cmp) {
  LevelCounts counts(cmp.size());
  for (size_t c = 0; c < cmp.size(); ++c) counts[c].assign(cmp.LevelCount(c), 0.0);
  return counts;
}

void EstimateU(const LinkInput& in, const Comparator& cmp, const EstimateOptions& options, Model* model) {
  PairSampler sampler(in, options.seed, options.random_pairs);
  uint64_t n = sampler.enumerate() ? in.AllPairs() : options.random_pairs;
  model->random_pairs = n;
  std::vector<LevelCounts> per_worker(WorkerCount(), ZeroCounts(cmp));
  ParallelChunks(n, 1 << 14, [&](size_t begin, size_t end, unsigned worker) {
    LevelCounts& counts = per_worker[worker];
    for (size_t i = begin; i < end; ++i) {
      RecordPair p = sampler.Pair(i);
      for (size_t c = 0; c < cmp.size(); ++c) counts[c][cmp.Level(c, p.a, p.b)] += 1;
    }
  });
  LevelCounts counts = ZeroCounts(cmp);
  for (const LevelCounts& w : per_worker) {
    for (size_t c = 0; c < cmp.size(); ++c) {
      for (size_t l = 0; l < counts[c].size(); ++l) counts[c][l] += w[c][l];
    }
  }
  for (size_t c = 0; c < cmp.size(); ++c) {
    int levels = cmp.LevelCount(c);
    const Column* col = nullptr;
    for (const Column& candidate : in.columns()) {
      if (candidate.name == cmp.name(c)) col = &candidate;
    }
    double exact = std::clamp(ExactShare(*col, in.dedupe()), kMinProbability, 1.0 - kMinProbability);
    double rest = 0;
    for (int l = 2; l < levels; ++l) rest += counts[c][l];
    double alpha = 0.5;
    for (int l = 2; l < levels; ++l) {
      model->levels[c][l].u = (1.0 - exact) * (counts[c][l] + alpha) / (rest + alpha * (levels - 2));
    }
    model->levels[c][kExactLevel].u = exact;
  }
}

struct PatternClass {
  Pattern pattern;
  double count;     // pairs with this pattern
  double fixed = -1;  // posterior fixed by labels (1 or 0), or -1 for EM
};

}  // namespace

double Model::PriorWeight() const {
  double l = std::clamp(lambda, kMinProbability, 1 - kMinProbability);
  return std::log2(l / (1 - l));
}

double Model::LevelWeight(size_t c, int level, double frequency) const {
  if (level == 0) return 0;
  const LevelParams& p = levels[c][level];
  double u = frequency > 0 ? frequency : p.u;
  return std::log2(std::max(p.m, kMinProbability) / std::max(u, kMinProbability));
}

Model Estimate(const LinkInput& in, const Comparator& cmp, const std::vector<RecordPair>& candidates,
               const std::vector<Pattern>& patterns, const std::vector<LabelledPair>& labels,
               const EstimateOptions& options) {
  Model model;
  model.levels.resize(cmp.size());
  for (size_t c = 0; c < cmp.size(); ++c) {
    model.comparisons.push_back(cmp.name(c));
    model.tf.push_back(cmp.tf(c));
    for (int l = 0; l < cmp.LevelCount(c); ++l) {
      model.levels[c].push_back({.label = cmp.LevelLabel(c, l), .m = 1, .u = 1});
    }
  }
  EstimateU(in, cmp, options, &model);

  // Group the candidates by pattern; labelled pairs form their own classes.
  absl::flat_hash_map<uint64_t, bool> labelled;
  for (const LabelledPair& l : labels) labelled[(uint64_t{l.pair.a} << 32) | l.pair.b] = l.match;
  absl::flat_hash_map<Pattern, double> counts;
  for (size_t i = 0; i < candidates.size(); ++i) {
    if (!labelled.empty() && labelled.contains((uint64_t{candidates[i].a} << 32) | candidates[i].b)) continue;
    counts[patterns[i]] += 1;
    for (size_t c = 0; c < cmp.size(); ++c) model.levels[c][PatternLevel(patterns[i], c)].candidates++;
  }
  std::vector<PatternClass> classes;
  for (const auto& [p, n] : counts) classes.push_back({p, n, -1});
  for (const LabelledPair& l : labels) {
    classes.push_back({cmp.Compare(l.pair.a, l.pair.b), 1, l.match ? 1.0 : 0.0});
  }
  std::sort(classes.begin(), classes.end(), [](const PatternClass& x, const PatternClass& y) {
    return std::tie(x.fixed, x.pattern) < std::tie(y.fixed, y.pattern);
  });

  // EM. Initial m favours agreement (exact 0.9, the rest halving), initial u is the random u.
  size_t nc = cmp.size();
  LevelCounts m = ZeroCounts(cmp), u = ZeroCounts(cmp);
  for (size_t c = 0; c < nc; ++c) {
    int levels = cmp.LevelCount(c);
    double rest = 0;
    for (int l = 2; l < levels; ++l) rest += std::pow(0.5, l - 1);
    m[c][kExactLevel] = 0.9;
    for (int l = 2; l < levels; ++l) m[c][l] = 0.1 * std::pow(0.5, l - 1) / rest;
    for (int l = 1; l < levels; ++l) u[c][l] = model.levels[c][l].u;
  }
  double lambda = 0.1;
  double total = 0;
  for (const PatternClass& k : classes) total += k.count;
  std::vector<double> posterior(classes.size());
  int iteration = 0;
  bool converged = false;
  for (; iteration < options.max_iterations && total > 0; ++iteration) {
    // E-step.
    double l2 = std::log2(std::clamp(lambda, kMinProbability, 1 - kMinProbability));
    double nl2 = std::log2(std::clamp(1 - lambda, kMinProbability, 1 - kMinProbability));
    for (size_t k = 0; k < classes.size(); ++k) {
      if (classes[k].fixed >= 0) {
        posterior[k] = classes[k].fixed;
        continue;
      }
      double wm = l2, wu = nl2;
      for (size_t c = 0; c < nc; ++c) {
        int level = PatternLevel(classes[k].pattern, c);
        if (level == 0) continue;
        wm += std::log2(std::max(m[c][level], kMinProbability));
        wu += std::log2(std::max(u[c][level], kMinProbability));
      }
      posterior[k] = 1.0 / (1.0 + std::exp2(wu - wm));
    }
    // M-step.
    LevelCounts nm = ZeroCounts(cmp), nu = ZeroCounts(cmp);
    double matches = 0;
    for (size_t k = 0; k < classes.size(); ++k) {
      double pm = posterior[k] * classes[k].count, pu = (1 - posterior[k]) * classes[k].count;
      matches += pm;
      for (size_t c = 0; c < nc; ++c) {
        int level = PatternLevel(classes[k].pattern, c);
        nm[c][level] += pm;
        nu[c][level] += pu;
      }
    }
    double change = std::abs(matches / total - lambda);
    lambda = matches / total;
    for (size_t c = 0; c < nc; ++c) {
      int levels = cmp.LevelCount(c);
      double sm = 0, su = 0;
      for (int l = 1; l < levels; ++l) sm += nm[c][l], su += nu[c][l];
      for (int l = 1; l < levels; ++l) {
        double new_m = (nm[c][l] + 0.01) / (sm + 0.01 * (levels - 1));
        double new_u = (nu[c][l] + 0.01) / (su + 0.01 * (levels - 1));
        change = std::max({change, std::abs(new_m - m[c][l]), std::abs(new_u - u[c][l])});
        m[c][l] = new_m;
        u[c][l] = new_u;
      }
    }
    if (change < 1e-6) {
      converged = true;
      ++iteration;
      break;
    }
  }
  for (size_t c = 0; c < nc; ++c) {
    for (int l = 1; l < cmp.LevelCount(c); ++l) model.levels[c][l].m = m[c][l];
  }
  double expected_matches = lambda * total;
  model.lambda_candidates = lambda;
  model.lambda = std::clamp(expected_matches / std::max<double>(1, in.AllPairs()), kMinProbability, 0.5);
  model.em_iterations = iteration;
  model.em_converged = converged;
  return model;
}

double ProbabilityFromWeight(double weight) { return 1.0 / (1.0 + std::exp2(-weight)); }

Score ScorePair(const Model& model, const Comparator& cmp, RecordPair pair, Pattern pattern) {
  double w = model.PriorWeight();
  for (size_t c = 0; c < cmp.size(); ++c) {
    int level = PatternLevel(pattern, c);
    double f = level == kExactLevel && model.tf[c] ? cmp.Frequency(c, pair.a) : 0;
    w += model.LevelWeight(c, level, f);
  }
  return {w, ProbabilityFromWeight(w)};
}

std::vector<Contribution> Explain(const Model& model, const Comparator& cmp, RecordPair pair,
                                  Pattern pattern) {
  std::vector<Contribution> out;
  for (size_t c = 0; c < cmp.size(); ++c) {
    int level = PatternLevel(pattern, c);
    bool tf = level == kExactLevel && model.tf[c];
    double f = tf ? cmp.Frequency(c, pair.a) : 0;
    out.push_back({model.comparisons[c], model.levels[c][level].label, model.LevelWeight(c, level, f), tf});
  }
  return out;
}

}  // namespace tessera::linkage
