// `tessera import`: registered once the importer lands.
#include "cli/commands.h"

namespace tessera::cli {

void AddImportCommand(CLI::App* app) { (void)app; }

}  // namespace tessera::cli
