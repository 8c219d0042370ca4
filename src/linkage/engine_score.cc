// The linkage engine's incremental path: index one profile, compare it with its blocks, decide.
#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "linkage/compare.h"
#include "linkage/engine.h"
#include "linkage/records.h"

namespace tessera::linkage {

using nlohmann::json;
using storage::Space;

namespace {

// The largest block whose pairs stay within max_block_pairs (n(n-1)/2 <= max): bigger blocks
// are a placeholder or a very common value, and are skipped as the batch linker skips them.
size_t MaxBlockRecords(uint64_t max_block_pairs) {
  double n = (1 + std::sqrt(1 + 8.0 * static_cast<double>(max_block_pairs))) / 2;
  return std::max<size_t>(2, static_cast<size_t>(n));
}

Status AddCount(storage::StagedWrites* staged, const std::string& key, int64_t delta) {
  std::string v;
  Status s = staged->Get(Space::kLinkage, key, &v);
  if (!s.ok() && s.code() != StatusCode::kNotFound) return s;
  int64_t n = static_cast<int64_t>(state::DecodeU64(v)) + delta;
  if (n <= 0) {
    staged->Delete(Space::kLinkage, key);
  } else {
    staged->Put(Space::kLinkage, key, state::EncodeU64(static_cast<uint64_t>(n)));
  }
  return Status::Ok();
}

uint64_t ReadCount(storage::Reader* reader, const std::string& key) {
  std::string v;
  return reader->Get(Space::kLinkage, key, &v).ok() ? state::DecodeU64(v) : 0;
}

Table OneRowTable(const std::string& name, const std::vector<std::string>& columns) {
  Table t;
  t.name = name;
  t.columns = columns;
  t.values.assign(columns.size(), {});
  return t;
}

void AddRow(Table* t, std::string id, const std::vector<std::string>& values) {
  t->ids.push_back(std::move(id));
  for (size_t c = 0; c < values.size(); ++c) t->values[c].push_back(values[c]);
}

}  // namespace

Result<std::optional<state::IndexRecord>> Engine::ReadRecord(storage::Reader* reader,
                                                             std::string_view tessera_id) {
  std::string v;
  Status s = reader->Get(Space::kLinkage, state::RecordKey(tessera_id), &v);
  if (s.code() == StatusCode::kNotFound) return std::optional<state::IndexRecord>();
  TESSERA_RETURN_IF_ERROR(s);
  TESSERA_ASSIGN_OR_RETURN(state::IndexRecord r, state::DecodeRecord(v));
  return std::optional<state::IndexRecord>(std::move(r));
}

Status Engine::RemoveFromIndex(storage::StagedWrites* staged, const std::string& tessera_id) {
  TESSERA_ASSIGN_OR_RETURN(auto record, ReadRecord(staged, tessera_id));
  if (!record) return Status::Ok();
  for (size_t r = 0; r < record->keys.size(); ++r) {
    const RuleKey& k = record->keys[r];
    if (k.left != 0) staged->Delete(Space::kLinkage, state::BlockKey(r, 'l', k.left, tessera_id));
    if (k.right != 0 && k.right != k.left) {
      staged->Delete(Space::kLinkage, state::BlockKey(r, 'r', k.right, tessera_id));
    }
  }
  for (const auto& [column, value] : record->tf) {
    TESSERA_RETURN_IF_ERROR(AddCount(staged, state::TfKey(column, value), -1));
    TESSERA_RETURN_IF_ERROR(AddCount(staged, state::TfTotalKey(column), -1));
  }
  staged->Delete(Space::kLinkage, state::RecordKey(tessera_id));
  return Status::Ok();
}

Status Engine::AddToIndex(storage::StagedWrites* staged, const std::string& tessera_id,
                          const state::IndexRecord& record) {
  for (size_t r = 0; r < record.keys.size(); ++r) {
    const RuleKey& k = record.keys[r];
    if (k.left != 0) staged->Put(Space::kLinkage, state::BlockKey(r, 'l', k.left, tessera_id), "");
    if (k.right != 0 && k.right != k.left) {
      staged->Put(Space::kLinkage, state::BlockKey(r, 'r', k.right, tessera_id), "");
    }
  }
  for (const auto& [column, value] : record.tf) {
    TESSERA_RETURN_IF_ERROR(AddCount(staged, state::TfKey(column, value), 1));
    TESSERA_RETURN_IF_ERROR(AddCount(staged, state::TfTotalKey(column), 1));
  }
  staged->Put(Space::kLinkage, state::RecordKey(tessera_id), state::EncodeRecord(record));
  return Status::Ok();
}

Result<std::vector<std::string>> Engine::FindCandidates(const state::IndexRecord& record,
                                                        const std::string& self) {
  const size_t max_block = MaxBlockRecords(settings_->linkage.max_block_pairs);
  std::map<std::string, int> agreeing;  // candidate -> rules that pair it with self
  for (size_t r = 0; r < record.keys.size(); ++r) {
    const RuleKey& k = record.keys[r];
    // x pairs with self when x.right == self.left or x.left == self.right.
    std::vector<std::pair<char, uint64_t>> scans;
    if (k.left == k.right) {
      if (k.left != 0) scans.emplace_back('l', k.left);
    } else {
      if (k.left != 0) scans.emplace_back('r', k.left);
      if (k.right != 0) scans.emplace_back('l', k.right);
    }
    std::set<std::string> in_rule;
    for (const auto& [side, hash] : scans) {
      std::string prefix = state::BlockPrefix(r, side, hash);
      std::vector<std::string> block;
      auto it = store_->NewIterator(Space::kLinkage);
      for (it->Seek(prefix); it->Valid() && state::HasPrefix(it->key(), prefix) &&
                             block.size() <= max_block;
           it->Next()) {
        block.emplace_back(it->key().substr(prefix.size()));
      }
      TESSERA_RETURN_IF_ERROR(it->status());
      if (block.size() > max_block) continue;  // oversized: says little, costs much
      for (auto& id : block) {
        if (id != self) in_rule.insert(std::move(id));
      }
    }
    for (const std::string& id : in_rule) ++agreeing[id];
  }
  std::vector<std::pair<int, std::string>> ranked;
  for (auto& [id, n] : agreeing) ranked.emplace_back(-n, id);
  std::sort(ranked.begin(), ranked.end());
  if (ranked.size() > settings_->max_candidates) ranked.resize(settings_->max_candidates);
  std::vector<std::string> out;
  for (auto& [n, id] : ranked) out.push_back(std::move(id));
  return out;
}

Result<std::vector<Engine::Score>> Engine::ScoreAgainst(
    storage::Reader* reader, const std::vector<std::string>& left,
    const std::vector<std::vector<std::string>>& right) {
  const Settings& s = settings_->linkage;
  const std::vector<std::string> columns = settings_->Columns();
  Table l = OneRowTable("profile", columns), r = OneRowTable("candidates", columns);
  AddRow(&l, "0", left);
  for (size_t i = 0; i < right.size(); ++i) AddRow(&r, std::to_string(i + 1), right[i]);
  TESSERA_ASSIGN_OR_RETURN(LinkInput in, LinkInput::Build(&l, &r, s, /*parallel=*/false));
  Comparator cmp(&in, s);
  const Model& model = model_->model;
  std::vector<Score> out;
  for (uint32_t j = 1; j <= right.size(); ++j) {
    Score score;
    score.weight = model.PriorWeight();
    json comparisons = json::array();
    for (size_t c = 0; c < cmp.size(); ++c) {
      int level = cmp.Level(c, 0, j);
      const Column& col = in.column(in.ColumnIndex(cmp.name(c)));
      double frequency = 0;
      bool tf = level == kExactLevel && model.tf[c];
      if (tf) {
        // The share of indexed profiles holding this value (the pair's own two included, as
        // in the batch linker's counts), kept live in the index.
        uint64_t total = ReadCount(reader, state::TfTotalKey(col.name));
        uint64_t count = ReadCount(reader, state::TfKey(col.name, col.Text(0)));
        if (total > 0 && count > 0) frequency = static_cast<double>(count) / total;
      }
      double w = model.LevelWeight(c, level, frequency);
      score.weight += w;
      comparisons.push_back({{"comparison", cmp.name(c)},
                             {"level", cmp.LevelLabel(c, level)},
                             {"weight", w},
                             {"tf_adjusted", tf && frequency > 0}});
      // The raw values, so a reviewer sees what was compared.
      size_t ci = std::find(columns.begin(), columns.end(), cmp.name(c)) - columns.begin();
      comparisons.back()["left"] = left[ci];
      comparisons.back()["right"] = right[j - 1][ci];
    }
    score.probability = ProbabilityFromWeight(score.weight);
    score.explanation = {{"prior_weight", model.PriorWeight()},
                         {"match_weight", score.weight},
                         {"probability", score.probability},
                         {"comparisons", std::move(comparisons)}};
    out.push_back(std::move(score));
  }
  return out;
}

Status Engine::ProcessProfile(const std::string& pid, bool force) {
  storage::StagedWrites staged(store_);
  auto live = identity::IdentityGraph::LoadLive(&staged, pid);
  if (!live.ok() && live.status().code() != StatusCode::kNotFound) return live.status();
  if (!live.ok() || live->tessera_id != pid) {
    // Gone (a rebuild with other identity settings) or folded into another profile, which is
    // indexed under its own id.
    TESSERA_RETURN_IF_ERROR(RemoveFromIndex(&staged, pid));
    return staged.Commit({});
  }
  const identity::Node& node = *live;
  for (size_t i = 1; i < node.fragments.size(); ++i) {
    TESSERA_RETURN_IF_ERROR(RemoveFromIndex(&staged, node.fragments[i]));
  }
  auto profile = profile::LoadProfile(&staged, pid);
  if (!profile.ok() && profile.status().code() != StatusCode::kNotFound) return profile.status();
  std::vector<std::string> values =
      ExtractRecord(*settings_, profile.ok() ? &profile.value() : nullptr, node);
  TESSERA_ASSIGN_OR_RETURN(auto old, ReadRecord(&staged, pid));
  if (old && old->values == values && !force) return staged.Commit({});
  TESSERA_RETURN_IF_ERROR(RemoveFromIndex(&staged, pid));
  // Links of a changed profile are scored again with its new values. Not while the backfill
  // indexes: its term-frequency counts are partial, and its second phase re-scores every link.
  const bool rescore_links = backfill_.done && !force;
  if (std::all_of(values.begin(), values.end(), [](const std::string& v) { return v.empty(); })) {
    // Nothing left to compare: no link the model made can stand.
    if (rescore_links) {
      TESSERA_RETURN_IF_ERROR(WithdrawWeakLinks(&staged, node, values, "profile changed").status());
    }
    return staged.Commit({});
  }
  // Keys and term-frequency values from the normalised record.
  const Settings& s = settings_->linkage;
  const std::vector<std::string> columns = settings_->Columns();
  Table self = OneRowTable("profile", columns);
  AddRow(&self, pid, values);
  TESSERA_ASSIGN_OR_RETURN(LinkInput in, LinkInput::Build(&self, nullptr, s, /*parallel=*/false));
  state::IndexRecord record;
  record.values = values;
  record.keys = RecordKeys(in, s, 0);
  for (const ComparisonSettings& c : s.comparisons) {
    if (!c.tf) continue;
    std::string_view text = in.column(in.ColumnIndex(c.column)).Text(0);
    bool seen = std::any_of(record.tf.begin(), record.tf.end(),
                            [&](const auto& t) { return t.first == c.column; });
    if (!text.empty() && !seen) record.tf.emplace_back(c.column, std::string(text));
  }
  TESSERA_RETURN_IF_ERROR(AddToIndex(&staged, pid, record));
  scored_.fetch_add(1, std::memory_order_relaxed);

  std::set<std::string> withdrawn;
  if (rescore_links) {
    TESSERA_ASSIGN_OR_RETURN(withdrawn,
                             WithdrawWeakLinks(&staged, node, values, "profile changed"));
  }

  TESSERA_ASSIGN_OR_RETURN(std::vector<std::string> ids, FindCandidates(record, pid));
  std::vector<Candidate> candidates;
  for (const std::string& id : ids) {
    auto other = identity::IdentityGraph::LoadLive(&staged, id);
    if (!other.ok() && other.status().code() != StatusCode::kNotFound) return other.status();
    // A stale entry (folded or gone): that profile's own processing cleans it.
    if (!other.ok() || other->tessera_id != id) continue;
    TESSERA_ASSIGN_OR_RETURN(auto r, ReadRecord(&staged, id));
    if (!r) continue;
    candidates.push_back({std::move(other).value(), std::move(*r)});
  }
  if (candidates.empty()) return staged.Commit({});
  std::vector<std::vector<std::string>> right;
  for (const Candidate& c : candidates) right.push_back(c.record.values);
  TESSERA_ASSIGN_OR_RETURN(std::vector<Score> scores, ScoreAgainst(&staged, values, right));
  // Strongest first, so that the chaining guard sees the best link of a profile first.
  std::vector<size_t> order(candidates.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t x, size_t y) {
    return scores[x].probability > scores[y].probability;
  });
  for (size_t i : order) {
    // Just withdrawn: its review item (if any) says why; the pair is scored again next change.
    if (withdrawn.count(candidates[i].node.tessera_id)) continue;
    TESSERA_RETURN_IF_ERROR(DecidePair(&staged, node, candidates[i].node, scores[i]));
  }
  return staged.Commit({});
}

