#include "esper/resilience/circuit_breaker.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace esper::resilience {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

}  // namespace
// Readable state names in gtest failure messages.
void PrintTo(BreakerState s, std::ostream* os) { *os << BreakerStateName(s); }
namespace {

Error Boom() { return Error::Unavailable("connection reset"); }

// Acquires and records one outcome; returns whether the call was permitted.
bool Exec(CircuitBreaker& b, bool fail) {
  auto p = b.TryAcquire();
  if (!p) return false;
  if (fail) {
    p->RecordFailure(Boom());
  } else {
    p->RecordSuccess();
  }
  return true;
}

std::unique_ptr<CircuitBreaker> Make(CircuitBreakerOptions o, Clock& clock) {
  auto b = CircuitBreaker::Create(std::move(o), clock);
  EXPECT_TRUE(b.has_value()) << b.error().ToString();
  return std::move(b).value();
}

TEST(CircuitBreakerTest, DefaultsAreTheSeeds) {
  CircuitBreakerOptions o;
  EXPECT_EQ(o.failure_threshold, 5);
  EXPECT_EQ(o.open_duration, 60s);
  EXPECT_EQ(o.window, WindowType::kConsecutive);
}

TEST(CircuitBreakerTest, OpensHalfOpensAndRecoversOnSchedule) {
  FakeClock clock;
  auto b = Make({.name = "users", .failure_threshold = 3, .open_duration = 30s}, clock);
  EXPECT_EQ(b->state(), BreakerState::kClosed);
  EXPECT_TRUE(Exec(*b, true));
  EXPECT_TRUE(Exec(*b, true));
  EXPECT_EQ(b->state(), BreakerState::kClosed);
  EXPECT_TRUE(Exec(*b, true));
  EXPECT_EQ(b->state(), BreakerState::kOpen);

  auto rejected = b->TryAcquire();
  ASSERT_FALSE(rejected.has_value());
  EXPECT_EQ(rejected.error().code(), ErrorCode::kUnavailable);
  EXPECT_TRUE(rejected.error().retryable());
  EXPECT_THAT(rejected.error().message(), HasSubstr("'users' is open"));
  EXPECT_THAT(rejected.error().message(), HasSubstr("half-opens in 30 s"));

  clock.Advance(29s);
  EXPECT_EQ(b->state(), BreakerState::kOpen);
  auto still = b->TryAcquire();
  ASSERT_FALSE(still.has_value());
  EXPECT_THAT(still.error().message(), HasSubstr("half-opens in 1 s"));
  clock.Advance(1s);
  EXPECT_EQ(b->state(), BreakerState::kHalfOpen);

  auto probe = b->TryAcquire();
  ASSERT_TRUE(probe.has_value());
  EXPECT_EQ(probe->granted_in(), BreakerState::kHalfOpen);
  auto second = b->TryAcquire();  // only one probe by default
  ASSERT_FALSE(second.has_value());
  EXPECT_THAT(second.error().message(), HasSubstr("half-open"));
  probe->RecordSuccess();
  EXPECT_EQ(b->state(), BreakerState::kClosed);
  EXPECT_TRUE(Exec(*b, false));

  const auto h = b->history();
  ASSERT_EQ(h.size(), 3u);
  EXPECT_EQ(h[0].from, BreakerState::kClosed);
  EXPECT_EQ(h[0].to, BreakerState::kOpen);
  EXPECT_EQ(h[0].reason, "3 consecutive failures");
  EXPECT_EQ(h[1].to, BreakerState::kHalfOpen);
  EXPECT_EQ(h[1].at - h[0].at, 30s);
  EXPECT_EQ(h[2].to, BreakerState::kClosed);

  const auto s = b->get_stats();
  EXPECT_EQ(s.failures, 3u);
  EXPECT_EQ(s.successes, 2u);
  EXPECT_EQ(s.calls, 5u);
  EXPECT_EQ(s.rejections, 3u);
  EXPECT_EQ(s.transitions, 3u);
  EXPECT_EQ(s.state, BreakerState::kClosed);
}

TEST(CircuitBreakerTest, FailedProbeReopensForAnotherFullPeriod) {
  FakeClock clock;
  auto b = Make({.failure_threshold = 1, .open_duration = 10s}, clock);
  EXPECT_TRUE(Exec(*b, true));
  clock.Advance(10s);
  EXPECT_TRUE(Exec(*b, true));  // the probe fails
  EXPECT_EQ(b->state(), BreakerState::kOpen);
  EXPECT_EQ(b->stats().open_remaining, 10s);
  clock.Advance(9s);
  EXPECT_FALSE(b->TryAcquire().has_value());
  clock.Advance(1s);
  EXPECT_TRUE(Exec(*b, false));
  EXPECT_EQ(b->state(), BreakerState::kClosed);
}

TEST(CircuitBreakerTest, SuccessResetsTheConsecutiveCount) {
  FakeClock clock;
  auto b = Make({.failure_threshold = 3}, clock);
  for (int i = 0; i < 10; ++i) {
    EXPECT_TRUE(Exec(*b, true));
    EXPECT_TRUE(Exec(*b, true));
    EXPECT_TRUE(Exec(*b, false));
  }
  EXPECT_EQ(b->state(), BreakerState::kClosed);
  EXPECT_EQ(b->stats().failures, 20u);
  EXPECT_EQ(b->stats().consecutive_failures, 0);
}

TEST(CircuitBreakerTest, ErrorsThatAreNotFailuresCountAsSuccesses) {
  FakeClock clock;
  auto b = Make({.failure_threshold = 2}, clock);
  for (int i = 0; i < 10; ++i) {
    auto p = b->TryAcquire();
    ASSERT_TRUE(p.has_value());
    p->RecordFailure(Error::NotFound("no such key"));
  }
  for (int i = 0; i < 10; ++i) {
    auto p = b->TryAcquire();
    ASSERT_TRUE(p.has_value());
    p->RecordFailure(Error::FromHttpStatus(400, "bad request"));
  }
  EXPECT_EQ(b->state(), BreakerState::kClosed);
  EXPECT_EQ(b->stats().successes, 20u);
  EXPECT_EQ(b->stats().failures, 0u);
}

TEST(CircuitBreakerTest, DefaultPredicate) {
  EXPECT_TRUE(DefaultIsFailure(Error::Unavailable("reset")));
  EXPECT_TRUE(DefaultIsFailure(Error::DeadlineExceeded("timeout")));
  EXPECT_TRUE(DefaultIsFailure(Error::FromHttpStatus(500, "oops")));
  EXPECT_TRUE(DefaultIsFailure(Error::FromHttpStatus(503, "busy")));
  EXPECT_TRUE(DefaultIsFailure(Error::FromHttpStatus(501, "nope")));  // 5xx, though not retryable
  EXPECT_FALSE(DefaultIsFailure(Error::NotFound("gone")));
  EXPECT_FALSE(DefaultIsFailure(Error::InvalidArgument("bad")));
  EXPECT_FALSE(DefaultIsFailure(Error::FromHttpStatus(404, "gone")));
}

TEST(CircuitBreakerTest, CustomPredicate) {
  FakeClock clock;
  auto b = Make({.failure_threshold = 2,
                 .is_failure = [](const Error& e) { return e.code() == ErrorCode::kNotFound; }},
                clock);
  for (int i = 0; i < 5; ++i) Exec(*b, true);  // Unavailable is not a failure here
  EXPECT_EQ(b->state(), BreakerState::kClosed);
  for (int i = 0; i < 2; ++i) {
    auto p = b->TryAcquire();
    ASSERT_TRUE(p.has_value());
    p->RecordFailure(Error::NotFound("x"));
  }
  EXPECT_EQ(b->state(), BreakerState::kOpen);
}

TEST(CircuitBreakerTest, CountWindowNeedsMinimumCallsThenJudgesTheRate) {
  FakeClock clock;
  auto b = Make({.window = WindowType::kCountBased, .window_size = 10, .minimum_calls = 6,
                 .failure_rate_threshold = 50},
                clock);
  // 5 failures: 100 % but below minimum_calls.
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(Exec(*b, true));
  EXPECT_EQ(b->state(), BreakerState::kClosed);
  EXPECT_EQ(b->stats().failure_rate, -1);
  EXPECT_TRUE(Exec(*b, true));  // 6 calls, 100 %
  EXPECT_EQ(b->state(), BreakerState::kOpen);
  EXPECT_THAT(b->history().back().reason, HasSubstr("failure rate 100.0% >= 50.0% over 6 calls"));
}

TEST(CircuitBreakerTest, CountWindowSlides) {
  FakeClock clock;
  auto b = Make({.window = WindowType::kCountBased, .window_size = 4, .minimum_calls = 4,
                 .failure_rate_threshold = 75},
                clock);
  // f f s s → 50 %; then s s push the failures out → 0 %; then f f → 50 %; f → 75 % trips.
  for (bool f : {true, true, false, false, false, false, true, true}) EXPECT_TRUE(Exec(*b, f));
  EXPECT_EQ(b->state(), BreakerState::kClosed);
  EXPECT_EQ(b->stats().failure_rate, 50.0);
  EXPECT_EQ(b->stats().window_calls, 4);
  EXPECT_TRUE(Exec(*b, true));
  EXPECT_EQ(b->state(), BreakerState::kOpen);
}

TEST(CircuitBreakerTest, MinimumCallsAboveWindowSizeIsCappedToTheWindow) {
  FakeClock clock;
  auto b = Make({.window = WindowType::kCountBased, .window_size = 3, .minimum_calls = 100}, clock);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(Exec(*b, true));
  EXPECT_EQ(b->state(), BreakerState::kOpen);
}

TEST(CircuitBreakerTest, TimeWindowAgesOutOldCalls) {
  FakeClock clock;
  auto b = Make({.window = WindowType::kTimeBased, .window_duration = 10s, .time_buckets = 10,
                 .minimum_calls = 4, .failure_rate_threshold = 50},
                clock);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(Exec(*b, true));  // 3 calls: below minimum
  EXPECT_EQ(b->stats().window_calls, 3);
  clock.Advance(11s);  // they age out
  EXPECT_EQ(b->stats().window_calls, 0);
  EXPECT_TRUE(Exec(*b, true));
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(Exec(*b, false));
  EXPECT_EQ(b->state(), BreakerState::kClosed);  // 1 of 4 = 25 %; with the old ones it would be 4/7
  EXPECT_EQ(b->stats().failure_rate, 25.0);
  // Within the window the rate builds up.
  clock.Advance(2s);
  EXPECT_TRUE(Exec(*b, true));
  EXPECT_TRUE(Exec(*b, true));
  EXPECT_EQ(b->state(), BreakerState::kOpen);  // 3 of 6 = 50 %
  EXPECT_THAT(b->history().back().reason, HasSubstr("failure rate 50.0% >= 50.0% over 6 calls"));
}

TEST(CircuitBreakerTest, TimeWindowTripsOnRate) {
  FakeClock clock;
  auto b = Make({.window = WindowType::kTimeBased, .window_duration = 10s, .time_buckets = 10,
                 .minimum_calls = 4, .failure_rate_threshold = 50},
                clock);
  for (bool f : {false, true, false}) {
    EXPECT_TRUE(Exec(*b, f));
    clock.Advance(1s);
  }
  EXPECT_TRUE(Exec(*b, true));  // 2 of 4 within 10 s
  EXPECT_EQ(b->state(), BreakerState::kOpen);
}

TEST(CircuitBreakerTest, SlowCallsTripOnTheSlowRate) {
  FakeClock clock;
  auto b = Make({.window = WindowType::kCountBased, .window_size = 10, .minimum_calls = 4,
                 .failure_rate_threshold = 50, .slow_call_rate_threshold = 50,
                 .slow_call_duration = 1s},
                clock);
  auto call = [&](Clock::Duration took) {
    auto p = b->TryAcquire();
    ASSERT_TRUE(p.has_value());
    clock.Advance(took);
    p->RecordSuccess();
  };
  call(100ms);
  call(2s);
  call(1s);  // exactly the limit is not slow
  EXPECT_EQ(b->state(), BreakerState::kClosed);
  EXPECT_EQ(b->stats().slow_calls, 1u);
  call(3s);  // 2 of 4 slow = 50 %
  EXPECT_EQ(b->state(), BreakerState::kOpen);
  EXPECT_THAT(b->history().back().reason, HasSubstr("slow-call rate 50.0%"));
  EXPECT_EQ(b->stats().failures, 0u);
}

TEST(CircuitBreakerTest, HalfOpenLetsOnlyNProbesThrough) {
  FakeClock clock;
  auto b = Make({.window = WindowType::kCountBased, .open_duration = 5s, .window_size = 4,
                 .minimum_calls = 2, .failure_rate_threshold = 50, .half_open_max_calls = 3},
                clock);
  Exec(*b, true);
  Exec(*b, true);
  ASSERT_EQ(b->state(), BreakerState::kOpen);
  clock.Advance(5s);
  std::vector<CircuitBreaker::Permit> probes;
  for (int i = 0; i < 3; ++i) {
    auto p = b->TryAcquire();
    ASSERT_TRUE(p.has_value()) << i;
    probes.push_back(std::move(*p));
  }
  auto fourth = b->TryAcquire();
  ASSERT_FALSE(fourth.has_value());
  EXPECT_THAT(fourth.error().message(), HasSubstr("half-open and waiting for the outcome of its 3 probe calls"));
  // Giving a probe back frees its slot.
  probes.back().Release();
  probes.pop_back();
  auto again = b->TryAcquire();
  ASSERT_TRUE(again.has_value());
  probes.push_back(std::move(*again));
  // 2 successes, 1 failure: 33 % < 50 % → closed, but only once all three reported.
  probes[0].RecordSuccess();
  probes[1].RecordFailure(Boom());
  EXPECT_EQ(b->state(), BreakerState::kHalfOpen);
  probes[2].RecordSuccess();
  EXPECT_EQ(b->state(), BreakerState::kClosed);
  EXPECT_THAT(b->history().back().reason, HasSubstr("probe failure rate 33.3% < 50.0% over 3 probes"));
  EXPECT_EQ(b->stats().window_calls, 0);  // closing starts a fresh window
}

TEST(CircuitBreakerTest, HalfOpenGivesUpOnProbesThatNeverReport) {
  FakeClock clock;
  auto b = Make({.failure_threshold = 1, .open_duration = 5s, .half_open_max_wait = 10s}, clock);
  Exec(*b, true);
  clock.Advance(5s);
  auto stuck = b->TryAcquire();  // the probe, kept and never reported
  ASSERT_TRUE(stuck.has_value());
  clock.Advance(9s);
  EXPECT_FALSE(b->TryAcquire().has_value());
  EXPECT_EQ(b->state(), BreakerState::kHalfOpen);
  clock.Advance(1s);
  auto r = b->TryAcquire();
  ASSERT_FALSE(r.has_value());
  EXPECT_THAT(r.error().message(), HasSubstr("is open; it half-opens in 5 s"));
  EXPECT_EQ(b->history().back().reason, "1 of 1 probe outcome missing after 10 s half-open");
  stuck->RecordSuccess();  // too late: belongs to the old half-open period
  EXPECT_EQ(b->state(), BreakerState::kOpen);
  clock.Advance(5s);
  EXPECT_TRUE(Exec(*b, false));
  EXPECT_EQ(b->state(), BreakerState::kClosed);
}

TEST(CircuitBreakerTest, HalfOpenProbesFailingReopen) {
  FakeClock clock;
  auto b = Make({.window = WindowType::kCountBased, .open_duration = 5s, .window_size = 4,
                 .minimum_calls = 2, .failure_rate_threshold = 50, .half_open_max_calls = 2},
                clock);
  Exec(*b, true);
  Exec(*b, true);
  clock.Advance(5s);
  auto p1 = b->TryAcquire();
  auto p2 = b->TryAcquire();
  ASSERT_TRUE(p1 && p2);
  p1->RecordSuccess();
  p2->RecordFailure(Boom());  // 50 % >= 50 %
  EXPECT_EQ(b->state(), BreakerState::kOpen);
}

TEST(CircuitBreakerTest, ForcedOpenRejectsUntilReset) {
  FakeClock clock;
  auto b = Make({.name = "s3"}, clock);
  b->ForceOpen();
  EXPECT_EQ(b->state(), BreakerState::kForcedOpen);
  clock.Advance(24h);
  auto r = b->TryAcquire();
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), ErrorCode::kUnavailable);
  EXPECT_THAT(r.error().message(), HasSubstr("'s3' is forced open by an operator"));
  EXPECT_EQ(b->state(), BreakerState::kForcedOpen);
  b->Reset();
  EXPECT_EQ(b->state(), BreakerState::kClosed);
  EXPECT_TRUE(Exec(*b, false));
  EXPECT_EQ(b->stats().rejections, 1u);
}

