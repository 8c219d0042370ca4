// Log set-up for the `tessera` commands: level and format (text for people, or one JSON object
// per line for log shippers: {"ts","level","logger","thread","msg"}).
#pragma once

#include <string>

#include "core/status.h"

namespace tessera::cli {

// format: "text" or "json"; level: trace|debug|info|warn|error|critical|off.
Status ConfigureLogging(const std::string& level, const std::string& format);

}  // namespace tessera::cli
