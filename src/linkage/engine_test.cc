// The linkage engine over a whole node without HTTP (memory store, event log, pipeline):
// training with inferred settings, the backfill, live incremental linking, the review queue,
// unlinking, the chaining guard, restarts and a power cut.
#include "linkage/engine.h"

#include <gtest/gtest.h>

#include <future>
#include <random>

#include "storage/memory_store.h"

namespace tessera::linkage {
namespace {

using nlohmann::json;

class TestClock final : public Clock {
 public:
  TimeMs NowMs() const override { return 1767225600000; }
};

struct Person {
  std::string first, last, dob, city, postcode;
};

std::string Typo(std::string s, std::mt19937_64* rng) {
  if (s.size() < 3) return s;
  size_t i = 1 + (*rng)() % (s.size() - 2);
  std::swap(s[i], s[i + 1]);
  return s;
}

class Node {
 public:
  Node() { Open(); }
  ~Node() { Close(); }

  void Open() {
    log_ = std::make_unique<eventlog::EventLog>(&store_, eventlog::LogOptions{});
    ASSERT_TRUE(log_->Open().ok());
    processor_ = std::make_unique<pipeline::Processor>(&store_, log_.get(), identity_);
    engine_ = std::make_unique<Engine>(&store_, log_.get(), processor_.get(), identity_,
                                       EngineOptions{.clock = &clock_,
                                                     .backfill_slice = 7,
                                                     .auto_train_check = {}});
  }
  void Close() {
    engine_.reset();
    processor_.reset();
    if (log_) log_->Close();
    log_.reset();
  }
  void Restart() {
    Close();
    Open();
  }
  void CrashAndRestart() {
    Close();
    store_.TEST_SimulateCrash();
    Open();
  }

  void Identify(const std::string& source, const std::string& user_id, const Person& p) {
    Event e;
    e.type = MessageType::kIdentify;
    e.source_id = source;
    e.message_id = source + "-" + user_id + "-" + std::to_string(++messages_);
    e.user_id = user_id;
    e.timestamp = e.received_at = 1767225600000 + messages_;
    e.identifiers = {{"user_id", user_id}};
    json traits = json::object();
    if (!p.first.empty()) traits["first_name"] = p.first;
    if (!p.last.empty()) traits["last_name"] = p.last;
    if (!p.dob.empty()) traits["birthday"] = p.dob;
    if (!p.city.empty()) traits["city"] = p.city;
    if (!p.postcode.empty()) traits["postcode"] = p.postcode;
    traits["plan"] = "free";
    e.traits_json = traits.dump();
    e.json = json{{"type", "identify"}, {"userId", user_id}, {"traits", traits}}.dump();
    std::promise<void> done;
    ASSERT_TRUE(log_->Append({e}, [&](Result<eventlog::AppendResult> r) {
                      EXPECT_TRUE(r.ok()) << r.status().ToString();
                      done.set_value();
                    }).ok());
    done.get_future().wait();
  }

