// `tessera audience preview`: how many profiles a condition (or a computed trait's aggregate)
// selects, and a sample, evaluated over a data dir with the server stopped. Nothing is saved.
#include <spdlog/spdlog.h>

#include "api/app.h"
#include "audience/preview.h"
#include "cli/commands.h"

namespace tessera::cli {
namespace {

struct PreviewFlags {
  std::string data_dir = "./tessera-data";
  std::string condition;
  std::string aggregate;
  size_t sample = 10;
};

int RunPreview(const PreviewFlags& flags) {
  if (flags.condition.empty() == flags.aggregate.empty()) {
    std::fprintf(stderr, "give a condition, or --aggregate for a computed trait (not both)\n");
    return 2;
  }
  std::variant<audience::Condition, audience::Aggregate> body;
  if (!flags.condition.empty()) {
    auto c = audience::ParseCondition(flags.condition);
    if (!c.ok()) {
      std::fprintf(stderr, "condition: %s\n", c.status().message().c_str());
      return 2;
    }
    body = std::move(*c);
  } else {
    auto a = audience::ParseAggregate(flags.aggregate);
    if (!a.ok()) {
      std::fprintf(stderr, "aggregate: %s\n", a.status().message().c_str());
      return 2;
    }
    body = std::move(*a);
  }
  api::AppOptions options;
  auto store = storage::OpenRocksStore(flags.data_dir + "/store", options.rocks);
  if (!store.ok()) {
    spdlog::error("cannot open {} (is the server still running?): {}", flags.data_dir,
                  store.status().ToString());
    return 1;
  }
  eventlog::EventLog log(store->get(), options.log);
  sources::SourceRegistry sources(store->get());
  audience::Catalog catalog(store->get());
  Status s = log.Open();
  if (s.ok()) s = sources.Load();
  if (s.ok()) s = catalog.Load();
  if (s.ok()) {
    if (auto* c = std::get_if<audience::Condition>(&body)) s = catalog.CheckReferences(*c);
  }
  if (!s.ok()) {
    std::fprintf(stderr, "%s\n", s.message().c_str());
    return s.code() == StatusCode::kInvalidArgument ? 2 : 1;
  }
  auto result = audience::Preview(store->get(), &log, &sources, *catalog.snapshot(), body,
                                  Clock::System().NowMs(), flags.sample);
  if (!result.ok()) {
    spdlog::error("preview: {}", result.status().ToString());
    return 1;
  }
  std::printf("%llu of %llu profiles\n", static_cast<unsigned long long>(result->size),
              static_cast<unsigned long long>(result->profiles));
  for (const auto& [id, value] : result->sample) {
    if (value.is_null()) {
      std::printf("  %s\n", id.c_str());
    } else {
      std::printf("  %s  %s\n", id.c_str(), value.dump().c_str());
    }
  }
  return 0;
}

}  // namespace

void AddAudienceCommand(CLI::App* app) {
  CLI::App* cmd = app->add_subcommand("audience", "Audiences on the command line");
  cmd->require_subcommand(1);
  auto flags = std::make_shared<PreviewFlags>();
  CLI::App* preview = cmd->add_subcommand(
      "preview", "Size and a sample of a condition over a data dir (server stopped; saves nothing)");
  preview->add_option("condition", flags->condition,
                      "The condition, text form (docs/CONDITIONS.md)");
  preview->add_option("--aggregate", flags->aggregate,
                      "Preview a computed trait's aggregate instead of a condition");
  preview->add_option("--data-dir", flags->data_dir, "Where the store lives")->capture_default_str();
  preview->add_option("--sample", flags->sample, "How many profiles to list")->capture_default_str();
  preview->callback([flags] { std::exit(RunPreview(*flags)); });
}

}  // namespace tessera::cli
