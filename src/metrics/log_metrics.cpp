// A logger's statistics as metrics (log_metrics.h).
#include "esper/metrics/log_metrics.h"

#include "esper/log/logger.h"

namespace esper::metrics {

Result<Collector> PublishLogger(const log::Logger& logger, std::string name, Registry& registry) {
  auto counter = [](std::string n, std::string help) {
    return MetricDesc{.name = std::move(n), .help = std::move(help), .labels = {"logger"}, .type = MetricType::kCounter};
  };
  auto gauge = [](std::string n, std::string help) {
    return MetricDesc{.name = std::move(n), .help = std::move(help), .labels = {"logger"}, .type = MetricType::kGauge};
  };
  std::vector<MetricDesc> descs = {
      counter("esper_log_records_total", "Log records formatted and handed to the sinks."),
      counter("esper_log_dropped_total", "Log records dropped because a queue was full (QueuePolicy::kDrop)."),
      counter("esper_log_truncated_total", "String arguments cut at max_string_bytes."),
      counter("esper_log_backend_errors_total", "Failed sink writes and flushes, and formatting errors."),
      counter("esper_log_backend_cpu_seconds_total", "CPU time the logger's backend thread has used."),
      gauge("esper_log_queue_depth", "Log records queued and not yet written."),
      gauge("esper_log_queue_bytes", "Bytes queued in the logger's per-thread queues."),
      gauge("esper_log_queue_high_water_bytes", "The most bytes queued at once."),
  };
  return registry.AddCollector(std::move(descs), [&logger, name = std::move(name)](Collection& out) {
    const log::Stats s = logger.get_stats();
    const std::vector<std::string> l = {name};
    out.Add("esper_log_records_total", l, static_cast<double>(s.processed));
    out.Add("esper_log_dropped_total", l, static_cast<double>(s.dropped));
    out.Add("esper_log_truncated_total", l, static_cast<double>(s.truncated));
    out.Add("esper_log_backend_errors_total", l, static_cast<double>(s.backend_errors));
    out.Add("esper_log_backend_cpu_seconds_total", l, static_cast<double>(s.backend_cpu_ns) / 1e9);
    out.Add("esper_log_queue_depth", l, static_cast<double>(s.queue_depth));
    out.Add("esper_log_queue_bytes", l, static_cast<double>(s.queue_bytes));
    out.Add("esper_log_queue_high_water_bytes", l, static_cast<double>(s.high_water_bytes));
  });
}

}  // namespace esper::metrics
