// The batch evaluator against PostgreSQL on the same generated data, in one run
// (bench/run_audience_bench.sh starts the PostgreSQL). Two workloads:
//   traits: a trait-only audience over --trait-profiles profiles;
//   events: a trait AND a 30-day event count over --event-profiles profiles and ~--events events.
// Data is generated deterministically from --seed into plain arrays, then loaded into both a
// Population (timed: build) and PostgreSQL (timed: COPY, then indexes). Each audience is run
// once to warm both sides, then --reps times; the medians are compared. Both sides produce the
// list of member ids (PostgreSQL sends them to this client); member sets are checked equal.
#include <libpq-fe.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "audience/batch.h"
#include "audience/sql.h"

namespace tessera::audience {
namespace {

using Clock = std::chrono::steady_clock;
constexpr TimeMs kDay = 86400000;

const char* kPlans[] = {"free", "pro", "team", "enterprise"};
const int kPlanWeights[] = {55, 25, 15, 5};
const char* kCountries[] = {"US", "FR", "DE", "GB", "ES", "IT", "NL", "BE", "SE", "PL",
                            "PT", "IE", "AT", "CH", "DK", "NO", "FI", "CZ", "JP", "BR"};
const int kCountryWeights[] = {20, 12, 11, 9, 6, 6, 5, 4, 3, 3, 3, 2, 2, 2, 2, 2, 2, 2, 2, 2};
const char* kNames[] = {"Page Viewed",    "Product Viewed", "Added to Cart",  "Order Completed",
                        "Signed In",      "Search",         "Email Opened",   "Email Clicked",
                        "Support Ticket", "Review Written", "Wishlist Added", "Logout"};
const int kNameWeights[] = {30, 20, 10, 12, 8, 8, 5, 3, 1, 1, 1, 1};
const char* kTouchpointNames[] = {"web", "app", "store", "email"};
const int kTouchpointWeights[] = {50, 30, 10, 10};

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

size_t RssKiB() {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoul(line.substr(6));
  }
  return 0;
}

struct Traits {
  std::vector<uint8_t> plan, country;
  std::vector<double> ltv;
  std::vector<TimeMs> signup_at;
  std::vector<uint8_t> vip;
};

struct Events {
  std::vector<uint64_t> offsets;  // per profile, CSR
  std::vector<uint8_t> name, touchpoint, source;
  std::vector<TimeMs> ts;     // sorted within a profile, as an event store returns them
  std::vector<double> total;  // "Order Completed" only
};

Traits MakeTraits(size_t n, uint64_t seed, TimeMs now) {
  std::mt19937_64 rng(seed);
  std::discrete_distribution<int> plan(std::begin(kPlanWeights), std::end(kPlanWeights));
  std::discrete_distribution<int> country(std::begin(kCountryWeights), std::end(kCountryWeights));
  std::exponential_distribution<double> ltv(1.0 / 400);
  Traits t;
  for (size_t i = 0; i < n; ++i) {
    t.plan.push_back(static_cast<uint8_t>(plan(rng)));
    t.country.push_back(static_cast<uint8_t>(country(rng)));
    t.ltv.push_back(std::round(ltv(rng) * 100) / 100);
    t.signup_at.push_back(now - static_cast<TimeMs>(rng() % (3 * 365 * kDay)));
    t.vip.push_back(rng() % 10 == 0);
  }
  return t;
}

Events MakeEvents(size_t n, size_t target, uint64_t seed, TimeMs now) {
  std::mt19937_64 rng(seed);
  std::discrete_distribution<int> name(std::begin(kNameWeights), std::end(kNameWeights));
  std::discrete_distribution<int> touchpoint(std::begin(kTouchpointWeights),
                                             std::end(kTouchpointWeights));
  const uint64_t per_profile = 2 * target / std::max<size_t>(n, 1);  // uniform 0..2*mean-1
  Events e;
  e.offsets.push_back(0);
  std::vector<TimeMs> times;
  for (size_t i = 0; i < n; ++i) {
    times.clear();
    for (uint64_t k = 0, m = rng() % per_profile; k < m; ++k) {
      times.push_back(now - static_cast<TimeMs>(rng() % (120 * kDay)));
    }
    std::sort(times.begin(), times.end());
    for (TimeMs t : times) {
      int nm = name(rng);
      e.name.push_back(static_cast<uint8_t>(nm));
      e.touchpoint.push_back(static_cast<uint8_t>(touchpoint(rng)));
      e.source.push_back(static_cast<uint8_t>(rng() % 20));
      e.ts.push_back(t);
      e.total.push_back(nm == 3 ? static_cast<double>(rng() % 30000) / 100 : 0);
    }
    e.offsets.push_back(e.ts.size());
  }
  return e;
}

std::string TraitsJson(const Traits& t, size_t i) {
  char ltv[32];
  auto end = std::to_chars(ltv, ltv + sizeof ltv, t.ltv[i]).ptr;
  return std::string("{\"plan\": \"") + kPlans[t.plan[i]] + "\", \"country\": \"" +
         kCountries[t.country[i]] + "\", \"ltv\": " + std::string(ltv, end) +
         ", \"signup_at\": \"" + FormatIso8601(t.signup_at[i]) +
         "\", \"vip\": " + (t.vip[i] ? "true" : "false") + "}";
}

std::string TotalJson(double total) {
  char buf[32];
  auto end = std::to_chars(buf, buf + sizeof buf, total).ptr;
  return "{\"total\": " + std::string(buf, end) + "}";
}

Population Build(const Traits& t, const Events* e, Projection projection) {
  PopulationBuilder b(std::move(projection));
  for (size_t i = 0; i < t.plan.size(); ++i) {
    uint32_t p = b.AddProfile(std::to_string(i));
    b.AddTraitString(p, "plan", kPlans[t.plan[i]]);
    b.AddTraitString(p, "country", kCountries[t.country[i]]);
    b.AddTraitNumber(p, "ltv", t.ltv[i]);
    b.AddTraitString(p, "signup_at", FormatIso8601(t.signup_at[i]));
    b.AddTraitBool(p, "vip", t.vip[i]);
    if (e == nullptr) continue;
    for (uint64_t k = e->offsets[i]; k < e->offsets[i + 1]; ++k) {
      Status s = b.AddEventJson(p, kNames[e->name[k]], kTouchpointNames[e->touchpoint[k]],
                                "src-" + std::to_string(e->source[k]), e->ts[k],
                                e->name[k] == 3 ? TotalJson(e->total[k]) : "{}");
      s.IgnoreError();  // generated JSON always parses
    }
  }
  return std::move(b).Build();
}

void Check(PGconn* conn, PGresult* r, const char* what) {
  ExecStatusType s = PQresultStatus(r);
  if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK && s != PGRES_COPY_IN) {
    std::fprintf(stderr, "postgres %s: %s\n", what, PQerrorMessage(conn));
    std::exit(1);
  }
  PQclear(r);
}

