#include "esper/core/thread.h"

#include <gtest/gtest.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <thread>

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

}  // namespace
}  // namespace esper
