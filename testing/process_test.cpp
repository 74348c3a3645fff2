#include "testing/process.h"

#include <signal.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>

#include "testing/proc.h"
#include "testing/wait.h"

namespace esper::testing {
namespace {

using namespace std::chrono_literals;

// A process that has gone (or is a zombie waiting for init).
bool Gone(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), {});
  return text.empty() || text.find(") Z ") != std::string::npos;
}

TEST(RunProcess, SeparatesOutputAndErrorAndFeedsInput) {
  auto r = RunProcess({"sh", "-c", "cat; echo to-err >&2; exit 3"}, {}, "from-stdin");
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.out, "from-stdin");
  EXPECT_EQ(r.err, "to-err\n");
  EXPECT_EQ(RunProcess({"sh", "-c", "echo $ESPER_T"}, {"ESPER_T=set"}).out, "set\n");
  EXPECT_EQ(RunProcess({"/nonexistent/program"}).exit_code, 127);
}

TEST(ChildProcess, ReadsLinesWhileItRunsAndReportsHowItEnded) {
  ChildProcess child;
  ASSERT_TRUE(child.Start({"sh", "-c", "echo one; echo oops >&2; echo two; exec sleep 60"}));
  EXPECT_EQ(child.ReadLine(10s), "one");
  EXPECT_EQ(child.ReadLine(10s), "two");
  EXPECT_TRUE(child.running());
  EXPECT_FALSE(child.Start({"true"})) << "one program at a time";
  child.Signal(SIGTERM);
  EXPECT_EQ(child.Wait(), 128 + SIGTERM);
  EXPECT_EQ(child.err(), "oops\n");
  EXPECT_FALSE(child.running());

  ASSERT_TRUE(child.Start({"sh", "-c", "exit 4"}));
  EXPECT_TRUE(WaitUntil([&] { return !child.running(); }));
  EXPECT_FALSE(child.running()) << "stays ended once seen ended";
  EXPECT_EQ(child.Wait(), 4) << "the exit code running() collected";
  ASSERT_TRUE(child.Start({"/nonexistent/program"}));
  EXPECT_EQ(child.Wait(), 127);
}

TEST(ChildProcess, WaitKillsWhatDoesNotEndInTime) {
  ChildProcess child;
  ASSERT_TRUE(child.Start({"sh", "-c", "trap '' TERM; exec sleep 60"}));
  EXPECT_EQ(child.Wait(50ms), -1);
  EXPECT_FALSE(child.running());
}

TEST(ChildProcess, StopReachesWhatItStarted) {
  ChildProcess child;
  ASSERT_TRUE(child.Start({"sh", "-c", "sleep 60 & echo $!; wait"}));
  const pid_t grandchild = static_cast<pid_t>(std::stol(child.ReadLine(10s)));
  const auto tree = ProcessTree(child.pid());
  EXPECT_NE(std::find(tree.begin(), tree.end(), grandchild), tree.end());
  child.Stop();
  EXPECT_TRUE(WaitUntil([&] { return Gone(grandchild); })) << "the process group was signalled";
}

TEST(ChildProcess, OutputFileTakesBothStreams) {
  const std::string path = std::filesystem::temp_directory_path() / ("esper_child_" + std::to_string(getpid()));
  {
    ChildProcess child;
    ASSERT_TRUE(child.Start({"sh", "-c", "echo out; echo err >&2"}, {.env = {}, .output_file = path}));
    EXPECT_EQ(child.Wait(), 0);
  }
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(text, "out\nerr\n");
  std::remove(path.c_str());
}

// The CLI blocks SIGINT and SIGTERM on every thread (tools/esper/interrupt.h) and exec keeps a
// signal mask: what RunProcess and ChildProcess start from such a thread has none blocked, so a
// server the bench started ends on Stop()'s SIGTERM.
TEST(ChildProcess, StartsProgramsWithNoSignalBlockedThoughTheCallerBlocksSome) {
  auto blocked_of = [](const std::string& status) {  // the SigBlk field of a /proc/<pid>/status
    const size_t at = status.find("SigBlk:\t");
    return at == std::string::npos ? std::string("(none)") : status.substr(at + 8, status.find('\n', at) - at - 8);
  };
  std::string run_blocked, child_blocked;
  int child_exit = -2, term_exit = -2;
  std::thread([&] {  // a thread of its own: the mask is this thread's, and a ChildProcess ends with it
    sigset_t cli;
    sigemptyset(&cli);
    sigaddset(&cli, SIGINT);
    sigaddset(&cli, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &cli, nullptr);
    run_blocked = blocked_of(RunProcess({"cat", "/proc/self/status"}).out);
    ChildProcess child;
    if (!child.Start({"cat", "/proc/self/status"})) return;
    child_exit = child.Wait();
    child_blocked = blocked_of(child.out());
    if (!child.Start({"sleep", "60"})) return;
    child.Signal(SIGTERM);
    term_exit = child.Wait();
  }).join();
  EXPECT_EQ(run_blocked, "0000000000000000") << "RunProcess";
  EXPECT_EQ(child_exit, 0);
  EXPECT_EQ(child_blocked, "0000000000000000") << "ChildProcess";
  EXPECT_EQ(term_exit, 128 + SIGTERM) << "sleep ends on SIGTERM";
}

}  // namespace
}  // namespace esper::testing
