// `tessera rebuild`: re-derive the identity graph and every profile from the event log, offline.
// Use it after changing identity limits or priorities, or to check that derived state is a pure
// function of the log (the result is the same as processing the log live).
#include <spdlog/spdlog.h>

#include <chrono>

#include "api/app.h"
#include "cli/commands.h"
#include "eventlog/event_log.h"
#include "pipeline/processor.h"

namespace tessera::cli {
namespace {

struct RebuildFlags {
  std::string data_dir = "./tessera-data";
  std::string config;
};

int RunRebuild(const RebuildFlags& flags) {
  api::AppOptions options;
  if (!flags.config.empty()) {
    Status s = api::LoadConfigFile(flags.config, &options);
    if (!s.ok()) {
      spdlog::error("{}", s.message());
      return 2;
    }
  }
  auto store = storage::OpenRocksStore(flags.data_dir + "/store", options.rocks);
  if (!store.ok()) {
    spdlog::error("cannot open {} (is the server still running?): {}", flags.data_dir,
                  store.status().ToString());
    return 1;
  }
  eventlog::EventLog log(store->get(), options.log);
  Status s = log.Open();
  if (s.ok()) s = pipeline::Processor::ResetDerivedState(store->get());
  if (!s.ok()) {
    spdlog::error("rebuild: {}", s.ToString());
    return 1;
  }
  auto start = std::chrono::steady_clock::now();
  pipeline::Processor processor(store->get(), &log, options.identity);
  s = processor.CatchUp();
  if (!s.ok()) {
    spdlog::error("rebuild stopped after seq {}: {}", processor.processed_seq(), s.ToString());
    return 1;
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("rebuilt %llu events (%llu merges) in %.1f s\n",
              static_cast<unsigned long long>(processor.events_processed()),
              static_cast<unsigned long long>(processor.merges()), seconds);
  return 0;
}

}  // namespace

void AddRebuildCommand(CLI::App* app) {
  auto flags = std::make_shared<RebuildFlags>();
  CLI::App* cmd = app->add_subcommand(
      "rebuild", "Re-derive identities and profiles from the event log (server stopped)");
  cmd->add_option("--data-dir", flags->data_dir, "Where the store lives")->capture_default_str();
  cmd->add_option("--config", flags->config, "JSON config file (identity limits, identifier kinds)");
  cmd->callback([flags] { std::exit(RunRebuild(*flags)); });
}

}  // namespace tessera::cli
