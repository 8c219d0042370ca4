// The audience engine end to end (without HTTP): live entries and exits, timers, backfill,
// versions, deletion, computed traits, merges, and restarts in the middle of an expiry.
#include "audience/engine.h"

#include <gtest/gtest.h>

#include "audience/engine_testutil.h"
#include "profile/profile.h"

namespace tessera::audience {
namespace {

using testutil::EngineHarness;
using testutil::Identify;
using testutil::kDay;
using testutil::kHour;
using testutil::kMinute;
using testutil::Track;

TEST(ProfileEventCacheTest, EvictsTheLeastRecentlyUsedBeyondItsBudget) {
  ProfileEventCache cache(300);
  auto entry = [](size_t bytes) { return ProfileEventCache::Entry{{"x"}, {}, 0, bytes}; };
  cache.Insert("a", entry(99));  // + 1 for the id
  cache.Insert("b", entry(99));
  cache.Insert("c", entry(99));
  ASSERT_NE(cache.Find("a"), nullptr);  // a is now the most recently used
  cache.Insert("d", entry(99));         // evicts b
  EXPECT_EQ(cache.Find("b"), nullptr);
  EXPECT_NE(cache.Find("a"), nullptr);
  EXPECT_NE(cache.Find("c"), nullptr);
  EXPECT_NE(cache.Find("d"), nullptr);
  EXPECT_EQ(cache.bytes(), 300u);
  cache.Insert("e", entry(300));  // never kept
  EXPECT_EQ(cache.Find("e"), nullptr);
  EXPECT_EQ(cache.bytes(), 300u);
  cache.Erase("a");
  EXPECT_EQ(cache.bytes(), 200u);
  cache.Clear();
  EXPECT_TRUE(cache.empty());
  EXPECT_EQ(cache.bytes(), 0u);
}

TEST(ProfileEventCacheTest, AddedEventsTakeTheirTimelinePlace) {
  ProfileEventCache cache(1 << 20);
  auto ev = [](TimeMs at) { return EventView{"e", "web", "s", at, {}}; };
  // Fragment 0 is the live profile p; fragment 1 one merged into it.
  ProfileEventCache::Entry entry{{"p", "q"}, {}, 10, 100};
  entry.events = {{9, 0, ev(300)}, {4, 0, ev(100)}, {10, 1, ev(500)}};
  cache.Insert("p", std::move(entry));
  cache.Add("p", 0, 11, ev(200), 10);
  cache.Add("p", 0, 12, ev(300), 10);  // same time as seq 9: the higher seq first
  cache.Add("p", 0, 13, ev(50), 10);
  cache.Add("p", 1, 14, ev(600), 10);  // on the merged profile's timeline
  const ProfileEventCache::Entry* got = cache.Find("p");
  ASSERT_NE(got, nullptr);
  std::vector<uint64_t> seqs;
  for (const auto& e : got->events) seqs.push_back(e.seq);
  EXPECT_EQ(seqs, (std::vector<uint64_t>{12, 9, 11, 4, 13, 14, 10}));
  EXPECT_EQ(got->through, 14u);
  EXPECT_EQ(cache.bytes(), 141u);
  cache.Add("p", 0, 15, ev(1), 1 << 20);  // the entry outgrows the budget: dropped
  EXPECT_EQ(cache.Find("p"), nullptr);
  EXPECT_EQ(cache.bytes(), 0u);
}

TEST(EngineTest, EntersOnAnEventAndLeavesWhenTheWindowExpires) {
  EngineHarness h;
  std::string web = h.SourceId("web");
  Definition buyers =
      h.MakeAudience("buyers", R"(performed "Order Completed" at least 2 times in last 1 hour)");
  TimeMs t0 = h.clock().NowMs();
  h.Append({Track("u1", "Order Completed", t0, web)});
  h.Settle();
  std::string u1 = h.ProfileOf({"user_id", "u1"});
  EXPECT_TRUE(h.Members(buyers.id).empty());

  h.clock().Advance(10 * kMinute);
  h.Append({Track("u1", "Order Completed", t0 + 10 * kMinute, web),
            Track("u2", "Order Completed", t0 + 10 * kMinute, web)});
  h.Settle();
  EXPECT_EQ(h.Members(buyers.id), std::set<std::string>{u1});
  EXPECT_EQ(h.TransitionsOnTimeline(u1, buyers.id), std::vector<std::string>{"Audience Entered"});

  // The first order leaves the window at t0 + 1h: the timer takes u1 out with no new event.
  h.clock().Set(t0 + kHour - 1);
  h.Settle();
  EXPECT_EQ(h.Members(buyers.id).size(), 1u);
  h.clock().Set(t0 + kHour);
  h.Settle();
  EXPECT_TRUE(h.Members(buyers.id).empty());
  EXPECT_EQ(h.TransitionsOnTimeline(u1, buyers.id),
            (std::vector<std::string>{"Audience Entered", "Audience Exited"}));
  EXPECT_GE(h.engine().timers_fired(), 1u);

  // History on the profile, and the events reached its timeline.
  auto history = state::ReadHistory(&h.store(), u1);
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 2u);
  EXPECT_EQ((*history)[0]["event"], "entered");
  EXPECT_EQ((*history)[0]["reason"], "event");
  EXPECT_EQ((*history)[1]["event"], "exited");
  EXPECT_EQ((*history)[1]["reason"], "time");
  auto node = identity::IdentityGraph::LoadLive(&h.store(), u1);
  auto timeline = profile::ReadTimeline(&h.store(), node->fragments, 10, "");
  ASSERT_TRUE(timeline.ok());
  EXPECT_EQ(timeline->seqs.size(), 4u);  // two orders, entered, exited
}

TEST(EngineTest, BackfillsNewAndChangedDefinitionsAndTearsDownDeletedOnes) {
  EngineHarness h;
  std::string crm = h.SourceId("crm");
  TimeMs now = h.clock().NowMs();
  std::vector<Event> events;
  for (int i = 0; i < 30; ++i) {
    events.push_back(Identify("u" + std::to_string(i),
                              {{"plan", i % 3 == 0 ? "pro" : "free"}, {"score", i}}, now, crm));
  }
  h.Append(std::move(events));
  h.Settle();

  Definition pro = h.MakeAudience("pro", R"(trait plan = "pro")");
  h.Settle();
  EXPECT_EQ(h.Members(pro.id).size(), 10u);
  auto st = state::ReadDefinitionState(&h.store(), pro.id);
  ASSERT_TRUE(st.ok() && st->has_value());
  EXPECT_FALSE((*st)->backfilling);
  EXPECT_EQ((*st)->backfilled, 30u);
  EXPECT_EQ((*st)->size, 10u);

  // A new version: membership is recomputed; those still in stay in (no second entry).
  auto changed = h.catalog().Update(pro.id, {{}, {}, *ParseCondition("trait score >= 15"), {}},
                                    h.clock().NowMs());
  ASSERT_TRUE(changed.ok());
  EXPECT_EQ(changed->version, 2u);
  h.Settle();
  EXPECT_EQ(h.Members(pro.id).size(), 15u);
  std::string u15 = h.ProfileOf({"user_id", "u15"});
  EXPECT_EQ(h.TransitionsOnTimeline(u15, pro.id), std::vector<std::string>{"Audience Entered"});
  std::string u3 = h.ProfileOf({"user_id", "u3"});
  EXPECT_EQ(h.TransitionsOnTimeline(u3, pro.id),
            (std::vector<std::string>{"Audience Entered", "Audience Exited"}));

  ASSERT_TRUE(h.catalog().Delete(pro.id).ok());
  h.Settle();
  EXPECT_TRUE(h.Members(pro.id).empty());
  std::string u18 = h.ProfileOf({"user_id", "u18"});
  EXPECT_EQ(h.TransitionsOnTimeline(u18, pro.id),
            (std::vector<std::string>{"Audience Entered", "Audience Exited"}));
  st = state::ReadDefinitionState(&h.store(), pro.id);
  ASSERT_TRUE(st.ok());
  EXPECT_FALSE(st->has_value());
}

TEST(EngineTest, ComputedTraitsAreKeptCurrentAndUsableInAudiences) {
  EngineHarness h;
  std::string store = h.SourceId("store");
  Definition spend = h.MakeComputed(
      "spend_7d", R"(sum of properties.total over "Order Completed" in last 7 days)");
  Definition big = h.MakeAudience("big spenders", "trait spend_7d > 100");
  TimeMs t0 = h.clock().NowMs();
  h.Append({Track("u1", "Order Completed", t0, store, {{"total", 80}})});
  h.Settle();
  std::string u1 = h.ProfileOf({"user_id", "u1"});
  EXPECT_EQ(h.Value(u1, spend.id), nlohmann::json(80.0));
  EXPECT_TRUE(h.Members(big.id).empty());

  h.clock().Advance(kDay);
  h.Append({Track("u1", "Order Completed", t0 + kDay, store, {{"total", 30}})});
  h.Settle();
  EXPECT_EQ(h.Value(u1, spend.id), nlohmann::json(110.0));
  EXPECT_EQ(h.Members(big.id), std::set<std::string>{u1});

  // The first order leaves the 7-day window: the value drops and u1 leaves the audience.
  h.clock().Set(t0 + 7 * kDay);
  h.Settle();
  EXPECT_EQ(h.Value(u1, spend.id), nlohmann::json(30.0));
  EXPECT_TRUE(h.Members(big.id).empty());
}

// A computed trait's name is a trait to its readers: while an audience reads it, deleting or
// renaming it would silently change that audience, so the catalog refuses (409 over HTTP).
// A new aggregate is a new version: its backfill re-evaluates the readers too.
TEST(EngineTest, ComputedTraitsReadByAudiencesStayUntilTheirReadersChange) {
  EngineHarness h;
  std::string store = h.SourceId("store");
  Definition spend = h.MakeComputed("spend", R"(sum of properties.total over "Order Completed")");
  Definition big = h.MakeAudience("big", "trait spend.x missing and trait spend > 100");
  TimeMs t0 = h.clock().NowMs();
  h.Append({Track("u1", "Order Completed", t0, store, {{"total", 150}})});
  h.Settle();
  std::string u1 = h.ProfileOf({"user_id", "u1"});
  EXPECT_EQ(h.Members(big.id), std::set<std::string>{u1});

  EXPECT_EQ(h.catalog().Delete(spend.id).code(), StatusCode::kConflict);
  auto renamed = h.catalog().Update(spend.id, {"spend_all", {}, {}, {}}, t0);
  EXPECT_EQ(renamed.status().code(), StatusCode::kConflict);
  auto changed = h.catalog().Update(
      spend.id, {{}, {}, {}, *ParseAggregate(R"(sum of properties.total over "Refund")")}, t0);
  ASSERT_TRUE(changed.ok()) << changed.status().ToString();
  h.Settle();
  EXPECT_EQ(h.Value(u1, spend.id), nlohmann::json(0.0));
  EXPECT_TRUE(h.Members(big.id).empty());

  // Once no audience reads it, it goes; a computed trait of a name an audience reads may come.
  ASSERT_TRUE(h.catalog().Update(big.id, {{}, {}, *ParseCondition("trait total > 100"), {}}, t0)
                  .ok());
  ASSERT_TRUE(h.catalog().Update(spend.id, {"total", {}, {}, {}}, t0).ok());
  h.Settle();
  EXPECT_TRUE(h.Members(big.id).empty());  // total = 0
  ASSERT_TRUE(h.catalog().Update(
      spend.id, {{}, {}, {}, *ParseAggregate(R"(sum of properties.total over any event)")}, t0)
                  .ok());
  h.Settle();
  EXPECT_EQ(h.Members(big.id), std::set<std::string>{u1});
  EXPECT_EQ(h.catalog().Delete(spend.id).code(), StatusCode::kConflict);
  ASSERT_TRUE(h.catalog().Delete(big.id).ok());
  EXPECT_TRUE(h.catalog().Delete(spend.id).ok());
}

// A `where` that tests a date property against now changes the value as time passes, with no
// window: the engine sets a timer for the instant the value changes, and readers follow.
TEST(EngineTest, ComputedTraitsWithDatesInTheirWhereChangeWithTime) {
  EngineHarness h;
  std::string billing = h.SourceId("billing");
  Definition overdue = h.MakeComputed(
      "overdue", R"(count of "Invoice Sent" where properties.due more than 1 day ago)");
  Definition chase = h.MakeAudience("chase", "trait overdue >= 1");
  TimeMs t0 = h.clock().NowMs();
  h.Append({Track("u1", "Invoice Sent", t0, billing, {{"due", FormatIso8601(t0 + 2 * kDay)}})});
  h.Settle();
  std::string u1 = h.ProfileOf({"user_id", "u1"});
  EXPECT_EQ(h.Value(u1, overdue.id), nlohmann::json(0));
  h.clock().Set(t0 + 3 * kDay - 1);
  h.Settle();
  EXPECT_EQ(h.Value(u1, overdue.id), nlohmann::json(0));
  EXPECT_TRUE(h.Members(chase.id).empty());
  h.clock().Set(t0 + 3 * kDay);
  h.Settle();
  EXPECT_EQ(h.Value(u1, overdue.id), nlohmann::json(1));
  EXPECT_EQ(h.Members(chase.id), std::set<std::string>{u1});
  auto history = state::ReadHistory(&h.store(), u1);
  ASSERT_TRUE(history.ok() && !history->empty());
  EXPECT_EQ(history->back()["reason"], "time");
}

// A sum that overflows has no value: nothing is stored (not JSON null), and readers see none.
TEST(EngineTest, OverflowingSumsHaveNoValue) {
  EngineHarness h;
  std::string web = h.SourceId("web");
  Definition total = h.MakeComputed("total", R"(sum of properties.x over "A")");
  Definition none = h.MakeAudience("none", "trait total missing");
  TimeMs t0 = h.clock().NowMs();
  h.Append({Track("u1", "A", t0, web, {{"x", 1e308}})});
  h.Settle();
  std::string u1 = h.ProfileOf({"user_id", "u1"});
  EXPECT_EQ(h.Value(u1, total.id), nlohmann::json(1e308));
  EXPECT_TRUE(h.Members(none.id).empty());
  h.Append({Track("u1", "A", t0 + 1, web, {{"x", 1e308}})});
  h.Settle();
  EXPECT_EQ(h.Value(u1, total.id), std::nullopt);
  EXPECT_EQ(h.Members(none.id), std::set<std::string>{u1});
  auto st = state::ReadDefinitionState(&h.store(), total.id);
  ASSERT_TRUE(st.ok() && st->has_value());
  EXPECT_EQ((*st)->size, 0u);
}

TEST(EngineTest, AudiencesReadingAudiencesFollowThem) {
  EngineHarness h;
  std::string web = h.SourceId("web");
  Definition pro = h.MakeAudience("pro", R"(trait plan = "pro")");
  Definition active =
      h.MakeAudience("active pro", R"(in audience "pro" and performed "Login" in last 1 day)");
  TimeMs t0 = h.clock().NowMs();
  h.Append({Track("u1", "Login", t0, web)});
  h.Settle();
  EXPECT_TRUE(h.Members(active.id).empty());
  h.Append({Identify("u1", {{"plan", "pro"}}, t0, web)});
  h.Settle();
  std::string u1 = h.ProfileOf({"user_id", "u1"});
  EXPECT_EQ(h.Members(pro.id), std::set<std::string>{u1});
  EXPECT_EQ(h.Members(active.id), std::set<std::string>{u1});
  EXPECT_EQ(h.catalog().Delete(pro.id).code(), StatusCode::kConflict);
  h.Append({Identify("u1", {{"plan", "free"}}, t0 + 1, web)});
  h.Settle();
  EXPECT_TRUE(h.Members(active.id).empty());
}

// Definitions may read Tessera's own Audience Entered / Exited events, which a step writes
// onto the timelines only when it is done. One step applies an order (u1 enters "buyers") and
// fires u1's timer of a computed trait: "told", due by then too, must wait for the next step,
// when the entry is on the timeline, rather than be answered from the view loaded before it.
TEST(EngineTest, ReadersOfTesseraEventsSeeEntriesMadeEarlierInTheStep) {
  EngineHarness h;
  std::string web = h.SourceId("web");
  Definition buyers = h.MakeAudience("buyers", R"(performed "Order Completed")");
  Definition logins = h.MakeComputed("logins_1h", R"(count of "Login" in last 1 hour)");
  Definition told = h.MakeAudience(
      "told", R"(performed "Audience Entered" where properties.audience_name = "buyers")");
  TimeMs t0 = h.clock().NowMs();
  h.Append({Track("u1", "Login", t0, web)});
  h.Settle();
  std::string u1 = h.ProfileOf({"user_id", "u1"});
  EXPECT_EQ(h.Value(u1, logins.id), nlohmann::json(1));

  h.clock().Set(t0 + kHour);  // the login leaves the window: the timer is due
  h.Append({Track("u1", "Order Completed", t0 + kHour, web)});
  h.Settle();
  EXPECT_EQ(h.Value(u1, logins.id), nlohmann::json(0));
  EXPECT_EQ(h.Members(buyers.id), std::set<std::string>{u1});
  EXPECT_EQ(h.Members(told.id), std::set<std::string>{u1});
  EXPECT_EQ(h.TransitionsOnTimeline(u1, told.id), std::vector<std::string>{"Audience Entered"});
}

// A backfill reads the profiles as stored, ahead of the log the engine has applied: u3 enters
// "buyers" before the engine applies u3's first event. Applying it later must not take the
// timeline for that event alone (the entry is on it too), or "told" would see u3 leave.
TEST(EngineTest, AProfileBackfilledBeforeItsFirstEventKeepsItsEntries) {
  EngineOptions options;
  options.max_batch_events = 1;  // a step per event: the backfill runs ahead of the log
  EngineHarness h(options);
  std::string web = h.SourceId("web");
  TimeMs t0 = h.clock().NowMs();
  h.MakeAudience("seen", R"(performed "Login")");  // the engine follows the log from here
  h.Append({Track("u0", "Login", t0, web)});
  h.Settle();
  h.Append({Track("u1", "Login", t0, web), Track("u2", "Login", t0, web),
            Track("u3", "Order Completed", t0, web)});
  Definition buyers = h.MakeAudience("buyers", R"(performed "Order Completed")");
  Definition told = h.MakeAudience(
      "told", R"(performed "Audience Entered" where properties.audience_name = "buyers")");
  h.Settle();
  std::string u3 = h.ProfileOf({"user_id", "u3"});
  EXPECT_EQ(h.Members(buyers.id), std::set<std::string>{u3});
  EXPECT_EQ(h.Members(told.id), std::set<std::string>{u3});
  EXPECT_EQ(h.TransitionsOnTimeline(u3, told.id), std::vector<std::string>{"Audience Entered"});
}

TEST(EngineTest, MergedProfilesHandTheirMembershipsToTheSurvivor) {
  EngineHarness h;
  std::string app = h.SourceId("app");
  Definition viewers = h.MakeAudience("viewers", R"(performed "Viewed")");
  TimeMs t0 = h.clock().NowMs();
  Event anon = Track("x", "Viewed", t0, app);
  anon.user_id.clear();
  anon.anonymous_id = "anon-1";
  anon.identifiers = {{"anonymous_id", "anon-1"}};
  h.Append({anon, Identify("u1", {{"name", "Ada"}}, t0, app)});
  h.Settle();
  std::string a = h.ProfileOf({"anonymous_id", "anon-1"});
  std::string u = h.ProfileOf({"user_id", "u1"});
  ASSERT_NE(a, u);
  EXPECT_EQ(h.Members(viewers.id), std::set<std::string>{a});

  // Login on the app: the anonymous history joins the user's profile.
  h.Append({Identify("u1", {{"plan", "pro"}}, t0 + 1, app, {{"anonymous_id", "anon-1"}})});
  h.Settle();
  std::string live = h.ProfileOf({"user_id", "u1"});
  EXPECT_EQ(h.Members(viewers.id), std::set<std::string>{live});
  auto history = state::ReadHistory(&h.store(), a);
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 2u);
  EXPECT_EQ((*history)[1]["reason"], "merged into " + live);
}