void Exec(PGconn* conn, const std::string& sql) {
  Check(conn, PQexec(conn, sql.c_str()), sql.c_str());
}

// COPY rows produced by row(i, &line) for i in [0, n), in 4 MiB messages.
template <typename Row>
void Copy(PGconn* conn, const std::string& table, size_t n, Row row) {
  Exec(conn, "COPY " + table + " FROM STDIN (FORMAT csv, FREEZE)");
  std::string buf;
  for (size_t i = 0; i < n; ++i) {
    row(i, &buf);
    if (buf.size() > (4u << 20) || i + 1 == n) {
      if (PQputCopyData(conn, buf.data(), static_cast<int>(buf.size())) != 1) {
        std::fprintf(stderr, "postgres copy: %s\n", PQerrorMessage(conn));
        std::exit(1);
      }
      buf.clear();
    }
  }
  PQputCopyEnd(conn, nullptr);
  while (PGresult* r = PQgetResult(conn)) Check(conn, r, "copy");
}

// Loads the data (tables created in the same transaction: no WAL, rows frozen), then indexes.
void LoadPostgres(PGconn* conn, const Traits& t, const Events* e, double* load_s, double* index_s) {
  auto start = Clock::now();
  Exec(conn,
       "DROP TABLE IF EXISTS profiles, events, identifiers, consent, audience_members;"
       "DROP FUNCTION IF EXISTS tessera_time(jsonb)");
  Exec(conn, "BEGIN");
  Exec(conn, SqlSchema());
  Copy(conn, "profiles (id, traits)", t.plan.size(), [&](size_t i, std::string* out) {
    *out += std::to_string(i) + "," + CsvField(TraitsJson(t, i)) + "\n";
  });
  if (e != nullptr) {
    size_t profile = 0;
    Copy(conn, "events", e->ts.size(), [&](size_t k, std::string* out) {
      while (e->offsets[profile + 1] <= k) ++profile;
      *out += std::to_string(k) + "," + std::to_string(profile) + ",\"" + kNames[e->name[k]] +
              "\"," + kTouchpointNames[e->touchpoint[k]] + ",src-" + std::to_string(e->source[k]) +
              "," + std::to_string(e->ts[k]) + "," +
              CsvField(e->name[k] == 3 ? TotalJson(e->total[k]) : "{}") + "\n";
    });
  }
  Exec(conn, "COMMIT");
  *load_s = Seconds(start);
  start = Clock::now();
  Exec(conn, "CREATE UNIQUE INDEX ON profiles (id)");
  Exec(conn, "CREATE INDEX ON profiles ((traits ->> 'plan'))");
  if (e != nullptr) Exec(conn, "CREATE INDEX ON events (name, ts, profile_id)");
  Exec(conn, "VACUUM ANALYZE");
  *index_s = Seconds(start);
}