Result<std::vector<std::string>> Engine::ValuesOf(storage::StagedWrites* staged,
                                                  const identity::Node& node) {
  TESSERA_ASSIGN_OR_RETURN(auto record, ReadRecord(staged, node.tessera_id));
  if (record) return std::move(record->values);
  // Not indexed: no value at all (or not processed yet): read what the profile holds now.
  auto profile = profile::LoadProfile(staged, node.tessera_id);
  if (!profile.ok() && profile.status().code() != StatusCode::kNotFound) return profile.status();
  return ExtractRecord(*settings_, profile.ok() ? &profile.value() : nullptr, node);
}

Result<std::set<std::string>> Engine::WithdrawWeakLinks(storage::StagedWrites* staged,
                                                        const identity::Node& node,
                                                        const std::vector<std::string>& values,
                                                        std::string_view cause) {
  // The profiles directly linked with this one, by live id: whether a person made any of the
  // edges, and the model's probability when it linked them.
  struct Partner {
    identity::Node node;
    bool by_person = false;
    double probability = 0;
  };
  std::map<std::string, Partner> partners;
  for (const std::string& f : node.fragments) {
    TESSERA_ASSIGN_OR_RETURN(std::vector<identity::Link> links, identity::ReadLinks(staged, f));
    for (const identity::Link& l : links) {
      auto other = identity::IdentityGraph::LoadLive(staged, l.other);
      if (other.status().code() == StatusCode::kNotFound) continue;  // gone in a rebuild
      TESSERA_RETURN_IF_ERROR(other.status());
      if (other->tessera_id == node.tessera_id) continue;  // merged deterministically since
      auto [it, fresh] = partners.try_emplace(other->tessera_id);
      if (fresh) it->second.node = std::move(other).value();
      it->second.by_person |= l.decided_by != "model";
      it->second.probability = std::max(it->second.probability, l.probability);
    }
  }
  std::vector<const Partner*> model_made;
  std::vector<std::vector<std::string>> right;
  for (const auto& [id, p] : partners) {
    if (p.by_person) continue;  // a person's accept is never overridden
    TESSERA_ASSIGN_OR_RETURN(auto decision, FindDecision(staged, node, p.node));
    if (decision && decision->accept) continue;
    TESSERA_ASSIGN_OR_RETURN(std::vector<std::string> v, ValuesOf(staged, p.node));
    model_made.push_back(&p);
    right.push_back(std::move(v));
  }
  std::set<std::string> withdrawn;
  if (model_made.empty()) return withdrawn;
  TESSERA_ASSIGN_OR_RETURN(std::vector<Score> scores, ScoreAgainst(staged, values, right));
  const Settings& s = settings_->linkage;
  for (size_t i = 0; i < model_made.size(); ++i) {
    const Score& score = scores[i];
    if (score.probability >= s.threshold) continue;
    const Partner& p = *model_made[i];
    TESSERA_RETURN_IF_ERROR(identity::RemoveLinksBetween(staged, node, p.node).status());
    char text[160];
    std::snprintf(text, sizeof text, "link withdrawn (%.*s): probability %.4f < threshold %.4f "
                  "(was %.4f)", static_cast<int>(cause.size()), cause.data(), score.probability,
                  s.threshold, p.probability);
    state::Withdrawal w;
    w.n = next_withdrawal_;
    w.a = std::min(node.tessera_id, p.node.tessera_id);
    w.b = std::max(node.tessera_id, p.node.tessera_id);
    w.probability_before = p.probability;
    w.probability = score.probability;
    w.cause = std::string(cause);
    w.reason = text;
    w.generation = model_->generation;
    w.explanation = score.explanation.dump(-1, ' ', false, json::error_handler_t::replace);
    w.at = options_.clock->NowMs();
    if (score.probability >= s.review_low) {
      TESSERA_RETURN_IF_ERROR(QueueReview(staged, node, p.node, score, w.reason));
      TESSERA_ASSIGN_OR_RETURN(auto key, FindPairKey(staged, 'p', node, p.node));
      std::string v;
      if (key && staged->Get(Space::kLinkage, *key, &v).ok()) {
        w.review_id = state::ReviewId(state::DecodeU64(v));
      }
    } else {
      TESSERA_RETURN_IF_ERROR(DropPendingReview(staged, node, p.node));
    }
    staged->Put(Space::kLinkage, state::WithdrawalKey(w.n), state::EncodeWithdrawal(w));
    if (w.n > state::kKeptWithdrawals) {
      staged->Delete(Space::kLinkage, state::WithdrawalKey(w.n - state::kKeptWithdrawals));
    }
    ++next_withdrawal_;
    staged->Put(Space::kLinkage, state::kNextWithdrawalKey, state::EncodeU64(next_withdrawal_));
    withdrawn_.fetch_add(1, std::memory_order_relaxed);
    withdrawn.insert(p.node.tessera_id);
  }
  return withdrawn;
}

