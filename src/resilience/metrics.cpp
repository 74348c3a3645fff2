// The resilience metrics: collectors over CircuitBreaker::get_stats() and RetryBudget::get_stats().
#include "metrics.h"

#include <array>

#include "esper/core/ascii.h"

namespace esper::resilience::detail {
namespace {

namespace m = esper::metrics;

m::MetricDesc Desc(std::string name, std::string help, std::vector<std::string> labels, m::MetricType type) {
  return {.name = std::move(name), .help = std::move(help), .labels = std::move(labels), .type = type};
}

}  // namespace

metrics::Collector PublishBreaker(const CircuitBreaker& breaker, metrics::Registry& registry) {
  using T = m::MetricType;
  std::vector<m::MetricDesc> descs = {
      Desc("esper_breaker_state", "1 for the state the circuit breaker is in, 0 for the others.", {"breaker", "state"},
           T::kGauge),
      Desc("esper_breaker_transitions_total", "State changes of the circuit breaker.", {"breaker"}, T::kCounter),
      Desc("esper_breaker_calls_total", "Call outcomes the circuit breaker recorded.", {"breaker", "outcome"},
           T::kCounter),
      Desc("esper_breaker_slow_calls_total", "Calls slower than slow_call_duration.", {"breaker"}, T::kCounter),
      Desc("esper_breaker_rejections_total", "Calls the circuit breaker refused.", {"breaker"}, T::kCounter),
  };
  auto c = registry.AddCollector(std::move(descs), [&breaker](m::Collection& out) {
    static constexpr std::array<BreakerState, 5> kStates = {BreakerState::kClosed, BreakerState::kOpen,
                                                            BreakerState::kHalfOpen, BreakerState::kDisabled,
                                                            BreakerState::kForcedOpen};
    const CircuitBreakerStats s = breaker.get_stats();
    for (BreakerState state : kStates) {
      out.Add("esper_breaker_state", {s.name, AsciiLowerCopy(BreakerStateName(state))}, state == s.state ? 1 : 0);
    }
    const std::vector<std::string> b = {s.name};
    out.Add("esper_breaker_transitions_total", b, static_cast<double>(s.transitions));
    out.Add("esper_breaker_calls_total", {s.name, "success"}, static_cast<double>(s.successes));
    out.Add("esper_breaker_calls_total", {s.name, "failure"}, static_cast<double>(s.failures));
    out.Add("esper_breaker_slow_calls_total", b, static_cast<double>(s.slow_calls));
    out.Add("esper_breaker_rejections_total", b, static_cast<double>(s.rejections));
  });
  return c ? std::move(*c) : metrics::Collector();
}

metrics::Collector PublishRetryBudget(const RetryBudget& budget, metrics::Registry& registry) {
  using T = m::MetricType;
  std::vector<m::MetricDesc> descs = {
      Desc("esper_retry_budget_tokens", "Tokens left in the retry budget (token-bucket mode).", {"budget"}, T::kGauge),
      Desc("esper_retry_budget_active_retries", "Retries granted and not yet finished.", {"budget"}, T::kGauge),
      Desc("esper_retry_budget_retries_total", "Retries the budget was asked for, by decision.",
           {"budget", "decision"}, T::kCounter),
  };
  auto c = registry.AddCollector(std::move(descs), [&budget](m::Collection& out) {
    const RetryBudgetStats s = budget.get_stats();
    const std::string& name = budget.options().name;
    out.Add("esper_retry_budget_tokens", {name}, static_cast<double>(s.tokens));
    out.Add("esper_retry_budget_active_retries", {name}, static_cast<double>(s.active_retries));
    out.Add("esper_retry_budget_retries_total", {name, "granted"}, static_cast<double>(s.retries_granted));
    out.Add("esper_retry_budget_retries_total", {name, "denied"}, static_cast<double>(s.retries_denied));
  });
  return c ? std::move(*c) : metrics::Collector();
}

}  // namespace esper::resilience::detail
