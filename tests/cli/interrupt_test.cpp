// SIGINT / SIGTERM end a command that blocks where no cancellation reaches, with exit 130, soon:
// the CLI's interrupt watcher (tools/esper/interrupt.h) ends it after its grace period.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "testing/process.h"
#include "testing/wait.h"

namespace esper::cli {
namespace {

using namespace std::chrono_literals;
using esper::testing::ChildProcess;
using esper::testing::EsperBinary;
using esper::testing::WaitUntil;

// Whether the process's main thread is blocked opening a FIFO (the kernel's wait for a writer).
bool BlockedOnFifoOpen(pid_t pid) {
  std::string wchan;
  std::ifstream(fmt::format("/proc/{}/wchan", pid)) >> wchan;
  return wchan == "wait_for_partner";
}

TEST(CliInterrupt, ConfigValidateOfAFifoNoWriterOpensEndsOnSigintAndSigterm) {
  const auto dir = std::filesystem::temp_directory_path() / fmt::format("esper_cli_fifo_{}", getpid());
  std::filesystem::create_directories(dir);
  const std::string fifo = (dir / "config.yaml").string();
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  for (int signal : {SIGINT, SIGTERM}) {
    ChildProcess esper;
    ASSERT_TRUE(esper.Start({EsperBinary(), "config", "validate", "-c", fifo}));
    ASSERT_TRUE(WaitUntil([&] { return BlockedOnFifoOpen(esper.pid()); }))
        << "esper never blocked in open() of the FIFO";
    esper.Signal(signal);
    EXPECT_EQ(esper.Wait(10s), 130) << "signal " << signal << ": " << esper.err();  // not killed by the watchdog
    EXPECT_EQ(esper.err(), "esper: interrupted\n");
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace esper::cli
