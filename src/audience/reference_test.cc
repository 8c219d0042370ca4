// The reference evaluator against hand-computed expectations: every node kind, window edges
// exactly at now - d, empty histories, missing traits and type mismatches, sequences.
#include "audience/reference.h"

#include <gtest/gtest.h>

namespace tessera::audience {
namespace {

using nlohmann::json;

constexpr TimeMs kNow = 1714564800000;  // 2024-05-01T12:00:00Z
constexpr TimeMs kSecond = 1000;
constexpr TimeMs kMinute = 60 * kSecond;
constexpr TimeMs kHour = 60 * kMinute;
constexpr TimeMs kDay = 24 * kHour;

EventView Ev(std::string name, TimeMs at, json properties = json::object(),
             std::string touchpoint = "web", std::string source = "site") {
  return EventView{std::move(name), std::move(touchpoint), std::move(source), at,
                   std::move(properties)};
}

bool Eval(std::string_view text, const ProfileView& p, TimeMs now = kNow,
          const AudienceMembership& m = StaticMembership()) {
  Result<Condition> c = ParseCondition(text);
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  if (!c.ok()) return false;
  // The JSON form must mean the same.
  Result<Condition> j = FromJson(ToJson(*c));
  EXPECT_TRUE(j.ok() && *j == *c);
  return EvaluateReference(*c, p, now, m);
}

ProfileView WithTraits(json traits) {
  ProfileView p;
  p.traits = std::move(traits);
  return p;
}

TEST(Reference, TraitEquality) {
  ProfileView p = WithTraits({{"plan", "pro"},
                              {"ltv", 600},
                              {"vip", true},
                              {"code", "42"},
                              {"n", 42},
                              {"nothing", nullptr}});
  EXPECT_TRUE(Eval("trait plan = \"pro\"", p));
  EXPECT_FALSE(Eval("trait plan = \"Pro\"", p));  // case-sensitive
  EXPECT_TRUE(Eval("trait plan != \"free\"", p));
  EXPECT_TRUE(Eval("trait vip = true", p));
  EXPECT_FALSE(Eval("trait vip = false", p));
  EXPECT_TRUE(Eval("trait vip != false", p));
  EXPECT_TRUE(Eval("trait n = 42", p));
  EXPECT_TRUE(Eval("trait n = 42.0", p));
  // No coercion: a string "42" is not the number 42, and a mismatch is false both ways.
  EXPECT_FALSE(Eval("trait code = 42", p));
  EXPECT_FALSE(Eval("trait code != 42", p));
  EXPECT_FALSE(Eval("trait n = \"42\"", p));
  EXPECT_FALSE(Eval("trait plan = true", p));
  // Missing (absent or null): every comparison is false, `missing` is true.
  for (const char* name : {"absent", "nothing"}) {
    std::string t = std::string("trait ") + name;
    EXPECT_FALSE(Eval(t + " = \"x\"", p));
    EXPECT_FALSE(Eval(t + " != \"x\"", p));
    EXPECT_FALSE(Eval(t + " not in [\"x\"]", p));
    EXPECT_FALSE(Eval(t + " exists", p));
    EXPECT_TRUE(Eval(t + " missing", p));
    EXPECT_TRUE(Eval("not " + t + " = \"x\"", p));
  }
  EXPECT_TRUE(Eval("trait plan exists", p));
}

TEST(Reference, TraitNumbers) {
  ProfileView p = WithTraits({{"ltv", 600}, {"age", 18}, {"score", 30.0}, {"text", "600"}});
  EXPECT_TRUE(Eval("trait ltv > 500", p));
  EXPECT_FALSE(Eval("trait ltv > 600", p));
  EXPECT_TRUE(Eval("trait ltv >= 600", p));
  EXPECT_TRUE(Eval("trait ltv < 600.5", p));
  EXPECT_TRUE(Eval("trait ltv <= 600", p));
  EXPECT_FALSE(Eval("trait text > 500", p));            // a numeric string is not a number
  EXPECT_TRUE(Eval("trait age between 18 and 30", p));  // inclusive at both ends
  EXPECT_TRUE(Eval("trait score between 18 and 30", p));
  EXPECT_FALSE(Eval("trait score between 18 and 29.99", p));
  EXPECT_FALSE(Eval("trait age between 30 and 18", p));  // an empty range
  EXPECT_TRUE(Eval("trait age in [17, 18]", p));
  EXPECT_TRUE(Eval("trait age not in [17, 19]", p));
  EXPECT_FALSE(Eval("trait age not in [\"18\"]", p));  // type mismatch: false
}

TEST(Reference, TraitStringsAndLists) {
  ProfileView p = WithTraits({{"email", "ada@example.com"},
                              {"tags", {"vip", "beta"}},
                              {"nums", {1, 2, 3}},
                              {"mixed", {1, "3", nullptr}},
                              {"country", "FR"},
                              {"address", {{"city", "Paris"}}}});
  EXPECT_TRUE(Eval("trait email ends with \"@example.com\"", p));
  EXPECT_FALSE(Eval("trait email ends with \"@EXAMPLE.com\"", p));
  EXPECT_TRUE(Eval("trait email starts with \"ada@\"", p));
  EXPECT_TRUE(Eval("trait email contains \"@ex\"", p));
  EXPECT_TRUE(Eval("trait email starts with \"\"", p));
  EXPECT_FALSE(Eval("trait email starts with \"ada@example.com.\"", p));
  EXPECT_TRUE(Eval("trait tags contains \"vip\"", p));
  EXPECT_FALSE(Eval("trait tags contains \"vi\"", p));  // elements, not substrings
  EXPECT_TRUE(Eval("trait nums contains 3", p));
  EXPECT_FALSE(Eval("trait mixed contains 3", p));
  EXPECT_TRUE(Eval("trait mixed contains \"3\"", p));
  EXPECT_FALSE(Eval("trait tags = \"vip\"", p));  // a list is not a string
  EXPECT_FALSE(Eval("trait tags starts with \"v\"", p));
  EXPECT_TRUE(Eval("trait country in [\"FR\", \"DE\"]", p));
  EXPECT_FALSE(Eval("trait country in [\"ES\", \"DE\"]", p));
  EXPECT_TRUE(Eval("trait country not in [\"ES\", \"DE\"]", p));
  EXPECT_TRUE(Eval("trait address.city = \"Paris\"", p));
  EXPECT_TRUE(Eval("trait address.zip missing", p));
  EXPECT_TRUE(Eval("trait email.domain missing", p));  // a string has no fields
}

TEST(Reference, TraitDates) {
  ProfileView p = WithTraits({{"iso", "2024-04-15T00:00:00Z"},
                              {"ms", kNow - 10 * kDay},
                              {"edge", FormatIso8601(kNow - 30 * kDay)},
                              {"after_edge", FormatIso8601(kNow - 30 * kDay + 1)},
                              {"future", FormatIso8601(kNow + 1)},
                              {"old", FormatIso8601(kNow - 90 * kDay)},
                              {"not_date", "soon"},
                              {"offset", "2024-05-01T13:00:00+02:00"}});
  EXPECT_TRUE(Eval("trait iso within last 30 days", p));
  EXPECT_TRUE(Eval("trait ms within last 30 days", p));     // epoch milliseconds count as dates
  EXPECT_FALSE(Eval("trait edge within last 30 days", p));  // (now - 30d, now]: excluded
  EXPECT_TRUE(Eval("trait after_edge within last 30 days", p));
  EXPECT_FALSE(Eval("trait future within last 30 days", p));
  EXPECT_TRUE(Eval("trait edge more than 30 days ago", p));  // <= now - 30d: the complement
  EXPECT_FALSE(Eval("trait after_edge more than 30 days ago", p));
  EXPECT_TRUE(Eval("trait old more than 90 days ago", p));
  EXPECT_FALSE(Eval("trait old more than 91 days ago", p));
  EXPECT_FALSE(Eval("trait not_date within last 3000 days", p));
  EXPECT_FALSE(Eval("trait not_date more than 1 day ago", p));
  EXPECT_TRUE(Eval("trait iso > date \"2024-04-01\"", p));
  EXPECT_TRUE(Eval("trait iso = date \"2024-04-15\"", p));
  EXPECT_TRUE(Eval("trait offset = date \"2024-05-01T11:00:00Z\"", p));
  EXPECT_TRUE(Eval("trait ms between date \"2024-04-01\" and date \"2024-04-30\"", p));
  EXPECT_FALSE(Eval("trait not_date < date \"2030-01-01\"", p));
  EXPECT_FALSE(Eval("trait iso > 5", p));  // an ISO string is not a number
}

ProfileView Orders() {
  ProfileView p;
  p.events = {
      Ev("Order Completed", kNow - 1 * kDay, {{"total", 150}, {"store", "Paris"}}, "store", "pos"),
      Ev("Order Completed", kNow - 5 * kDay, {{"total", 200}, {"store", "Lyon"}}, "web", "site"),
      Ev("Order Completed", kNow - 10 * kDay, {{"total", 50}, {"store", "Paris"}}, "store", "pos"),
      Ev("Order Completed", kNow - 40 * kDay, {{"total", 500}, {"store", "Nice"}}, "web", "site"),
      Ev("Order Completed", kNow - 12 * kDay, {{"total", "n/a"}}, "app", "ios"),
      Ev("App Opened", kNow - 20 * kDay, json::object(), "app", "ios"),
  };
  return p;
}

TEST(Reference, PerformedCounts) {
  ProfileView p = Orders();
  EXPECT_TRUE(Eval("performed \"Order Completed\"", p));
  EXPECT_FALSE(Eval("performed \"Refund\"", p));
  EXPECT_TRUE(Eval("not performed \"Refund\" in last 14 days", p));
  EXPECT_TRUE(Eval("performed \"Order Completed\" exactly 4 times in last 30 days", p));
  EXPECT_TRUE(Eval("performed \"Order Completed\" at least 5 times", p));
  EXPECT_FALSE(Eval("performed \"Order Completed\" more than 5 times", p));
  EXPECT_TRUE(Eval("performed \"Order Completed\" fewer than 6 times", p));
  EXPECT_TRUE(Eval("performed \"Order Completed\" at most 5 times", p));
  // where: 150 and 200 are > 100 in the last 30 days; "n/a" is not a number, so not > 100.
  EXPECT_TRUE(
      Eval("performed \"Order Completed\" at least 2 times in last 30 days where "
           "properties.total > 100",
           p));
  EXPECT_FALSE(
      Eval("performed \"Order Completed\" at least 3 times in last 30 days where "
           "properties.total > 100",
           p));
  EXPECT_TRUE(Eval("performed \"Order Completed\" exactly 2 times from touchpoint store", p));
  EXPECT_TRUE(Eval("performed \"Order Completed\" exactly 1 time from source \"ios\"", p));
  EXPECT_TRUE(
      Eval("performed \"Order Completed\" exactly 1 time from touchpoint store "
           "in last 7 days",
           p));
  EXPECT_TRUE(Eval("performed any event from touchpoint app exactly 2 times", p));
  EXPECT_TRUE(Eval("count of any event in last 30 days = 5", p));
  EXPECT_TRUE(
      Eval("not performed \"Order Completed\" where (properties.total > 100 and "
           "properties.store = \"Nice\") in last 30 days",
           p));
  EXPECT_TRUE(Eval("performed \"Order Completed\" where not properties.store exists", p));
}

TEST(Reference, EmptyHistory) {
  ProfileView p;
  EXPECT_FALSE(Eval("performed \"A\"", p));
  EXPECT_TRUE(Eval("not performed \"A\" in last 14 days", p));
  EXPECT_TRUE(Eval("count of \"A\" = 0", p));
  EXPECT_TRUE(Eval("sum of properties.total over \"A\" = 0", p));
  EXPECT_TRUE(Eval("distinct count of properties.sku over \"A\" = 0", p));
  for (const char* fn : {"avg", "min", "max", "first", "last", "most frequent"}) {
    std::string agg = std::string(fn) + " of properties.total over \"A\" ";
    EXPECT_FALSE(Eval(agg + ">= 0", p)) << fn;
    EXPECT_FALSE(Eval(agg + "< 0", p)) << fn;
    EXPECT_TRUE(Eval(agg + "missing", p)) << fn;
  }
  EXPECT_FALSE(Eval("last time performed \"A\" more than 90 days ago", p));
  EXPECT_FALSE(Eval("first time performed \"A\" within last 90 days", p));
  EXPECT_TRUE(Eval("last time performed \"A\" missing", p));
  EXPECT_FALSE(Eval("performed \"A\" then \"B\" within 1 day", p));
  EXPECT_FALSE(Eval("performed \"A\" and not \"B\" within 1 day", p));
}

// `any event` is customer activity: Tessera's own Audience Entered / Exited events (source
// kSystemSource) count only where named, or where the filter names their source.
TEST(Reference, AnyEventSkipsTesserasOwnEvents) {
  ProfileView p;
  p.events = {Ev("Order Completed", kNow - kHour),
              Ev("Audience Entered", kNow - kMinute, {{"audience_name", "VIP"}}, "other",
                 std::string(kSystemSource)),
              Ev("Audience Exited", kNow - kSecond, {}, "other", std::string(kSystemSource))};
  EXPECT_TRUE(Eval("count of any event = 1", p));
  EXPECT_TRUE(Eval("count of any event from source \"tessera\" = 2", p));
  EXPECT_TRUE(Eval("performed \"Audience Entered\" where properties.audience_name = \"VIP\"", p));
  EXPECT_TRUE(Eval("last time performed any event within last 2 hours", p));
  EXPECT_FALSE(Eval("last time performed any event within last 30 minutes", p));
  EXPECT_FALSE(Eval("performed \"Order Completed\" then any event within 1 day", p));
  EXPECT_TRUE(Eval("performed \"Order Completed\" then \"Audience Entered\" within 1 day", p));
  EXPECT_TRUE(Eval("performed \"Order Completed\" and not any event within 1 minute in last 1 day", p));
}

TEST(Reference, WindowEdges) {
  ProfileView p;
  p.events = {Ev("Edge", kNow - 30 * kDay), Ev("Inside", kNow - 30 * kDay + 1), Ev("Now", kNow),
              Ev("Future", kNow + 1)};
  EXPECT_FALSE(Eval("performed \"Edge\" in last 30 days", p));  // (now - 30d, now]
  EXPECT_TRUE(Eval("performed \"Inside\" in last 30 days", p));
  EXPECT_TRUE(Eval("performed \"Now\" in last 1 second", p));
  EXPECT_FALSE(Eval("performed \"Future\" in last 30 days", p));
  EXPECT_TRUE(Eval("performed \"Future\"", p));  // no window: the whole history, as stored
  EXPECT_TRUE(Eval("count of any event in last 30 days = 2", p));
  EXPECT_TRUE(Eval("count of any event = 4", p));
}

TEST(Reference, Aggregates) {
  ProfileView p = Orders();
  auto value = [&p](std::string_view text, TimeMs now = kNow) {
    Result<Aggregate> a = ParseAggregate(text);
    EXPECT_TRUE(a.ok()) << a.status().ToString();
    std::optional<json> v = EvaluateAggregateReference(*a, p, now);
    return v ? v->dump() : std::string("absent");
  };
  EXPECT_EQ(value("count of \"Order Completed\""), "5");
  EXPECT_EQ(value("count of \"Order Completed\" in last 30 days"), "4");
  EXPECT_EQ(value("sum of properties.total over \"Order Completed\""), "900.0");
  EXPECT_EQ(value("sum of properties.total over \"Order Completed\" in last 30 days"), "400.0");
  EXPECT_EQ(value("avg of properties.total over \"Order Completed\" in last 30 days"),
            json(400.0 / 3).dump());
  EXPECT_EQ(value("min of properties.total over \"Order Completed\""), "50.0");
  EXPECT_EQ(value("max of properties.total over \"Order Completed\""), "500.0");
  EXPECT_EQ(value("first of properties.store over \"Order Completed\""), "\"Nice\"");
  EXPECT_EQ(value("last of properties.store over \"Order Completed\""), "\"Paris\"");
  EXPECT_EQ(value("last of properties.total over any event"), "150");
  EXPECT_EQ(value("first of properties.total over \"Order Completed\" in last 30 days"), "\"n/a\"");
  EXPECT_EQ(value("most frequent of properties.store over \"Order Completed\""), "\"Paris\"");
  EXPECT_EQ(value("distinct count of properties.store over \"Order Completed\""), "3");
  EXPECT_EQ(value("first time performed \"Order Completed\""), std::to_string(kNow - 40 * kDay));
  EXPECT_EQ(value("last time performed \"Order Completed\""), std::to_string(kNow - 1 * kDay));
  EXPECT_EQ(value("last time performed \"Order Completed\" from touchpoint app"),
            std::to_string(kNow - 12 * kDay));
  EXPECT_EQ(value("last time performed \"Nope\""), "absent");
  EXPECT_EQ(value("avg of properties.store over \"Order Completed\""), "absent");  // no numbers

  EXPECT_TRUE(Eval("sum of properties.total over \"Order Completed\" in last 90 days > 800", p));
  EXPECT_TRUE(Eval("most frequent of properties.store over any event = \"Paris\"", p));
  EXPECT_TRUE(Eval("last time performed \"Order Completed\" within last 2 days", p));
  EXPECT_FALSE(Eval("last time performed \"Order Completed\" more than 90 days ago", p));
  EXPECT_TRUE(Eval("first time performed \"Order Completed\" more than 39 days ago", p));
  EXPECT_TRUE(Eval("first time performed \"Order Completed\" < date \"2024-04-01\"", p));
}

// A sum that overflows to infinity has no value (JSON has none for it), like an average over no
// numbers: a computed trait built on it has none, and only `missing` is true of it.
TEST(Reference, NonFiniteAggregatesHaveNoValue) {
  ProfileView p;
  p.events = {Ev("A", kNow - 3 * kHour, {{"x", 1e308}}),
              Ev("A", kNow - 2 * kHour, {{"x", 1.7976931348623157e308}}),
              Ev("A", kNow - 1 * kHour, {{"x", -1e308}}), Ev("B", kNow - kHour, {{"x", -1e308}}),
              Ev("B", kNow - kHour, {{"x", -1e308}})};
  auto value = [&p](std::string_view text) {
    Result<Aggregate> a = ParseAggregate(text);
    EXPECT_TRUE(a.ok()) << a.status().ToString();
    std::optional<json> v = EvaluateAggregateReference(*a, p, kNow);
    return v ? v->dump() : std::string("absent");
  };
  // In order of addition: 1e308 + 1.79e308 is already +inf, and -1e308 does not bring it back.
  EXPECT_EQ(value("sum of properties.x over \"A\""), "absent");
  EXPECT_EQ(value("avg of properties.x over \"A\""), "absent");
  EXPECT_EQ(value("sum of properties.x over \"B\""), "absent");  // -inf
  EXPECT_EQ(value("sum of properties.x over \"A\" in last 90 minutes"), json(-1e308).dump());
  EXPECT_EQ(value("max of properties.x over \"A\""), json(1.7976931348623157e308).dump());
  EXPECT_EQ(value("count of \"A\""), "3");

  EXPECT_TRUE(Eval("sum of properties.x over \"A\" missing", p));
  EXPECT_FALSE(Eval("sum of properties.x over \"A\" exists", p));
  EXPECT_FALSE(Eval("sum of properties.x over \"A\" > 1000", p));
  EXPECT_FALSE(Eval("sum of properties.x over \"A\" <= 1000", p));
  EXPECT_FALSE(Eval("avg of properties.x over \"B\" < 0", p));
  EXPECT_TRUE(Eval("not sum of properties.x over \"B\" < 0", p));
}

TEST(Reference, AggregateTies) {
  ProfileView p;
  p.events = {Ev("E", 1000, {{"v", "b"}}), Ev("E", 1000, {{"v", "a"}}),
              Ev("E", 2000, {{"v", "c"}}), Ev("E", 3000, {{"v", "a"}}),
              Ev("E", 4000, {{"v", "c"}}), Ev("E", 4000, {{"v", 1}}),
              Ev("E", 4000, {{"v", 1.0}}), Ev("E", 500, {{"v", nullptr}})};
  auto value = [&p](std::string_view text) {
    std::optional<json> v = EvaluateAggregateReference(*ParseAggregate(text), p, kNow);
    return v ? v->dump() : std::string("absent");
  };
  // Equal timestamps: first takes the smallest value, last the largest, comparing canonical JSON
  // text (numbers as doubles: "1.0" > "\"c\"" since '1' > '"'); null counts as missing.
  EXPECT_EQ(value("first of properties.v over \"E\""), "\"a\"");
  EXPECT_EQ(value("last of properties.v over \"E\""), "1");
  // a: 2, c: 2, 1 (= 1.0): 2; ties go to the latest occurrence (c and 1 at 4000), then the
  // smallest canonical text ("\"c\"" < "1.0").
  EXPECT_EQ(value("most frequent of properties.v over \"E\""), "\"c\"");
  EXPECT_EQ(value("distinct count of properties.v over \"E\""), "4");
}

TEST(Reference, Sequences) {
  ProfileView p;
  TimeMs t = kNow - 10 * kDay;
  p.events = {Ev("Added to Cart", t), Ev("Order Completed", t + 2 * kDay),
              Ev("Late", t + 2 * kDay + 1), Ev("Before", t - 1), Ev("Same", t)};
  EXPECT_TRUE(Eval("performed \"Added to Cart\" then \"Order Completed\" within 2 days", p));
  EXPECT_FALSE(Eval("performed \"Added to Cart\" then \"Late\" within 2 days", p));
  EXPECT_FALSE(Eval("performed \"Added to Cart\" then \"Before\" within 2 days", p));
  EXPECT_TRUE(Eval("performed \"Before\" then \"Added to Cart\" within 1 second", p));
  EXPECT_TRUE(Eval("performed \"Added to Cart\" then \"Same\" within 1 second", p));  // t1 <= t2
  EXPECT_TRUE(Eval("performed \"Same\" then \"Added to Cart\" within 1 second", p));
  // The same event never plays two steps.
  EXPECT_FALSE(Eval("performed \"Added to Cart\" then \"Added to Cart\" within 2 days", p));
  EXPECT_TRUE(Eval("performed any event then any event within 1 second", p));
  // Three steps, all within 2 days of the first.
  EXPECT_TRUE(
      Eval("performed \"Before\" then \"Added to Cart\" then \"Order Completed\" within "
           "3 days",
           p));
  EXPECT_FALSE(
      Eval("performed \"Before\" then \"Added to Cart\" then \"Order Completed\" within "
           "2 days",
           p));
  // The window bounds every step.
  EXPECT_FALSE(
      Eval("performed \"Added to Cart\" then \"Order Completed\" within 2 days in last "
           "10 days",
           p));
  EXPECT_TRUE(
      Eval("performed \"Added to Cart\" then \"Order Completed\" within 2 days in last "
           "11 days",
           p));
  // Step filters.
  ProfileView q;
  q.events = {Ev("A", t, {{"x", 1}}, "store"), Ev("B", t + kHour, {{"y", 2}}, "web"),
              Ev("A", t + 3 * kDay, {{"x", 2}}, "web"), Ev("B", t + 3 * kDay + kHour, {}, "store")};
  EXPECT_TRUE(Eval("performed \"A\" where properties.x = 1 then \"B\" within 1 hour", q));
  EXPECT_FALSE(
      Eval("performed \"A\" where properties.x = 2 then \"B\" where properties.y = 2 "
           "within 1 day",
           q));
  EXPECT_TRUE(
      Eval("performed \"A\" from touchpoint web then \"B\" from touchpoint store within "
           "1 hour",
           q));
  EXPECT_FALSE(
      Eval("performed \"A\" from touchpoint store then \"B\" from touchpoint store "
           "within 1 hour",
           q));
}

TEST(Reference, NotFollowedBy) {
  const char* kCond = "performed \"Complaint Opened\" and not \"Complaint Resolved\" within 1 hour";
  ProfileView p;
  EXPECT_FALSE(Eval(kCond, p));
  p.events = {Ev("Complaint Opened", kNow - 30 * kMinute)};
  EXPECT_FALSE(Eval(kCond, p));                      // the hour has not passed yet
  EXPECT_TRUE(Eval(kCond, p, kNow + 30 * kMinute));  // ... now it has: true by time alone
  EXPECT_FALSE(Eval(kCond, p, kNow + 30 * kMinute - 1));
  p.events.push_back(Ev("Complaint Resolved", kNow + 30 * kMinute));  // exactly at the deadline
  EXPECT_FALSE(Eval(kCond, p, kNow + kDay));
  p.events.back().timestamp = kNow + 30 * kMinute + 1;  // just after: too late
  EXPECT_TRUE(Eval(kCond, p, kNow + kDay));
  p.events.back().timestamp = kNow - 31 * kMinute;  // before the opening: does not count
  EXPECT_TRUE(Eval(kCond, p, kNow + kDay));
  p.events.back().timestamp = kNow - 30 * kMinute;  // at the same instant: counts
  EXPECT_FALSE(Eval(kCond, p, kNow + kDay));
  // Two openings: the second one was never resolved.
  p.events.push_back(Ev("Complaint Opened", kNow));
  EXPECT_TRUE(Eval(kCond, p, kNow + kDay));
  // The window bounds the first event only.
  EXPECT_FALSE(Eval(std::string(kCond) + " in last 1 hour", p, kNow + 2 * kHour));
  EXPECT_TRUE(Eval(std::string(kCond) + " in last 1 day", p, kNow + 2 * kHour));
  // `and not any event`: the A itself is not its own follower.
  ProfileView q;
  q.events = {Ev("A", kNow - 2 * kHour)};
  EXPECT_TRUE(Eval("performed \"A\" and not any event within 1 hour", q));
  q.events.push_back(Ev("X", kNow - 2 * kHour + kMinute));
  EXPECT_FALSE(Eval("performed \"A\" and not any event within 1 hour", q));
  EXPECT_TRUE(Eval("performed \"A\" and not \"X\" from touchpoint store within 1 hour", q));
}

TEST(Reference, IdentityConsentMembership) {
  ProfileView p;
  p.identifiers = {
      {"email", "ada@example.com"}, {"device_id", "d1"}, {"device_id", "d2"}, {"device_id", "d1"}};
  p.consent = {{"email_marketing", true}, {"sms", false}};
  EXPECT_TRUE(Eval("has email", p));
  EXPECT_FALSE(Eval("has phone", p));
  EXPECT_TRUE(Eval("count of device_id identifiers = 2", p));  // d1 counted once
  EXPECT_TRUE(Eval("count of device_id identifiers >= 2", p));
  EXPECT_TRUE(Eval("count of phone identifiers = 0", p));
  EXPECT_TRUE(Eval("consented to \"email_marketing\"", p));
  EXPECT_FALSE(Eval("consented to \"sms\"", p));
  EXPECT_FALSE(Eval("consented to \"push\"", p));  // unknown is not consent
  StaticMembership m({"high-value"});
  EXPECT_TRUE(Eval("in audience \"high-value\"", p, kNow, m));
  EXPECT_FALSE(Eval("in audience \"churned\"", p, kNow, m));
}

TEST(Reference, Logic) {
  ProfileView p = WithTraits({{"a", 1}, {"b", 2}});
  EXPECT_TRUE(Eval("trait a = 1 and trait b = 2", p));
  EXPECT_FALSE(Eval("trait a = 1 and trait b = 3", p));
  EXPECT_TRUE(Eval("trait a = 0 or trait b = 2", p));
  EXPECT_TRUE(Eval("not trait a = 0", p));
  EXPECT_TRUE(Eval("(trait a = 0 or trait b = 2) and not trait c exists", p));
  EXPECT_FALSE(Eval("trait a = 0 or trait b = 2 and trait c exists", p));  // and binds tighter
  EXPECT_TRUE(Eval("not not trait a = 1", p));
}

}  // namespace
}  // namespace tessera::audience