Result<std::optional<std::string>> Engine::FindPairKey(storage::Reader* reader, char prefix,
                                                       const identity::Node& a,
                                                       const identity::Node& b) {
  // Decisions and reviews name the profiles as they were; either may have absorbed others since.
  std::string v;
  for (const std::string& fa : a.fragments) {
    for (const std::string& fb : b.fragments) {
      std::string key = state::PairKey(prefix, fa, fb);
      Status s = reader->Get(Space::kLinkage, key, &v);
      if (s.ok()) return std::optional<std::string>(std::move(key));
      if (s.code() != StatusCode::kNotFound) return s;
    }
  }
  return std::optional<std::string>();
}

Result<std::optional<state::Decision>> Engine::FindDecision(storage::Reader* reader,
                                                            const identity::Node& a,
                                                            const identity::Node& b) {
  TESSERA_ASSIGN_OR_RETURN(auto key, FindPairKey(reader, 'd', a, b));
  if (!key) return std::optional<state::Decision>();
  std::string v;
  TESSERA_RETURN_IF_ERROR(reader->Get(Space::kLinkage, *key, &v));
  TESSERA_ASSIGN_OR_RETURN(state::Decision d, state::DecodeDecision(v));
  return std::optional<state::Decision>(std::move(d));
}

Status Engine::DropPendingReview(storage::StagedWrites* staged, const identity::Node& a,
                                 const identity::Node& x) {
  TESSERA_ASSIGN_OR_RETURN(auto key, FindPairKey(staged, 'p', a, x));
  if (!key) return Status::Ok();
  std::string v;
  TESSERA_RETURN_IF_ERROR(staged->Get(Space::kLinkage, *key, &v));
  staged->Delete(Space::kLinkage, state::ReviewKey(state::DecodeU64(v)));
  staged->Delete(Space::kLinkage, *key);
  return Status::Ok();
}

