// Subcommands of the `tessera` CLI. Each Add*Command registers its options and a callback that
// exits the process with the command's status.
#pragma once

#include <CLI/CLI.hpp>

namespace tessera::cli {

void AddServeCommand(CLI::App* app);
void AddImportCommand(CLI::App* app);
void AddRebuildCommand(CLI::App* app);
void AddLinkCommand(CLI::App* app);
void AddAudienceCommand(CLI::App* app);

}  // namespace tessera::cli
