#include "cli.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <sstream>

#include "esper/core/closest_match.h"
#include "esper/core/version.h"

namespace esper::cli {
namespace {

constexpr std::string_view kUsageCode = "esper.usage";

std::vector<std::string> CommandNames() {
  std::vector<std::string> names{"help"};
  for (const auto& c : Commands()) names.push_back(c.name);
  return names;
}

}  // namespace

Error UsageError(std::string message) {
  return Error::InvalidArgument(std::move(message)).WithServiceCode(std::string(kUsageCode));
}
bool IsUsageError(const Error& e) { return e.service_code() == kUsageCode; }

namespace {

// Parses the command line and runs the command; the exit code.
int ParseAndRun(int argc, const char* const* argv, InterruptWatcher& interrupt_watcher) {
  CLI::App app{"esper — logging, configuration, resilience, HTTP and S3 for the Esper services",
               "esper"};
  app.set_version_flag("--version", fmt::format("esper {}", kVersion));
  app.require_subcommand(0, 1);
  app.footer("Run 'esper <command> --help' for a command's flags.");

  Runner selected;
  std::vector<std::pair<CLI::App*, Runner>> runners;
  for (const auto& c : Commands()) {
    CLI::App* sub = app.add_subcommand(c.name, c.summary);
    runners.emplace_back(sub, c.setup(*sub));
  }
  std::string help_topic;
  CLI::App* help = app.add_subcommand("help", "Show help for esper or for one command");
  help->add_option("command", help_topic, "The command to explain");

  // An unknown command gets "did you mean", before CLI11 calls it an unexpected argument.
  if (argc > 1 && argv[1][0] != '-') {
    std::vector<std::string> names = CommandNames();
    if (std::find(names.begin(), names.end(), argv[1]) == names.end()) {
      std::string guess = ClosestMatch(argv[1], names);
      PrintErr("esper: unknown command '{}'.", argv[1]);
      if (!guess.empty()) PrintErr(" Did you mean '{}'?", guess);
      PrintErr("\nRun 'esper help' for the list of commands.\n");
      return static_cast<int>(ExitCode::kUsage);
    }
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    std::ostringstream out, err;
    int rc = app.exit(e, out, err);  // help / version / the parse error, printed through output.h
    Print("{}", out.str());
    PrintErr("{}", err.str());
    return rc == 0 ? 0 : static_cast<int>(ExitCode::kUsage);
  }

  // App::help() follows the parsed subcommand; ask the formatter for the top-level page instead.
  auto top_help = [&app] {
    return app.get_formatter()->make_help(&app, "esper", CLI::AppFormatMode::Normal);
  };
  if (help->parsed()) {
    if (help_topic.empty()) {
      Print("{}", top_help());
      return 0;
    }
    for (const auto& [sub, runner] : runners) {
      if (sub->get_name() == help_topic) {
        Print("{}", sub->help("esper"));
        return 0;
      }
    }
    std::string guess = ClosestMatch(help_topic, CommandNames());
    PrintErr("esper: no command '{}'.{}\n", help_topic,
             guess.empty() ? "" : fmt::format(" Did you mean '{}'?", guess));
    return static_cast<int>(ExitCode::kUsage);
  }

  for (const auto& [sub, runner] : runners) {
    if (sub->parsed()) selected = runner;
  }
  if (!selected) {
    Print("{}", top_help());
    return 0;
  }

  Status st = selected();
  interrupt_watcher.CommandReturned();
  if (Interrupted()) {
    Flush();
    PrintErr("esper: interrupted\n");
    return static_cast<int>(ExitCode::kInterrupted);
  }
  if (!st) {
    Flush();
    if (IsUsageError(st.error())) {
      PrintErr("esper: {}\n", st.error().message());
      return static_cast<int>(ExitCode::kUsage);
    }
    PrintErr("esper: error: {}\n", TerminalSafe(fmt::format("{}", st.error())));  // may quote a server
    return static_cast<int>(ExitCode::kFailure);
  }
  return static_cast<int>(ExitCode::kSuccess);
}

}  // namespace

int Main(int argc, const char* const* argv) {
  InterruptWatcher interrupt_watcher;  // SIGINT / SIGTERM stop InterruptToken() (interrupt.h)
  const int rc = ParseAndRun(argc, argv, interrupt_watcher);
  // Every write the command made, checked in one place: a lost write to stdout or stderr is a
  // failure, said on the stream that still works (an exit code already not 0 stays).
  if (Status out = FlushOutput(); !out && rc == static_cast<int>(ExitCode::kSuccess)) {
    PrintErr("esper: error: {}\n", out.error());
    return static_cast<int>(ExitCode::kFailure);
  }
  return rc;
}

}  // namespace esper::cli
