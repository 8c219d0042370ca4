// The batch evaluator against a real PostgreSQL: random profiles are loaded into a fresh cluster
// (initdb in a temporary directory, listening on loopback only, stopped at the end), random
// conditions are translated by sql.h, and the member sets must be equal. Skipped only when no
// PostgreSQL server binaries are installed (scripts/install-deps.sh installs them).
// The seed is printed; rerun one with TESSERA_AUDIENCE_SEED=<seed>.
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "audience/batch_testutil.h"
#include "audience/sql.h"

namespace tessera::audience {
namespace {

namespace fs = std::filesystem;
using testutil::kBatchNow;

// The newest /usr/lib/postgresql/<version>/bin holding initdb and pg_ctl.
std::optional<fs::path> PostgresBin() {
  std::optional<fs::path> best;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/usr/lib/postgresql", ec)) {
    fs::path bin = entry.path() / "bin";
    if (!fs::exists(bin / "initdb") || !fs::exists(bin / "pg_ctl")) continue;
    auto version = [](const fs::path& p) { return std::atoi(p.parent_path().filename().c_str()); };
    if (!best || version(bin) > version(*best)) best = bin;
  }
  return best;
}

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

// A throwaway cluster. As root, the server runs as the postgres user (initdb refuses root).
class PgCluster {
 public:
  explicit PgCluster(fs::path bin) : bin_(std::move(bin)) {}
  PgCluster(const PgCluster&) = delete;
  PgCluster& operator=(const PgCluster&) = delete;
  ~PgCluster() {
    if (started_) Run("pg_ctl", "-D " + data_.string() + " -m fast -w stop").IgnoreError();
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  Status Start() {
    char tmpl[] = "/tmp/tessera-pg-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) return Status::IOError("mkdtemp failed");
    dir_ = tmpl;
    data_ = dir_ / "data";
    fs::create_directory(data_);
    fs::permissions(dir_, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                              fs::perms::others_read | fs::perms::others_exec);
    if (geteuid() == 0 && std::system(("chown postgres " + data_.string()).c_str()) != 0) {
      return Status::IOError("chown postgres " + data_.string() + " failed");
    }
    TESSERA_RETURN_IF_ERROR(
        Run("initdb", "-D " + data_.string() + " -A trust -U postgres --locale=C -E UTF8"));
    port_ = FreePort();
    std::ofstream conf(data_ / "postgresql.conf", std::ios::app);
    conf << "listen_addresses = '127.0.0.1'\nport = " << port_ << "\nunix_socket_directories = '"
         << data_.string() << "'\nfsync = off\nshared_buffers = 64MB\nmax_connections = 5\n";
    conf.close();
    started_ = true;
    return Run("pg_ctl",
               "-D " + data_.string() + " -l " + (data_ / "server.log").string() + " -w start");
  }

  std::string conninfo() const {
    return "host=127.0.0.1 port=" + std::to_string(port_) + " user=postgres dbname=postgres";
  }

 private:
  Status Run(const std::string& program, const std::string& args) {
    fs::path log = dir_ / (program + ".log");
    std::string command = (geteuid() == 0 ? "runuser -u postgres -- " : "") +
                          (bin_ / program).string() + " " + args + " >" + log.string() + " 2>&1";
    if (std::system(command.c_str()) == 0) return Status::Ok();
    std::ifstream in(log);
    std::stringstream text;
    text << in.rdbuf();
    return Status::Unavailable(program + " failed: " + text.str());
  }

  fs::path bin_;
  fs::path dir_;
  fs::path data_;
  int port_ = 0;
  bool started_ = false;
};

using Connection = std::unique_ptr<PGconn, decltype(&PQfinish)>;
using PgResult = std::unique_ptr<PGresult, decltype(&PQclear)>;

Status Exec(PGconn* conn, const std::string& sql) {
  PgResult r(PQexec(conn, sql.c_str()), PQclear);
  ExecStatusType s = PQresultStatus(r.get());
  if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK) return Status::Ok();
  return Status::Internal(PQresultErrorMessage(r.get()));
}

Status Copy(PGconn* conn, const std::string& table, const std::string& csv) {
  PgResult start(PQexec(conn, ("COPY " + table + " FROM STDIN (FORMAT csv)").c_str()), PQclear);
  if (PQresultStatus(start.get()) != PGRES_COPY_IN) {
    return Status::Internal(PQresultErrorMessage(start.get()));
  }
  if (PQputCopyData(conn, csv.data(), static_cast<int>(csv.size())) != 1 ||
      PQputCopyEnd(conn, nullptr) != 1) {
    return Status::Internal(PQerrorMessage(conn));
  }
  PgResult done(PQgetResult(conn), PQclear);
  if (PQresultStatus(done.get()) != PGRES_COMMAND_OK) {
    return Status::Internal(PQresultErrorMessage(done.get()));
  }
  while (PGresult* r = PQgetResult(conn)) PQclear(r);
  return Status::Ok();
}

// PostgreSQL's float8 raises errors on overflow and underflow where C++ gives inf or 0 (sql.h):
// keep magnitudes within [1e-200, 1e200] so sums and averages of a few values stay finite.
void Tame(nlohmann::json* v) {
  if (v->is_number_float()) {
    double d = v->get<double>();
    if (std::fabs(d) > 1e200) *v = std::copysign(1e200, d);
    if (d != 0 && std::fabs(d) < 1e-200) *v = std::copysign(1e-200, d);
  }
  if (v->is_structured()) {
    for (auto& e : *v) Tame(&e);
  }
}

Status Load(PGconn* conn, const testutil::World& w) {
  std::string profiles, events, identifiers, consent, members;
  int64_t event_id = 0;
  for (size_t i = 0; i < w.profiles.size(); ++i) {
    const ProfileView& p = w.profiles[i];
    std::string id = std::to_string(i);
    profiles += id + "," + CsvField(p.traits.dump()) + "\n";
    for (const EventView& e : p.events) {
      events += std::to_string(event_id++) + "," + id + "," + CsvField(e.name) + "," +
                CsvField(e.touchpoint) + "," + CsvField(e.source) + "," +
                std::to_string(e.timestamp) + "," + CsvField(e.properties.dump()) + "\n";
    }
    for (const Identifier& ident : p.identifiers) {
      identifiers += id + "," + CsvField(ident.kind) + "," + CsvField(ident.value) + "\n";
    }
    for (const auto& [purpose, granted] : p.consent) {
      consent += id + "," + CsvField(purpose) + "," + (granted ? "true" : "false") + "\n";
    }
  }
  for (const auto& [name, bits] : w.audiences) {
    std::string audience = CsvField(name);
    bits.ForEach([&](size_t i) { members += audience + "," + std::to_string(i) + "\n"; });
  }
  TESSERA_RETURN_IF_ERROR(Copy(conn, "profiles (id, traits)", profiles));
  TESSERA_RETURN_IF_ERROR(Copy(conn, "events", events));
  TESSERA_RETURN_IF_ERROR(Copy(conn, "identifiers", identifiers));
  TESSERA_RETURN_IF_ERROR(Copy(conn, "consent", consent));
  TESSERA_RETURN_IF_ERROR(Copy(conn, "audience_members", members));
  // The sequence and "and not within" forms look events up per profile.
  return Exec(conn, "CREATE INDEX ON events (profile_id, ts); ANALYZE");
}

// Which node kinds a condition uses, to show the comparison covered them all.
void CountKinds(const Condition& c, std::map<std::string, int>* kinds) {
  static const char* kNames[] = {
      "trait",   "property", "aggregate", "sequence", "and not within", "audience", "identifier",
      "consent", "and",      "or",        "not"};
  ++(*kinds)[kNames[c.node.index()]];
  std::visit(
      [kinds](const auto& n) {
        using T = std::decay_t<decltype(n)>;
        if constexpr (std::is_same_v<T, AndCondition> || std::is_same_v<T, OrCondition>) {
          for (const Condition& child : n.children) CountKinds(child, kinds);
        } else if constexpr (std::is_same_v<T, NotCondition>) {
          CountKinds(*n.child, kinds);
        }
      },
      c.node);
}

TEST(BatchPostgres, SameMembersAsPostgres) {
  std::optional<fs::path> bin = PostgresBin();
  if (!bin) {
    GTEST_SKIP() << "no PostgreSQL server binaries under /usr/lib/postgresql/*/bin "
                    "(scripts/install-deps.sh installs them)";
  }
  PgCluster cluster(*bin);
  Status started = cluster.Start();
  ASSERT_TRUE(started.ok()) << started.ToString();
  Connection conn(PQconnectdb(cluster.conninfo().c_str()), PQfinish);
  ASSERT_EQ(PQstatus(conn.get()), CONNECTION_OK) << PQerrorMessage(conn.get());
  Status schema = Exec(conn.get(), SqlSchema());
  ASSERT_TRUE(schema.ok()) << schema.ToString();

  uint64_t seed = std::random_device()();
  if (const char* s = std::getenv("TESSERA_AUDIENCE_SEED"); s != nullptr && *s != '\0') {
    seed = std::strtoull(s, nullptr, 10);
  }
  std::printf("batch postgres seed: %llu\n", static_cast<unsigned long long>(seed));
  SCOPED_TRACE("TESSERA_AUDIENCE_SEED=" + std::to_string(seed));
  testutil::World w = testutil::MakeWorld(seed, 700, 0, 300);
  for (ProfileView& p : w.profiles) {
    Tame(&p.traits);
    for (EventView& e : p.events) Tame(&e.properties);
  }
  // Keep the conditions SQL can express (all but first/last/most_frequent/distinct_count).
  std::vector<Condition> kept;
  std::map<std::string, int> kinds;
  for (Condition& c : w.conditions) {
    if (!ConditionToSql(c, kBatchNow).ok()) continue;
    CountKinds(c, &kinds);
    kept.push_back(std::move(c));
  }
  w.conditions = std::move(kept);
  Status loaded = Load(conn.get(), w);
  ASSERT_TRUE(loaded.ok()) << loaded.ToString();
  Population population = testutil::Populate(w);

  int compared = 0, members = 0;
  for (const Condition& c : w.conditions) {
    for (TimeMs now : {kBatchNow, kBatchNow - 40 * testutil::kDayMs}) {
      Result<std::string> sql = AudienceSql(c, now);
      ASSERT_TRUE(sql.ok());
      PgResult r(PQexec(conn.get(), sql->c_str()), PQclear);
      ASSERT_EQ(PQresultStatus(r.get()), PGRES_TUPLES_OK) << PQresultErrorMessage(r.get()) << "\n"
                                                          << ToText(c) << "\n"
                                                          << *sql;
      MembershipBits from_sql(population.size());
      for (int row = 0; row < PQntuples(r.get()); ++row) {
        from_sql.Set(std::strtoull(PQgetvalue(r.get(), row, 0), nullptr, 10));
      }
      Result<MembershipBits> batch =
          EvaluateBatch(c, population, now, testutil::MembershipOf(w.audiences), 2);
      ASSERT_TRUE(batch.ok()) << batch.status().ToString();
      for (size_t i = 0; i < population.size(); ++i) {
        ASSERT_EQ(batch->Test(i), from_sql.Test(i))
            << ToText(c) << "\nprofile " << i << " at now=" << now << ": "
            << w.profiles[i].traits.dump() << "\nreference says "
            << EvaluateReference(c, w.profiles[i], now, testutil::ProfileMembership(w.audiences, i))
            << "\n"
            << *sql;
      }
      ++compared;
      members += static_cast<int>(from_sql.Count());
    }
  }
  std::printf("compared %d member sets (%zu conditions), %d members in all; nodes:", compared,
              w.conditions.size(), members);
  for (const auto& [kind, n] : kinds) std::printf(" %s %d", kind.c_str(), n);
  std::printf("\n");
  EXPECT_GT(w.conditions.size(), 150u);
  for (const char* kind : {"trait", "aggregate", "sequence", "and not within", "audience",
                           "identifier", "consent", "and", "or", "not"}) {
    EXPECT_GT(kinds[kind], 0) << kind;
  }
}

}  // namespace
}  // namespace tessera::audience
