#include "esper/resilience/retry_budget.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace esper::resilience {
namespace {

using ::testing::HasSubstr;

TEST(RetryBudgetTest, TokenBucketHasAwsStandardDefaults) {
  RetryBudget b;
  EXPECT_EQ(b.stats().tokens, 500);
  int granted = 0;
  for (int i = 0; i < 1000; ++i) {
    auto r = b.TryAcquireRetry(Error::Unavailable("x"));
    if (!r) {
      EXPECT_EQ(r.error().code(), ErrorCode::kResourceExhausted);
      EXPECT_FALSE(r.error().retryable());
      EXPECT_THAT(r.error().message(), HasSubstr("0 of 500 tokens left, a retry costs 5"));
      break;
    }
    EXPECT_EQ(*r, 5);
    ++granted;
  }
  EXPECT_EQ(granted, 100);  // an outage costs at most 100 retries
  EXPECT_EQ(b.get_stats().retries_granted, 100u);
  EXPECT_EQ(b.stats().retries_denied, 1u);
}

TEST(RetryBudgetTest, TimeoutRetriesCostTenAndSuccessRefunds) {
  RetryBudget b({.capacity = 30});
  auto t = b.TryAcquireRetry(Error::DeadlineExceeded("timed out"));
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(*t, 10);
  EXPECT_EQ(b.stats().tokens, 20);
  b.OnAttemptDone(*t, /*success=*/true);  // the retry succeeded: refund its cost
  EXPECT_EQ(b.stats().tokens, 30);
  auto u = b.TryAcquireRetry(Error::Unavailable("reset"));
  b.OnAttemptDone(*u, /*success=*/false);  // failed retries refund nothing
  EXPECT_EQ(b.stats().tokens, 25);
  b.OnAttemptDone(0, true);  // a first-attempt success refunds 1
  EXPECT_EQ(b.stats().tokens, 26);
  for (int i = 0; i < 100; ++i) b.OnAttemptDone(0, true);
  EXPECT_EQ(b.stats().tokens, 30);  // never above capacity
  auto big = b.TryAcquireRetry(Error::DeadlineExceeded("x"));
  auto big2 = b.TryAcquireRetry(Error::DeadlineExceeded("x"));
  auto big3 = b.TryAcquireRetry(Error::DeadlineExceeded("x"));
  auto none = b.TryAcquireRetry(Error::DeadlineExceeded("x"));
  EXPECT_TRUE(big && big2 && big3);
  ASSERT_FALSE(none.has_value());
  EXPECT_THAT(none.error().message(), HasSubstr("a timeout retry costs 10"));
}

TEST(RetryBudgetTest, PercentageAllowsAShareOfActiveRequestsWithAFloor) {
  RetryBudget b({.mode = RetryBudgetMode::kPercentage});  // 20 %, floor 3
  for (int i = 0; i < 10; ++i) b.BeginRequest();
  std::vector<int> costs;
  for (int i = 0; i < 3; ++i) {
    auto r = b.TryAcquireRetry(Error::Unavailable("x"));
    ASSERT_TRUE(r.has_value()) << i;  // 20 % of 10 = 2, but the floor is 3
    costs.push_back(*r);
  }
  auto refused = b.TryAcquireRetry(Error::Unavailable("x"));
  ASSERT_FALSE(refused.has_value());
  EXPECT_THAT(refused.error().message(),
              HasSubstr("3 retries in flight, 3 allowed (20% of 10 requests in flight, at least 3)"));
  for (int i = 0; i < 90; ++i) b.BeginRequest();  // 100 in flight → 20 retries allowed
  int more = 0;
  while (b.TryAcquireRetry(Error::Unavailable("x"))) ++more;
  EXPECT_EQ(more, 17);
  b.OnAttemptDone(1, false);  // a retry finished: its slot is free again
  EXPECT_TRUE(b.TryAcquireRetry(Error::Unavailable("x")).has_value());
  EXPECT_EQ(b.stats().active_retries, 20);
  EXPECT_EQ(b.stats().active_requests, 100);
}

TEST(RetryBudgetTest, TokensStayConsistentUnderManyThreads) {
  RetryBudget b({.capacity = 100, .retry_cost = 5});
  constexpr int kThreads = 8;
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
  constexpr int kOps = 5'000;
#else
  constexpr int kOps = 50'000;
#endif
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kOps; ++i) {
        b.BeginRequest();
        auto r = b.TryAcquireRetry(Error::Unavailable("x"));
        if (r) b.OnAttemptDone(*r, (i + t) % 2 == 0);
        b.EndRequest();
        const auto s = b.stats();
        EXPECT_GE(s.tokens, 0);
        EXPECT_LE(s.tokens, 100);
      }
    });
  }
  for (auto& th : threads) th.join();
  const auto s = b.stats();
  EXPECT_EQ(s.active_requests, 0);
  EXPECT_EQ(s.active_retries, 0);
  EXPECT_EQ(s.retries_granted + s.retries_denied, static_cast<uint64_t>(kThreads) * kOps);
  EXPECT_GE(s.tokens, 0);
  EXPECT_LE(s.tokens, 100);
}

TEST(RetryBudgetTest, InvalidOptionsAreRejectedWithTheField) {
  struct Case {
    RetryBudgetOptions o;
    const char* field;
  };
  std::vector<Case> cases;
  cases.push_back({{.capacity = 0}, "capacity"});
  cases.push_back({{.capacity = 4, .retry_cost = 5}, "retry_cost"});
  cases.push_back({{.timeout_retry_cost = 0}, "timeout_retry_cost"});
  cases.push_back({{.success_refund = -1}, "success_refund"});
  cases.push_back({{.budget_percent = 0}, "budget_percent"});
  cases.push_back({{.budget_percent = 150}, "budget_percent"});
  cases.push_back({{.min_retry_concurrency = -1}, "min_retry_concurrency"});
  for (auto& c : cases) {
    auto b = RetryBudget::Create(c.o);
    ASSERT_FALSE(b.has_value()) << c.field;
    EXPECT_EQ(b.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_THAT(b.error().message(), HasSubstr(c.field));
  }
  EXPECT_TRUE(RetryBudget::Create().has_value());
}

}  // namespace
}  // namespace esper::resilience
