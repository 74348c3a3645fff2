#include "esper/log/level.h"

#include <cctype>
#include <string>

#include "esper/core/ascii.h"

namespace esper::log {

std::string_view LevelName(Level level) noexcept {
  switch (level) {
    case Level::kTrace: return "TRACE";
    case Level::kDebug: return "DEBUG";
    case Level::kInfo: return "INFO";
    case Level::kWarn: return "WARN";
    case Level::kError: return "ERROR";
    case Level::kCritical: return "CRITICAL";
    case Level::kOff: return "OFF";
  }
  return "UNKNOWN";
}

Result<Level> ParseLevel(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  const std::string s = AsciiLowerCopy(text);
  if (s == "trace") return Level::kTrace;
  if (s == "debug") return Level::kDebug;
  if (s == "info") return Level::kInfo;
  if (s == "warn" || s == "warning") return Level::kWarn;
  if (s == "error") return Level::kError;
  if (s == "critical" || s == "fatal") return Level::kCritical;
  if (s == "off") return Level::kOff;
  return Error::InvalidArgument(fmt::format(
      "unknown log level '{}' (expected trace, debug, info, warn, error, critical or off)", text));
}

}  // namespace esper::log
