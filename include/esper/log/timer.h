// esper/log/timer.h — LoggingTimer: an RAII scope timer that logs how long an operation took.
//
// On destruction it logs, at the timer's level (default info):
//   "Operation completed: kernel_loading"  [duration_ms=12.345 operation=kernel_loading]
// or, when Fail() was called, at error level:
//   "Operation failed: kernel_loading"     [duration_ms=… operation=kernel_loading error=…]
// (the seed's LoggingTimer, with duration_ms a number field).
//
// Example:
//   {
//     esper::log::LoggingTimer timer(*logger, "kernel_loading");
//     auto st = LoadKernel(id);
//     if (!st) timer.Fail(st.error());
//   }
//
// Thread safety: a timer belongs to one thread (the one that destroys it logs). The logger must
// outlive the timer. Blocking: as a logging call (only in QueuePolicy::kBlock with a full queue).
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "esper/core/error.h"
#include "esper/log/logger.h"

namespace esper::log {

class LoggingTimer {
 public:
  LoggingTimer(Logger& logger, std::string_view operation, Level level = Level::kInfo);
  ~LoggingTimer();
  LoggingTimer(const LoggingTimer&) = delete;
  LoggingTimer& operator=(const LoggingTimer&) = delete;

  /// Marks the operation failed; the destructor logs the failure with `error` at kError.
  void Fail(std::string_view error);
  void Fail(const Error& error);
  /// Milliseconds since construction.
  double elapsed_ms() const;

 private:
  Logger& logger_;
  std::string operation_;
  Level level_;
  std::chrono::steady_clock::time_point start_;
  bool failed_ = false;
  std::string error_;
};

}  // namespace esper::log
