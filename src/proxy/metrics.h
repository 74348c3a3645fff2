// Private: what a FaultProxy publishes into a metrics registry, read from get_stats().
#pragma once

#include <functional>

#include "esper/core/result.h"
#include "esper/metrics/registry.h"
#include "esper/proxy/fault_proxy.h"

namespace esper::proxy::detail {

Result<metrics::Collector> PublishProxyStats(std::function<Statistics()> stats, metrics::Registry& registry);

}  // namespace esper::proxy::detail
