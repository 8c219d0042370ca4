// The linkage engine: probabilistic record linkage inside the server, incrementally.
//
// One worker thread follows the event log behind the pipeline (never past processed_seq(), so
// identity and profiles already reflect what it reads), like the audience engine. When a
// profile is created or its linkage-relevant values change (ExtractRecord), it is indexed under
// its blocking keys (a persistent block index) and compared with the profiles in its blocks,
// scored by the persisted Fellegi-Sunter model (model.h) with term frequencies kept live:
//   - at or above `threshold`: a linked edge in the identity graph (identity/links.h) with its
//     probability and explanation, unless the chaining guard refuses it (a pair across the two
//     entities that shares a block scores below `cluster_guard`, or was rejected, or the entity
//     would exceed max_cluster_size): then a review item;
//   - in [review_low, threshold): a review item (pending until a person decides);
//   - a pair a person rejected (in review, or by unlinking) is never linked automatically;
//   - a linked edge the model made whose pair now scores below `threshold` is withdrawn (into
//     the review queue when it is inside the review band), and the withdrawal recorded; links
//     a person accepted are never touched.
//
// The model is trained over all current profiles (Train: u from random pairs, m by EM, review
// decisions as labels) and persisted; each training starts a backfill that rebuilds the block
// index and re-scores every profile, then re-scores every linked edge the model made, a slice
// per step between live work.
//
// Commands (settings, training, review decisions, unlinking) are applied by the worker in the
// order submitted, each as one synced write, and answered through their callback (on the
// worker) only after it: acknowledged means durable. The automatic work is committed per
// profile, unsynced, with the cursor last; reprocessing a profile is idempotent, so a crash
// only repeats work.
//
// State: Space::kLinkage (linkage/server_state.h) and the linked edges in Space::kLinks.
// Settings, model, decisions, pending reviews and edges are decisions, not derived from the log:
// `tessera rebuild` keeps them (they name profiles by tessera_id, which a rebuild reproduces).
//
// Automatic training (settings "auto_train", engine_train.cc): the worker starts a trainer
// thread once there are enough profiles (or they have grown enough since the last training);
// it only reads the store, and hands the model back as a command the worker installs.
//
// Thread-safety: Start/Stop/RunUntilIdle from one owner thread; the rest from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <thread>

#include "core/cpu_priority.h"
#include "identity/identity_graph.h"
#include "identity/links.h"
#include "linkage/server_settings.h"
#include "linkage/server_state.h"
#include "pipeline/processor.h"

namespace tessera::linkage {

struct EngineOptions {
  const Clock* clock = &Clock::System();
  size_t max_batch_events = 2000;  // log events per step
  size_t backfill_slice = 200;     // profiles per backfill step
  size_t infer_sample = 1000;      // profiles read to infer default settings
  // Automatic training counts the profiles at most this often (and only once enough events
  // arrived since the last count for the target to be reachable).
  std::chrono::milliseconds auto_train_check{10000};
};

class Engine {
 public:
  Engine(storage::Store* store, eventlog::EventLog* log, pipeline::Processor* processor,
         identity::IdentityConfig identity, EngineOptions options = {});
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  Status Start();
  void Stop();
  // Works on the calling thread until nothing is left to do now (commands, the log up to the
  // processor, the backfill). Not while the worker runs (tools and tests).
  Status RunUntilIdle();

  // The answer to a command: the JSON body, or why it failed. Called once, on the worker (or
  // with Unavailable from Stop when the engine stops first).
  using Done = std::function<void(Result<nlohmann::json>)>;
  // Replaces the settings (JSON form of server_settings.h); a new version. The model trained
  // for the old version stops scoring until Train.
  void PutSettings(std::string body, Done done);
  // Trains the model over every profile (with the stored settings, or inferred ones, which are
  // then stored), with the decisions as labels, and starts re-indexing and re-scoring. The
  // worker also trains on its own (settings "auto_train", engine_train.cc).
  void Train(Done done);
  // Accepts (links the pair) or rejects (remembers it) a pending review item.
  void Decide(std::string review_id, bool accept, Done done);
  // Removes the linked edges directly between two live profiles and remembers the pair as
  // rejected. NotFound when they are not directly linked.
  void Unlink(std::string a, std::string b, Done done);