TEST(EngineTest, AnEventStaysWithTheProfileWhoseTimelineHasItAfterAnIdentifierMoves) {
  EngineHarness h;
  std::string app = h.SourceId("app");
  Definition buyers =
      h.MakeAudience("buyers", R"(performed "Order Completed" at least 2 times)");
  TimeMs t0 = h.clock().NowMs();
  Event first = Track("u1", "Order Completed", t0, app);
  first.identifiers.push_back({"device_id", "d1"});
  h.Append({first});
  h.Settle();  // u1's events are now in the engine's cache
  std::string u1 = h.ProfileOf({"user_id", "u1"});
  EXPECT_TRUE(h.Members(buyers.id).empty());

  // An order from the device alone joins u1's timeline; then u2 logs in on the device, which
  // moves to u2 (one user per profile, the device stays with the newest). By the time the
  // engine applies the order, the device points at u2, but the order stays u1's.
  Event anon = Track("x", "Order Completed", t0 + 1, app);
  anon.user_id.clear();
  anon.identifiers = {{"device_id", "d1"}};
  h.Append({anon, Identify("u2", {{"name", "Bo"}}, t0 + 2, app, {{"device_id", "d1"}})});
  h.Settle();
  std::string u2 = h.ProfileOf({"user_id", "u2"});
  ASSERT_NE(u1, u2);
  ASSERT_EQ(h.ProfileOf({"device_id", "d1"}), u2);
  EXPECT_EQ(h.Members(buyers.id), std::set<std::string>{u1});
}

