// A write to stdout or stderr that fails is an error in every command: exit 1, with the reason on
// the stream that still works — never std::terminate (exit 134), never exit 0 with nothing written.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "testing/process.h"

namespace esper::cli {
namespace {

using esper::testing::EsperBinary;
using esper::testing::RunProcess;

testing::ProcessResult Shell(const std::string& command) {
  return RunProcess({"/bin/bash", "-c", command}, {"ESPER=" + EsperBinary()});
}

TEST(CliOutput, EveryCommandFailsWithExitOneWhenStdoutIsFull) {
  const auto dir = std::filesystem::temp_directory_path() / fmt::format("esper_cli_output_{}", getpid());
  std::filesystem::create_directories(dir);
  const std::string config = (dir / "service.yaml").string();
  std::ofstream(config) << "service: {name: tamiyo}\n";
  for (const std::string& args : {fmt::format("config show -c {}", config),
                                  fmt::format("config show -c {} --format json", config),
                                  fmt::format("config validate -c {}", config), std::string("--help"),
                                  std::string("help config"), std::string("--version")}) {
    auto r = Shell(fmt::format("\"$ESPER\" {} >/dev/full", args));
    EXPECT_EQ(r.exit_code, 1) << args << ": " << r.err;  // was 134 (config show) or 0
    EXPECT_NE(r.err.find("esper: error: ResourceExhausted: write to stdout: No space left on device"),
              std::string::npos)
        << args << ": " << r.err;
  }
  // Nothing can be said when stderr is full too: the exit code says it.
  auto both = Shell(fmt::format("\"$ESPER\" config show -c {} >/dev/full 2>&1", config));
  EXPECT_EQ(both.exit_code, 1);
  // A command that fails anyway keeps its own exit code.
  auto usage = Shell("\"$ESPER\" config show --format xml 2>/dev/full");
  EXPECT_EQ(usage.exit_code, 2);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace esper::cli
