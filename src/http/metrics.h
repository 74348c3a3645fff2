// Private: what an http::Client publishes into a metrics registry (docs/http.md, Metrics), read
// from the same per-host statistics Client::get_stats() returns.
#pragma once

#include <functional>
#include <string>

#include "esper/core/result.h"
#include "esper/http/stats.h"
#include "esper/metrics/registry.h"

namespace esper::http::detail {

/// Registers a collector that reads `stats` at each scrape.
Result<metrics::Collector> PublishClientStats(std::function<ClientStats()> stats, metrics::Registry& registry);

}  // namespace esper::http::detail