TEST(CircuitBreakerTest, DisabledLetsEverythingThroughAndKeepsCounting) {
  FakeClock clock;
  auto b = Make({.failure_threshold = 1}, clock);
  b->Disable();
  for (int i = 0; i < 100; ++i) EXPECT_TRUE(Exec(*b, true));
  EXPECT_EQ(b->state(), BreakerState::kDisabled);
  EXPECT_EQ(b->stats().failures, 100u);
  b->Reset();
  EXPECT_TRUE(Exec(*b, true));
  EXPECT_EQ(b->state(), BreakerState::kOpen);
}

TEST(CircuitBreakerTest, DroppedPermitCountsAsFailure) {
  FakeClock clock;
  auto b = Make({.failure_threshold = 2}, clock);
  { auto p = b->TryAcquire(); }
  { auto p = b->TryAcquire(); }
  EXPECT_EQ(b->state(), BreakerState::kOpen);
  EXPECT_EQ(b->stats().failures, 2u);
}

TEST(CircuitBreakerTest, MovedPermitRecordsOnce) {
  FakeClock clock;
  auto b = Make({.failure_threshold = 5}, clock);
  auto p = b->TryAcquire();
  ASSERT_TRUE(p.has_value());
  CircuitBreaker::Permit moved = std::move(*p);
  EXPECT_FALSE(p->pending());
  EXPECT_TRUE(moved.pending());
  moved.RecordSuccess();
  moved.RecordFailure(Boom());  // already reported: ignored
  EXPECT_FALSE(moved.pending());
  EXPECT_EQ(b->stats().calls, 1u);
  EXPECT_EQ(b->stats().successes, 1u);
}