TEST(EngineTest, ConsentAndIdentifierFactsAreLive) {
  EngineHarness h;
  std::string web = h.SourceId("web");
  Definition reachable = h.MakeAudience("reachable", R"(has email and consented to "email")");
  TimeMs t0 = h.clock().NowMs();
  Event e = Identify("u1", {{"name", "Ada"}}, t0, web, {{"email", "ada@example.com"}});
  h.Append({e});
  h.Settle();
  EXPECT_TRUE(h.Members(reachable.id).empty());
  Event yes = Track("u1", "Page", t0 + 1, web);
  yes.consent_json = R"({"email":true})";
  h.Append({yes});
  h.Settle();
  EXPECT_EQ(h.Members(reachable.id).size(), 1u);
  Event no = Track("u1", "Page", t0 + 2, web);
  no.consent_json = R"({"email":false})";
  h.Append({no});
  h.Settle();
  EXPECT_TRUE(h.Members(reachable.id).empty());
}

// Rewrites the engine's per-profile records as format 1 had them (an "r" key per membership,
// a "v" key per value, "t" and "T" keys per timer, no format key), as a data dir from before
// format 2 holds them.
void DowngradeToFormat1(storage::Store* store) {
  storage::WriteBatch batch;
  auto it = store->NewIterator(storage::Space::kAudiences);
  for (it->Seek("P"); it->Valid() && state::HasPrefix(it->key(), "P"); it->Next()) {
    std::string pid(it->key().substr(1));
    auto ps = state::DecodeProfileState(it->value());
    ASSERT_TRUE(ps.ok());
    for (const auto& [def, m] : ps->memberships) {
      batch.Put(storage::Space::kAudiences, state::MembershipKey(pid, def),
                state::EncodeMembership(m));
    }
    for (const auto& [def, v] : ps->values) {
      batch.Put(storage::Space::kAudiences, state::ValueKey(pid, def), v);
    }
    for (const auto& [def, at] : ps->timers) {
      std::string index;
      state::PutTime(&index, at);
      batch.Put(storage::Space::kAudiences, state::TimerIndexKey(def, pid), index);
      batch.Put(storage::Space::kAudiences, state::TimerKey(at, def, pid), "");
    }
    batch.Delete(storage::Space::kAudiences, it->key());
  }
  ASSERT_TRUE(it->status().ok());
  for (it->Seek("w"); it->Valid() && state::HasPrefix(it->key(), "w"); it->Next()) {
    batch.Delete(storage::Space::kAudiences, it->key());
  }
  batch.Delete(storage::Space::kAudiences, state::kFormatKey);
  ASSERT_TRUE(store->Write(batch, {}).ok());
}

