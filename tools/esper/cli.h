// The esper command line: a command table over the library (ninja's shape). main.cpp is thin;
// every command is a function that registers its flags on a CLI11 subcommand and returns the
// runner to call after parsing. Runners return Status; nothing below main() calls exit().
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "esper/core/result.h"
#include "interrupt.h"  // InterruptToken, Interrupted, InterruptCleanup: how a command hears Ctrl-C
#include "output.h"     // Print, PrintErr, Write: the only way to stdout and stderr

namespace esper::cli {

/// Process exit codes.
enum class ExitCode : int {
  kSuccess = 0,       // the operation succeeded
  kFailure = 1,       // the operation failed (the error is on stderr)
  kUsage = 2,         // the command line was wrong (unknown command or flag, bad value)
  kInterrupted = 130  // SIGINT / SIGTERM
};

/// What a command's setup returns: called after a successful parse.
using Runner = std::function<Status()>;

struct Command {
  std::string name;
  std::string summary;
  /// Adds the command's flags and subcommands to `cmd` and returns its runner. The runner may
  /// read variables captured by reference from state owned by the lambda (use shared_ptr).
  std::function<Runner(CLI::App& cmd)> setup;
};

/// The command table (commands.cpp).
const std::vector<Command>& Commands();

/// An Error that means "the command line was wrong": exit code 2, not 1.
Error UsageError(std::string message);
bool IsUsageError(const Error& e);


/// Runs the CLI; returns the process exit code. Used by main() and by the CLI tests.
int Main(int argc, const char* const* argv);

}  // namespace esper::cli
