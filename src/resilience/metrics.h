// Private: what a CircuitBreaker and a RetryBudget publish into a metrics registry, read from
// their stats() at each scrape (docs/resilience.md, Metrics).
#pragma once

#include "esper/metrics/registry.h"
#include "esper/resilience/circuit_breaker.h"
#include "esper/resilience/retry_budget.h"

namespace esper::resilience::detail {

/// A collector over breaker.get_stats(), or an empty handle when the registry refused it (a family
/// of the same name declared otherwise): a breaker works the same without its metrics.
metrics::Collector PublishBreaker(const CircuitBreaker& breaker, metrics::Registry& registry);
metrics::Collector PublishRetryBudget(const RetryBudget& budget, metrics::Registry& registry);

}  // namespace esper::resilience::detail