TEST(CircuitBreakerTest, ReleasedPermitRecordsNothing) {
  FakeClock clock;
  auto b = Make({.failure_threshold = 1}, clock);
  {
    auto p = b->TryAcquire();
    ASSERT_TRUE(p.has_value());
    p->Release();
  }
  EXPECT_EQ(b->state(), BreakerState::kClosed);
  EXPECT_EQ(b->stats().calls, 0u);
}

TEST(CircuitBreakerTest, CallRunsFnAndRecordsItsResult) {
  FakeClock clock;
  auto b = Make({.failure_threshold = 2}, clock);
  int runs = 0;
  Result<int> ok = b->Call([&]() -> Result<int> { ++runs; return 42; });
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(*ok, 42);
  for (int i = 0; i < 2; ++i) {
    Status s = b->Call([&]() -> Status { ++runs; return Boom(); });
    EXPECT_EQ(s.error().message(), "connection reset");
  }
  EXPECT_EQ(runs, 3);
  Result<int> rejected = b->Call([&]() -> Result<int> { ++runs; return 1; });
  ASSERT_FALSE(rejected.has_value());
  EXPECT_THAT(rejected.error().message(), HasSubstr("is open"));
  EXPECT_EQ(runs, 3);  // fn not run
}

TEST(CircuitBreakerTest, OutcomesFromAnEarlierStateDoNotTrip) {
  FakeClock clock;
  auto b = Make({.failure_threshold = 1, .open_duration = 1s}, clock);
  auto old = b->TryAcquire();  // granted while CLOSED
  ASSERT_TRUE(old.has_value());
  EXPECT_TRUE(Exec(*b, true));  // trips
  clock.Advance(1s);
  EXPECT_TRUE(Exec(*b, false));  // probe closes it
  ASSERT_EQ(b->state(), BreakerState::kClosed);
  old->RecordFailure(Boom());  // belongs to the previous CLOSED period
  EXPECT_EQ(b->state(), BreakerState::kClosed);
  EXPECT_EQ(b->stats().failures, 2u);  // still counted
}

