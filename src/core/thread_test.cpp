#include "esper/core/thread.h"

#include <gtest/gtest.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <thread>

#include "testing/process.h"

namespace esper {
namespace {

std::string CommOfThisThread() {
  std::ifstream in("/proc/self/task/" + std::to_string(::syscall(SYS_gettid)) + "/comm");
  std::string name;
  std::getline(in, name);
  return name;
}

TEST(ThreadName, NamesTheCallingThreadOnlyAsTheKernelSeesIt) {
  const std::string main_before = ThisThreadName();
  std::string inside, comm, cut;
  std::thread t([&] {
    NameThisThread("esper-test");
    inside = ThisThreadName();
    comm = CommOfThisThread();
    NameThisThread("a-name-longer-than-fifteen-bytes");
    cut = ThisThreadName();
  });
  t.join();
  EXPECT_EQ(inside, "esper-test");
  EXPECT_EQ(comm, "esper-test");
  EXPECT_EQ(cut, "a-name-longer-t");  // 15 bytes kept
  EXPECT_EQ(ThisThreadName(), main_before);
}

// Each fork() child sees one more than its parent; the parent's value does not move.
TEST(ForkGeneration, CountsForksInTheChildOnly) {
  const uint64_t before = ForkGeneration();
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    const uint64_t child = ForkGeneration();
    const pid_t grandchild = fork();
    if (grandchild == 0) _exit(ForkGeneration() == before + 2 ? 0 : 1);
    _exit(child == before + 1 && testing::WaitForChild(grandchild) == 0 ? 0 : 1);
  }
  EXPECT_EQ(testing::WaitForChild(pid), 0);
  EXPECT_EQ(ForkGeneration(), before);
}

}  // namespace
}  // namespace esper
