#include "esper/core/clock.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "testing/wait.h"

namespace esper {
namespace {

using namespace std::chrono_literals;

TEST(ClockTest, SystemClockIsMonotonic) {
  Clock& c = SystemClock();
  auto a = c.Now();
  c.SleepFor(1ms);
  EXPECT_GT(c.Now(), a);
}

TEST(FakeClockTest, MovesOnlyWhenAdvanced) {
  FakeClock c;
  auto t0 = c.Now();
  EXPECT_EQ(c.Now(), t0);
  c.Advance(5s);
  EXPECT_EQ(c.Now() - t0, 5s);
}

TEST(FakeClockTest, SleeperWakesWhenTimePasses) {
  FakeClock c;
  std::atomic<bool> woke{false};
  std::thread t([&] {
    c.SleepFor(10s);
    woke = true;
  });
  ASSERT_TRUE(esper::testing::WaitUntil([&] { return c.sleepers() != 0; }));
  c.Advance(9s);
  EXPECT_FALSE(woke.load());
  EXPECT_EQ(c.sleepers(), 1);
  c.Advance(1s);
  t.join();
  EXPECT_TRUE(woke.load());
}

}  // namespace
}  // namespace esper