  void Settle() {
    ASSERT_TRUE(processor_->CatchUp().ok());
    Status s = engine_->RunUntilIdle();
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  // Runs a command to completion on this thread.
  Result<json> Run(std::function<void(Engine::Done)> submit) {
    std::optional<Result<json>> answer;
    submit([&](Result<json> r) { answer.emplace(std::move(r)); });
    Status s = engine_->RunUntilIdle();
    EXPECT_TRUE(s.ok()) << s.ToString();
    EXPECT_TRUE(answer.has_value());
    if (!answer) return Status::Internal("no answer");
    return std::move(*answer);
  }

  std::string Id(const std::string& user_id) {
    auto r = identity::IdentityGraph::Lookup(&store_, {"user_id", user_id});
    EXPECT_TRUE(r.ok()) << user_id;
    return r.ok() ? *r : "";
  }
  // The live profiles linked with user_id's profile (itself included).
  std::vector<std::string> Entity(const std::string& user_id) {
    auto node = identity::IdentityGraph::LoadLive(&store_, Id(user_id));
    EXPECT_TRUE(node.ok());
    auto e = identity::LoadEntity(&store_, *node);
    EXPECT_TRUE(e.ok());
    std::vector<std::string> out;
    for (const auto& n : e->members) out.push_back(n.tessera_id);
    return out;
  }
  bool Linked(const std::string& x, const std::string& y) {
    std::vector<std::string> e = Entity(x);
    return std::find(e.begin(), e.end(), Id(y)) != e.end();
  }

  storage::MemoryStore store_;
  identity::IdentityConfig identity_;
  TestClock clock_;
  std::unique_ptr<eventlog::EventLog> log_;
  std::unique_ptr<pipeline::Processor> processor_;
  std::unique_ptr<Engine> engine_;
  uint64_t messages_ = 0;
};

// A population: n people in the shop; the first `dups` also in the CRM with a typo or two.
std::vector<Person> Population(int n) {
  static const char* kFirst[] = {"oliver", "amelia", "harry", "isla", "jack", "ava", "george",
                                 "mia", "noah", "emily", "leo", "grace", "arthur", "freya",
                                 "oscar", "lily", "theo", "ella", "finley", "poppy"};
  static const char* kLast[] = {"smith", "jones", "taylor", "brown", "williams", "wilson",
                                "johnson", "davies", "robinson", "wright", "thompson", "evans",
                                "walker", "white", "roberts", "green", "hall", "wood",
                                "jackson", "clarke", "featherstone", "okonkwo", "nakamura"};
  static const char* kCity[] = {"leeds", "york", "bath", "derby", "hull", "ely", "wells"};
  std::mt19937_64 rng(42);
  std::vector<Person> people;
  for (int i = 0; i < n; ++i) {
    char dob[16];
    std::snprintf(dob, sizeof dob, "19%02d-%02d-%02d", static_cast<int>(40 + rng() % 60),
                  static_cast<int>(1 + rng() % 12), static_cast<int>(1 + rng() % 28));
    char postcode[16];
    std::snprintf(postcode, sizeof postcode, "LS%d %dAB", static_cast<int>(rng() % 30),
                  static_cast<int>(rng() % 10));
    people.push_back({kFirst[rng() % 20], kLast[rng() % 23], dob, kCity[rng() % 7], postcode});
  }
  return people;
}

TEST(LinkageEngineTest, TrainsLinksReviewsAndUnlinks) {
  Node node;
  std::vector<Person> people = Population(300);
  std::mt19937_64 rng(7);
  for (int i = 0; i < 300; ++i) node.Identify("shop", "s" + std::to_string(i), people[i]);
  for (int i = 0; i < 60; ++i) {
    Person p = people[i];
    p.last = Typo(p.last, &rng);
    if (i % 3 == 0) p.city.clear();
    node.Identify("crm", "c" + std::to_string(i), p);
  }
  node.Settle();
  // Nothing is linked before a model exists.
  auto status = node.engine_->GetStatus();
  ASSERT_TRUE(status.ok());
  EXPECT_EQ((*status)["state"], "inactive");
  EXPECT_EQ(node.Entity("s0").size(), 1u);
  // Settings are inferred from the trait names until stored.
  auto settings = node.engine_->GetSettings();
  ASSERT_TRUE(settings.ok());
  EXPECT_EQ((*settings)["stored"], false);
  EXPECT_EQ((*settings)["ignored_traits"], json::array({"plan"}));

  auto trained = node.Run([&](Engine::Done d) { node.engine_->Train(std::move(d)); });
  ASSERT_TRUE(trained.ok()) << trained.status().ToString();
  EXPECT_EQ((*trained)["generation"], 1);
  EXPECT_EQ((*trained)["profiles"], 360);
  EXPECT_EQ((*trained)["settings_inferred"], true);
  node.Settle();
  status = node.engine_->GetStatus();
  EXPECT_EQ((*status)["state"], "ready") << status->dump();
  EXPECT_EQ((*node.engine_->GetSettings())["stored"], true);

  int linked = 0;
  for (int i = 0; i < 60; ++i) {
    linked += node.Linked("c" + std::to_string(i), "s" + std::to_string(i));
  }
  EXPECT_GE(linked, 55) << "true pairs linked";
  // Few false links: an entity of more than two is a mistake in this population.
  int oversized = 0;
  for (int i = 0; i < 300; ++i) oversized += node.Entity("s" + std::to_string(i)).size() > 2;
  EXPECT_LE(oversized, 3);

  // Live: a new CRM record of shop customer 100 links as it arrives.
  ASSERT_FALSE(node.Linked("s100", "s101"));
  node.Identify("crm", "c100", people[100]);
  node.Settle();
  EXPECT_TRUE(node.Linked("c100", "s100"));

  // Unlink: both sides come back; the pair is never linked again automatically.
  std::string a = node.Id("c100"), b = node.Id("s100");
  auto unlinked = node.Run([&](Engine::Done d) { node.engine_->Unlink(a, b, std::move(d)); });
  ASSERT_TRUE(unlinked.ok()) << unlinked.status().ToString();
  EXPECT_FALSE(node.Linked("c100", "s100"));
  EXPECT_EQ(node.Entity("c100").size(), 1u);
  Person changed = people[100];
  changed.city = "bath";  // a change re-scores the profile
  node.Identify("crm", "c100", changed);
  node.Settle();
  EXPECT_FALSE(node.Linked("c100", "s100"));
  auto again = node.Run([&](Engine::Done d) { node.engine_->Unlink(a, b, std::move(d)); });
  EXPECT_EQ(again.status().code(), StatusCode::kNotFound);

  // Review band: a near match (same name and postcode, no city, a typo in the birthday).
  Person near = people[200];
  near.city.clear();
  near.dob[9] = near.dob[9] == '1' ? '2' : '1';
  node.Identify("crm", "c200", near);
  node.Settle();
  auto reviews = node.engine_->ListReviews(100, "");
  ASSERT_TRUE(reviews.ok()) << reviews.status().ToString();
  std::string review_id;
  for (const auto& r : (*reviews)["reviews"]) {
    std::set<std::string> ids;
    for (const auto& p : r["profiles"]) ids.insert(p["tessera_id"].get<std::string>());
    if (ids.count(node.Id("c200")) && ids.count(node.Id("s200"))) review_id = r["id"];
    EXPECT_FALSE(r["explanation"]["comparisons"].empty());
    EXPECT_GE(r["probability"].get<double>(), 0.1);
  }
  ASSERT_FALSE(review_id.empty()) << "the near match is not in review: " << reviews->dump();
  // Paging.
  auto first = node.engine_->ListReviews(1, "");
  ASSERT_TRUE(first.ok());
  EXPECT_EQ((*first)["reviews"].size(), 1u);
  // Accept links the pair; the decision is remembered.
  auto accepted =
      node.Run([&](Engine::Done d) { node.engine_->Decide(review_id, true, std::move(d)); });
  ASSERT_TRUE(accepted.ok()) << accepted.status().ToString();
  EXPECT_EQ((*accepted)["linked"], true);
  EXPECT_TRUE(node.Linked("c200", "s200"));
  auto twice =
      node.Run([&](Engine::Done d) { node.engine_->Decide(review_id, true, std::move(d)); });
  EXPECT_EQ(twice.status().code(), StatusCode::kNotFound);

  // Retraining uses the decisions as labels; links and decisions survive it and a restart.
  auto retrained = node.Run([&](Engine::Done d) { node.engine_->Train(std::move(d)); });
  ASSERT_TRUE(retrained.ok());
  EXPECT_EQ((*retrained)["generation"], 2);
  EXPECT_GE((*retrained)["labels"].get<int>(), 2);
  node.Settle();
  node.Restart();
  node.Settle();
  EXPECT_TRUE(node.Linked("c200", "s200"));
  EXPECT_FALSE(node.Linked("c100", "s100"));
  EXPECT_TRUE(node.Linked("c5", "s5") || node.Linked("c6", "s6"));
  EXPECT_EQ((*node.engine_->GetStatus())["state"], "ready");
}

TEST(LinkageEngineTest, ChainingGuardAndRejections) {
  Node node;
  std::vector<Person> people = Population(200);
  for (int i = 0; i < 200; ++i) node.Identify("shop", "s" + std::to_string(i), people[i]);
  // Two near copies of s0 in the CRM, and a third record that matches the first copy on
  // name and postcode but clearly differs from s0.
  Person p = people[0];
  node.Identify("crm", "c0", p);
  node.Settle();
  auto trained = node.Run([&](Engine::Done d) { node.engine_->Train(std::move(d)); });
  ASSERT_TRUE(trained.ok()) << trained.status().ToString();
  node.Settle();
  ASSERT_TRUE(node.Linked("c0", "s0"));
  // Reject through a review-free path: unlink, then a fresh record equal to both.
  auto unlinked = node.Run([&](Engine::Done d) {
    node.engine_->Unlink(node.Id("c0"), node.Id("s0"), std::move(d));
  });
  ASSERT_TRUE(unlinked.ok());
  node.Identify("web", "w0", p);
  node.Settle();
  // w0 matches both, but c0 and s0 were rejected as a pair: w0 joins one of them only.
  bool with_c = node.Linked("w0", "c0"), with_s = node.Linked("w0", "s0");
  EXPECT_TRUE(with_c || with_s);
  EXPECT_FALSE(with_c && with_s);
  EXPECT_FALSE(node.Linked("c0", "s0"));
  auto reviews = node.engine_->ListReviews(100, "");
  ASSERT_TRUE(reviews.ok());
  bool guarded = false;
  for (const auto& r : (*reviews)["reviews"]) {
    guarded |= r["reason"].get<std::string>().starts_with("chaining guard");
  }
  EXPECT_TRUE(guarded) << reviews->dump();
}

TEST(LinkageEngineTest, AcknowledgedDecisionsSurviveAPowerCut) {
  Node node;
  std::vector<Person> people = Population(150);
  for (int i = 0; i < 150; ++i) node.Identify("shop", "s" + std::to_string(i), people[i]);
  node.Identify("crm", "c1", people[1]);
  node.Settle();
  auto bad = node.Run(
      [&](Engine::Done d) { node.engine_->PutSettings(R"({"threshold": 5})", std::move(d)); });
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE(node.Run([&](Engine::Done d) { node.engine_->Train(std::move(d)); }).ok());
  node.Settle();
  ASSERT_TRUE(node.Linked("c1", "s1"));
  ASSERT_TRUE(node.Run([&](Engine::Done d) {
                    node.engine_->Unlink(node.Id("c1"), node.Id("s1"), std::move(d));
                  }).ok());
  node.CrashAndRestart();
  node.Settle();
  // The model, the settings and the unlink were synced; the index is rebuilt as needed.
  EXPECT_FALSE(node.Linked("c1", "s1"));
  auto model = node.engine_->GetModel();
  ASSERT_TRUE(model.ok());
  EXPECT_EQ((*model)["generation"], 1);
  // New settings stop scoring until the model is retrained for them.
  auto settings = *node.engine_->GetSettings();
  settings["threshold"] = 0.9;
  auto put = node.Run(
      [&](Engine::Done d) { node.engine_->PutSettings(settings.dump(), std::move(d)); });
  ASSERT_TRUE(put.ok()) << put.status().ToString();
  EXPECT_EQ((*put)["version"], 2);
  EXPECT_EQ((*node.engine_->GetStatus())["state"], "inactive");
  ASSERT_TRUE(node.Run([&](Engine::Done d) { node.engine_->Train(std::move(d)); }).ok());
  node.Settle();
  EXPECT_EQ((*node.engine_->GetStatus())["state"], "ready");
  EXPECT_FALSE(node.Linked("c1", "s1"));
}

// The model's links follow the data: a linked record that changes so that it no longer matches
// is separated again (recorded, into review when inside the band); a link a person accepted
// stays; after a retraining every link the model made is scored again.
TEST(LinkageEngineTest, WithdrawsModelLinksWhoseScoreFalls) {
  Node node;
  std::vector<Person> people = Population(200);
  for (int i = 0; i < 200; ++i) node.Identify("shop", "s" + std::to_string(i), people[i]);
  for (int i = 0; i < 6; ++i) node.Identify("crm", "c" + std::to_string(i), people[i]);
  node.Settle();
  // A wide review band, so that a pair that no longer quite matches waits for a person.
  auto settings = *node.engine_->GetSettings();
  settings["review_low"] = 0.0001;
  ASSERT_TRUE(node.Run([&](Engine::Done d) {
                    node.engine_->PutSettings(settings.dump(), std::move(d));
                  }).ok());
  ASSERT_TRUE(node.Run([&](Engine::Done d) { node.engine_->Train(std::move(d)); }).ok());
  node.Settle();
  for (int i = 0; i < 6; ++i) {
    ASSERT_TRUE(node.Linked("c" + std::to_string(i), "s" + std::to_string(i))) << i;
  }
  auto status = node.engine_->GetStatus();
  ASSERT_TRUE(status.ok());
  EXPECT_EQ((*status)["links_withdrawn"]["total"], 0);
  EXPECT_EQ((*status)["backfill"]["links_rescored"]["done"], true) << status->dump();

  // c1 becomes someone else entirely: the link to s1 goes, and says why.
  node.Identify("crm", "c1", people[150]);
  node.Settle();
  EXPECT_FALSE(node.Linked("c1", "s1"));
  EXPECT_EQ(node.Entity("s1").size(), 1u);
  status = node.engine_->GetStatus();
  EXPECT_EQ((*status)["links_withdrawn"]["total"], 1) << status->dump();
  EXPECT_EQ((*status)["since_start"]["links_withdrawn"], 1);
  const json w = (*status)["links_withdrawn"]["recent"][0];
  EXPECT_EQ(w["cause"], "profile changed");
  EXPECT_TRUE(w["reason"].get<std::string>().starts_with("link withdrawn")) << w.dump();
  EXPECT_GE(w["probability_before"].get<double>(), 0.5);
  EXPECT_LT(w["probability"].get<double>(), 0.0001);
  EXPECT_TRUE(w["review_id"].is_null()) << "clearly different: no review";
  std::set<std::string> pair = {node.Id("c1"), node.Id("s1")};
  EXPECT_EQ(std::set<std::string>(w["profiles"].begin(), w["profiles"].end()), pair);
  EXPECT_FALSE(w["explanation"]["comparisons"].empty());

  // c2 keeps name, postcode and city but another birthday: the link goes, and the pair, inside
  // the review band, waits for a person with the same reason.
  Person moved = people[2];
  moved.dob = "1901-01-01";
  node.Identify("crm", "c2", moved);
  node.Settle();
  EXPECT_FALSE(node.Linked("c2", "s2"));
  status = node.engine_->GetStatus();
  EXPECT_EQ((*status)["links_withdrawn"]["total"], 2);
  const json w2 = (*status)["links_withdrawn"]["recent"][0];
  ASSERT_TRUE(w2["review_id"].is_string()) << w2.dump();
  auto reviews = node.engine_->ListReviews(100, "");
  ASSERT_TRUE(reviews.ok());
  bool queued = false;
  for (const auto& r : (*reviews)["reviews"]) {
    if (r["id"] != w2["review_id"]) continue;
    queued = true;
    EXPECT_TRUE(r["reason"].get<std::string>().starts_with("link withdrawn")) << r.dump();
    EXPECT_EQ(r["probability"], w2["probability"]);
  }
  ASSERT_TRUE(queued) << reviews->dump();

  // A person accepts it: that link stays whatever the data says later.
  std::string review_id = w2["review_id"];
  ASSERT_TRUE(
      node.Run([&](Engine::Done d) { node.engine_->Decide(review_id, true, std::move(d)); }).ok());
  EXPECT_TRUE(node.Linked("c2", "s2"));
  node.Identify("crm", "c2", people[160]);
  node.Settle();
  EXPECT_TRUE(node.Linked("c2", "s2"));
  EXPECT_EQ((*node.engine_->GetStatus())["links_withdrawn"]["total"], 2);

  // A change the engine did not score (no current model after new settings) is caught when
  // the retrained model scores every link again.
  settings = *node.engine_->GetSettings();
  settings["max_candidates"] = 50;
  ASSERT_TRUE(node.Run([&](Engine::Done d) {
                    node.engine_->PutSettings(settings.dump(), std::move(d));
                  }).ok());
  node.Identify("crm", "c4", people[170]);
  node.Settle();
  EXPECT_TRUE(node.Linked("c4", "s4")) << "not re-scored without a model";
  ASSERT_TRUE(node.Run([&](Engine::Done d) { node.engine_->Train(std::move(d)); }).ok());
  node.Settle();
  EXPECT_FALSE(node.Linked("c4", "s4"));
  EXPECT_TRUE(node.Linked("c3", "s3"));
  EXPECT_TRUE(node.Linked("c2", "s2"));
  status = node.engine_->GetStatus();
  EXPECT_EQ((*status)["state"], "ready");
  EXPECT_EQ((*status)["links_withdrawn"]["recent"][0]["cause"], "model retrained");
  EXPECT_EQ((*status)["backfill"]["links_rescored"]["withdrawn"], 1) << status->dump();
  EXPECT_GE((*status)["backfill"]["links_rescored"]["checked"].get<int>(), 8);
  // Withdrawals are kept across restarts.
  node.Restart();
  node.Settle();
  EXPECT_EQ((*node.engine_->GetStatus())["links_withdrawn"]["total"], 3);
  EXPECT_FALSE(node.Linked("c1", "s1"));
}

// The worker trains on its own: first once enough profiles exist, then each time they have grown
// by the configured factor; why it trained is kept with the model; disabled, it waits for a person.
TEST(LinkageEngineTest, TrainsOnItsOwnAsProfilesGrow) {
  Node node;
  std::vector<Person> people = Population(400);
  for (int i = 0; i < 150; ++i) node.Identify("shop", "s" + std::to_string(i), people[i]);
  for (int i = 0; i < 20; ++i) node.Identify("crm", "c" + std::to_string(i), people[i]);
  node.Settle();
  // Below the default minimum (1,000 profiles): nothing yet.
  auto status = *node.engine_->GetStatus();
  EXPECT_EQ(status["state"], "inactive");
  EXPECT_EQ(status["auto_train"]["enabled"], true);
  EXPECT_EQ(status["auto_train"]["min_profiles"], 1000);
  EXPECT_EQ(status["auto_train"]["profiles_counted"], 170) << status.dump();
  EXPECT_EQ(status["auto_train"]["next_at_profiles"], 1000);
  EXPECT_TRUE(status["trainings"].empty());

  // A lower minimum (stored with the inferred settings): the first training happens by itself.
  auto settings = *node.engine_->GetSettings();
  settings["auto_train"] = {{"min_profiles", 100}, {"growth", 1.5}};
  ASSERT_TRUE(node.Run([&](Engine::Done d) {
                    node.engine_->PutSettings(settings.dump(), std::move(d));
                  }).ok());
  node.Settle();
  status = *node.engine_->GetStatus();
  EXPECT_EQ(status["state"], "ready") << status.dump();
  EXPECT_EQ(status["model"]["generation"], 1);
  EXPECT_EQ(status["model"]["trigger"], "auto");
  EXPECT_EQ(status["model"]["reason"], "first training: 170 profiles (min_profiles 100)");
  EXPECT_EQ(status["model"]["population"], 170);
  EXPECT_EQ(status["auto_train"]["training"], false);
  EXPECT_EQ(status["auto_train"]["next_at_profiles"], 255);
  EXPECT_TRUE(node.Linked("c1", "s1"));

  // Grown by less than the factor: no new training.
  for (int i = 150; i < 230; ++i) node.Identify("shop", "s" + std::to_string(i), people[i]);
  node.Settle();
  EXPECT_EQ((*node.engine_->GetStatus())["model"]["generation"], 1);
  // By the factor: the second.
  for (int i = 230; i < 300; ++i) node.Identify("shop", "s" + std::to_string(i), people[i]);
  node.Identify("crm", "c260", people[260]);
  node.Settle();
  status = *node.engine_->GetStatus();
  EXPECT_EQ(status["model"]["generation"], 2) << status.dump();
  EXPECT_EQ(status["model"]["reason"], "profiles grew from 170 to 321 (growth 1.5)");
  EXPECT_EQ(status["state"], "ready");
  EXPECT_TRUE(node.Linked("c260", "s260"));

  // A manual training is recorded as such; the history lists every training, newest first.
  ASSERT_TRUE(node.Run([&](Engine::Done d) { node.engine_->Train(std::move(d)); }).ok());
  status = *node.engine_->GetStatus();
  ASSERT_EQ(status["trainings"].size(), 3u);
  EXPECT_EQ(status["trainings"][0]["trigger"], "manual");
  EXPECT_EQ(status["trainings"][0]["reason"], "requested");
  EXPECT_EQ(status["trainings"][1]["trigger"], "auto");
  EXPECT_EQ(status["trainings"][2]["generation"], 1);
  auto model = *node.engine_->GetModel();
  EXPECT_EQ(model["trigger"], "manual");

  // Disabled: new settings leave the model stale until someone trains.
  settings = *node.engine_->GetSettings();
  settings["auto_train"]["enabled"] = false;
  ASSERT_TRUE(node.Run([&](Engine::Done d) {
                    node.engine_->PutSettings(settings.dump(), std::move(d));
                  }).ok());
  for (int i = 300; i < 400; ++i) node.Identify("shop", "s" + std::to_string(i), people[i]);
  node.Settle();
  status = *node.engine_->GetStatus();
  EXPECT_EQ(status["state"], "inactive");
  EXPECT_EQ(status["model"]["generation"], 3);
  EXPECT_EQ(status["auto_train"]["enabled"], false);
  // The history survives a restart with the model.
  node.Restart();
  node.Settle();
  EXPECT_EQ((*node.engine_->GetStatus())["trainings"].size(), 3u);
}

// The same with the worker thread running: the trainer thread works beside it while the API
// reads (ThreadSanitizer checks the hand-over).
TEST(LinkageEngineTest, TrainsOnItsOwnWhileTheWorkerRuns) {
  Node node;
  std::vector<Person> people = Population(150);
  for (int i = 0; i < 130; ++i) node.Identify("shop", "s" + std::to_string(i), people[i]);
  for (int i = 0; i < 10; ++i) node.Identify("crm", "c" + std::to_string(i), people[i]);
  node.Settle();
  auto settings = *node.engine_->GetSettings();
  settings["auto_train"] = {{"min_profiles", 100}};
  ASSERT_TRUE(node.Run([&](Engine::Done d) {
                    node.engine_->PutSettings(settings.dump(), std::move(d));
                  }).ok());
  ASSERT_TRUE(node.engine_->Start().ok());
  json status;
  for (int i = 0; i < 3000; ++i) {
    auto s = node.engine_->GetStatus();
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    status = *s;
    if (status["state"] == "ready") break;
    EXPECT_TRUE(node.engine_->ListReviews(10, "").ok());
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(status["state"], "ready") << status.dump();
  EXPECT_EQ(status["model"]["trigger"], "auto");
  // A live profile while the worker runs.
  node.Identify("crm", "c20", people[20]);
  ASSERT_TRUE(node.processor_->CatchUp().ok());
  for (int i = 0; i < 3000 && !node.Linked("c20", "s20"); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(node.Linked("c20", "s20"));
  node.engine_->Stop();
}

}  // namespace
}  // namespace tessera::linkage
