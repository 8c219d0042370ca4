#include "bench/linkage/vocab.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <unordered_set>

#include "bench/linkage/edit_distance.h"
#include "bench/linkage/markov.h"

namespace tessera::bench::linkgen {
namespace {

constexpr uint64_t kMinTypeCount = 5;  // a last word seen this often in address_1 is a street type

std::vector<std::pair<std::string, uint64_t>> ByCountDesc(
    const std::map<std::string, uint64_t>& counts) {
  std::vector<std::pair<std::string, uint64_t>> items(counts.begin(), counts.end());
  std::stable_sort(items.begin(), items.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  return items;
}

}  // namespace

std::string_view StateOfPostcode(int pc) {
  if (pc >= 200 && pc <= 299) return "act";
  if (pc >= 800 && pc <= 999) return "nt";
  if ((pc >= 2600 && pc <= 2618) || (pc >= 2900 && pc <= 2920)) return "act";
  if (pc >= 1000 && pc <= 2999) return "nsw";
  if (pc >= 3000 && pc <= 3999) return "vic";
  if (pc >= 4000 && pc <= 4999) return "qld";
  if (pc >= 5000 && pc <= 5999) return "sa";
  if (pc >= 6000 && pc <= 6999) return "wa";
  if (pc >= 7000 && pc <= 7999) return "tas";
  return "";
}

Vocab Vocab::Build(const std::map<std::string, uint64_t>& counts, const VocabOptions& options,
                   uint64_t seed) {
  Vocab v;
  const auto items = ByCountDesc(counts);
  uint64_t total = 0, singletons = 0;
  std::vector<double> weights;
  for (const auto& [value, count] : items) {
    v.values_.push_back(value);
    weights.push_back(static_cast<double>(count) + options.smoothing);
    total += count;
    singletons += count == 1 ? 1 : 0;
  }
  v.observed_ = v.values_.size();
  v.observed_table_ = AliasTable(weights);

  double share = options.novel_share;
  if (share < 0)
    share = total > 0 ? static_cast<double>(singletons) / static_cast<double>(total) : 0;
  const uint64_t pool =
      share > 0
          ? static_cast<uint64_t>(std::ceil(share * static_cast<double>(options.expected_draws) /
                                            std::max(options.novel_repeats, 1e-9)))
          : 0;
  if (pool > 0) {
    std::vector<std::string> words;
    std::vector<std::string> types;
    AliasTable type_table;
    if (options.split_type) {
      std::map<std::string, uint64_t> type_counts;
      for (const auto& [value, count] : items) {
        const size_t sp = value.rfind(' ');
        if (sp != std::string::npos) type_counts[value.substr(sp + 1)] += count;
      }
      std::vector<double> type_weights;
      for (const auto& [type, count] : type_counts) {
        if (count < kMinTypeCount) continue;
        types.push_back(type);
        type_weights.push_back(static_cast<double>(count));
      }
      type_table = AliasTable(type_weights);
      for (const auto& [value, count] : items) {
        const size_t sp = value.rfind(' ');
        if (sp == std::string::npos) continue;
        if (std::find(types.begin(), types.end(), value.substr(sp + 1)) == types.end()) continue;
        words.push_back(value.substr(0, sp));
      }
    } else {
      words = v.values_;
    }
    const CharMarkov markov(words);
    std::unordered_set<std::string> seen(v.values_.begin(), v.values_.end());
    Rng rng(seed);
    uint64_t failures = 0;
    while (markov.trained() && v.novel_.size() < pool && failures < 1000 + pool) {
      std::string w = markov.Generate(rng);
      if (!w.empty() && !types.empty()) w += " " + types[type_table.Sample(rng)];
      if (w.empty() || !seen.insert(w).second) {
        ++failures;
        continue;
      }
      v.novel_.push_back(std::move(w));
    }
  }
  v.novel_share_ = v.novel_.empty() ? 0 : share;

  double weight_sum = 0;
  for (double w : weights) weight_sum += w;
  for (double w : weights) {
    const double p = (1 - v.novel_share_) * w / weight_sum;
    v.agreement_ += p * p;
  }
  if (!v.novel_.empty()) {
    v.agreement_ += v.novel_share_ * v.novel_share_ / static_cast<double>(v.novel_.size());
  }

  for (uint32_t i = 0; i < v.size(); ++i) v.index_.emplace(v.value(i), i);

  if (options.near_lists) {
    size_t max_len = 0;
    for (const std::string& s : v.values_) max_len = std::max(max_len, s.size());
    std::vector<std::vector<uint32_t>> by_len(max_len + 1);
    for (uint32_t i = 0; i < v.observed_; ++i) by_len[v.values_[i].size()].push_back(i);
    // Two edits change at most four bits of the set of characters present: a cheap filter.
    std::vector<uint64_t> letters(v.observed_, 0);
    for (uint32_t i = 0; i < v.observed_; ++i) {
      for (char c : v.values_[i]) letters[i] |= uint64_t{1} << (static_cast<unsigned char>(c) & 63);
    }
    v.near_offsets_.push_back(0);
    for (uint32_t i = 0; i < v.observed_; ++i) {
      const std::string& a = v.values_[i];
      const size_t lo = a.size() >= 2 ? a.size() - 2 : 0;
      const size_t hi = std::min(max_len, a.size() + 2);
      for (size_t len = lo; len <= hi; ++len) {
        for (uint32_t j : by_len[len]) {
          if (j == i || std::popcount(letters[i] ^ letters[j]) > 4) continue;
          if (BoundedOsaDistance(a, v.values_[j], 2) <= 2) v.near_.push_back(j);
        }
      }
      v.near_offsets_.push_back(static_cast<uint32_t>(v.near_.size()));
    }
  }
  return v;
}

int64_t Vocab::Find(std::string_view v) const {
  const auto it = index_.find(v);
  return it == index_.end() ? -1 : static_cast<int64_t>(it->second);
}

std::span<const uint32_t> Vocab::Near(uint32_t i) const {
  if (i >= observed_ || near_offsets_.empty()) return {};
  return std::span<const uint32_t>(near_.data() + near_offsets_[i],
                                   near_offsets_[i + 1] - near_offsets_[i]);
}

Locations Locations::Build(const std::map<std::string, uint64_t>& suburb_counts,
                           const std::map<std::string, uint64_t>& postcode_counts,
                           const std::map<std::string, uint64_t>& state_counts,
                           const VocabOptions& suburb_options, uint64_t seed) {
  Locations loc;
  std::vector<double> state_weights;
  for (const auto& [state, count] : state_counts) {
    loc.states_.push_back(state);
    state_weights.push_back(static_cast<double>(count));
  }
  loc.state_table_ = AliasTable(state_weights);

  // Postcode pools per state: observed postcodes in the state's range, else the whole range.
  const size_t num_states = loc.states_.size();
  std::vector<std::vector<std::string>> pool(num_states);
  std::vector<std::vector<double>> pool_weights(num_states);
  for (const auto& [pc, count] : postcode_counts) {
    if (pc.size() != 4 ||
        !std::all_of(pc.begin(), pc.end(), [](char c) { return c >= '0' && c <= '9'; }))
      continue;
    const std::string_view st = StateOfPostcode(std::stoi(pc));
    for (size_t s = 0; s < num_states; ++s) {
      if (loc.states_[s] != st) continue;
      pool[s].push_back(pc);
      pool_weights[s].push_back(static_cast<double>(count));
    }
  }
  for (size_t s = 0; s < num_states; ++s) {
    if (!pool[s].empty()) continue;
    for (int pc = 200; pc <= 7999; ++pc) {
      if (StateOfPostcode(pc) != loc.states_[s]) continue;
      char buf[8];
      std::snprintf(buf, sizeof(buf), "%04d", pc);
      pool[s].emplace_back(buf);
      pool_weights[s].push_back(1);
    }
  }
  std::vector<AliasTable> pool_tables;
  for (size_t s = 0; s < num_states; ++s) pool_tables.emplace_back(pool_weights[s]);

  loc.suburbs_ = Vocab::Build(suburb_counts, suburb_options, seed);
  const size_t n = loc.suburbs_.size();
  loc.postcode_.resize(n);
  loc.state_.resize(n);
  if (num_states == 0) return loc;

  // Observed suburbs (by count, descending) go to the state furthest below its share.
  double state_total = 0, suburb_total = 0;
  for (double w : state_weights) state_total += w;
  for (const auto& [name, count] : suburb_counts) suburb_total += static_cast<double>(count);
  std::vector<double> assigned(num_states, 0);
  for (uint32_t i = 0; i < n; ++i) {
    const std::string& name = loc.suburbs_.value(i);
    size_t s = 0;
    if (i < loc.suburbs_.observed()) {
      double best = -1e300;
      for (size_t k = 0; k < num_states; ++k) {
        const double deficit = state_weights[k] / state_total * suburb_total - assigned[k];
        if (deficit > best) {
          best = deficit;
          s = k;
        }
      }
      assigned[s] += static_cast<double>(suburb_counts.at(name));
    } else {
      Rng rng(HashString(name.data(), name.size()));
      s = loc.state_table_.Sample(rng);
    }
    Rng rng(HashString(name.data(), name.size()) ^ 0x5bd1e9955bd1e995ULL);
    loc.state_[i] = loc.states_[s];
    loc.postcode_[i] = pool[s][pool_tables[s].Sample(rng)];
  }
  return loc;
}

}  // namespace tessera::bench::linkgen