  // Reads, from any thread (straight from the store).
  // The stored settings, or (stored: false) the ones Train would infer now.
  Result<nlohmann::json> GetSettings();
  Result<nlohmann::json> GetStatus();
  Result<nlohmann::json> GetModel();
  // Pending review items, oldest first, after `cursor` (a review id; empty for the first page).
  Result<nlohmann::json> ListReviews(size_t limit, std::string_view cursor);

  uint64_t applied_seq() const { return applied_.load(std::memory_order_acquire); }
  uint64_t links_made() const { return links_made_.load(std::memory_order_relaxed); }
  uint64_t reviews_queued() const { return reviews_queued_.load(std::memory_order_relaxed); }
  uint64_t profiles_scored() const { return scored_.load(std::memory_order_relaxed); }
  uint64_t links_withdrawn() const { return withdrawn_.load(std::memory_order_relaxed); }
  std::string last_error() const;

 private:
  // A model computed from the store, not yet installed.
  struct Trained {
    ServerSettings settings;
    bool inferred = false;  // settings inferred (stored with the model)
    state::StoredModel model;
  };
  // What an automatic training brings back to the worker.
  struct AutoOutcome {
    Result<Trained> trained = Status::Unavailable("not trained");
    uint64_t base_generation = 0, base_version = 0;  // what was current when it started
    std::string reason;
    uint64_t counted = 0;  // profiles counted when it started
  };
  enum class CommandKind { kPutSettings, kTrain, kDecide, kUnlink, kInstallAuto };
  struct Command {
    CommandKind kind;
    std::string body, a, b;
    bool accept = false;
    Done done;
    std::unique_ptr<AutoOutcome> outcome;  // kInstallAuto
  };
  // Automatic training, for the status (published by the worker).
  struct AutoStatus {
    bool running = false;
    std::string reason;  // of the running training
    TimeMs started_at = 0;
    uint64_t counted = 0;
    TimeMs counted_at = 0;
    uint64_t next_at = 0;  // profiles at which it trains next
    std::string last_error;
    TimeMs last_error_at = 0;
  };
  struct Score {
    double weight = 0, probability = 0;
    nlohmann::json explanation;
  };
  struct Candidate {
    identity::Node node;
    state::IndexRecord record;
  };

  void Run();
  Status Step(bool* did_work);
  Status LoadState();
  void Submit(Command command);
  bool RunCommands();
  Result<nlohmann::json> Execute(const Command& c);
  Result<nlohmann::json> DoPutSettings(const std::string& body);
  Result<nlohmann::json> DoTrain();
  // engine_train.cc. ComputeModel: any thread (reads only the store and options_); `cpu`, when
  // given, is told of progress (the automatic trainer's priority: background, then low).
  Result<Trained> ComputeModel(std::optional<ServerSettings> settings,
                               BackgroundCpu* cpu = nullptr) const;
  Result<nlohmann::json> InstallModel(Trained t, std::string trigger, std::string reason);
  Result<nlohmann::json> DoInstallAuto(AutoOutcome* outcome);
  Status MaybeAutoTrain(bool* did_work);
  Result<uint64_t> CountProfiles() const;
  void JoinTrainer();
  Result<nlohmann::json> DoDecide(const std::string& review_id, bool accept);
  Result<nlohmann::json> DoUnlink(const std::string& a, const std::string& b);
  bool Active() const;
  Status ApplyLog(bool* did_work);
  Status StartBackfill();
  Status BackfillSlice(bool* did_work);
  Status LinksSlice(bool* did_work);
  Status SaveCursor();
  Result<std::optional<ServerSettings>> ReadSettings(storage::Reader* reader) const;
  Result<ServerSettings> InferSettings(std::vector<std::string>* ignored) const;

