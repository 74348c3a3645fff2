// esper/resilience/retry_budget.h — a shared limit on retries, so retries can never multiply load.
//
// Per-call retry limits (RetryPolicy::max_attempts) bound one call; they do not stop a fleet of
// callers from tripling the load on a struggling server. A RetryBudget is shared by every call to
// one destination (one per HTTP client or per host) and refuses retries once they are no longer
// a small fraction of the traffic. Two modes, one class:
//
//  * kTokenBucket — AWS SDK "standard" retry mode. The bucket starts full with `capacity` tokens
//    (500). A retry takes `retry_cost` (5), or `timeout_retry_cost` (10) when the failure was a
//    timeout (ErrorCode::kDeadlineExceeded). A success refunds: the cost of the retry that
//    succeeded, or `success_refund` (1) when it succeeded on its first attempt; never above
//    capacity. An empty bucket refuses retries until successes refill it, so during an outage
//    at most capacity/retry_cost = 100 retries happen in total.
//  * kPercentage — Envoy's retry budget. Retries in flight may be at most `budget_percent` (20 %)
//    of the requests in flight, but at least `min_retry_concurrency` (3) are always allowed.
//
// Most code never calls this class directly: hand it to Retry() or RetryPolicy::Start() (see
// retry_policy.h), which calls BeginRequest / TryAcquireRetry / OnAttemptDone / EndRequest.
//
//   auto budget = esper::resilience::RetryBudget::Create({.mode = RetryBudgetMode::kTokenBucket});
//   if (!budget) return budget.error();
//   auto r = esper::resilience::Retry(policy, budget->get(), deadline, clock, [&] { return Get(); });
//
// Thread safety: every method may be called from any number of threads at once; all state is
// atomic (no lock, no blocking). The budget must outlive the calls that use it.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "esper/core/result.h"
#include "esper/metrics/registry.h"

namespace esper::resilience {

enum class RetryBudgetMode : uint8_t {
  kTokenBucket,  // AWS standard retry mode
  kPercentage,   // Envoy retry budget
};

std::string_view RetryBudgetModeName(RetryBudgetMode mode) noexcept;

struct RetryBudgetOptions {
  RetryBudgetMode mode = RetryBudgetMode::kTokenBucket;

  // --- kTokenBucket (AWS standard mode defaults) ---
  int capacity = 500;            // tokens when full, and at start. >= 1.
  int retry_cost = 5;            // tokens a retry takes. >= 1, <= capacity.
  int timeout_retry_cost = 10;   // tokens a retry after a timeout (kDeadlineExceeded) takes. >= 1.
  int success_refund = 1;        // tokens a first-attempt success returns. >= 0.

  // --- kPercentage (Envoy defaults) ---
  double budget_percent = 20.0;  // retries in flight / requests in flight, percent. (0, 100].
  int min_retry_concurrency = 3; // retries in flight always allowed, whatever the percentage. >= 0.

  /// Names the budget in its metrics (label `budget`). Where stats() are published
  /// (docs/resilience.md, Metrics); nullptr: nowhere. The registry must outlive the budget.
  std::string name = "default";
  metrics::Registry* metrics = &metrics::DefaultRegistry();
};

/// A snapshot for dashboards and tests.
struct RetryBudgetStats {
  RetryBudgetMode mode = RetryBudgetMode::kTokenBucket;
  int64_t tokens = 0;             // kTokenBucket: tokens now
  int64_t active_requests = 0;    // BeginRequest() minus EndRequest()
  int64_t active_retries = 0;     // retries granted and not yet done
  uint64_t retries_granted = 0;   // total
  uint64_t retries_denied = 0;    // total
};

class RetryBudget {
 public:
  /// Validates the options: InvalidArgument naming the bad field.
  static Status Validate(const RetryBudgetOptions& options);
  /// The factory: validated options → a budget.
  static Result<std::unique_ptr<RetryBudget>> Create(RetryBudgetOptions options = {});
  /// Direct construction; `options` must be valid (a programmer error aborts with the reason).
  explicit RetryBudget(RetryBudgetOptions options = {});

  RetryBudget(const RetryBudget&) = delete;
  RetryBudget& operator=(const RetryBudget&) = delete;

  /// A logical request (first attempt plus its retries) starts / ends. Percentage mode sizes the
  /// budget from the number of requests in between; both modes count them in stats().
  void BeginRequest() noexcept;
  void EndRequest() noexcept;

  /// Asks to retry a request whose last attempt failed with `cause`. On success returns the
  /// cost taken (>= 1; pass it to OnAttemptDone() when the retry finishes). On refusal returns
  /// ResourceExhausted, not retryable, saying why ("retry budget exhausted: 3 of 500 tokens left,
  /// a retry costs 5").
  Result<int> TryAcquireRetry(const Error& cause) noexcept;

  /// An attempt finished. `cost` is what TryAcquireRetry() returned for it, or 0 for a first
  /// attempt. Token bucket: a success refunds `cost` (or success_refund when cost is 0).
  /// Percentage: a retry (cost > 0) stops counting as in flight.
  void OnAttemptDone(int cost, bool success) noexcept;

  RetryBudgetStats stats() const noexcept;
  /// The seed's spelling of stats().
  RetryBudgetStats get_stats() const noexcept { return stats(); }
  const RetryBudgetOptions& options() const noexcept { return options_; }

 private:
  RetryBudgetOptions options_;
  std::atomic<int64_t> tokens_;
  std::atomic<int64_t> active_requests_{0};
  std::atomic<int64_t> active_retries_{0};
  std::atomic<uint64_t> granted_{0};
  std::atomic<uint64_t> denied_{0};
  metrics::Collector metrics_;  // declared last: removed before what it reads goes
};

}  // namespace esper::resilience
