#include "linkage/blocking.h"

#include <absl/container/flat_hash_map.h>
#include <absl/container/flat_hash_set.h>

#include <algorithm>
#include <functional>

#include "linkage/parallel.h"

namespace tessera::linkage {
namespace {

uint64_t Mix(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}

std::string_view PrefixCodePoints(std::string_view s, int n) {
  size_t i = 0;
  int seen = 0;
  while (i < s.size()) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) {
      if (seen == n) break;
      ++seen;
    }
    ++i;
  }
  return s.substr(0, i);
}

int YearFromDays(int32_t days) {
  // Howard Hinnant's civil_from_days, year only.
  int64_t z = static_cast<int64_t>(days) + 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  int64_t month = mp < 10 ? mp + 3 : mp - 9;
  return static_cast<int>(yoe + era * 400 + (month <= 2));
}

// FNV-1a: unlike std::hash, the same in every build, so keys can be stored.
uint64_t Fnv1a(std::string_view s) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

// The hash of one key component for a record, or 0 when it has none.
uint64_t ComponentHash(const Column& col, const BlockingKey& key, uint32_t record) {
  uint32_t v = col.value[record];
  if (v == 0) return 0;
  std::string_view text = col.text[v];
  switch (key.transform) {
    case KeyTransform::kExact: break;
    case KeyTransform::kPrefix: text = PrefixCodePoints(text, key.prefix_length); break;
    case KeyTransform::kPhonetic:
      if (col.phonetic.empty()) return 0;
      text = col.phonetic[v];
      break;
    case KeyTransform::kYear: {
      if (col.days.empty() || col.days[v] == Column::kNoDate) return 0;
      return Mix(static_cast<uint64_t>(YearFromDays(col.days[v])) + 0x1234567ULL);
    }
    case KeyTransform::kDigits: {
      uint64_t h = 0x9E3779B97F4A7C15ULL;
      bool any = false;
      for (char c : text) {
        if (c >= '0' && c <= '9') {
          h = Mix(h ^ static_cast<uint64_t>(c));
          any = true;
        }
      }
      return any ? h : 0;
    }
  }
  if (text.empty()) return 0;
  return Mix(Fnv1a(text));
}

// The key of `record` under `rule`, from the left or the right column of each key; 0 = none.
uint64_t RuleHash(const LinkInput& input, const BlockingRule& rule, uint32_t record,
                  bool right_side) {
  uint64_t h = 0x51ed270b27ULL;
  for (size_t k = 0; k < rule.keys.size(); ++k) {
    const BlockingKey& key = rule.keys[k];
    const std::string& name =
        right_side && !key.right_column.empty() ? key.right_column : key.column;
    uint64_t c = ComponentHash(input.column(input.ColumnIndex(name)), key, record);
    if (c == 0) return 0;
    h = Mix(h ^ (c + k));
  }
  return h | 1;
}

bool IsSymmetric(const BlockingRule& rule) {
  return std::all_of(rule.keys.begin(), rule.keys.end(), [](const BlockingKey& k) {
    return k.right_column.empty() || k.right_column == k.column;
  });
}

}  // namespace

Blocker::Blocker(const LinkInput* input, const Settings& settings)
    : input_(input), settings_(&settings), keys_(settings.blocking.size()) {
  uint32_t n = input->record_count();
  ParallelFor(settings.blocking.size(), [&](size_t r) {
    const BlockingRule& rule = settings.blocking[r];
    RuleKeys& keys = keys_[r];
    keys.symmetric = IsSymmetric(rule);
    auto compute = [&](bool right_side, std::vector<uint64_t>* out) {
      out->assign(n, 0);
      for (uint32_t rec = 0; rec < n; ++rec) (*out)[rec] = RuleHash(*input, rule, rec, right_side);
    };
    compute(false, &keys.left);
    if (!keys.symmetric) compute(true, &keys.right);
    ClearOversizedBlocks(&keys);
  });
}

std::vector<RuleKey> RecordKeys(const LinkInput& input, const Settings& settings,
                                uint32_t record) {
  std::vector<RuleKey> keys;
  keys.reserve(settings.blocking.size());
  for (const BlockingRule& rule : settings.blocking) {
    RuleKey k;
    k.left = RuleHash(input, rule, record, false);
    k.right = IsSymmetric(rule) ? k.left : RuleHash(input, rule, record, true);
    keys.push_back(k);
  }
  return keys;
}

bool SharesBlock(const std::vector<RuleKey>& x, const std::vector<RuleKey>& y) {
  for (size_t r = 0; r < std::min(x.size(), y.size()); ++r) {
    if ((x[r].left != 0 && x[r].left == y[r].right) ||
        (x[r].right != 0 && x[r].right == y[r].left)) {
      return true;
    }
  }
  return false;
}

