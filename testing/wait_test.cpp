#include "testing/wait.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "testing/http_server.h"
#include "testing/net.h"

namespace esper::testing {
namespace {

using namespace std::chrono_literals;

TEST(WaitUntil, TrueAtOnceCallsTheConditionOnce) {
  int calls = 0;
  EXPECT_TRUE(WaitUntil([&] { return ++calls > 0; }));
  EXPECT_EQ(calls, 1);
}

TEST(WaitUntil, SeesAConditionAnotherThreadMakesTrue) {
  std::atomic<bool> flag{false};
  std::thread t([&] {
    std::this_thread::sleep_for(20ms);
    flag = true;
  });
  EXPECT_TRUE(WaitUntil([&] { return flag.load(); }));
  t.join();
}

TEST(WaitUntil, GivesUpAndSaysSo) {
  int calls = 0;
  EXPECT_FALSE(WaitUntil([&] { return ++calls < 0; }, 20ms));
  EXPECT_GT(calls, 1);  // polled, not checked once
}

TEST(Ports, FreePortIsFreeAndWaitForPortSeesAListener) {
  const int port = FreePort();
  ASSERT_GT(port, 0);
  EXPECT_FALSE(WaitForPort(port, 20ms));  // nothing listens there
  HttpTestServer server(BasicRoutes);
  ASSERT_TRUE(server.Start());
  EXPECT_TRUE(WaitForPort(server.port()));
}

}  // namespace
}  // namespace esper::testing
