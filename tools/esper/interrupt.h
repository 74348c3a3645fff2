// The CLI's one answer to SIGINT and SIGTERM: stop what is in flight, exit 130 at once.
//
// Main() holds an InterruptWatcher while a command runs. The signal handler only writes the
// signal's number to a pipe (async-signal-safe); the watcher's thread reads it and requests a stop
// on InterruptToken(), which runs every std::stop_callback registered on the token — on the
// watcher's thread, never in the handler. A command therefore reacts in one of two ways:
//
//   // hand the token to what blocks (an http request ends with Cancelled) …
//   request.options.cancel = cli::InterruptToken();
//   // … or register what cancels it
//   std::stop_callback on_interrupt(cli::InterruptToken(), [&] { client->CancelAll(); });
//
// and returns (any Status); Main then prints "esper: interrupted" and exits 130. A command that
// is stuck where no token reaches (open() of a FIFO no writer opens) is ended by the watcher
// itself: InterruptWatcher::kGrace after the signal it writes "esper: interrupted" and _exit(130)s.
// A command with work to finish after an interrupt — `esper s3 cp` aborting its multipart upload,
// the proxy printing its statistics — holds an InterruptCleanup meanwhile (bounded by its own
// timeouts); the watcher waits for it. A second signal ends the process at once, cleanup or not.
//
// Signals: only the watcher's thread takes SIGINT and SIGTERM. The thread that installs the
// watcher (Main's) blocks both, and so does every thread started after it, which inherits the
// mask. A child process inherits it too: whatever the CLI runs (fork+exec, posix_spawn) resets
// its signal mask (posix_spawnattr_setsigmask, or sigprocmask in the forked child).
//
// Thread safety: InterruptToken, Interrupted and InterruptCleanup may be used from any thread.
// One InterruptWatcher at a time per process (Main's).
#pragma once

#include <chrono>
#include <stop_token>
#include <thread>

namespace esper::cli {

/// Stopped once SIGINT or SIGTERM arrives while an InterruptWatcher is installed.
std::stop_token InterruptToken();

/// True once SIGINT or SIGTERM arrived; for loops that poll.
bool Interrupted();

/// While one exists, an interrupted process is not ended by the watcher's grace period.
class InterruptCleanup {
 public:
  InterruptCleanup();
  ~InterruptCleanup();
  InterruptCleanup(const InterruptCleanup&) = delete;
  InterruptCleanup& operator=(const InterruptCleanup&) = delete;
};

/// Installs the SIGINT / SIGTERM handlers and starts the watcher thread; the destructor restores
/// the default handlers and joins the thread.
class InterruptWatcher {
 public:
  /// How long after the first signal a command that has not returned is ended by the watcher.
  static constexpr std::chrono::milliseconds kGrace{500};

  InterruptWatcher();
  ~InterruptWatcher();
  InterruptWatcher(const InterruptWatcher&) = delete;
  InterruptWatcher& operator=(const InterruptWatcher&) = delete;

  /// Main, once the command has returned: the watcher ends nothing from here on (Main reports
  /// the interrupt itself). If the watcher is already ending the process, this never returns.
  void CommandReturned();

 private:
  void Run();

  int read_fd_ = -1;
  std::thread thread_;
};

}  // namespace esper::cli
