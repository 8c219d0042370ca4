#include "pipeline/processor.h"

#include <pthread.h>
#include <spdlog/spdlog.h>

#include "core/coding.h"
#include "core/cpu_priority.h"
#include "profile/profile.h"

namespace tessera::pipeline {

using storage::Space;

namespace {
constexpr std::string_view kCursorKey = "pipeline/cursor";
constexpr std::string_view kResetMarkerKey = "pipeline/reset-in-progress";

Result<uint64_t> LoadCursor(storage::Store* store) {
  std::string v;
  Status s = store->Get(Space::kMeta, kCursorKey, &v);
  if (s.code() == StatusCode::kNotFound) return uint64_t{0};
  TESSERA_RETURN_IF_ERROR(s);
  if (v.size() != 8) return Status::Corruption("pipeline cursor of unexpected size");
  return DecodeFixed64BE(v.data());
}
}  // namespace

Status Processor::ResetDerivedState(storage::Store* store) {
  // A reset cleared in many writes must not be mistaken for derived state if it is cut short:
  // a synced marker goes first and is removed, with the cursor, only once all is gone. Start()
  // and CatchUp() finish an interrupted reset before processing anything.
  storage::WriteBatch mark;
  mark.Put(Space::kMeta, kResetMarkerKey, "1");
  TESSERA_RETURN_IF_ERROR(store->Write(mark, {.sync = true}));
  for (Space space :
       {Space::kIdentity, Space::kProfiles, Space::kTimeline, Space::kAudiences,
        Space::kStoredEvents}) {
    TESSERA_RETURN_IF_ERROR(storage::ClearSpace(store, space));
  }
  storage::WriteBatch done;
  done.Delete(Space::kMeta, kCursorKey);
  done.Delete(Space::kMeta, kResetMarkerKey);
  return store->Write(done, {.sync = true});
}

Status Processor::FinishInterruptedReset() {
  std::string v;
  Status s = store_->Get(Space::kMeta, kResetMarkerKey, &v);
  if (s.code() == StatusCode::kNotFound) return Status::Ok();
  TESSERA_RETURN_IF_ERROR(s);
  spdlog::warn("pipeline: finishing an interrupted reset; derived state is rebuilt from the log");
  return ResetDerivedState(store_);
}

Processor::Processor(storage::Store* store, eventlog::EventLog* log,
                     identity::IdentityConfig config, ProcessorOptions options)
    : store_(store), log_(log), graph_(std::move(config)), options_(options) {}

Processor::~Processor() { Stop(); }

Status Processor::Start() {
  TESSERA_RETURN_IF_ERROR(FinishInterruptedReset());
  TESSERA_ASSIGN_OR_RETURN(uint64_t cursor, LoadCursor(store_));
  processed_.store(cursor, std::memory_order_release);
  stop_.store(false);
  worker_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "tsr-pipeline");
    Run();
  });
  return Status::Ok();
}

void Processor::Stop() {
  stop_.store(true);
  if (worker_.joinable()) worker_.join();
}

Status Processor::CatchUp() {
  TESSERA_RETURN_IF_ERROR(FinishInterruptedReset());
  TESSERA_ASSIGN_OR_RETURN(uint64_t cursor, LoadCursor(store_));
  processed_.store(cursor, std::memory_order_release);
  bool did_work = true;
  while (did_work) TESSERA_RETURN_IF_ERROR(Step(&did_work));
  return Status::Ok();
}

void Processor::Run() {
  // Deriving profiles is background work: under CPU pressure, acknowledging ingest and
  // answering lookups (which clients wait on) go first, and the pipeline catches up in larger
  // batches.
  BackgroundCpu cpu;
  auto backoff = std::chrono::milliseconds(10);
  while (!stop_.load()) {
    bool did_work = false;
    Status s = Step(&did_work);
    cpu.Update(s.ok() && processed_seq() >= log_->last_seq());
    if (!s.ok()) {
      // Never skip an event: derived state must stay a function of the log. Retry, visibly.
      spdlog::error("pipeline: processing after seq {} failed: {}", processed_seq(), s.ToString());
      {
        MutexLock lock(&mu_);
        last_error_ = s.ToString();
      }
      std::this_thread::sleep_for(backoff);
      backoff = std::min(backoff * 2, std::chrono::milliseconds(5000));
      continue;
    }
    backoff = std::chrono::milliseconds(10);
    if (!did_work) log_->WaitForNewer(processed_seq(), std::chrono::milliseconds(100));
  }
}

Status Processor::Step(bool* did_work) {
  uint64_t cursor = processed_seq();
  TESSERA_ASSIGN_OR_RETURN(std::vector<Event> events,
                           log_->Read(cursor + 1, options_.max_batch_events));
  *did_work = !events.empty();
  if (events.empty()) return Status::Ok();
  storage::StagedWrites staged(store_);
  std::vector<std::string> profiles;
  profiles.reserve(events.size());
  uint64_t merges = 0;
  for (const Event& e : events) {
    TESSERA_CHECK(e.seq == cursor + 1, "event log has a gap after seq " + std::to_string(cursor));
    cursor = e.seq;
    auto resolution = graph_.Resolve(e, &staged);
    TESSERA_RETURN_IF_ERROR(resolution.status());
    if (e.source_id == kSystemSourceId && !resolution->created) {
      profile::AddToTimeline(e, resolution->tessera_id, &staged);
    } else {
      TESSERA_RETURN_IF_ERROR(
          profile::ApplyEvent(e, resolution->tessera_id, resolution->merged, &staged));
    }
    merges += resolution->merged.size();
    profiles.push_back(resolution->tessera_id);
  }
  std::string cursor_value;
  PutFixed64BE(&cursor_value, cursor);
  staged.Put(Space::kMeta, kCursorKey, cursor_value);
  // Not synced: derived state; the log (synced) is the truth and the cursor travels with it.
  TESSERA_RETURN_IF_ERROR(staged.Commit({}));
  events_.fetch_add(events.size(), std::memory_order_relaxed);
  merges_.fetch_add(merges, std::memory_order_relaxed);
  {
    MutexLock lock(&mu_);
    processed_.store(cursor, std::memory_order_release);
    last_error_.clear();
    processed_cv_.SignalAll();
  }
  if (hook_) hook_(events, profiles);
  return Status::Ok();
}

bool Processor::WaitProcessed(uint64_t seq, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  MutexLock lock(&mu_);
  while (processed_seq() < seq) {
    auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return false;
    processed_cv_.WaitFor(&mu_, deadline - now);
  }
  return true;
}

std::string Processor::last_error() const {
  MutexLock lock(&mu_);
  return last_error_;
}

}  // namespace tessera::pipeline