  // engine_score.cc: one profile, indexed and scored; commits its own batch.
  Status ProcessProfile(const std::string& tessera_id, bool force);
  Status RemoveFromIndex(storage::StagedWrites* staged, const std::string& tessera_id);
  Status AddToIndex(storage::StagedWrites* staged, const std::string& tessera_id,
                    const state::IndexRecord& record);
  Result<std::vector<std::string>> FindCandidates(const state::IndexRecord& record,
                                                  const std::string& self);
  Result<std::vector<Score>> ScoreAgainst(storage::Reader* reader,
                                          const std::vector<std::string>& left,
                                          const std::vector<std::vector<std::string>>& right);
  // The model-made edges of `node` (whose values are `values`) scored again; those below the
  // threshold are removed (into review inside the band) and recorded. Returns the live ids of
  // the profiles no longer linked. REQUIRES: the index is complete (backfill_.done).
  Result<std::set<std::string>> WithdrawWeakLinks(storage::StagedWrites* staged,
                                                  const identity::Node& node,
                                                  const std::vector<std::string>& values,
                                                  std::string_view cause);
  // The values a profile is scored with: its index record, else extracted afresh.
  Result<std::vector<std::string>> ValuesOf(storage::StagedWrites* staged,
                                            const identity::Node& node);
  Status DecidePair(storage::StagedWrites* staged, const identity::Node& a,
                    const identity::Node& x, const Score& score);
  Result<std::string> Guard(storage::StagedWrites* staged, const identity::Entity& ea,
                            const identity::Entity& ex);
  Result<std::optional<state::Decision>> FindDecision(storage::Reader* reader,
                                                      const identity::Node& a,
                                                      const identity::Node& b);
  Status QueueReview(storage::StagedWrites* staged, const identity::Node& a,
                     const identity::Node& x, const Score& score, const std::string& reason);
  Status DropPendingReview(storage::StagedWrites* staged, const identity::Node& a,
                           const identity::Node& x);
  Result<std::optional<std::string>> FindPairKey(storage::Reader* reader, char prefix,
                                                 const identity::Node& a,
                                                 const identity::Node& b);
  Result<std::optional<state::IndexRecord>> ReadRecord(storage::Reader* reader,
                                                       std::string_view tessera_id);
  Result<nlohmann::json> ProfileSummary(storage::Reader* reader, std::string_view tessera_id,
                                        const std::optional<ServerSettings>& settings);

  storage::Store* const store_;
  eventlog::EventLog* const log_;
  pipeline::Processor* const processor_;
  const identity::IdentityConfig identity_;
  const EngineOptions options_;

  // Worker-only state.
  uint64_t cursor_ = 0;
  std::optional<ServerSettings> settings_;
  std::optional<state::StoredModel> model_;
  state::BackfillState backfill_;
  uint64_t next_review_ = 1;
  uint64_t next_withdrawal_ = 1;
  // Automatic training (worker-only): the last profile count and when it was taken.
  bool counted_ = false;
  uint64_t counted_profiles_ = 0, counted_seq_ = 0;
  std::chrono::steady_clock::time_point counted_time_;
  std::chrono::steady_clock::duration count_cost_{};
  uint64_t retry_at_ = 0;  // after a failed automatic training: not before this many profiles
  std::thread trainer_;    // started and joined by the worker (or RunUntilIdle's caller, Stop)

  std::thread worker_;
  std::atomic<bool> stop_{false};
  mutable Mutex mu_;
  std::deque<Command> commands_ TESSERA_GUARDED_BY(mu_);
  std::string last_error_ TESSERA_GUARDED_BY(mu_);
  AutoStatus auto_ TESSERA_GUARDED_BY(mu_);

  // True from starting the trainer until its outcome is queued (release / acquire).
  std::atomic<bool> training_{false};

  std::atomic<uint64_t> applied_{0};
  std::atomic<uint64_t> links_made_{0};
  std::atomic<uint64_t> reviews_queued_{0};
  std::atomic<uint64_t> scored_{0};
  std::atomic<uint64_t> withdrawn_{0};
};

}  // namespace tessera::linkage
