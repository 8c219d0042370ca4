// The `tessera` command: serve, import, rebuild, link, audience. Each subcommand lives in its own file.
#include <CLI/CLI.hpp>

#include "cli/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"Tessera: one live profile per customer, from every touchpoint"};
  app.require_subcommand(1);
  tessera::cli::AddServeCommand(&app);
  tessera::cli::AddImportCommand(&app);
  tessera::cli::AddRebuildCommand(&app);
  tessera::cli::AddLinkCommand(&app);
  tessera::cli::AddAudienceCommand(&app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version are "errors" with exit code 0; every real usage error exits 2.
    int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  return 0;
}
