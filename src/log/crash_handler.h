// Private: the process's crash handler, which drains every registered logger on a fatal signal
// (crash_handler.cpp; LoggerCore::CrashDrain is its per-logger part).
#pragma once

namespace esper::log::detail {

class LoggerCore;

/// SIGSEGV, SIGABRT, SIGBUS, SIGFPE, SIGILL: drain, then the previous action. Once per process.
void InstallCrashHandler();
/// SIGTERM, SIGINT the same (Options::drain_on_terminate). Once per process.
void InstallTerminateHandler();
/// The loggers the handler drains: at most 64 at once (a 65th is not drained; documented).
/// Async-signal-safe slots; a logger is registered while it runs.
void RegisterCore(LoggerCore* c);
void UnregisterCore(LoggerCore* c);

}  // namespace esper::log::detail
