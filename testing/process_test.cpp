#include "testing/process.h"

#include <signal.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>

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

}  // namespace
}  // namespace esper::testing
