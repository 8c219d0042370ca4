// Ingest and lookup benchmark: Tessera over HTTP against PostgreSQL doing the same work in the
// same run. See BENCHMARKS.md for how to run it (bench/run_ingest_bench.sh does everything).
//
//   A. Tessera: POST /v1/batch with pre-built batches over N keep-alive connections; a 200 means
//      durable (fsync'ed). Then the time for profiles to catch up.
//   B. Profile lookups by user_id at a fixed rate (open loop over 32 connections, latency from
//      the scheduled time) while ingest runs at a fixed background rate.
//   C. PostgreSQL: the same batches, one transaction each: JSONB insert of every event (unique
//      messageId, ON CONFLICT DO NOTHING) plus a profile upsert per customer (traits merged with
//      ||); fsync and synchronous_commit on.
// With --audiences/--computed-traits, those definitions (live_definitions.h) are created first,
// and "caught up" also waits for the audience engine (bench/run_audience_live_bench.sh).
#include <libpq-fe.h>

#include <nlohmann/json.hpp>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <cstring>
#include <thread>

#include "bench/http_client.h"
#include "bench/live_definitions.h"
#include "bench/workload.h"

namespace tessera::bench {
namespace {

using Clock = std::chrono::steady_clock;
namespace http = boost::beast::http;

struct Flags {
  std::string host = "127.0.0.1";
  std::string port = "8080";
  std::string write_key;
  std::string admin_token;
  std::string pg;  // libpq conninfo; empty = skip PostgreSQL
  size_t events = 1'000'000;
  int connections = 16;
  double lookup_rate = 10000;
  int lookup_seconds = 10;
  double background_rate = 20000;  // events/s of ingest during the lookup phase
  int server_pid = 0;
  uint64_t customers = 1'000'000;
  int audiences = 0;
  int computed_traits = 0;
  size_t warmup_events = 0;  // ingested (and caught up on) before the measured run
};

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

std::string Basic(const std::string& key) {
  static const char* kB64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string in = key + ":", out;
  for (size_t i = 0; i < in.size(); i += 3) {
    uint32_t n = static_cast<uint8_t>(in[i]) << 16;
    if (i + 1 < in.size()) n |= static_cast<uint8_t>(in[i + 1]) << 8;
    if (i + 2 < in.size()) n |= static_cast<uint8_t>(in[i + 2]);
    out += kB64[(n >> 18) & 63];
    out += kB64[(n >> 12) & 63];
    out += i + 1 < in.size() ? kB64[(n >> 6) & 63] : '=';
    out += i + 2 < in.size() ? kB64[n & 63] : '=';
  }
  return "Basic " + out;
}

struct RunResult {
  double seconds = 0;
  size_t events = 0;
  std::vector<double> latencies_ms;
  size_t errors = 0;
};

// Sends every batch once over `connections` threads; `send` returns true on success.
template <typename Send>
RunResult Drive(const std::vector<std::string>& batches, size_t per_batch, int connections,
                Send make_sender) {
  std::atomic<size_t> next{0};
  std::vector<std::vector<double>> lat(connections);
  std::atomic<size_t> errors{0};
  auto start = Clock::now();
  std::vector<std::thread> threads;
  for (int c = 0; c < connections; ++c) {
    threads.emplace_back([&, c] {
      auto send = make_sender();
      for (size_t i; (i = next.fetch_add(1)) < batches.size();) {
        auto t0 = Clock::now();
        int tries = 0;
        while (!send(batches[i])) {
          if (++tries > 50) {
            errors.fetch_add(1);
            break;
          }
          std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        lat[c].push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
      }
    });
  }
  for (auto& t : threads) t.join();
  RunResult r;
  r.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  r.events = batches.size() * per_batch;
  r.errors = errors;
  for (auto& l : lat) r.latencies_ms.insert(r.latencies_ms.end(), l.begin(), l.end());
  return r;
}

void Report(const char* name, const RunResult& r) {
  std::printf("%-28s %10.0f events/s  (%zu events in %.2f s; batch latency p50 %.1f ms, p99 %.1f ms; %zu errors)\n",
              name, static_cast<double>(r.events) / r.seconds, r.events, r.seconds,
              Percentile(r.latencies_ms, 0.5), Percentile(r.latencies_ms, 0.99), r.errors);
}

long RssKb(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

bool WaitProcessed(const Flags& f, double* seconds) {
  HttpClient client(f.host, f.port);
  auto start = Clock::now();
  for (int i = 0; i < 60000; ++i) {
    std::string body;
    if (client.Send(http::verb::get, "/healthz", "", "", &body) == 200) {
      auto num = [&](const char* key) {
        size_t p = body.find(key);
        return p == std::string::npos ? 0ULL : std::stoull(body.substr(p + std::strlen(key) + 1));
      };
      // The audience engine appends Audience Entered/Exited events to the log, which the
      // pipeline then processes and the engine reads: done when all three agree.
      uint64_t logged = num("\"log_seq\"");
      if (num("\"processed_seq\"") >= logged && num("\"audience_applied_seq\"") >= logged) {
        *seconds = std::chrono::duration<double>(Clock::now() - start).count();
        return true;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

const char* kPgSchema = R"sql(
DROP TABLE IF EXISTS events; DROP TABLE IF EXISTS profiles;
CREATE TABLE events (message_id text PRIMARY KEY, user_id text, type text, received_at timestamptz DEFAULT now(), body jsonb NOT NULL);
CREATE INDEX events_user ON events (user_id);
CREATE TABLE profiles (user_id text PRIMARY KEY, traits jsonb NOT NULL DEFAULT '{}', first_seen timestamptz, last_seen timestamptz, event_count bigint NOT NULL DEFAULT 0);
)sql";

const char* kPgBatch = R"sql(
WITH msgs AS (SELECT value AS m FROM jsonb_array_elements($1::jsonb -> 'batch')),
ins AS (INSERT INTO events (message_id, user_id, type, body)
        SELECT m->>'messageId', m->>'userId', m->>'type', m FROM msgs ON CONFLICT DO NOTHING),
per_user AS (
  SELECT m->>'userId' AS user_id,
         coalesce(jsonb_agg(m->'traits') FILTER (WHERE m ? 'traits'), '[]') AS traits_list,
         min((m->>'timestamp')::timestamptz) AS first_seen,
         max((m->>'timestamp')::timestamptz) AS last_seen,
         count(*) AS n
  FROM msgs GROUP BY 1)
INSERT INTO profiles AS p (user_id, traits, first_seen, last_seen, event_count)
SELECT user_id,
       (SELECT coalesce(jsonb_object_agg(kv.k, kv.v), '{}')
          FROM jsonb_array_elements(traits_list) t, jsonb_each(t.value) AS kv(k, v)),
       first_seen, last_seen, n
FROM per_user
ON CONFLICT (user_id) DO UPDATE SET traits = p.traits || excluded.traits,
  event_count = p.event_count + excluded.event_count,
  first_seen = least(p.first_seen, excluded.first_seen),
  last_seen = greatest(p.last_seen, excluded.last_seen)
)sql";

RunResult RunPostgres(const Flags& f, const std::vector<std::string>& batches, size_t per_batch) {
  PGconn* setup = PQconnectdb(f.pg.c_str());
  if (PQstatus(setup) != CONNECTION_OK) {
    std::fprintf(stderr, "postgres: %s\n", PQerrorMessage(setup));
    std::exit(1);
  }
  PGresult* r = PQexec(setup, kPgSchema);
  if (PQresultStatus(r) != PGRES_COMMAND_OK) {
    std::fprintf(stderr, "postgres schema: %s\n", PQerrorMessage(setup));
    std::exit(1);
  }
  PQclear(r);
  PQfinish(setup);
  return Drive(batches, per_batch, f.connections, [&f] {
    auto conn = std::shared_ptr<PGconn>(PQconnectdb(f.pg.c_str()), PQfinish);
    return [conn](const std::string& batch) {
      const char* params[] = {batch.c_str()};
      PGresult* res = PQexecParams(conn.get(), kPgBatch, 1, nullptr, params, nullptr, nullptr, 0);
      bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
      if (!ok) std::fprintf(stderr, "postgres: %s\n", PQresultErrorMessage(res));
      PQclear(res);
      return ok;
    };
  });
}

RunResult RunTessera(const Flags& f, const std::vector<std::string>& batches, size_t per_batch) {
  std::string auth = Basic(f.write_key);
  return Drive(batches, per_batch, f.connections, [&f, auth] {
    auto client = std::make_shared<HttpClient>(f.host, f.port);
    return [client, auth](const std::string& batch) {
      return client->Send(http::verb::post, "/v1/batch", batch, auth) == 200;
    };
  });
}

// Lookups at a fixed rate while a background ingest runs at its own fixed rate.
void RunLookups(const Flags& f, const Workload& w) {
  std::atomic<bool> stop{false};
  std::string auth = Basic(f.write_key);
  size_t bg_batches = static_cast<size_t>(f.background_rate * f.lookup_seconds / w.batch_messages) + 1;
  auto background = MakeBatches(w, bg_batches, 500'000'000);
  std::atomic<size_t> bg_sent{0};
  std::thread ingest([&] {
    HttpClient client(f.host, f.port);
    double interval = static_cast<double>(w.batch_messages) / f.background_rate;
    auto start = Clock::now();
    for (size_t i = 0; i < background.size() && !stop; ++i) {
      std::this_thread::sleep_until(start + std::chrono::duration_cast<Clock::duration>(
                                                std::chrono::duration<double>(interval * i)));
      if (client.Send(http::verb::post, "/v1/batch", background[i], auth) == 200) ++bg_sent;
    }
  });
  // Enough connections that the client keeps the schedule even when one round trip takes a
  // few milliseconds; latency counts from the scheduled time, so a slow server still shows.
  const int threads = 32;
  std::vector<std::vector<double>> lat(threads);
  std::atomic<size_t> not_ok{0};
  std::vector<std::thread> workers;
  std::string bearer = "Bearer " + f.admin_token;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      HttpClient client(f.host, f.port);
      std::mt19937_64 rng(t);
      double interval = threads / f.lookup_rate;
      auto start = Clock::now();
      size_t n = static_cast<size_t>(f.lookup_rate * f.lookup_seconds / threads);
      for (size_t i = 0; i < n; ++i) {
        auto due = start + std::chrono::duration_cast<Clock::duration>(
                               std::chrono::duration<double>(interval * i));
        std::this_thread::sleep_until(due);
        std::string target = "/v1/profiles/user_id:cust-" + std::to_string(rng() % f.customers);
        int status = client.Send(http::verb::get, target, "", bearer);
        // Latency from when the request was due, so a stalled server is not hidden.
        lat[t].push_back(std::chrono::duration<double, std::milli>(Clock::now() - due).count());
        if (status != 200 && status != 404) ++not_ok;
      }
    });
  }
  for (auto& w : workers) w.join();
  stop = true;
  ingest.join();
  std::vector<double> all;
  for (auto& l : lat) all.insert(all.end(), l.begin(), l.end());
  std::printf("%-28s %10.0f req/s  p50 %.2f ms, p99 %.2f ms, p99.9 %.2f ms (%zu requests, %zu errors; background ingest %.0f events/s)\n",
              "tessera profile lookup", static_cast<double>(all.size()) / f.lookup_seconds,
              Percentile(all, 0.5), Percentile(all, 0.99), Percentile(all, 0.999), all.size(),
              static_cast<size_t>(not_ok), static_cast<double>(bg_sent * w.batch_messages) / f.lookup_seconds);
}

// Creates the live-cost definitions through the API; exits on any refusal.
void CreateDefinitions(const Flags& f) {
  HttpClient client(f.host, f.port);
  const std::string bearer = "Bearer " + f.admin_token;
  for (const Definition& d : LiveDefinitions(f.audiences, f.computed_traits)) {
    nlohmann::json body = {{"name", d.name}, {d.computed_trait ? "aggregate" : "condition", d.text}};
    std::string answer;
    int status = client.Send(http::verb::post,
                             d.computed_trait ? "/v1/computed-traits" : "/v1/audiences",
                             body.dump(), bearer, &answer);
    if (status != 201) {
      std::fprintf(stderr, "creating %s (%s): %d %s\n", d.name.c_str(), d.text.c_str(), status,
                   answer.c_str());
      std::exit(1);
    }
  }
  std::printf("definitions: %d audiences, %d computed traits\n", f.audiences, f.computed_traits);
}

// After ingest: the time to backfill one more audience over every profile (POST with ?wait=0,
// then GET until ready), and to preview it.
void TimeBackfillAndPreview(const Flags& f) {
  HttpClient client(f.host, f.port);
  const std::string bearer = "Bearer " + f.admin_token;
  const std::string condition =
      "trait plan = \"pro\" and performed \"Order Completed\" at least 2 times in last 30 days";
  nlohmann::json body = {{"name", "backfill_probe"}, {"condition", condition}};
  std::string answer;
  auto t0 = Clock::now();
  int status = client.Send(http::verb::post, "/v1/audiences?wait=0", body.dump(), bearer, &answer);
  if (status != 201 && status != 202) {
    std::fprintf(stderr, "creating the backfill probe: %d %s\n", status, answer.c_str());
    return;
  }
  const std::string id = nlohmann::json::parse(answer).value("id", "");
  nlohmann::json state;
  for (;;) {
    if (client.Send(http::verb::get, "/v1/audiences/" + id, "", bearer, &answer) != 200) return;
    state = nlohmann::json::parse(answer);
    if (state.value("status", "") == "ready") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  double backfill = std::chrono::duration<double>(Clock::now() - t0).count();
  uint64_t profiles = state["backfill"].value("profiles_evaluated", uint64_t{0});
  std::printf("%-28s %10.2f s for %llu profiles (%.0f profiles/s), size %llu\n", "backfill one audience",
              backfill, static_cast<unsigned long long>(profiles),
              static_cast<double>(profiles) / backfill,
              static_cast<unsigned long long>(state.value("size", uint64_t{0})));
  t0 = Clock::now();
  status = client.Send(http::verb::post, "/v1/audiences/preview",
                       nlohmann::json{{"condition", condition}}.dump(), bearer, &answer);
  double preview = std::chrono::duration<double>(Clock::now() - t0).count();
  if (status != 200) {
    std::fprintf(stderr, "preview: %d %s\n", status, answer.c_str());
    return;
  }
  std::printf("%-28s %10.2f s (size %llu)\n", "preview the same condition", preview,
              static_cast<unsigned long long>(nlohmann::json::parse(answer).value("size", uint64_t{0})));
}

int Main(int argc, char** argv) {
  Flags f;
  CLI::App app{"Tessera ingest and lookup benchmark"};
  app.add_option("--host", f.host);
  app.add_option("--port", f.port);
  app.add_option("--write-key", f.write_key)->required();
  app.add_option("--admin-token", f.admin_token)->required();
  app.add_option("--pg", f.pg, "libpq conninfo of a PostgreSQL to compare with");
  app.add_option("--events", f.events);
  app.add_option("--customers", f.customers);
  app.add_option("--connections", f.connections);
  app.add_option("--lookup-rate", f.lookup_rate);
  app.add_option("--lookup-seconds", f.lookup_seconds);
  app.add_option("--background-rate", f.background_rate);
  app.add_option("--server-pid", f.server_pid);
  app.add_option("--audiences", f.audiences, "active audiences during ingest");
  app.add_option("--computed-traits", f.computed_traits, "computed traits during ingest");
  app.add_option("--warmup-events", f.warmup_events,
                 "events of the same customers ingested and caught up on before the measured run "
                 "(the customers then have a history, as in steady state)");
  CLI11_PARSE(app, argc, argv);
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // progress shows when piped to a file

  Workload w;
  w.customers = f.customers;
  size_t nbatches = f.events / w.batch_messages;
  auto t0 = Clock::now();
  auto batches = MakeBatches(w, nbatches, 0);
  size_t bytes = 0;
  for (const auto& b : batches) bytes += b.size();
  std::printf("workload: %zu batches x %zu messages, %.0f bytes/message, %llu customers (built in %.1f s)\n",
              batches.size(), w.batch_messages,
              static_cast<double>(bytes) / static_cast<double>(nbatches * w.batch_messages),
              static_cast<unsigned long long>(w.customers),
              std::chrono::duration<double>(Clock::now() - t0).count());

  if (f.audiences > 0 || f.computed_traits > 0) CreateDefinitions(f);
  if (f.warmup_events > 0) {
    // Message ids of their own, so that the measured run's messages are all new.
    auto warmup = MakeBatches(w, f.warmup_events / w.batch_messages, 900'000'000);
    RunResult r = RunTessera(f, warmup, w.batch_messages);
    double catch_up = 0;
    if (!WaitProcessed(f, &catch_up)) {
      std::fprintf(stderr, "the warm-up did not catch up\n");
      std::exit(1);
    }
    std::printf("%-28s %10zu events, caught up %.1f s after the last ack\n", "warm-up", r.events,
                catch_up);
  }
  RunResult tessera = RunTessera(f, batches, w.batch_messages);
  Report("tessera ingest (durable)", tessera);
  double catch_up = 0;
  if (WaitProcessed(f, &catch_up)) {
    std::printf("%-28s %10.1f s after the last ack (%.0f events/s end to end incl. profiles and audiences)\n",
                "profiles caught up", catch_up,
                static_cast<double>(tessera.events) / (tessera.seconds + catch_up));
  }
  if (f.server_pid) std::printf("%-28s %10ld MiB\n", "tessera RSS", RssKb(f.server_pid) / 1024);
  if (f.audiences > 0) TimeBackfillAndPreview(f);
  // Lookups before PostgreSQL's run: its checkpoints and autovacuum after a 1M-row load would
  // share the two cores with them (p99 22 ms instead of ~2-3 ms in one run).
  if (f.lookup_seconds > 0) RunLookups(f, w);
  if (f.server_pid) std::printf("%-28s %10ld MiB\n", "tessera RSS at end", RssKb(f.server_pid) / 1024);
  if (!f.pg.empty()) {
    RunResult pg = RunPostgres(f, batches, w.batch_messages);
    Report("postgresql (same work)", pg);
    std::printf("%-28s %10.1fx\n", "ratio tessera/postgresql",
                (static_cast<double>(tessera.events) / tessera.seconds) /
                    (static_cast<double>(pg.events) / pg.seconds));
  }
  return 0;
}

}  // namespace
}  // namespace tessera::bench

int main(int argc, char** argv) { return tessera::bench::Main(argc, argv); }
