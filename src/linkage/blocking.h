// Blocking: the rules that choose which record pairs are compared at all. A rule is a conjunction
// of keys; two records are a candidate pair under it when every key is present and equal. Rules
// are combined without duplicate pairs: a pair is emitted by the first rule that generates it
// (a later rule skips pairs that an earlier rule agrees on). A block bigger than max_block_pairs
// (typically a placeholder value shared by thousands of records) is skipped and reported.
//
// Pairs are (left, right) when linking two tables and (lower, higher) record index when
// deduplicating one. The output order is deterministic for a given input.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "linkage/records.h"
#include "linkage/settings.h"

namespace tessera::linkage {

struct RecordPair {
  uint32_t a = 0, b = 0;
  bool operator==(const RecordPair&) const = default;
  auto operator<=>(const RecordPair&) const = default;
};

struct RuleStats {
  std::string rule;
  uint64_t pairs = 0;           // new pairs this rule contributed
  uint64_t generated = 0;       // pairs it generated, including those of earlier rules
  uint64_t skipped_blocks = 0;  // blocks over max_block_pairs
  uint64_t skipped_pairs = 0;   // pairs in those blocks
};

// The blocking key of one record under one rule, as the left and as the right record of a pair
// (equal unless the rule has a cross-column key); 0 = no key (a value is missing). Keys are
// stable across runs and builds, so the server can keep them in its block index. Two records
// x, y share a block under the rule when x.left == y.right or x.right == y.left (non-zero).
struct RuleKey {
  uint64_t left = 0, right = 0;
  bool operator==(const RuleKey&) const = default;
};
std::vector<RuleKey> RecordKeys(const LinkInput& input, const Settings& settings, uint32_t record);
// True when the two records' keys (from RecordKeys, same settings) share a block under some rule.
bool SharesBlock(const std::vector<RuleKey>& x, const std::vector<RuleKey>& y);

class Blocker {
 public:
  Blocker(const LinkInput* input, const Settings& settings);

  // All candidate pairs, sorted; stats gets one entry per rule.
  std::vector<RecordPair> Generate(std::vector<RuleStats>* stats) const;
  // True if some rule puts records a and b in one block (either orientation when deduplicating).
  bool Covers(uint32_t a, uint32_t b) const;
  // True if rule `rule` puts records a and b in one block.
  bool Agrees(size_t rule, uint32_t a, uint32_t b) const;

 private:
  // Per rule: the key of every record as a left record and as a right record (0 = no key).
  // Symmetric rules (no cross-column key) share one vector.
  struct RuleKeys {
    std::vector<uint64_t> left, right;
    bool symmetric = true;
    uint64_t skipped_blocks = 0, skipped_pairs = 0;  // oversized blocks, their keys cleared
    const std::vector<uint64_t>& Right() const { return symmetric ? left : right; }
  };
  bool EarlierRuleAgrees(size_t rule, uint32_t a, uint32_t b) const;
  void ClearOversizedBlocks(RuleKeys* keys) const;
  void GenerateRule(size_t rule, std::vector<RecordPair>* out, RuleStats* stats) const;

  const LinkInput* input_;
  const Settings* settings_;
  std::vector<RuleKeys> keys_;
};

}  // namespace tessera::linkage
