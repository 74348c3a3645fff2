// esper/metrics/log_metrics.h — a logger's statistics as metrics.
//
// The logger sits beside metrics at the bottom of the layers and knows nothing of it (its hot
// path stays as it is); this collector reads Logger::get_stats() at each scrape, so the page and
// get_stats() are the same numbers:
//
//   auto logger = esper::log::setup_service_logging("tamiyo", "INFO", "json");
//   auto published = esper::metrics::PublishLogger(**logger, "tamiyo");   // keep the handle
//
// Families (label `logger`: the name given here — one per logger, so bounded):
//   esper_log_records_total            records formatted and handed to the sinks (lines written)
//   esper_log_dropped_total            records dropped by QueuePolicy::kDrop
//   esper_log_truncated_total          string arguments cut at max_string_bytes
//   esper_log_backend_errors_total     failed sink writes / flushes and formatting errors
//   esper_log_queue_depth              records queued, not yet written
//   esper_log_queue_bytes              bytes queued now
//   esper_log_queue_high_water_bytes   the most bytes queued at once
//   esper_log_backend_cpu_seconds_total  CPU time of the backend thread
//
// Thread safety: any thread. Ownership: the handle must go before the logger (its destructor
// waits for a scrape that is reading the logger). Errors: those of Registry::AddCollector.
#pragma once

#include <string>

#include "esper/core/result.h"
#include "esper/metrics/registry.h"

namespace esper::log {
class Logger;
}

namespace esper::metrics {

Result<Collector> PublishLogger(const log::Logger& logger, std::string name,
                                Registry& registry = DefaultRegistry());

}  // namespace esper::metrics
