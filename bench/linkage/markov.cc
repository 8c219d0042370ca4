#include "bench/linkage/markov.h"

#include <algorithm>
#include <array>

namespace tessera::bench::linkgen {
namespace {

int SymbolOf(char c) {
  if (c >= 'a' && c <= 'z') return c - 'a';
  if (c == ' ') return 26;
  return -1;
}

char CharOf(int s) { return s == 26 ? ' ' : static_cast<char>('a' + s); }

}  // namespace

CharMarkov::CharMarkov(const std::vector<std::string>& words) {
  constexpr int kContexts = (kSymbols + 1) * (kSymbols + 1);
  std::vector<std::array<double, kSymbols>> counts(kContexts);
  for (auto& c : counts) c.fill(0);
  for (const std::string& w : words) {
    bool ok = w.size() >= 2;
    for (char c : w) ok = ok && SymbolOf(c) >= 0;
    if (!ok) continue;
    int a = kStart, b = kStart;
    for (char c : w) {
      const int s = SymbolOf(c);
      counts[Context(a, b)][s] += 1;
      a = b;
      b = s;
    }
    counts[Context(a, b)][kSymbols - 1] += 1;  // end
    trained_ = true;
  }
  next_.resize(kContexts);
  for (int ctx = 0; ctx < kContexts; ++ctx) {
    double sum = 0;
    for (double c : counts[ctx]) sum += c;
    if (sum > 0) next_[ctx] = AliasTable(counts[ctx]);
  }
  // An order-2 chain forgets how long the word is: estimate its length distribution g and keep a
  // raw word of length L with probability proportional to want(L) / g(L).
  accept_.assign(kMaxLen + 1, 1.0);
  if (!trained_) return;
  std::vector<double> want(kMaxLen + 1, 0), got(kMaxLen + 1, 0);
  for (const std::string& w : words) {
    if (w.size() >= 3 && w.size() <= kMaxLen) want[w.size()] += 1;
  }
  Rng rng(0x6c656e677468);  // fixed: the acceptance table does not depend on the run's seed
  for (int i = 0; i < 20000; ++i) {
    const std::string w = GenerateRaw(rng);
    if (!w.empty()) got[w.size()] += 1;
  }
  double best = 0;
  for (size_t len = 0; len <= kMaxLen; ++len) {
    accept_[len] = got[len] > 0 ? want[len] / got[len] : 0;
    best = std::max(best, accept_[len]);
  }
  for (double& a : accept_) a = best > 0 ? a / best : 1.0;
}

std::string CharMarkov::Generate(Rng& rng) const {
  if (!trained_) return "";
  for (int attempt = 0; attempt < 200; ++attempt) {
    std::string w = GenerateRaw(rng);
    if (!w.empty() && rng.Chance(accept_[w.size()])) return w;
  }
  return "";
}

std::string CharMarkov::GenerateRaw(Rng& rng) const {
  for (int attempt = 0; attempt < 50; ++attempt) {
    std::string out;
    int a = kStart, b = kStart;
    bool ok = true;
    while (true) {
      const AliasTable& t = next_[Context(a, b)];
      if (t.empty()) {
        ok = false;
        break;
      }
      const int s = static_cast<int>(t.Sample(rng));
      if (s == kSymbols - 1) break;
      out.push_back(CharOf(s));
      if (out.size() > kMaxLen) {
        ok = false;
        break;
      }
      a = b;
      b = s;
    }
    if (!ok || out.size() < 3 || out.front() == ' ' || out.back() == ' ' ||
        out.find("  ") != std::string::npos) {
      continue;
    }
    return out;
  }
  return "";
}

}  // namespace tessera::bench::linkgen
