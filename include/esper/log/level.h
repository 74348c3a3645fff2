// esper/log/level.h — log severity levels: trace, debug, info, warn, error, critical, off.
//
// Levels are ordered; a logger writes a record when `record level >= logger level`. `kOff` is only
// a threshold (nothing is logged at it). Names parse case-insensitively and accept the seed's
// Python spellings ("WARNING", "FATAL" → critical), so ESPER_LOG_LEVEL=warning works.
//
// Example:
//   auto lvl = esper::log::ParseLevel("debug");          // Result<Level>
//   if (!lvl) fmt::print(stderr, "{}\n", lvl.error());     // InvalidArgument: unknown log level …
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <string_view>

#include "esper/core/result.h"

namespace esper::log {

enum class Level : uint8_t { kTrace = 0, kDebug = 1, kInfo = 2, kWarn = 3, kError = 4, kCritical = 5, kOff = 6 };

/// "TRACE", "DEBUG", "INFO", "WARN", "ERROR", "CRITICAL", "OFF".
std::string_view LevelName(Level level) noexcept;

/// Parses "trace|debug|info|warn|warning|error|critical|fatal|off" (any case, surrounding spaces
/// ignored). Anything else is InvalidArgument naming the accepted spellings.
Result<Level> ParseLevel(std::string_view text);

}  // namespace esper::log