Status Engine::QueueReview(storage::StagedWrites* staged, const identity::Node& a,
                           const identity::Node& x, const Score& score,
                           const std::string& reason) {
  const TimeMs now = options_.clock->NowMs();
  TESSERA_ASSIGN_OR_RETURN(auto key, FindPairKey(staged, 'p', a, x));
  state::ReviewItem item;
  std::string v;
  if (key) {
    TESSERA_RETURN_IF_ERROR(staged->Get(Space::kLinkage, *key, &v));
    Status s = staged->Get(Space::kLinkage, state::ReviewKey(state::DecodeU64(v)), &v);
    if (!s.ok()) return s.code() == StatusCode::kNotFound
                            ? Status::Corruption("review pair index names a missing review")
                            : s;
    TESSERA_ASSIGN_OR_RETURN(item, state::DecodeReview(v));
  } else {
    item.n = next_review_++;
    item.a = std::min(a.tessera_id, x.tessera_id);
    item.b = std::max(a.tessera_id, x.tessera_id);
    item.created_at = now;
    staged->Put(Space::kLinkage, state::kNextReviewKey, state::EncodeU64(next_review_));
    staged->Put(Space::kLinkage, state::PairKey('p', item.a, item.b), state::EncodeU64(item.n));
    reviews_queued_.fetch_add(1, std::memory_order_relaxed);
  }
  item.probability = score.probability;
  item.weight = score.weight;
  item.explanation = score.explanation.dump(-1, ' ', false, json::error_handler_t::replace);
  item.reason = reason;
  item.updated_at = now;
  staged->Put(Space::kLinkage, state::ReviewKey(item.n), state::EncodeReview(item));
  return Status::Ok();
}