struct Timing {
  double median_ms, min_ms, max_ms;
};

template <typename F>
Timing Time(int reps, F run) {
  std::vector<double> ms;
  for (int i = 0; i < reps; ++i) {
    auto start = Clock::now();
    run();
    ms.push_back(Seconds(start) * 1000);
  }
  std::sort(ms.begin(), ms.end());
  return {ms[ms.size() / 2], ms.front(), ms.back()};
}

struct Options {
  std::string pg;
  size_t trait_profiles = 10'000'000;
  size_t event_profiles = 1'000'000;
  size_t events = 30'000'000;
  int reps = 5;
  int threads = 2;
  uint64_t seed = 1;
  bool explain = false;
};

void RunWorkload(const Options& o, PGconn* conn, const std::string& label, const std::string& text,
                 size_t profiles, size_t events, TimeMs now) {
  std::printf("== %s: %s\n", label.c_str(), text.c_str());
  Traits traits = MakeTraits(profiles, o.seed, now);
  Events generated;
  if (events > 0) generated = MakeEvents(profiles, events, o.seed + 1, now);
  const Events* e = events > 0 ? &generated : nullptr;
  Condition c = *ParseCondition(text);

  // The population holds every generated trait (and event), as for many definitions at once.
  Projection projection = ProjectionFor({&c}, {});
  projection.traits = {{"plan"}, {"country"}, {"ltv"}, {"signup_at"}, {"vip"}};
  projection.all_events = e != nullptr;
  size_t rss_before = RssKiB();
  auto start = Clock::now();
  Population population = Build(traits, e, projection);
  double build_s = Seconds(start);
  std::printf("data: %zu profiles, %zu events\n", profiles, e ? e->ts.size() : size_t{0});
  std::printf("tessera: build %.1f s, population %.0f MiB (RSS +%.0f MiB)\n", build_s,
              static_cast<double>(population.MemoryBytes()) / (1 << 20),
              static_cast<double>(RssKiB() - rss_before) / 1024);

  double load_s, index_s;
  LoadPostgres(conn, traits, e, &load_s, &index_s);
  std::printf("postgres: COPY %.1f s, indexes + VACUUM ANALYZE %.1f s\n", load_s, index_s);

  std::string sql = "SELECT p.id FROM profiles p WHERE " + *ConditionToSql(c, now);
  std::vector<std::string_view> ours;
  auto run_ours = [&] {
    MembershipBits bits = *EvaluateBatch(c, population, now, nullptr, o.threads);
    ours.clear();
    ours.reserve(bits.Count());
    bits.ForEach([&](size_t i) { ours.push_back(population.id(static_cast<uint32_t>(i))); });
  };
  std::vector<int64_t> theirs;
  auto run_pg = [&] {
    PGresult* r = PQexec(conn, sql.c_str());
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
      std::fprintf(stderr, "postgres query: %s\n", PQerrorMessage(conn));
      std::exit(1);
    }
    theirs.clear();
    for (int i = 0; i < PQntuples(r); ++i) theirs.push_back(std::atoll(PQgetvalue(r, i, 0)));
    PQclear(r);
  };
  run_ours();  // warm both
  run_pg();
  if (o.explain) {
    PGresult* r = PQexec(conn, ("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + sql).c_str());
    for (int i = 0; i < PQntuples(r); ++i) std::printf("  | %s\n", PQgetvalue(r, i, 0));
    PQclear(r);
  }
  std::vector<int64_t> ours_ids;
  for (std::string_view id : ours) ours_ids.push_back(std::atoll(std::string(id).c_str()));
  std::sort(theirs.begin(), theirs.end());
  bool same = ours_ids == theirs;
  Timing t_ours = Time(o.reps, run_ours);
  Timing t_pg = Time(o.reps, run_pg);
  std::printf("members: %zu (PostgreSQL: %zu, same set: %s)\n", ours.size(), theirs.size(),
              same ? "yes" : "NO");
  std::printf("tessera (%d threads): median %.1f ms (min %.1f, max %.1f) over %d runs\n", o.threads,
              t_ours.median_ms, t_ours.min_ms, t_ours.max_ms, o.reps);
  std::printf("postgres: median %.1f ms (min %.1f, max %.1f) over %d runs\n", t_pg.median_ms,
              t_pg.min_ms, t_pg.max_ms, o.reps);
  std::printf("ratio: %.1fx\n\n", t_pg.median_ms / t_ours.median_ms);
  if (!same) std::exit(1);
}

}  // namespace
}  // namespace tessera::audience

