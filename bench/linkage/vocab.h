// Value vocabularies drawn by frequency, built from the FEBRL original records.
//
// A Vocab holds the observed values with their counts (alias table, optional add-k smoothing) and
// a pool of "novel" values made by a character model of the observed ones. With probability
// novel_share a draw takes a uniformly chosen novel value instead: by default novel_share is the
// Good-Turing estimate of the unseen mass (share of the sample that are values seen once), so a
// million-record file also has the rare names that an 11,500-record sample cannot show.
// Immutable after Build(): share freely between threads.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "bench/linkage/alias_table.h"
#include "bench/linkage/rng.h"

namespace tessera::bench::linkgen {

struct VocabOptions {
  double smoothing = 0;      // pseudo-count added to every observed value
  double novel_share = -1;   // < 0: Good-Turing N1/N; 0: observed values only
  double novel_repeats = 2;  // mean uses of each novel value: pool = share * draws / repeats
  uint64_t expected_draws = 0;
  bool split_type = false;  // address_1: a novel value is a new street name + an observed type
  bool near_lists = false;  // build Near() (misspelling stand-ins)
};

class Vocab {
 public:
  Vocab() = default;
  // Movable only: index_ holds views into the value strings.
  Vocab(Vocab&&) = default;
  Vocab& operator=(Vocab&&) = default;
  Vocab(const Vocab&) = delete;
  Vocab& operator=(const Vocab&) = delete;
  static Vocab Build(const std::map<std::string, uint64_t>& counts, const VocabOptions& options,
                     uint64_t seed);

  uint32_t DrawIndex(Rng& rng) const {
    if (!novel_.empty() && rng.Chance(novel_share_)) {
      return static_cast<uint32_t>(observed_ + rng.Below(novel_.size()));
    }
    return observed_table_.Sample(rng);
  }
  const std::string& Draw(Rng& rng) const { return value(DrawIndex(rng)); }
  const std::string& value(uint32_t i) const {
    return i < observed_ ? values_[i] : novel_[i - observed_];
  }
  // Index of v among all values, or -1.
  int64_t Find(std::string_view v) const;
  // Observed values at OSA distance 1..2 from observed value i (empty for novel values).
  std::span<const uint32_t> Near(uint32_t i) const;

  size_t size() const { return observed_ + novel_.size(); }
  size_t observed() const { return observed_; }
  size_t novel() const { return novel_.size(); }
  double novel_share() const { return novel_.empty() ? 0 : novel_share_; }
  // Chance that two independent draws give the same value (sum of p^2): the share of random
  // record pairs that agree on this field, which drives blocking cost.
  double AgreementChance() const { return agreement_; }

 private:
  std::vector<std::string> values_;  // observed, by count descending
  std::vector<std::string> novel_;
  size_t observed_ = 0;
  double novel_share_ = 0;
  double agreement_ = 0;
  AliasTable observed_table_;
  std::unordered_map<std::string_view, uint32_t> index_;  // views into values_ / novel_
  std::vector<uint32_t> near_offsets_;                    // CSR: Near(i) = near_[off[i]..off[i+1])
  std::vector<uint32_t> near_;
};

// (suburb, postcode, state) triples. FEBRL draws the three independently (its originals put
// qld postcodes in wa), so each suburb gets one home postcode and state instead: the state by
// filling each state's observed share (largest suburbs first), the postcode from the observed
// postcodes inside that state's Australian range (NSW 2xxx, ACT 26xx/29xx, VIC 3xxx, QLD 4xxx,
// SA 5xxx, WA 6xxx, TAS 7xxx, NT 08xx) chosen by a hash of the suburb name, so a suburb keeps
// its postcode whatever the seed. Immutable after Build().
class Locations {
 public:
  Locations() = default;
  static Locations Build(const std::map<std::string, uint64_t>& suburb_counts,
                         const std::map<std::string, uint64_t>& postcode_counts,
                         const std::map<std::string, uint64_t>& state_counts,
                         const VocabOptions& suburb_options, uint64_t seed);

  uint32_t DrawIndex(Rng& rng) const { return suburbs_.DrawIndex(rng); }
  const std::string& suburb(uint32_t i) const { return suburbs_.value(i); }
  const std::string& postcode(uint32_t i) const { return postcode_[i]; }
  const std::string& state(uint32_t i) const { return state_[i]; }
  const Vocab& suburbs() const { return suburbs_; }
  const std::string& DrawState(Rng& rng) const { return states_[state_table_.Sample(rng)]; }

 private:
  Vocab suburbs_;
  std::vector<std::string> postcode_;  // by suburb index
  std::vector<std::string> state_;     // by suburb index
  std::vector<std::string> states_;
  AliasTable state_table_;
};

// The state whose range holds an Australian postcode, or "" if none.
std::string_view StateOfPostcode(int postcode);

}  // namespace tessera::bench::linkgen
