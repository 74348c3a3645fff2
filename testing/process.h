// Other programs, for tests and the bench: run one to completion (RunProcess), keep one running
// beside the test and talk to it (ChildProcess: the built `esper`, nginx, s3rver, …), wait for a
// child of the test's own fork() without hanging (WaitForChild).
//
//   esper::testing::ChildProcess proxy;
//   ASSERT_TRUE(proxy.Start({esper::testing::EsperBinary(), "proxy", "--upstream", addr}));
//   std::string line = proxy.ReadLine(std::chrono::seconds(30));   // "listening on …"
//   proxy.Signal(SIGINT);
//   EXPECT_EQ(proxy.Wait(), 130);
//
// Thread safety: one ChildProcess is used from one thread. A child started by ChildProcess is
// killed (SIGKILL) when the thread that started it ends, so a test that is killed leaves no
// server behind.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "esper/core/result.h"

namespace esper::testing {

struct ProcessResult {
  int exit_code = -1;  // 128 + signal when killed by a signal
  std::string out;
  std::string err;
};

/// Runs argv[0] with argv (no shell; argv[0] without a '/' is looked up on PATH) and waits for it
/// to exit. `env` entries ("K=V") are added to the environment; `stdin_data` is written to its
/// standard input. exit_code is 127 when the program could not be run.
ProcessResult RunProcess(const std::vector<std::string>& argv, const std::vector<std::string>& env = {},
                         const std::string& stdin_data = "");

/// For a child between fork() and exec: empties its signal mask, which exec keeps. The CLI blocks
/// SIGINT and SIGTERM on every thread (tools/esper/interrupt.h), so a program it starts without
/// this would not end on Ctrl-C or kill. RunProcess and ChildProcess call it; so does code that
/// forks for itself (the bench's timed runs). Async-signal-safe.
void ResetSignalMask();

/// Waits for the child `pid` (of a test's own fork()) for at most `limit`, then kills it: its exit
/// code, 128 + signal when a signal ended it, or -1 when it had to be killed (it hung).
int WaitForChild(pid_t pid, std::chrono::milliseconds limit = std::chrono::seconds(10));

/// A program running beside the caller, in a process group of its own (Signal and Stop reach
/// what it starts too, e.g. npx's node). Its stdout and stderr come back through pipes, or go
/// to Options::output_file for a server that writes more than anyone reads.
class ChildProcess {
 public:
  struct Options {
    std::vector<std::string> env{};  // "K=V" entries added to the child's environment
    std::string output_file{};       // stdout and stderr appended to this file instead of pipes
  };

  ChildProcess() = default;
  ~ChildProcess() { Stop(); }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  /// Starts argv[0] (looked up on PATH without a '/'). Fails if it is already running or the
  /// fork fails; a program that cannot be executed exits 127 (see Wait).
  Status Start(const std::vector<std::string>& argv, Options options);
  Status Start(const std::vector<std::string>& argv) { return Start(argv, Options{}); }

  /// The next line of its stdout without the '\n', waiting up to `timeout`; "" on timeout or EOF.
  std::string ReadLine(std::chrono::milliseconds timeout);
  /// Sends `signal` to its process group.
  void Signal(int signal);
  /// Waits up to `limit` for it to exit (collecting its output): its exit code, 128 + signal
  /// when a signal ended it, or -1 when it had to be killed (it hung). Also -1 if never started.
  int Wait(std::chrono::milliseconds limit = std::chrono::seconds(10));
  /// SIGTERM, up to `grace` to exit, then SIGKILL. Idempotent; the destructor calls it.
  void Stop(std::chrono::milliseconds grace = std::chrono::seconds(5));

  pid_t pid() const { return pid_; }
  /// Whether it is still running (reaps it, keeping its exit code for Wait, if it has exited).
  bool running();
  /// What it wrote to stdout after the last ReadLine, and to stderr, as collected so far.
  const std::string& out() const { return out_; }
  const std::string& err() const { return err_; }

 private:
  void Drain();  // reads what the pipes hold now, without blocking

  pid_t pid_ = -1;
  int out_fd_ = -1;
  int err_fd_ = -1;
  int exit_code_ = -1;
  std::optional<int> reaped_status_;  // running() saw it exit; Wait() has not yet collected it
  std::string out_;
  std::string err_;
};

#ifdef ESPER_BINARY_DIR
/// The built esper binary (tests only: ESPER_BINARY_DIR is defined by esper_add_test).
inline std::string EsperBinary() { return std::string(ESPER_BINARY_DIR) + "/bin/esper"; }
#endif

}  // namespace esper::testing