std::map<std::string, std::string> AudienceSpace(storage::Store* store) {
  std::map<std::string, std::string> out;
  auto it = store->NewIterator(storage::Space::kAudiences);
  for (it->SeekToFirst(); it->Valid(); it->Next()) out[std::string(it->key())] = it->value();
  return out;
}

// A data dir written by format 1 opens as the current format with the same state (in several
// migration writes here), and goes on from it: the next exit's messageId continues the old count.
TEST(EngineTest, StateOfTheFormerLayoutIsMigratedOnOpen) {
  EngineHarness h;
  std::string web = h.SourceId("web");
  Definition buyers =
      h.MakeAudience("buyers", R"(performed "Order Completed" at least 1 times in last 1 hour)");
  Definition plus = h.MakeAudience("plus", R"(trait plan = "plus")");
  Definition orders = h.MakeComputed("orders", R"(count of "Order Completed" in last 1 day)");
  TimeMs t0 = h.clock().NowMs();
  for (int i = 0; i < 20; ++i) {
    std::string u = "u" + std::to_string(i);
    h.Append({Identify(u, {{"plan", i % 2 ? "plus" : "free"}}, t0, web),
              Track(u, "Order Completed", t0, web)});
  }
  h.Settle();
  std::string u1 = h.ProfileOf({"user_id", "u1"});
  ASSERT_EQ(h.Members(buyers.id).size(), 20u);
  ASSERT_EQ(h.Members(plus.id).size(), 10u);
  ASSERT_EQ(h.Value(u1, orders.id), nlohmann::json(1));
  const auto before = AudienceSpace(&h.store());

  DowngradeToFormat1(&h.store());
  ASSERT_EQ(state::ReadFormat(&h.store()).value(), 1u);
  // Small batches: the migration takes several writes, and a rerun of a finished one is a no-op.
  ASSERT_TRUE(state::MigrateFormat1(&h.store(), 7).ok());
  ASSERT_TRUE(state::MigrateFormat2(&h.store()).ok());
  EXPECT_EQ(AudienceSpace(&h.store()), before);
  DowngradeToFormat1(&h.store());
  h.Close();
  h.Open();
  h.Settle();  // opens, migrates
  EXPECT_EQ(state::ReadFormat(&h.store()).value(), state::kFormatVersion);
  EXPECT_EQ(AudienceSpace(&h.store()), before);

  // The timers survived: the orders leave the window, each buyer exits once, and u1's exit is
  // its second transition.
  h.clock().Set(t0 + kHour);
  h.Settle();
  EXPECT_TRUE(h.Members(buyers.id).empty());
  EXPECT_EQ(h.TransitionsOnTimeline(u1, buyers.id),
            (std::vector<std::string>{"Audience Entered", "Audience Exited"}));
  auto ms = state::ReadMemberships(&h.store(), u1);
  ASSERT_TRUE(ms.ok());
  ASSERT_EQ(ms->size(), 2u);
  EXPECT_EQ((*ms)[0].def_id, buyers.id);
  EXPECT_EQ((*ms)[0].membership.transitions, 2u);
  h.clock().Set(t0 + kDay);
  h.Settle();
  EXPECT_EQ(h.Value(u1, orders.id), nlohmann::json(0));
}

