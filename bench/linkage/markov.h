// Order-2 character model over [a-z ] for making plausible new names ("novel" vocabulary values,
// see vocab.h). Immutable after construction.
#pragma once

#include <string>
#include <vector>

#include "bench/linkage/alias_table.h"
#include "bench/linkage/rng.h"

namespace tessera::bench::linkgen {

class CharMarkov {
 public:
  // Trains on the words made only of [a-z ] (others are skipped).
  explicit CharMarkov(const std::vector<std::string>& words);

  bool trained() const { return trained_; }
  // A word of 3..20 characters, no leading, trailing or double space, with lengths distributed
  // as in the training words (rejection sampling). May equal a training word: the caller
  // filters. Returns "" if the model keeps producing unusable strings.
  std::string Generate(Rng& rng) const;

 private:
  static constexpr size_t kMaxLen = 20;
  std::string GenerateRaw(Rng& rng) const;

  static constexpr int kSymbols = 28;  // a-z, ' ', end
  static constexpr int kStart = 28;    // context symbol before the first character
  static int Context(int a, int b) { return a * (kSymbols + 1) + b; }

  std::vector<AliasTable> next_;  // by Context(prev2, prev1)
  std::vector<double> accept_;    // by length: chance to keep a raw word of that length
  bool trained_ = false;
};

}  // namespace tessera::bench::linkgen