TEST(CircuitBreakerTest, ListenersSeeEveryTransitionInOrder) {
  FakeClock clock;
  auto b = Make({.failure_threshold = 1, .open_duration = 1s}, clock);
  std::vector<std::pair<BreakerState, BreakerState>> seen;
  const int id = b->AddListener([&](const BreakerTransition& t) { seen.emplace_back(t.from, t.to); });
  Exec(*b, true);
  clock.Advance(1s);
  Exec(*b, false);
  b->ForceOpen();
  b->Disable();
  b->Reset();
  b->RemoveListener(id);
  Exec(*b, true);
  const std::vector<std::pair<BreakerState, BreakerState>> want = {
      {BreakerState::kClosed, BreakerState::kOpen},     {BreakerState::kOpen, BreakerState::kHalfOpen},
      {BreakerState::kHalfOpen, BreakerState::kClosed}, {BreakerState::kClosed, BreakerState::kForcedOpen},
      {BreakerState::kForcedOpen, BreakerState::kDisabled}, {BreakerState::kDisabled, BreakerState::kClosed}};
  EXPECT_EQ(seen, want);
}

TEST(CircuitBreakerTest, ListenerMayCallTheBreaker) {
  FakeClock clock;
  auto b = Make({.failure_threshold = 1}, clock);
  std::vector<BreakerState> seen;
  b->AddListener([&](const BreakerTransition& t) {
    seen.push_back(b->state());
    (void)b->stats();
    if (t.to == BreakerState::kOpen) b->Reset("listener resets at once");  // re-entrant transition
  });
  Exec(*b, true);
  EXPECT_EQ(b->state(), BreakerState::kClosed);
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(b->history().back().reason, "listener resets at once");
}