int main(int argc, char** argv) {
  using namespace tessera::audience;         // NOLINT: a benchmark's main
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // progress shows when piped to a file
  Options o;
  CLI::App app("Batch audience evaluation against PostgreSQL");
  app.add_option("--pg", o.pg, "libpq connection string")->required();
  app.add_option("--trait-profiles", o.trait_profiles, "profiles of the trait-only workload");
  app.add_option("--event-profiles", o.event_profiles, "profiles of the event workload");
  app.add_option("--events", o.events, "about this many events in the event workload");
  app.add_option("--reps", o.reps, "timed runs per side");
  app.add_option("--threads", o.threads, "threads of the batch evaluator");
  app.add_option("--seed", o.seed, "data seed");
  app.add_flag("--explain", o.explain, "print PostgreSQL's plan of each audience query");
  CLI11_PARSE(app, argc, argv);

  std::unique_ptr<PGconn, decltype(&PQfinish)> conn(PQconnectdb(o.pg.c_str()), PQfinish);
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    std::fprintf(stderr, "postgres: %s\n", PQerrorMessage(conn.get()));
    return 1;
  }
  Exec(conn.get(), "SET client_min_messages = warning");
  const tessera::TimeMs now = *tessera::ParseIso8601("2026-11-24T00:00:00Z");
  RunWorkload(
      o, conn.get(), "traits",
      "trait plan = \"pro\" and trait ltv > 500 and trait country in [\"FR\", \"DE\", \"GB\"]",
      o.trait_profiles, 0, now);
  RunWorkload(
      o, conn.get(), "events",
      "trait plan = \"pro\" and performed \"Order Completed\" at least 3 times in last 30 days",
      o.event_profiles, o.events, now);
  return 0;
}