// A block over max_block_pairs is dropped by clearing its keys, so that no rule generates its
// pairs and no later rule takes them for already generated.
void Blocker::ClearOversizedBlocks(RuleKeys* keys) const {
  bool dedupe = input_->dedupe();
  uint32_t left_end = input_->left_count();
  uint32_t right_begin = dedupe ? 0 : left_end;
  absl::flat_hash_map<uint64_t, std::pair<uint64_t, uint64_t>> counts;  // key -> (left, right)
  for (uint32_t r = 0; r < left_end; ++r) {
    if (keys->left[r] != 0) ++counts[keys->left[r]].first;
  }
  const std::vector<uint64_t>& right = keys->Right();
  for (uint32_t r = right_begin; r < right.size(); ++r) {
    if (right[r] != 0) ++counts[right[r]].second;
  }
  absl::flat_hash_set<uint64_t> oversized;
  for (const auto& [key, n] : counts) {
    uint64_t pairs = dedupe && keys->symmetric ? n.first * (n.first - 1) / 2 : n.first * n.second;
    if (pairs > settings_->max_block_pairs) {
      oversized.insert(key);
      ++keys->skipped_blocks;
      keys->skipped_pairs += pairs;
    }
  }
  if (oversized.empty()) return;
  for (std::vector<uint64_t>* v : {&keys->left, &keys->right}) {
    for (uint64_t& k : *v) {
      if (k != 0 && oversized.contains(k)) k = 0;
    }
  }
}

bool Blocker::Agrees(size_t rule, uint32_t a, uint32_t b) const {
  const RuleKeys& k = keys_[rule];
  const std::vector<uint64_t>& right = k.Right();
  if (k.left[a] != 0 && k.left[a] == right[b]) return true;
  return input_->dedupe() && k.left[b] != 0 && k.left[b] == right[a];
}

bool Blocker::EarlierRuleAgrees(size_t rule, uint32_t a, uint32_t b) const {
  for (size_t r = 0; r < rule; ++r) {
    if (Agrees(r, a, b)) return true;
  }
  return false;
}

bool Blocker::Covers(uint32_t a, uint32_t b) const {
  return EarlierRuleAgrees(keys_.size(), a, b);
}

void Blocker::GenerateRule(size_t rule, std::vector<RecordPair>* out, RuleStats* stats) const {
  const RuleKeys& k = keys_[rule];
  bool dedupe = input_->dedupe();
  uint32_t left_end = input_->left_count();
  uint32_t right_begin = dedupe ? 0 : left_end;
  uint32_t right_end = dedupe ? left_end : input_->record_count();
  using Entry = std::pair<uint64_t, uint32_t>;
  std::vector<Entry> left, right;
  for (uint32_t r = 0; r < left_end; ++r) {
    if (k.left[r] != 0) left.emplace_back(k.left[r], r);
  }
  std::sort(left.begin(), left.end());
  const std::vector<uint64_t>& right_keys = k.Right();
  if (!(dedupe && k.symmetric)) {
    for (uint32_t r = right_begin; r < right_end; ++r) {
      if (right_keys[r] != 0) right.emplace_back(right_keys[r], r);
    }
    std::sort(right.begin(), right.end());
  }
  auto emit = [&](uint32_t a, uint32_t b) {
    ++stats->generated;
    if (EarlierRuleAgrees(rule, a, b)) return;
    out->push_back({a, b});
    ++stats->pairs;
  };
  if (dedupe && k.symmetric) {
    for (size_t i = 0; i < left.size();) {
      size_t j = i;
      while (j < left.size() && left[j].first == left[i].first) ++j;
      for (size_t x = i; x < j; ++x) {
        for (size_t y = x + 1; y < j; ++y) emit(left[x].second, left[y].second);
      }
      i = j;
    }
    return;
  }
  size_t i = 0, j = 0;
  while (i < left.size() && j < right.size()) {
    if (left[i].first < right[j].first) {
      ++i;
    } else if (right[j].first < left[i].first) {
      ++j;
    } else {
      size_t i_end = i, j_end = j;
      while (i_end < left.size() && left[i_end].first == left[i].first) ++i_end;
      while (j_end < right.size() && right[j_end].first == right[j].first) ++j_end;
      for (size_t x = i; x < i_end; ++x) {
        for (size_t y = j; y < j_end; ++y) {
          uint32_t a = left[x].second, b = right[y].second;
          if (!dedupe) {
            emit(a, b);
          } else if (a < b) {
            emit(a, b);
          } else if (b < a && !(k.left[b] != 0 && k.left[b] == right_keys[a])) {
            emit(b, a);  // only this orientation agrees: emit it once, in order
          }
        }
      }
      i = i_end;
      j = j_end;
    }
  }
}

std::vector<RecordPair> Blocker::Generate(std::vector<RuleStats>* stats) const {
  size_t rules = keys_.size();
  std::vector<std::vector<RecordPair>> per_rule(rules);
  stats->assign(rules, RuleStats{});
  ParallelFor(rules, [&](size_t r) {
    (*stats)[r].rule = settings_->blocking[r].ToString();
    (*stats)[r].skipped_blocks = keys_[r].skipped_blocks;
    (*stats)[r].skipped_pairs = keys_[r].skipped_pairs;
    GenerateRule(r, &per_rule[r], &(*stats)[r]);
  });
  size_t total = 0;
  for (const auto& v : per_rule) total += v.size();
  std::vector<RecordPair> pairs;
  pairs.reserve(total);
  for (auto& v : per_rule) {
    pairs.insert(pairs.end(), v.begin(), v.end());
    std::vector<RecordPair>().swap(v);
  }
  std::sort(pairs.begin(), pairs.end());
  return pairs;
}

}  // namespace tessera::linkage
