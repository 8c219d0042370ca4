// The `tessera` command: serve, import. Each subcommand lives in its own file.
#include <CLI/CLI.hpp>

#include "cli/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"Tessera: one live profile per customer, from every touchpoint"};
  app.require_subcommand(1);
  tessera::cli::AddServeCommand(&app);
  tessera::cli::AddImportCommand(&app);
  tessera::cli::AddRebuildCommand(&app);
  CLI11_PARSE(app, argc, argv);
  return 0;
}