Result<std::string> Engine::Guard(storage::StagedWrites* staged, const identity::Entity& ea,
                                  const identity::Entity& ex) {
  if (ea.members.size() + ex.members.size() > settings_->max_cluster_size) {
    return std::string("cluster size: the entity would have more than " +
                       std::to_string(settings_->max_cluster_size) + " profiles");
  }
  if (ea.members.size() == 1 && ex.members.size() == 1) return std::string();
  // Every pair across the two entities: one a person rejected, or one that shares a block and
  // scores below the guard, keeps them apart (A~B and B~C do not make A and C one when A and C
  // were compared and clearly differ).
  std::vector<std::pair<const identity::Node*, state::IndexRecord>> xs;
  for (const identity::Node& x : ex.members) {
    TESSERA_ASSIGN_OR_RETURN(auto r, ReadRecord(staged, x.tessera_id));
    if (r) xs.emplace_back(&x, std::move(*r));
  }
  for (const identity::Node& a : ea.members) {
    TESSERA_ASSIGN_OR_RETURN(auto ra, ReadRecord(staged, a.tessera_id));
    std::vector<std::vector<std::string>> right;
    std::vector<const identity::Node*> right_nodes;
    for (const identity::Node& x : ex.members) {
      TESSERA_ASSIGN_OR_RETURN(auto d, FindDecision(staged, a, x));
      if (d && !d->accept) {
        return "chaining guard: " + a.tessera_id + " and " + x.tessera_id + " were rejected";
      }
    }
    if (!ra) continue;
    for (const auto& [x, rx] : xs) {
      if (SharesBlock(ra->keys, rx.keys)) {
        right.push_back(rx.values);
        right_nodes.push_back(x);
      }
    }
    if (right.empty()) continue;
    TESSERA_ASSIGN_OR_RETURN(std::vector<Score> scores, ScoreAgainst(staged, ra->values, right));
    for (size_t i = 0; i < scores.size(); ++i) {
      if (scores[i].probability < settings_->linkage.cluster_guard) {
        char p[32];
        std::snprintf(p, sizeof p, "%.4f", scores[i].probability);
        return "chaining guard: " + a.tessera_id + " and " + right_nodes[i]->tessera_id +
               " score " + p;
      }
    }
  }
  return std::string();
}