TEST(CircuitBreakerTest, HistoryIsBounded) {
  FakeClock clock;
  auto b = Make({.history_size = 3}, clock);
  for (int i = 0; i < 10; ++i) {
    b->ForceOpen("open " + std::to_string(i));
    clock.Advance(1s);
    b->Reset("reset " + std::to_string(i));
  }
  const auto h = b->history();
  ASSERT_EQ(h.size(), 3u);
  EXPECT_EQ(h[0].reason, "reset 8");
  EXPECT_EQ(h[1].reason, "open 9");
  EXPECT_EQ(h[2].reason, "reset 9");
  EXPECT_EQ(b->stats().transitions, 20u);
  auto none = Make({.history_size = 0}, clock);
  none->ForceOpen();
  EXPECT_TRUE(none->history().empty());
}

TEST(CircuitBreakerTest, MoveAssigningOverAPendingPermitRecordsItsFailure) {
  FakeClock clock;
  auto b = Make({.failure_threshold = 1}, clock);
  auto p1 = b->TryAcquire();
  auto p2 = b->TryAcquire();
  ASSERT_TRUE(p1 && p2);
  *p1 = std::move(*p2);  // p1's call had no outcome: it counts as failed
  EXPECT_EQ(b->state(), BreakerState::kOpen);
  p1->RecordSuccess();  // p2's outcome, from the CLOSED period: counted, no transition
  EXPECT_EQ(b->state(), BreakerState::kOpen);
  EXPECT_EQ(b->stats().calls, 2u);
}

