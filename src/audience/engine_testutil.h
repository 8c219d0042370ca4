// A whole node without HTTP for the engine tests: memory store, event log, pipeline, sources,
// catalog and engine, driven step by step on the test's thread with a clock the test moves.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <future>

#include "audience/engine.h"
#include "profile/profile.h"
#include "storage/memory_store.h"

namespace tessera::audience::testutil {

class TestClock final : public Clock {
 public:
  explicit TestClock(TimeMs now) : now_(now) {}
  TimeMs NowMs() const override { return now_.load(); }
  void Set(TimeMs now) { now_.store(now); }
  void Advance(int64_t ms) { now_.fetch_add(ms); }

 private:
  std::atomic<TimeMs> now_;
};

inline constexpr TimeMs kStart = 1767225600000;  // 2026-01-01
inline constexpr int64_t kMinute = 60000;
inline constexpr int64_t kHour = 3600000;
inline constexpr int64_t kDay = 86400000;

class EngineHarness {
 public:
  explicit EngineHarness(EngineOptions options = {}) : clock_(kStart) {
    SetOptions(options);
    Open();
  }
  ~EngineHarness() { Close(); }

  void Open() {
    log_ = std::make_unique<eventlog::EventLog>(&store_, eventlog::LogOptions{});
    ASSERT_TRUE(log_->Open().ok());
    processor_ = std::make_unique<pipeline::Processor>(&store_, log_.get(), identity_);
    sources_ = std::make_unique<sources::SourceRegistry>(&store_);
    ASSERT_TRUE(sources_->Load().ok());
    catalog_ = std::make_unique<Catalog>(&store_);
    ASSERT_TRUE(catalog_->Load().ok());
    engine_ = std::make_unique<Engine>(&store_, log_.get(), processor_.get(), sources_.get(),
                                       catalog_.get(), identity_, options_);
  }
  void Close() {
    engine_.reset();
    processor_.reset();
    if (log_) log_->Close();
    log_.reset();
  }
  // A power cut: everything not followed by a synced write is lost; then a fresh start.
  void CrashAndRestart(EngineOptions options) {
    Close();
    store_.TEST_SimulateCrash();
    SetOptions(options);
    Open();
  }

  void Append(std::vector<Event> events) {
    std::promise<void> done;
    ASSERT_TRUE(log_->Append(std::move(events), [&](Result<eventlog::AppendResult> r) {
                      EXPECT_TRUE(r.ok()) << r.status().ToString();
                      done.set_value();
                    }).ok());
    done.get_future().wait();
  }

  // Runs pipeline and engine until both are caught up and the outbox is empty.
  void Settle() {
    for (int round = 0; round < 100; ++round) {
      ASSERT_TRUE(processor_->CatchUp().ok());
      Status s = engine_->RunUntilIdle();
      ASSERT_TRUE(s.ok()) << s.ToString();
      if (processor_->processed_seq() == log_->last_seq() &&
          engine_->applied_seq() == log_->last_seq() && engine_->outbox_pending() == 0) {
        return;
      }
    }
    FAIL() << "pipeline and engine did not settle";
  }

  std::string SourceId(std::string_view touchpoint) {
    auto existing = sources_->Find(std::string("src-") + std::string(touchpoint));
    if (existing.ok()) return existing->id;
    auto created = sources_->Create(std::string("src-") + std::string(touchpoint), touchpoint, 0);
    EXPECT_TRUE(created.ok());
    return created.ok() ? created->source.id : "";
  }

  Definition MakeAudience(std::string name, std::string_view text) {
    auto c = ParseCondition(text);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    auto d = catalog_->Create(DefinitionKind::kAudience, {std::move(name), {}, *c, {}},
                              clock_.NowMs());
    EXPECT_TRUE(d.ok()) << d.status().ToString();
    return d.ok() ? *d : Definition{};
  }
  Definition MakeComputed(std::string name, std::string_view text) {
    auto a = ParseAggregate(text);
    EXPECT_TRUE(a.ok()) << a.status().ToString();
    auto d = catalog_->Create(DefinitionKind::kComputedTrait, {std::move(name), {}, {}, *a},
                              clock_.NowMs());
    EXPECT_TRUE(d.ok()) << d.status().ToString();
    return d.ok() ? *d : Definition{};
  }