// Format 2 kept one event per outbox key: such an outbox is regrouped on open, then appended.
TEST(EngineTest, AFormat2OutboxIsAppendedAfterMigration) {
  EngineHarness h;
  std::string web = h.SourceId("web");
  Definition plus = h.MakeAudience("plus", R"(trait plan = "plus")");
  h.Append({Identify("u1", {{"plan", "plus"}}, h.clock().NowMs(), web)});
  h.Settle();
  std::string u1 = h.ProfileOf({"user_id", "u1"});
  ASSERT_EQ(h.TransitionsOnTimeline(u1, plus.id), (std::vector<std::string>{"Audience Entered"}));
  // An exit a format 2 engine staged and did not append before it stopped.
  h.clock().Set(h.clock().NowMs() + kMinute);
  Transition exit{plus.id, plus.name, plus.version, u1, false, h.clock().NowMs(), "event",
                  "tsr-aud-format2-exit"};
  storage::WriteBatch old;
  old.Put(storage::Space::kAudiences, state::OutboxKey(7), EncodeEvent(TransitionEvent(exit)));
  old.Put(storage::Space::kAudiences, state::kFormatKey, state::EncodeFormat(2));
  ASSERT_TRUE(h.store().Write(old, {.sync = true}).ok());
  h.Close();
  h.Open();
  h.Settle();
  EXPECT_EQ(state::ReadFormat(&h.store()).value(), state::kFormatVersion);
  EXPECT_EQ(h.TransitionsOnTimeline(u1, plus.id),
            (std::vector<std::string>{"Audience Entered", "Audience Exited"}));
  for (const auto& [key, value] : AudienceSpace(&h.store())) EXPECT_NE(key[0], 'o') << key;
}

