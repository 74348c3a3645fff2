// The crash handler: SIGSEGV, SIGABRT, SIGBUS, SIGFPE, SIGILL (and with
// Options::drain_on_terminate SIGTERM, SIGINT) drain every live logger, then the signal takes
// the action installed before ours.
#include "log/crash_handler.h"

#include <pthread.h>
#include <signal.h>
#include <time.h>

#include <atomic>
#include <initializer_list>
#include <mutex>

#include "log/core.h"

namespace esper::log::detail {
namespace {

constexpr int kMaxCores = 64;
std::atomic<LoggerCore*> g_cores[kMaxCores];
std::atomic<bool> g_in_crash{false};
struct sigaction g_old_actions[32];

void CrashHandler(int sig, siginfo_t*, void*) {
  if (!g_in_crash.exchange(true)) {
    for (auto& slot : g_cores) {
      LoggerCore* c = slot.load(std::memory_order_acquire);
      if (c) c->CrashDrain();
    }
  }
  // Re-raise with the handler that was there before us (normally SIG_DFL). The signal is blocked
  // while we run, so it is delivered when we return (a real fault re-executes and re-faults).
  sigaction(sig, &g_old_actions[sig], nullptr);
  raise(sig);
}

// Puts CrashHandler on `signals`, keeping the previous actions for the re-raise.
void InstallDrainHandler(std::initializer_list<int> signals) {
  for (int sig : signals) {
    struct sigaction sa {};
    sa.sa_sigaction = CrashHandler;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    sigaction(sig, &sa, &g_old_actions[sig]);
  }
}

}  // namespace

void InstallCrashHandler() {
  static std::once_flag once;
  std::call_once(once, [] { InstallDrainHandler({SIGSEGV, SIGABRT, SIGBUS, SIGFPE, SIGILL}); });
}

// SIGTERM / SIGINT (Options::drain_on_terminate): the same drain, then the previous action —
// the default (the process ends by that signal) or the application's own handler.
void InstallTerminateHandler() {
  static std::once_flag once;
  std::call_once(once, [] { InstallDrainHandler({SIGTERM, SIGINT}); });
}

void RegisterCore(LoggerCore* c) {
  for (auto& slot : g_cores) {
    LoggerCore* expected = nullptr;
    if (slot.compare_exchange_strong(expected, c)) return;
  }
  // More than kMaxCores live loggers: this one is not drained by the crash handler (documented).
}

void UnregisterCore(LoggerCore* c) {
  for (auto& slot : g_cores) {
    LoggerCore* expected = c;
    if (slot.compare_exchange_strong(expected, nullptr)) return;
  }
}

void LoggerCore::CrashDrain() noexcept {
  if (!opt_.async || !running_.load(std::memory_order_acquire)) return;
  if (forked_.load(std::memory_order_acquire)) return;  // a child that has logged nothing yet
  if (pthread_equal(backend_tid_.load(std::memory_order_acquire), pthread_self())) return;
  crash_state_.store(1, std::memory_order_release);
  Wake();
  // Bounded wait (async-signal-safe: atomics + nanosleep): Wake() ended the backend's sleep.
  timespec ts{0, 200'000};
  for (int i = 0; i < 25'000 && crash_state_.load(std::memory_order_acquire) != 2; ++i) nanosleep(&ts, nullptr);
}

}  // namespace esper::log::detail
