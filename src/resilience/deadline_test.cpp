#include "esper/resilience/deadline.h"

#include <gtest/gtest.h>

namespace esper::resilience {
namespace {
using namespace std::chrono_literals;

TEST(DeadlineTest, RemainingAndExpiredFollowTheClock) {
  FakeClock clock;
  Deadline d = Deadline::After(100ms, clock);
  EXPECT_FALSE(d.expired());
  EXPECT_EQ(d.remaining(), 100ms);
  clock.Advance(60ms);
  EXPECT_EQ(d.remaining(), 40ms);
  clock.Advance(40ms);
  EXPECT_TRUE(d.expired());
  EXPECT_EQ(d.remaining(), Clock::Duration::zero());
}
}  // namespace
}  // namespace esper::resilience