// The exit of a window expiry happens exactly once whatever point a crash interrupts it at.
class ExpiryRestartTest : public ::testing::TestWithParam<int> {};

TEST_P(ExpiryRestartTest, ExitHappensOnce) {
  EngineHarness h;
  std::string web = h.SourceId("web");
  Definition recent = h.MakeAudience("recent", R"(performed "Login" in last 1 hour)");
  TimeMs t0 = h.clock().NowMs();
  h.Append({Track("u1", "Login", t0, web)});
  h.Settle();
  std::string u1 = h.ProfileOf({"user_id", "u1"});
  ASSERT_EQ(h.Members(recent.id).size(), 1u);

  h.clock().Set(t0 + kHour + kMinute);
  switch (GetParam()) {
    case 0:
      // Crash before the timer's step: the restart fires it.
      h.CrashAndRestart({});
      break;
    case 1:
      // Crash right after the timer's step: the exit was committed with it, synced, and the
      // restart has nothing left to do.
      ASSERT_TRUE(h.engine().RunUntilIdle().ok());
      h.CrashAndRestart({});
      break;
  }
  h.Settle();
  EXPECT_TRUE(h.Members(recent.id).empty());
  EXPECT_EQ(h.TransitionsOnTimeline(u1, recent.id),
            (std::vector<std::string>{"Audience Entered", "Audience Exited"}));
}