Status Engine::DecidePair(storage::StagedWrites* staged, const identity::Node& a,
                          const identity::Node& x, const Score& score) {
  if (a.tessera_id == x.tessera_id) return Status::Ok();
  const Settings& s = settings_->linkage;
  // Most candidates clearly differ: one read settles them.
  if (score.probability < s.review_low) return DropPendingReview(staged, a, x);
  TESSERA_ASSIGN_OR_RETURN(auto decision, FindDecision(staged, a, x));
  if (decision) return Status::Ok();  // a person decided this pair: never overridden
  TESSERA_ASSIGN_OR_RETURN(identity::Entity ea, identity::LoadEntity(staged, a));
  if (ea.Contains(x.tessera_id)) return DropPendingReview(staged, a, x);
  if (score.probability >= s.threshold) {
    TESSERA_ASSIGN_OR_RETURN(identity::Entity ex, identity::LoadEntity(staged, x));
    TESSERA_ASSIGN_OR_RETURN(std::string refused, Guard(staged, ea, ex));
    if (!refused.empty()) return QueueReview(staged, a, x, score, refused);
    identity::Link link{.probability = score.probability,
                        .decided_by = "model",
                        .at = options_.clock->NowMs(),
                        .explanation = score.explanation.dump(-1, ' ', false,
                                                              json::error_handler_t::replace)};
    TESSERA_RETURN_IF_ERROR(identity::AddLink(staged, a.tessera_id, x.tessera_id, link));
    links_made_.fetch_add(1, std::memory_order_relaxed);
    return DropPendingReview(staged, a, x);
  }
  return QueueReview(staged, a, x, score, "review band");
}

}  // namespace tessera::linkage
