// The linkage engine's keys in Space::kLinkage, and their records.
//
//   "_settings"            ServerSettings JSON (with its version)           catalog (admin API)
//   "_model"               StoredModel JSON                                 catalog (training)
//   "d" a \0 b             Decision JSON: a person's accept / reject        catalog (labels)
//   "q" n                  ReviewItem JSON, pending                         catalog (review queue)
//   "p" a \0 b             n of the pending review of the pair
//   "_next_review"         next n
//   "w" n                  Withdrawal JSON: a model-made link taken back     catalog (history)
//   "_next_withdrawal"     next n (the last kKeptWithdrawals are kept)
//   "_cursor"              last log seq applied (u64 BE)                    derived
//   "_backfill"            BackfillState JSON                               derived
//   "r" tessera_id         IndexRecord JSON: column values, block keys      derived
//   "b" rule side hash id  "" (side 'l' or 'r', hash u64 BE): block index   derived
//   "f" column \0 value    profiles with this normalised value (u64 BE)     derived (term freq.)
//   "F" column             profiles with any value in the column (u64 BE)   derived
//
// Singletons start with '_' so that no prefix scan meets them. Pairs (a, b) are stored a < b.
// The derived part is rebuilt by a backfill whenever the model changes (see engine.h); the
// catalog part is only changed by the admin API and training.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/time.h"
#include "linkage/blocking.h"
#include "linkage/model.h"
#include "storage/store.h"

namespace tessera::linkage::state {

inline constexpr std::string_view kSettingsKey = "_settings";
inline constexpr std::string_view kModelKey = "_model";
inline constexpr std::string_view kCursorKey = "_cursor";
inline constexpr std::string_view kBackfillKey = "_backfill";
inline constexpr std::string_view kNextReviewKey = "_next_review";
inline constexpr std::string_view kNextWithdrawalKey = "_next_withdrawal";
inline constexpr uint64_t kKeptWithdrawals = 1000;

// One training, as remembered in the model's history.
struct Training {
  uint64_t generation = 0;
  TimeMs at = 0;
  std::string trigger;  // "manual" (POST /v1/linkage/train) or "auto"
  std::string reason;   // why it ran: "requested", "first training: ...", "profiles grew ..."
  uint64_t population = 0, profiles = 0;
};

struct StoredModel {
  uint64_t generation = 0;        // 1, 2, ... one per training
  uint64_t settings_version = 0;  // the settings it was trained with
  TimeMs trained_at = 0;
  uint64_t profiles = 0, candidates = 0, labels = 0;
  uint64_t population = 0;  // every profile record seen (with or without linkage values)
  double seconds = 0;
  std::string trigger = "manual", reason = "requested";
  std::vector<Training> history;  // the latest trainings, newest last (this one included)
  Model model;
};
inline constexpr size_t kKeptTrainings = 20;
std::string EncodeModel(const StoredModel& m);
Result<StoredModel> DecodeModel(std::string_view text);

struct BackfillState {
  uint64_t generation = 0;  // the model generation the index is built for
  bool done = false;
  std::string after;        // last tessera_id indexed ("" = none yet)
  uint64_t indexed = 0;
  TimeMs started_at = 0, finished_at = 0;
  // Second phase, once every profile is indexed (term frequencies complete): every linked edge
  // the model made is scored again with the new model, and withdrawn when it falls short.
  bool links_done = false;
  std::string links_after;  // last stored id (Space::kLinks) re-scored
  uint64_t links_checked = 0, links_withdrawn = 0;
};
std::string EncodeBackfill(const BackfillState& b);
Result<BackfillState> DecodeBackfill(std::string_view text);

struct IndexRecord {
  std::vector<std::string> values;  // per settings column
  std::vector<RuleKey> keys;        // per blocking rule
  std::vector<std::pair<std::string, std::string>> tf;  // (column, normalised value) counted
};
std::string EncodeRecord(const IndexRecord& r);
Result<IndexRecord> DecodeRecord(std::string_view text);

struct ReviewItem {
  uint64_t n = 0;
  std::string a, b;     // tessera_ids when queued
  double probability = 0, weight = 0;
  std::string explanation;  // JSON text
  std::string reason;       // "review band", "chaining guard: ...", "cluster size"
  TimeMs created_at = 0, updated_at = 0;
};
std::string EncodeReview(const ReviewItem& r);
Result<ReviewItem> DecodeReview(std::string_view text);
std::string ReviewId(uint64_t n);  // "rv_<n>"
std::optional<uint64_t> ParseReviewId(std::string_view id);

// A linked edge the model made and later took back, because the pair's probability fell below
// the threshold (its values changed, or a retrained model scores it lower).
struct Withdrawal {
  uint64_t n = 0;
  std::string a, b;            // the live tessera_ids
  double probability_before = 0, probability = 0;
  std::string cause;           // "profile changed" or "model retrained"
  std::string reason;          // readable, with the numbers
  std::string review_id;       // the review item queued (inside the review band), or ""
  uint64_t generation = 0;     // the model that re-scored it
  std::string explanation;     // JSON text: the new score's explanation
  TimeMs at = 0;
};
std::string EncodeWithdrawal(const Withdrawal& w);
Result<Withdrawal> DecodeWithdrawal(std::string_view text);
std::string WithdrawalKey(uint64_t n);

struct Decision {
  bool accept = false;
  std::string by;          // "review" or "unlink"
  std::string review_id;
  double probability = 0;  // the model's, when decided
  TimeMs at = 0;
};
std::string EncodeDecision(const Decision& d);
Result<Decision> DecodeDecision(std::string_view text);

std::string RecordKey(std::string_view tessera_id);
std::string BlockPrefix(size_t rule, char side, uint64_t hash);
std::string BlockKey(size_t rule, char side, uint64_t hash, std::string_view tessera_id);
std::string TfKey(std::string_view column, std::string_view value);
std::string TfTotalKey(std::string_view column);
std::string ReviewKey(uint64_t n);
// "p" or "d" + the pair in order.
std::string PairKey(char prefix, std::string_view a, std::string_view b);

std::string EncodeU64(uint64_t v);
uint64_t DecodeU64(std::string_view v);  // 0 unless 8 bytes

inline bool HasPrefix(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

}  // namespace tessera::linkage::state
