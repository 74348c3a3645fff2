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

namespace esper::resilience {
namespace {
using namespace std::chrono_literals;

TEST(DeadlineTest, InfiniteNeverExpires) {
  FakeClock clock;
  Deadline d = Deadline::Infinite(clock);
  EXPECT_TRUE(d.infinite());
  clock.Advance(24h * 365);
  EXPECT_FALSE(d.expired());
  EXPECT_EQ(d.remaining(), Clock::Duration::max());
  EXPECT_TRUE(Deadline().infinite());
  EXPECT_TRUE(Deadline::After(Clock::Duration::max(), clock).infinite());  // saturates
}

TEST(DeadlineTest, ChildIsTheEarlierOfParentAndPerTry) {
  FakeClock clock;
  Deadline parent = Deadline::After(10s, clock);
  EXPECT_EQ(parent.Child(3s).remaining(), 3s);
  clock.Advance(8s);
  EXPECT_EQ(parent.Child(3s).remaining(), 2s);  // the parent wins
  EXPECT_EQ(parent.Child(0s).when(), parent.when());  // no per-try limit
  EXPECT_EQ(Deadline::Infinite(clock).Child(1s).remaining(), 1s);
  EXPECT_EQ(Deadline::Earlier(parent, Deadline::After(1s, clock)).remaining(), 1s);
}

TEST(DeadlineTest, ZeroOrNegativeTimeoutIsAlreadyExpired) {
  FakeClock clock;
  EXPECT_TRUE(Deadline::After(0s, clock).expired());
  EXPECT_TRUE(Deadline::After(-5s, clock).expired());
  EXPECT_EQ(Deadline::After(-5s, clock).remaining(), Clock::Duration::zero());
}

TEST(DeadlineTest, ExceededErrorSaysWhatAndByHowMuch) {
  FakeClock clock;
  Deadline d = Deadline::After(100ms, clock);
  clock.Advance(112ms);
  Error e = d.ExceededError("upload part 3");
  EXPECT_EQ(e.code(), ErrorCode::kDeadlineExceeded);
  EXPECT_EQ(e.message(), "upload part 3: deadline exceeded (expired 12 ms ago)");
}

TEST(DeadlineTest, FormatDuration) {
  EXPECT_EQ(FormatDuration(500ns), "500 ns");
  EXPECT_EQ(FormatDuration(250ms), "250 ms");
  EXPECT_EQ(FormatDuration(1500ms), "1.5 s");
  EXPECT_EQ(FormatDuration(30s), "30 s");
  EXPECT_EQ(FormatDuration(5min), "5 min");
  EXPECT_EQ(FormatDuration(Clock::Duration::max()), "forever");
}

}  // namespace
}  // namespace esper::resilience