  std::string ProfileOf(const Identifier& id) {
    auto r = identity::IdentityGraph::Lookup(&store_, id);
    return r.ok() ? *r : "";
  }
  std::set<std::string> Members(const std::string& def_id) {
    std::set<std::string> out;
    auto page = state::ReadMembers(&store_, def_id, false, 0, "");
    EXPECT_TRUE(page.ok());
    for (const auto& [id, entered] : page->members) out.insert(id);
    return out;
  }
  std::optional<nlohmann::json> Value(const std::string& tessera_id, const std::string& def_id) {
    auto values = state::ReadValues(&store_, tessera_id);
    EXPECT_TRUE(values.ok());
    for (const auto& [id, v] : *values) {
      if (id == def_id) return v;
    }
    return std::nullopt;
  }
  // Tessera's own events on every timeline (the audiences' entries and exits), oldest first.
  std::vector<Event> OwnEventsOnTimelines() {
    std::vector<Event> out;
    auto it = store_.NewIterator(storage::Space::kTimeline);
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      auto v = profile::DecodeTimelineValue(it->value());
      EXPECT_TRUE(v.has_value());
      if (!v || !v->system) continue;
      // Stored, or (appended by an engine of an earlier version) in the log.
      auto e = profile::TimelineEvent(&store_, log_.get(), profile::TimelineKeySeq(it->key()),
                                      it->value());
      EXPECT_TRUE(e.ok());
      if (e.ok()) out.push_back(std::move(*e));
    }
    std::sort(out.begin(), out.end(), [](const Event& a, const Event& b) {
      return a.timestamp != b.timestamp ? a.timestamp < b.timestamp : a.seq < b.seq;
    });
    return out;
  }
  // Audience Entered/Exited events on the timelines for a profile and definition, oldest first.
  std::vector<std::string> TransitionsOnTimeline(const std::string& tessera_id,
                                            const std::string& def_id) {
    std::vector<std::string> out;
    for (const Event& e : OwnEventsOnTimelines()) {
      auto j = nlohmann::json::parse(e.json);
      if (j["properties"]["audience_id"] == def_id && j["context"]["tessera_id"] == tessera_id) {
        out.push_back(e.event);
      }
    }
    return out;
  }

  TestClock& clock() { return clock_; }
  storage::MemoryStore& store() { return store_; }
  Catalog& catalog() { return *catalog_; }
  Engine& engine() { return *engine_; }
  eventlog::EventLog& log() { return *log_; }
  pipeline::Processor& processor() { return *processor_; }
  const identity::IdentityConfig& identity() const { return identity_; }

 private:
  void SetOptions(EngineOptions options) {
    options_ = options;
    options_.clock = &clock_;
    // A step of two profiles or more is spread over the evaluating threads, as a large one is.
    options_.parallel_min = std::min<size_t>(options_.parallel_min, 2);
  }

  TestClock clock_;
  EngineOptions options_;
  identity::IdentityConfig identity_;
  storage::MemoryStore store_;
  std::unique_ptr<eventlog::EventLog> log_;
  std::unique_ptr<pipeline::Processor> processor_;
  std::unique_ptr<sources::SourceRegistry> sources_;
  std::unique_ptr<Catalog> catalog_;
  std::unique_ptr<Engine> engine_;
};

inline Event Track(std::string user, std::string name, TimeMs at, std::string source,
                   nlohmann::json properties = nlohmann::json::object()) {
  static std::atomic<uint64_t> next{1};
  Event e;
  e.type = MessageType::kTrack;
  e.message_id = "t" + std::to_string(next++);
  e.user_id = user;
  e.event = std::move(name);
  e.source_id = std::move(source);
  e.timestamp = e.received_at = at;
  e.identifiers = {{"user_id", std::move(user)}};
  e.json = nlohmann::json{{"type", "track"}, {"event", e.event}, {"properties", properties}}.dump();
  return e;
}

inline Event Identify(std::string user, nlohmann::json traits, TimeMs at, std::string source,
                      std::vector<Identifier> more = {}) {
  static std::atomic<uint64_t> next{1};
  Event e;
  e.type = MessageType::kIdentify;
  e.message_id = "i" + std::to_string(next++);
  e.user_id = user;
  e.source_id = std::move(source);
  e.timestamp = e.received_at = at;
  e.identifiers = {{"user_id", std::move(user)}};
  for (auto& id : more) e.identifiers.push_back(std::move(id));
  e.traits_json = traits.dump();
  e.json = nlohmann::json{{"type", "identify"}, {"traits", traits}}.dump();
  return e;
}

}  // namespace tessera::audience::testutil
