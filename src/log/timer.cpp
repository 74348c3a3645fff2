#include "esper/log/timer.h"

namespace esper::log {

LoggingTimer::LoggingTimer(Logger& logger, std::string_view operation, Level level)
    : logger_(logger), operation_(operation), level_(level), start_(std::chrono::steady_clock::now()) {}

void LoggingTimer::Fail(std::string_view error) {
  failed_ = true;
  error_ = std::string(error);
}

void LoggingTimer::Fail(const Error& error) { Fail(error.ToString()); }

double LoggingTimer::elapsed_ms() const {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start_).count();
}

LoggingTimer::~LoggingTimer() {
  double ms = elapsed_ms();
  if (failed_) {
    ESPER_LOG(logger_, Level::kError, "Operation failed: {}", operation_, kv("duration_ms", ms),
              kv("operation", operation_), kv("error", error_));
  } else {
    ESPER_LOG(logger_, level_, "Operation completed: {}", operation_, kv("duration_ms", ms),
              kv("operation", operation_));
  }
}

}  // namespace esper::log