TEST(CircuitBreakerTest, SlowCallsAreCountedButDoNotTripConsecutiveMode) {
  FakeClock clock;
  auto b = Make({.failure_threshold = 2, .slow_call_duration = 100ms}, clock);
  for (int i = 0; i < 10; ++i) {
    auto p = b->TryAcquire();
    ASSERT_TRUE(p.has_value());
    clock.Advance(1s);
    p->RecordSuccess();
  }
  EXPECT_EQ(b->state(), BreakerState::kClosed);
  EXPECT_EQ(b->stats().slow_calls, 10u);
  EXPECT_EQ(b->stats().slow_call_rate, 100.0);
  // Failures still trip it, and a success in between still resets the count.
  Exec(*b, true);
  Exec(*b, false);
  Exec(*b, true);
  EXPECT_EQ(b->state(), BreakerState::kClosed);
  Exec(*b, true);
  EXPECT_EQ(b->state(), BreakerState::kOpen);
}

TEST(CircuitBreakerTest, TimeWindowSlowCalls) {
  FakeClock clock;
  auto b = Make({.window = WindowType::kTimeBased, .window_duration = 60s, .time_buckets = 6,
                 .minimum_calls = 3, .slow_call_rate_threshold = 60, .slow_call_duration = 500ms},
                clock);
  for (auto took : {600ms, 100ms, 700ms}) {  // 2 of 3 slow = 66.7 %
    auto p = b->TryAcquire();
    ASSERT_TRUE(p.has_value());
    clock.Advance(took);
    p->RecordFailure(Error::NotFound("not a failure"));  // slow but not failed
  }
  EXPECT_EQ(b->state(), BreakerState::kOpen);
  EXPECT_THAT(b->history().back().reason, HasSubstr("slow-call rate 66.7% >= 60.0% over 3 calls"));
}

