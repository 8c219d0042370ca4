// `tessera serve`: run a node on its embedded store until SIGINT/SIGTERM.
#include <signal.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdlib>
#include <thread>

#include "api/app.h"
#include "cli/commands.h"
#include "cli/logging.h"
#include "core/cpu_priority.h"

namespace tessera::cli {
namespace {

struct ServeFlags {
  std::string data_dir = "./tessera-data";
  std::string listen = "127.0.0.1:8080";
  std::string admin_token;
  std::string config;
  std::string log_level = "info";
  std::string log_format = "text";
  // Twice the cores: handlers are CPU-bound but uneven (a 100-message batch parses for about a
  // millisecond, a profile lookup takes a tenth of that), and with spare threads a short request
  // is not queued behind a long one on the same thread. Measured in BENCHMARKS.md.
  int threads = std::max(2, 2 * static_cast<int>(std::thread::hardware_concurrency()));
  size_t max_queue_mb = 64;
  std::string background_cpu = "idle";
};

bool SplitListen(const std::string& listen, std::string* host, uint16_t* port) {
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos) return false;
  *host = listen.substr(0, colon);
  if (host->size() >= 2 && host->front() == '[' && host->back() == ']') {
    *host = host->substr(1, host->size() - 2);
  }
  std::string p = listen.substr(colon + 1);
  if (host->empty() || p.empty() || p.size() > 5 || p.find_first_not_of("0123456789") != std::string::npos) {
    return false;
  }
  unsigned long v = std::stoul(p);
  if (v > 65535) return false;
  *port = static_cast<uint16_t>(v);
  return true;
}

int RunServe(const ServeFlags& flags) {
  if (Status s = ConfigureLogging(flags.log_level, flags.log_format); !s.ok()) {
    spdlog::error("{}", s.message());
    return 2;
  }
  // The workers that derive state from the log yield the CPUs to requests (BENCHMARKS.md:
  // durable ingest and lookup latency under ingest).
  SetBackgroundCpuPolicy(flags.background_cpu == "low" ? CpuPriority::kLow
                                                       : CpuPriority::kBackground);
  api::AppOptions options;
  options.data_dir = flags.data_dir;
  options.io_threads = flags.threads;
  options.log.max_pending_bytes = flags.max_queue_mb << 20;
  if (!SplitListen(flags.listen, &options.host, &options.port)) {
    spdlog::error("--listen must be HOST:PORT, got \"{}\"", flags.listen);
    return 2;
  }
  options.admin_token = flags.admin_token;
  if (options.admin_token.empty()) {
    if (const char* env = std::getenv("TESSERA_ADMIN_TOKEN")) options.admin_token = env;
  }
  if (!flags.config.empty()) {
    Status s = api::LoadConfigFile(flags.config, &options);
    if (!s.ok()) {
      spdlog::error("{}", s.message());
      return 2;
    }
  }
  // Block the stop signals here so every thread inherits the mask; sigwait below takes them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  api::App app(options);
  Status s = app.Start();
  if (!s.ok()) {
    spdlog::error("cannot start: {}", s.ToString());
    return 1;
  }
  int sig = 0;
  sigwait(&stop_signals, &sig);
  spdlog::info("signal {}: stopping", sig);
  app.Stop();
  return 0;
}

}  // namespace

void AddServeCommand(CLI::App* app) {
  auto flags = std::make_shared<ServeFlags>();
  CLI::App* cmd = app->add_subcommand("serve", "Run Tessera on its embedded store");
  cmd->add_option("--data-dir", flags->data_dir, "Where the store lives")->capture_default_str();
  cmd->add_option("--listen", flags->listen, "HOST:PORT to serve HTTP on")->capture_default_str();
  cmd->add_option("--admin-token", flags->admin_token,
                  "Admin bearer token (default: $TESSERA_ADMIN_TOKEN, else DATA_DIR/admin-token)");
  cmd->add_option("--config", flags->config, "JSON config file (identity limits, identifier kinds)");
  cmd->add_option("--threads", flags->threads, "HTTP io threads (default: twice the cores)")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  cmd->add_option("--max-queue-mb", flags->max_queue_mb,
                  "Ingest bytes waiting for the disk before requests get 503 + Retry-After")
      ->capture_default_str()
      ->check(CLI::Range(1, 65536));
  cmd->add_option("--background-cpu", flags->background_cpu,
                  "CPU priority of the workers deriving profiles and audiences from the log: "
                  "idle (SCHED_IDLE: only CPU time that requests leave over) or low (nice 10)")
      ->capture_default_str()
      ->check(CLI::IsMember({"idle", "low"}));
  cmd->add_option("--log-level", flags->log_level, "trace|debug|info|warn|error")->capture_default_str();
  cmd->add_option("--log-format", flags->log_format, "text, or json (one object per line)")
      ->capture_default_str();
  cmd->callback([flags] { std::exit(RunServe(*flags)); });
}

}  // namespace tessera::cli
