#include "esper/resilience/retry_budget.h"
#include "metrics.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace esper::resilience {

std::string_view RetryBudgetModeName(RetryBudgetMode mode) noexcept {
  switch (mode) {
    case RetryBudgetMode::kTokenBucket: return "token-bucket";
    case RetryBudgetMode::kPercentage: return "percentage";
  }
  return "unknown";
}

Status RetryBudget::Validate(const RetryBudgetOptions& o) {
  auto bad = [](std::string msg) { return Status(Error::InvalidArgument("RetryBudgetOptions: " + msg)); };
  if (o.mode != RetryBudgetMode::kTokenBucket && o.mode != RetryBudgetMode::kPercentage)
    return bad("mode is not kTokenBucket or kPercentage");
  if (o.capacity < 1) return bad(fmt::format("capacity must be >= 1, got {}", o.capacity));
  if (o.retry_cost < 1 || o.retry_cost > o.capacity)
    return bad(fmt::format("retry_cost must be in [1, capacity={}], got {}", o.capacity, o.retry_cost));
  if (o.timeout_retry_cost < 1 || o.timeout_retry_cost > o.capacity)
    return bad(fmt::format("timeout_retry_cost must be in [1, capacity={}], got {}", o.capacity,
                           o.timeout_retry_cost));
  if (o.success_refund < 0) return bad(fmt::format("success_refund must be >= 0, got {}", o.success_refund));
  if (!(o.budget_percent > 0.0 && o.budget_percent <= 100.0))
    return bad(fmt::format("budget_percent must be in (0, 100], got {}", o.budget_percent));
  if (o.min_retry_concurrency < 0)
    return bad(fmt::format("min_retry_concurrency must be >= 0, got {}", o.min_retry_concurrency));
  return OkStatus();
}

Result<std::unique_ptr<RetryBudget>> RetryBudget::Create(RetryBudgetOptions options) {
  ESPER_RETURN_IF_ERROR(Validate(options));
  return std::make_unique<RetryBudget>(std::move(options));
}

RetryBudget::RetryBudget(RetryBudgetOptions options) : options_(std::move(options)), tokens_(options_.capacity) {
  if (Status s = Validate(options_); !s) {
    std::fprintf(stderr, "esper::resilience::RetryBudget: invalid options: %s\n", s.error().ToString().c_str());
    std::abort();
  }
  if (options_.metrics) metrics_ = detail::PublishRetryBudget(*this, *options_.metrics);
}

void RetryBudget::BeginRequest() noexcept { active_requests_.fetch_add(1, std::memory_order_relaxed); }
void RetryBudget::EndRequest() noexcept { active_requests_.fetch_sub(1, std::memory_order_relaxed); }

Result<int> RetryBudget::TryAcquireRetry(const Error& cause) noexcept {
  if (options_.mode == RetryBudgetMode::kTokenBucket) {
    const int cost = cause.code() == ErrorCode::kDeadlineExceeded ? options_.timeout_retry_cost
                                                                  : options_.retry_cost;
    int64_t have = tokens_.load(std::memory_order_relaxed);
    while (have >= cost) {
      if (tokens_.compare_exchange_weak(have, have - cost, std::memory_order_acq_rel,
                                        std::memory_order_relaxed)) {
        granted_.fetch_add(1, std::memory_order_relaxed);
        active_retries_.fetch_add(1, std::memory_order_relaxed);
        return cost;
      }
    }
    denied_.fetch_add(1, std::memory_order_relaxed);
    return Error::ResourceExhausted(
               fmt::format("retry budget exhausted: {} of {} tokens left, a {}retry costs {}", have,
                           options_.capacity, cost == options_.retry_cost ? "" : "timeout ", cost))
        .WithRetryable(false);
  }
  // Percentage: retries in flight <= max(min_retry_concurrency, percent * requests in flight).
  const int64_t requests = active_requests_.load(std::memory_order_relaxed);
  const auto allowed = std::max<int64_t>(
      options_.min_retry_concurrency,
      static_cast<int64_t>(std::floor(static_cast<double>(requests) * options_.budget_percent / 100.0)));
  int64_t active = active_retries_.load(std::memory_order_relaxed);
  while (active < allowed) {
    if (active_retries_.compare_exchange_weak(active, active + 1, std::memory_order_acq_rel,
                                              std::memory_order_relaxed)) {
      granted_.fetch_add(1, std::memory_order_relaxed);
      return 1;
    }
  }
  denied_.fetch_add(1, std::memory_order_relaxed);
  return Error::ResourceExhausted(
             fmt::format("retry budget exhausted: {} retries in flight, {} allowed ({}% of {} "
                         "requests in flight, at least {})",
                         active, allowed, options_.budget_percent, requests,
                         options_.min_retry_concurrency))
      .WithRetryable(false);
}

void RetryBudget::OnAttemptDone(int cost, bool success) noexcept {
  if (cost > 0) active_retries_.fetch_sub(1, std::memory_order_relaxed);
  if (options_.mode != RetryBudgetMode::kTokenBucket || !success) return;
  const int64_t refund = cost > 0 ? cost : options_.success_refund;
  if (refund == 0) return;
  int64_t have = tokens_.load(std::memory_order_relaxed);
  while (have < options_.capacity) {
    const int64_t next = std::min<int64_t>(options_.capacity, have + refund);
    if (tokens_.compare_exchange_weak(have, next, std::memory_order_acq_rel, std::memory_order_relaxed)) return;
  }
}

RetryBudgetStats RetryBudget::stats() const noexcept {
  RetryBudgetStats s;
  s.mode = options_.mode;
  s.tokens = tokens_.load(std::memory_order_relaxed);
  s.active_requests = active_requests_.load(std::memory_order_relaxed);
  s.active_retries = active_retries_.load(std::memory_order_relaxed);
  s.retries_granted = granted_.load(std::memory_order_relaxed);
  s.retries_denied = denied_.load(std::memory_order_relaxed);
  return s;
}

}  // namespace esper::resilience