TEST(CircuitBreakerTest, ProbeThatIsSlowCountsAgainstClosing) {
  FakeClock clock;
  auto b = Make({.window = WindowType::kCountBased, .open_duration = 1s, .window_size = 2,
                 .minimum_calls = 2, .slow_call_rate_threshold = 50, .slow_call_duration = 100ms,
                 .half_open_max_calls = 2},
                clock);
  Exec(*b, true);
  Exec(*b, true);
  clock.Advance(1s);
  auto p1 = b->TryAcquire();
  auto p2 = b->TryAcquire();
  ASSERT_TRUE(p1 && p2);
  p1->RecordSuccess();
  clock.Advance(200ms);
  p2->RecordSuccess();  // slow: 50 % of the probes
  EXPECT_EQ(b->state(), BreakerState::kOpen);
}

TEST(CircuitBreakerTest, StatsOfAnOpenBreaker) {
  FakeClock clock;
  auto b = Make({.name = "stats", .failure_threshold = 2, .open_duration = 10s}, clock);
  Exec(*b, false);
  Exec(*b, true);
  Exec(*b, true);
  clock.Advance(4s);
  (void)b->TryAcquire();
  const auto s = b->stats();
  EXPECT_EQ(s.name, "stats");
  EXPECT_EQ(s.state, BreakerState::kOpen);
  EXPECT_EQ(s.open_remaining, 6s);
  EXPECT_EQ(s.calls, 3u);
  EXPECT_EQ(s.rejections, 1u);
  EXPECT_NEAR(s.failure_rate, 66.67, 0.01);
  EXPECT_EQ(s.transitions, 1u);
}