INSTANTIATE_TEST_SUITE_P(CrashPoints, ExpiryRestartTest, ::testing::Values(0, 1));

// An engine of an earlier version appended its entries and exits to the log from an outbox. An
// event that reached the log, with a crash before the outbox was cleared, is appended again on
// restart, and the log's messageId dedupe drops the copy.
TEST(EngineTest, AnOutboxOfAnEarlierVersionReachesTheLogOnce) {
  EngineHarness h;
  std::string web = h.SourceId("web");
  Definition recent = h.MakeAudience("recent", R"(performed "Login" in last 1 hour)");
  h.Append({Track("u1", "Login", h.clock().NowMs(), web)});
  h.Settle();
  std::string u1 = h.ProfileOf({"user_id", "u1"});
  Transition exit{recent.id, recent.name, recent.version, u1, false, h.clock().NowMs(), "time",
                  "tsr-aud-earlier-exit"};
  std::vector<Event> group{TransitionEvent(exit)};
  storage::WriteBatch earlier;
  earlier.Put(storage::Space::kAudiences, state::OutboxKey(1000), state::EncodeOutboxGroup(group));
  ASSERT_TRUE(h.store().Write(earlier, {.sync = true}).ok());
  h.CrashAndRestart({});
  h.Settle();  // appends it
  ASSERT_TRUE(h.store().Write(earlier, {.sync = true}).ok());  // as if its removal was lost
  h.CrashAndRestart({});
  h.Settle();
  auto events = h.log().Read(1, 1000);
  ASSERT_TRUE(events.ok());
  EXPECT_EQ(std::count_if(events->begin(), events->end(),
                          [](const Event& e) { return e.message_id == "tsr-aud-earlier-exit"; }),
            1);
  for (const auto& [key, value] : AudienceSpace(&h.store())) EXPECT_NE(key[0], 'o') << key;
}

TEST(EngineTest, TheWorkerThreadFollowsTheLog) {
  EngineHarness h;
  std::string web = h.SourceId("web");
  Definition pinged = h.MakeAudience("pinged", R"(performed "Ping")");
  ASSERT_TRUE(h.engine().Start().ok());
  h.Append({Track("u1", "Ping", h.clock().NowMs(), web)});
  // The pipeline runs on this thread; the engine's worker follows it on its own.
  for (int i = 0; i < 500 && h.Members(pinged.id).empty(); ++i) {
    ASSERT_TRUE(h.processor().CatchUp().ok());
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(h.Members(pinged.id).size(), 1u);
  h.engine().Stop();
}

}  // namespace
}  // namespace tessera::audience
