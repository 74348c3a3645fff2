#include "esper/resilience/retry_policy.h"

#include "esper/resilience/circuit_breaker.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <mutex>
#include <thread>
#include <vector>

#include "testing/wait.h"

namespace esper::resilience {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// A clock whose SleepFor moves its own time forward at once and remembers the sleep, so a
// single-threaded test sees exactly which delays Retry() chose. (FakeClock needs a second thread
// to advance it; the threaded test below uses it.)
class SteppingClock final : public Clock {
 public:
  TimePoint Now() const override {
    std::lock_guard<std::mutex> l(mu_);
    return now_;
  }
  void SleepFor(Duration d) override {
    std::lock_guard<std::mutex> l(mu_);
    sleeps_.push_back(d);
    now_ += d;
  }
  void Advance(Duration d) {
    std::lock_guard<std::mutex> l(mu_);
    now_ += d;
  }
  std::vector<Duration> sleeps() const {
    std::lock_guard<std::mutex> l(mu_);
    return sleeps_;
  }

 private:
  mutable std::mutex mu_;
  TimePoint now_{std::chrono::hours(1)};
  std::vector<Duration> sleeps_;
};

RetryPolicy Policy(RetryOptions o) {
  auto p = RetryPolicy::Create(std::move(o));
  EXPECT_TRUE(p.has_value()) << p.error().ToString();
  return std::move(p).value();
}

TEST(RetryPolicyTest, Defaults) {
  RetryOptions o;
  EXPECT_EQ(o.max_attempts, 3);
  EXPECT_EQ(o.jitter, Jitter::kFull);
  EXPECT_TRUE(o.honor_retry_after);
  EXPECT_FALSE(o.retry_non_idempotent);
}

TEST(RetryPolicyTest, StopsAtMaxAttempts) {
  SteppingClock clock;
  RetryPolicy policy = Policy({.max_attempts = 4, .base_delay = 10ms, .seed = 7});
  int calls = 0;
  Result<int> r = Retry(policy, nullptr, Deadline::Infinite(clock), clock, [&]() -> Result<int> {
    ++calls;
    return Error::Unavailable("connection refused");
  });
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(calls, 4);
  EXPECT_EQ(r.error().code(), ErrorCode::kUnavailable);
  EXPECT_EQ(r.error().message(), "gave up after 4 attempts: connection refused");
  EXPECT_EQ(clock.sleeps().size(), 3u);
}

TEST(RetryPolicyTest, SucceedsAfterTransientFailures) {
  SteppingClock clock;
  RetryPolicy policy = Policy({.max_attempts = 5, .base_delay = 10ms, .seed = 7});
  std::vector<int> numbers;
  Result<std::string> r = Retry(policy, nullptr, Deadline::Infinite(clock), clock,
                                [&](Attempt& a) -> Result<std::string> {
                                  numbers.push_back(a.number());
                                  if (a.number() < 3) return Error::Unavailable("busy");
                                  return std::string("body");
                                });
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(*r, "body");
  EXPECT_EQ(numbers, (std::vector<int>{1, 2, 3}));
}

TEST(RetryPolicyTest, NonRetryableErrorsAreNotRetried) {
  SteppingClock clock;
  RetryPolicy policy = Policy({.max_attempts = 5, .seed = 1});
  for (Error e : {Error::NotFound("no key"), Error::InvalidArgument("bad"), Error::PermissionDenied("no"),
                  Error::FromHttpStatus(501, "nope"), Error::Unavailable("x").WithRetryable(false)}) {
    int calls = 0;
    Status s = Retry(policy, nullptr, Deadline::Infinite(clock), clock, [&]() -> Status {
      ++calls;
      return e;
    });
    EXPECT_EQ(calls, 1) << e.ToString();
    EXPECT_EQ(s.error(), e);  // returned untouched
  }
  EXPECT_TRUE(clock.sleeps().empty());
}

TEST(RetryPolicyTest, RetryableBitOverridesTheCode) {
  SteppingClock clock;
  RetryPolicy policy = Policy({.max_attempts = 3, .base_delay = 1ms, .seed = 1});
  int calls = 0;
  Status s = Retry(policy, nullptr, Deadline::Infinite(clock), clock, [&]() -> Status {
    ++calls;
    return Error::Internal("flaky").WithRetryable(true);
  });
  EXPECT_EQ(calls, 3);
}

TEST(RetryPolicyTest, CustomRetryPredicate) {
  SteppingClock clock;
  RetryPolicy policy = Policy({.max_attempts = 3, .base_delay = 1ms,
                               .retry_on = [](const Error& e) { return e.http_status() == 429; },
                               .seed = 1});
  int calls = 0;
  Status s = Retry(policy, nullptr, Deadline::Infinite(clock), clock, [&]() -> Status {
    ++calls;
    return Error::FromHttpStatus(calls == 1 ? 429 : 503, "x");
  });
  EXPECT_EQ(calls, 2);  // 429 retried, 503 not (by this predicate)
  EXPECT_EQ(s.error().http_status(), 503);
}

TEST(RetryPolicyTest, NonIdempotentCallsAreNotRetriedUnlessAllowed) {
  SteppingClock clock;
  int calls = 0;
  auto fail = [&]() -> Status {
    ++calls;
    return Error::Unavailable("reset after the request was sent");
  };
  RetryPolicy strict = Policy({.max_attempts = 3, .base_delay = 1ms, .seed = 1});
  Status s = Retry(strict, nullptr, Deadline::Infinite(clock), clock, fail, {.idempotent = false});
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(s.error().message(), "reset after the request was sent");
  EXPECT_FALSE(strict.ShouldRetry(Error::Unavailable("x"), {.idempotent = false}));
  EXPECT_TRUE(strict.ShouldRetry(Error::Unavailable("x"), {.idempotent = true}));

  calls = 0;
  RetryPolicy lax = Policy({.max_attempts = 3, .base_delay = 1ms, .retry_non_idempotent = true, .seed = 1});
  (void)Retry(lax, nullptr, Deadline::Infinite(clock), clock, fail, {.idempotent = false});
  EXPECT_EQ(calls, 3);
}

TEST(RetryPolicyTest, StopsAtTheBudget) {
  SteppingClock clock;
  RetryBudget budget({.capacity = 12, .retry_cost = 5});
  RetryPolicy policy = Policy({.max_attempts = 10, .base_delay = 1ms, .seed = 3});
  int calls = 0;
  Status s = Retry(policy, &budget, Deadline::Infinite(clock), clock, [&]() -> Status {
    ++calls;
    return Error::Unavailable("503");
  });
  EXPECT_EQ(calls, 3);  // 12 tokens pay for two retries of 5
  EXPECT_EQ(s.error().code(), ErrorCode::kUnavailable);
  EXPECT_THAT(s.error().message(), StartsWith("retry budget exhausted: 2 of 12 tokens left, a retry costs 5 after 3 attempts: 503"));
  const auto st = budget.stats();
  EXPECT_EQ(st.tokens, 2);
  EXPECT_EQ(st.retries_granted, 2u);
  EXPECT_EQ(st.retries_denied, 1u);
  EXPECT_EQ(st.active_requests, 0);
  EXPECT_EQ(st.active_retries, 0);

  // The next call gets no retry at all, but its first attempt still runs.
  calls = 0;
  s = Retry(policy, &budget, Deadline::Infinite(clock), clock, [&]() -> Status {
    ++calls;
    return Error::Unavailable("503");
  });
  EXPECT_EQ(calls, 1);
  // A success after a retry refunds the retry's cost.
  RetryBudget b2({.capacity = 20, .retry_cost = 5});
  calls = 0;
  s = Retry(policy, &b2, Deadline::Infinite(clock), clock, [&]() -> Status {
    if (++calls < 3) return Error::Unavailable("503");
    return OkStatus();
  });
  EXPECT_TRUE(s.has_value());
  EXPECT_EQ(b2.stats().tokens, 15);  // 20 - 5 - 5 + 5
}

TEST(RetryPolicyTest, StopsAtTheDeadlineWithoutSleepingPastIt) {
  SteppingClock clock;
  RetryPolicy policy = Policy({.max_attempts = 10, .base_delay = 400ms, .jitter = Jitter::kNone});
  const Deadline deadline = Deadline::After(1s, clock);
  int calls = 0;
  Status s = Retry(policy, nullptr, deadline, clock, [&]() -> Status {
    ++calls;
    clock.Advance(50ms);  // each attempt takes 50 ms
    return Error::Unavailable("busy");
  });
  // t=0 attempt 1 (to 50), sleep 400 → 450 attempt 2 (to 500), next sleep 800 would pass 1 s.
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(clock.sleeps(), (std::vector<Clock::Duration>{400ms}));
  EXPECT_EQ(s.error().code(), ErrorCode::kDeadlineExceeded);
  EXPECT_THAT(s.error().message(), HasSubstr("deadline exceeded after 2 attempts"));
  EXPECT_THAT(s.error().message(), HasSubstr("would wait 800 ms with 500 ms left"));
  EXPECT_THAT(s.error().message(), HasSubstr("last error: Unavailable: busy"));
  EXPECT_FALSE(deadline.expired());
}

TEST(RetryPolicyTest, AttemptThatOverrunsTheDeadlineStops) {
  SteppingClock clock;
  RetryPolicy policy = Policy({.max_attempts = 10, .base_delay = 1ms});
  const Deadline deadline = Deadline::After(1s, clock);
  int calls = 0;
  Status s = Retry(policy, nullptr, deadline, clock, [&]() -> Status {
    ++calls;
    clock.Advance(2s);
    return Error::DeadlineExceeded("read timed out");
  });
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(s.error().code(), ErrorCode::kDeadlineExceeded);
  EXPECT_THAT(s.error().message(), HasSubstr("after 1 attempt; last error: DeadlineExceeded: read timed out"));
  EXPECT_THAT(s.error().message(), HasSubstr("expired 1 s ago"));
}

TEST(RetryPolicyTest, ExpiredDeadlineMeansNoAttempt) {
  SteppingClock clock;
  RetryPolicy policy;
  int calls = 0;
  Status s = Retry(policy, nullptr, Deadline::After(0s, clock), clock, [&]() -> Status {
    ++calls;
    return OkStatus();
  });
  EXPECT_EQ(calls, 0);
  EXPECT_EQ(s.error().code(), ErrorCode::kDeadlineExceeded);
  EXPECT_THAT(s.error().message(), HasSubstr("0 attempts made"));
}

TEST(RetryPolicyTest, PerTryDeadlineIsAChildOfTheOverallOne) {
  SteppingClock clock;
  RetryPolicy policy = Policy({.max_attempts = 3, .base_delay = 100ms, .jitter = Jitter::kNone,
                               .per_try_timeout = 300ms});
  const Deadline overall = Deadline::After(1s, clock);
  std::vector<Clock::Duration> budgets;
  Status s = Retry(policy, nullptr, overall, clock, [&](Attempt& a) -> Status {
    budgets.push_back(a.deadline().remaining());
    clock.Advance(a.deadline().remaining());  // each try uses all of its time
    return Error::DeadlineExceeded("per-try timeout");
  });
  // try 1: 300 ms (t 0→300), sleep 100, try 2: 300 ms (400→700), sleep 200, try 3: 100 ms left.
  EXPECT_EQ(budgets, (std::vector<Clock::Duration>{300ms, 300ms, 100ms}));
  EXPECT_EQ(s.error().code(), ErrorCode::kDeadlineExceeded);
}

TEST(RetryPolicyTest, RetryAfterIsHonouredAndCapped) {
  SteppingClock clock;
  RetryPolicy policy = Policy({.max_attempts = 3, .base_delay = 10ms, .max_retry_after = 5s, .seed = 9});
  int calls = 0;
  Status s = Retry(policy, nullptr, Deadline::Infinite(clock), clock, [&](Attempt& a) -> Status {
    ++calls;
    if (calls == 1) a.SetRetryAfter(2s);
    if (calls == 2) a.SetRetryAfter(1h);  // capped to max_retry_after
    if (calls == 3) return OkStatus();
    return Error::FromHttpStatus(503, "Slow Down");
  });
  EXPECT_TRUE(s.has_value());
  EXPECT_EQ(clock.sleeps(), (std::vector<Clock::Duration>{2s, 5s}));

  // honor_retry_after = false: the jittered backoff is used.
  SteppingClock clock2;
  RetryPolicy ignore = Policy({.max_attempts = 2, .base_delay = 10ms, .honor_retry_after = false, .seed = 9});
  (void)Retry(ignore, nullptr, Deadline::Infinite(clock2), clock2, [&](Attempt& a) -> Status {
    a.SetRetryAfter(2s);
    return Error::Unavailable("x");
  });
  ASSERT_EQ(clock2.sleeps().size(), 1u);
  EXPECT_LE(clock2.sleeps()[0], 10ms);
}

TEST(RetryPolicyTest, RetryAfterBeyondTheDeadlineStopsAtOnce) {
  SteppingClock clock;
  RetryPolicy policy = Policy({.max_attempts = 3, .base_delay = 10ms, .max_retry_after = 60s});
  Status s = Retry(policy, nullptr, Deadline::After(10s, clock), clock, [&](Attempt& a) -> Status {
    a.SetRetryAfter(30s);
    return Error::Unavailable("maintenance");
  });
  EXPECT_EQ(s.error().code(), ErrorCode::kDeadlineExceeded);
  EXPECT_TRUE(clock.sleeps().empty());
}

TEST(RetryPolicyTest, FullJitterStaysWithinBoundsAndSpreadsEvenly) {
  RetryPolicy policy = Policy({.base_delay = 100ms, .max_delay = 5s, .seed = 12345});
  JitterRng rng(42);
  constexpr int kSamples = 20'000;
  for (int retry = 1; retry <= 10; ++retry) {
    const auto ceiling = std::min<Clock::Duration>(5s, 100ms * (1LL << (retry - 1)));
    double sum = 0;
    Clock::Duration lo = Clock::Duration::max(), hi = Clock::Duration::zero();
    std::vector<int> deciles(10, 0);
    for (int i = 0; i < kSamples; ++i) {
      const Clock::Duration d = policy.Backoff(retry, 100ms, rng);
      ASSERT_GE(d, Clock::Duration::zero());
      ASSERT_LE(d, ceiling) << "retry " << retry;
      lo = std::min(lo, d);
      hi = std::max(hi, d);
      sum += static_cast<double>(d.count());
      ++deciles[std::min<size_t>(9, static_cast<size_t>(10.0 * static_cast<double>(d.count()) /
                                                          static_cast<double>(ceiling.count())))];
    }
    const double c = static_cast<double>(ceiling.count());
    // Uniform on [0, c]: mean c/2 (sd of the mean ≈ c/sqrt(12 n) ≈ 0.002 c), extremes near the ends,
    // every decile near 10 % (sd ≈ 0.2 %).
    EXPECT_NEAR(sum / kSamples / c, 0.5, 0.02) << "retry " << retry;
    EXPECT_LT(static_cast<double>(lo.count()) / c, 0.01);
    EXPECT_GT(static_cast<double>(hi.count()) / c, 0.99);
    for (int k = 0; k < 10; ++k) EXPECT_NEAR(deciles[k] / double(kSamples), 0.1, 0.015) << retry << " " << k;
  }
}

TEST(RetryPolicyTest, DecorrelatedJitterStaysWithinBounds) {
  RetryPolicy policy = Policy({.base_delay = 100ms, .max_delay = 3s, .jitter = Jitter::kDecorrelated});
  JitterRng rng(7);
  Clock::Duration prev = 100ms;
  bool hit_cap_region = false;
  for (int i = 1; i <= 5000; ++i) {
    const Clock::Duration d = policy.Backoff(i, prev, rng);
    ASSERT_GE(d, 100ms);
    ASSERT_LE(d, std::min<Clock::Duration>(3s, prev * 3));
    hit_cap_region |= d > 2s;
    prev = d;
  }
  EXPECT_TRUE(hit_cap_region);
}

TEST(RetryPolicyTest, NoJitterIsExponentialAndCapped) {
  RetryPolicy policy = Policy({.base_delay = 100ms, .max_delay = 1s, .jitter = Jitter::kNone});
  JitterRng rng(1);
  EXPECT_EQ(policy.Backoff(1, 0ms, rng), 100ms);
  EXPECT_EQ(policy.Backoff(2, 0ms, rng), 200ms);
  EXPECT_EQ(policy.Backoff(4, 0ms, rng), 800ms);
  EXPECT_EQ(policy.Backoff(5, 0ms, rng), 1s);
  EXPECT_EQ(policy.Backoff(100, 0ms, rng), 1s);  // no overflow
}

TEST(RetryPolicyTest, SameSeedSameDelays) {
  auto delays = [](uint64_t seed) {
    SteppingClock clock;
    RetryPolicy policy = Policy({.max_attempts = 8, .base_delay = 10ms, .seed = seed});
    for (int call = 0; call < 3; ++call) {
      (void)Retry(policy, nullptr, Deadline::Infinite(clock), clock,
                  []() -> Status { return Error::Unavailable("x"); });
    }
    return clock.sleeps();
  };
  EXPECT_EQ(delays(99), delays(99));
  EXPECT_NE(delays(99), delays(100));
  EXPECT_EQ(delays(99).size(), 21u);
}

TEST(RetryPolicyTest, EventLoopStyleRetryState) {
  SteppingClock clock;
  RetryBudget budget;
  RetryPolicy policy = Policy({.max_attempts = 3, .base_delay = 10ms, .seed = 5});
  {
    RetryState state = policy.Start(&budget, Deadline::After(10s, clock));
    EXPECT_EQ(budget.stats().active_requests, 1);
    EXPECT_EQ(state.attempts(), 1);
    auto d1 = state.OnFailure(Error::Unavailable("reset"));
    ASSERT_TRUE(d1.has_value());
    EXPECT_EQ(state.attempts(), 2);
    EXPECT_EQ(budget.stats().tokens, 495);
    EXPECT_EQ(budget.stats().active_retries, 1);
    auto d2 = state.OnFailure(Error::DeadlineExceeded("per-try timeout"));
    ASSERT_TRUE(d2.has_value());
    EXPECT_EQ(budget.stats().tokens, 485);  // a timeout retry costs 10
    RetryState moved = std::move(state);
    moved.OnSuccess();
    EXPECT_EQ(budget.stats().tokens, 495);  // refund of the successful retry's 10
    EXPECT_EQ(budget.stats().active_retries, 0);
  }
  EXPECT_EQ(budget.stats().active_requests, 0);
}

TEST(RetryPolicyTest, AbandonedRetryStateFreesItsBudgetSlot) {
  RetryBudget budget({.mode = RetryBudgetMode::kPercentage, .min_retry_concurrency = 1});
  RetryPolicy policy = Policy({.max_attempts = 5, .base_delay = 1ms});
  {
    RetryState s = policy.Start(&budget);
    ASSERT_TRUE(s.OnFailure(Error::Unavailable("x")).has_value());
    EXPECT_EQ(budget.stats().active_retries, 1);
    RetryState other = policy.Start(&budget);
    auto refused = other.OnFailure(Error::Unavailable("y"));
    ASSERT_FALSE(refused.has_value());
    EXPECT_THAT(refused.error().message(), HasSubstr("retry budget exhausted: 1 retries in flight, 1 allowed"));
  }
  EXPECT_EQ(budget.stats().active_retries, 0);
  EXPECT_EQ(budget.stats().active_requests, 0);
}

TEST(RetryPolicyTest, BlocksOnAFakeClockUntilAdvanced) {
  FakeClock clock;
  RetryPolicy policy = Policy({.max_attempts = 3, .base_delay = 1s, .jitter = Jitter::kNone});
  std::atomic<int> calls{0};
  Status result;
  std::thread caller([&] {
    result = Retry(policy, nullptr, Deadline::After(1h, clock), clock, [&]() -> Status {
      if (calls.fetch_add(1) < 2) return Error::Unavailable("x");
      return OkStatus();
    });
  });
  for (int sleep = 0; sleep < 2; ++sleep) {
    // Parked in the sleep after attempt sleep+1 (calls only grows after the sleeper wakes).
    ASSERT_TRUE(esper::testing::WaitUntil([&] { return calls.load() == sleep + 1 && clock.sleepers() == 1; }));
    clock.Advance(sleep == 0 ? 1s : 2s);
  }
  caller.join();
  EXPECT_TRUE(result.has_value());
  EXPECT_EQ(calls.load(), 3);
}

// The layering the http client uses: a breaker inside the retry loop. Once it opens, the
// remaining attempts are rejected at once (the dependency sees no more calls), and when it
// half-opens, a retry after the backoff goes through as its probe.
TEST(RetryPolicyTest, WithABreakerInsideTheLoop) {
  SteppingClock clock;
  auto breaker = CircuitBreaker::Create({.name = "dep", .failure_threshold = 2, .open_duration = 1s}, clock);
  ASSERT_TRUE(breaker.has_value());
  RetryPolicy policy = Policy({.max_attempts = 4, .base_delay = 10ms, .jitter = Jitter::kNone});
  int reached = 0;
  Status s = Retry(policy, nullptr, Deadline::After(10s, clock), clock, [&]() -> Status {
    return (*breaker)->Call([&]() -> Status {
      ++reached;
      return Error::Unavailable("down");
    });
  });
  EXPECT_EQ(reached, 2);  // attempts 3 and 4 were rejected by the open breaker
  EXPECT_THAT(s.error().message(), HasSubstr("gave up after 4 attempts: circuit breaker 'dep' is open"));
  EXPECT_EQ((*breaker)->stats().rejections, 2u);

  // Later the dependency is back: the first attempt is rejected (still open), the retry after
  // the backoff finds the breaker half-open, probes, and closes it.
  // It opened at 10 ms (after attempt 2) until 1010 ms; 10 + 20 + 40 ms of backoff were slept.
  EXPECT_EQ(clock.sleeps(), (std::vector<Clock::Duration>{10ms, 20ms, 40ms}));
  clock.Advance(920ms);  // now at 990 ms: 20 ms short of half-open
  int calls = 0;
  Result<int> r = Retry(policy, nullptr, Deadline::After(10s, clock), clock, [&]() -> Result<int> {
    return (*breaker)->Call([&]() -> Result<int> { return ++calls; });
  });
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  EXPECT_EQ(calls, 1);
  EXPECT_EQ((*breaker)->state(), BreakerState::kClosed);
  EXPECT_EQ((*breaker)->stats().rejections, 4u);  // at 990 and 1000 ms; the probe at 1020 ms
}

TEST(RetryPolicyTest, SingleAttemptPolicyReturnsTheErrorUntouched) {
  SteppingClock clock;
  RetryPolicy policy = Policy({.max_attempts = 1});
  Status s = Retry(policy, nullptr, Deadline::Infinite(clock), clock,
                   []() -> Status { return Error::Unavailable("once"); });
  EXPECT_EQ(s.error().message(), "once");
  EXPECT_TRUE(clock.sleeps().empty());
}

TEST(RetryPolicyTest, InvalidOptionsAreRejectedWithTheField) {
  struct Case {
    RetryOptions o;
    const char* field;
  };
  std::vector<Case> cases;
  cases.push_back({{.max_attempts = 0}, "max_attempts"});
  cases.push_back({{.max_attempts = 1000}, "max_attempts"});
  cases.push_back({{.base_delay = 0ms}, "base_delay"});
  cases.push_back({{.base_delay = 2s, .max_delay = 1s}, "max_delay"});
  cases.push_back({{.max_retry_after = -1s}, "max_retry_after"});
  cases.push_back({{.per_try_timeout = -1s}, "per_try_timeout"});
  for (auto& c : cases) {
    auto p = RetryPolicy::Create(c.o);
    ASSERT_FALSE(p.has_value()) << c.field;
    EXPECT_EQ(p.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_THAT(p.error().message(), HasSubstr(c.field));
  }
}

TEST(ParseRetryAfterTest, SecondsAndDates) {
  using std::chrono::system_clock;
  const auto now = system_clock::from_time_t(1445412480);  // Wed, 21 Oct 2015 07:28:00 GMT
  EXPECT_EQ(ParseRetryAfter("120", now), Clock::Duration(120s));
  EXPECT_EQ(ParseRetryAfter(" 0 ", now), Clock::Duration(0s));
  EXPECT_EQ(ParseRetryAfter("Wed, 21 Oct 2015 07:28:30 GMT", now), Clock::Duration(30s));
  EXPECT_EQ(ParseRetryAfter("Wed, 21 Oct 2015 07:27:00 GMT", now), Clock::Duration(0s));  // past
  EXPECT_EQ(ParseRetryAfter("", now), std::nullopt);
  EXPECT_EQ(ParseRetryAfter("-5", now), std::nullopt);
  EXPECT_EQ(ParseRetryAfter("1.5", now), std::nullopt);
  EXPECT_EQ(ParseRetryAfter("soon", now), std::nullopt);
  EXPECT_EQ(ParseRetryAfter("99999999999999999999999", now), std::nullopt);
  EXPECT_EQ(ParseRetryAfter("Wed, 21 Oct 2015 07:28:30 PST", now), std::nullopt);
  EXPECT_EQ(ParseRetryAfter("Wed, 99 Oct 2015 07:28:30 GMT", now), std::nullopt);
  // Far dates: past the year 2262 a time_point in nanoseconds overflows (fuzz found it); too
  // far ahead is refused, long past is no wait.
  EXPECT_EQ(ParseRetryAfter("Sun, 06 Nov 4052 08:49:37 GMT", now), std::nullopt);
  EXPECT_EQ(ParseRetryAfter("Sun, 06 Nov 9999 08:49:37 GMT", now), std::nullopt);
  EXPECT_EQ(ParseRetryAfter("Mon, 01 Jan 0001 00:00:00 GMT", now), Clock::Duration(0s));
  EXPECT_EQ(ParseRetryAfter("Fri, 21 Oct 2016 07:28:00 GMT", now), std::nullopt);  // > 365 days
}

}  // namespace
}  // namespace esper::resilience