TEST(CircuitBreakerTest, InvalidOptionsAreRejectedWithTheField) {
  FakeClock clock;
  struct Case {
    CircuitBreakerOptions o;
    const char* field;
  };
  std::vector<Case> cases;
  cases.push_back({{.failure_threshold = 0}, "failure_threshold"});
  cases.push_back({{.open_duration = 0s}, "open_duration"});
  cases.push_back({{.window_size = 0}, "window_size"});
  cases.push_back({{.time_buckets = 0}, "time_buckets"});
  cases.push_back({{.minimum_calls = 0}, "minimum_calls"});
  cases.push_back({{.failure_rate_threshold = 0}, "failure_rate_threshold"});
  cases.push_back({{.failure_rate_threshold = 101}, "failure_rate_threshold"});
  cases.push_back({{.slow_call_rate_threshold = -1}, "slow_call_rate_threshold"});
  cases.push_back({{.slow_call_duration = -1s}, "slow_call_duration"});
  cases.push_back({{.half_open_max_calls = 0}, "half_open_max_calls"});
  cases.push_back({{.half_open_max_wait = -1s}, "half_open_max_wait"});
  cases.push_back({{.history_size = -1}, "history_size"});
  cases.push_back({{.name = ""}, "name"});
  for (auto& c : cases) {
    auto b = CircuitBreaker::Create(c.o, clock);
    ASSERT_FALSE(b.has_value()) << c.field;
    EXPECT_EQ(b.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_THAT(b.error().message(), HasSubstr(c.field));
  }
}

TEST(CircuitBreakerTest, StateNames) {
  EXPECT_EQ(BreakerStateName(BreakerState::kClosed), "CLOSED");
  EXPECT_EQ(BreakerStateName(BreakerState::kOpen), "OPEN");
  EXPECT_EQ(BreakerStateName(BreakerState::kHalfOpen), "HALF_OPEN");
  EXPECT_EQ(BreakerStateName(BreakerState::kDisabled), "DISABLED");
  EXPECT_EQ(BreakerStateName(BreakerState::kForcedOpen), "FORCED_OPEN");
}

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
constexpr int kOpsPerThread = 5'000;
#else
constexpr int kOpsPerThread = 50'000;
#endif

// Many threads acquire and record while another moves time and an operator flips overrides.
// Every call is accounted for exactly once and the state machine stays consistent.
void Hammer(CircuitBreakerOptions o) {
  FakeClock clock;
  auto b = Make(std::move(o), clock);
  std::atomic<int> transitions_seen{0};
  b->AddListener([&](const BreakerTransition& t) {
    EXPECT_NE(t.from, t.to);
    transitions_seen.fetch_add(1, std::memory_order_relaxed);
  });
  constexpr int kThreads = 8;
  std::atomic<uint64_t> permitted{0}, rejected{0}, released{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      uint64_t x = 0x9E3779B97F4A7C15ULL * static_cast<uint64_t>(t + 1);
      for (int i = 0; i < kOpsPerThread; ++i) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        auto p = b->TryAcquire();
        if (!p) {
          rejected.fetch_add(1, std::memory_order_relaxed);
          EXPECT_EQ(p.error().code(), ErrorCode::kUnavailable);
          continue;
        }
        permitted.fetch_add(1, std::memory_order_relaxed);
        switch (x % 10) {
          case 0: case 1: case 2: p->RecordFailure(Boom()); break;
          case 3: p->Release(); released.fetch_add(1, std::memory_order_relaxed); break;
          case 4: p->RecordFailure(Error::NotFound("x")); break;
          default: p->RecordSuccess(); break;
        }
      }
    });
  }
  std::thread ticker([&] {
    int n = 0;
    do {  // at least one round, so the operator overrides below always happen
      clock.Advance(100ms);
      if (++n % 500 == 1) b->ForceOpen();
      if (n % 500 == 6) b->Reset();
      if (n % 700 == 0) b->Disable();
      if (n % 700 == 3) b->Reset();
      (void)b->stats();
      std::this_thread::yield();
    } while (!stop.load());
  });
  for (auto& th : threads) th.join();
  stop = true;
  ticker.join();
  const auto s = b->stats();
  EXPECT_EQ(s.calls + released.load(), permitted.load());
  EXPECT_EQ(s.rejections, rejected.load());
  EXPECT_EQ(permitted.load() + rejected.load(), static_cast<uint64_t>(kThreads) * kOpsPerThread);
  EXPECT_EQ(static_cast<uint64_t>(transitions_seen.load()), s.transitions);
  EXPECT_GT(s.transitions, 0u);
  // The history is a chain: each transition starts where the previous ended.
  const auto h = b->history();
  for (size_t i = 1; i < h.size(); ++i) EXPECT_EQ(h[i].from, h[i - 1].to);
}

TEST(CircuitBreakerConcurrencyTest, ConsecutiveModeManyThreads) {
  Hammer({.failure_threshold = 3, .open_duration = 1s, .half_open_max_calls = 2, .history_size = 1000});
}

TEST(CircuitBreakerConcurrencyTest, CountWindowManyThreads) {
  Hammer({.window = WindowType::kCountBased, .open_duration = 1s, .window_size = 50,
          .minimum_calls = 10, .failure_rate_threshold = 40, .half_open_max_calls = 4,
          .history_size = 1000});
}

TEST(CircuitBreakerConcurrencyTest, TimeWindowWithSlowCallsManyThreads) {
  Hammer({.window = WindowType::kTimeBased, .open_duration = 1s, .window_duration = 5s,
          .minimum_calls = 10, .failure_rate_threshold = 40, .slow_call_duration = 50ms,
          .half_open_max_calls = 4, .history_size = 1000});
}

}  // namespace
}  // namespace esper::resilience
