// A service's logging, end to end: set up (JSON to stderr + a file), structured fields, context
// fields, a scope timer, runtime level change, statistics, and flush.
//
//   ./example_log_service /tmp/tamiyo.log
//   ESPER_LOG_LEVEL=debug ./example_log_service /tmp/tamiyo.log
#include <fmt/ranges.h>

#include <thread>
#include <vector>

#include "esper/log/logger.h"
#include "esper/log/setup.h"
#include "esper/log/timer.h"

using esper::log::kv;

int main(int argc, char** argv) {
  std::string file = argc > 1 ? argv[1] : "";
  auto logger = esper::log::setup_service_logging("tamiyo", "INFO", "json", /*async=*/true, file);
  if (!logger) {
    fmt::print(stderr, "logging set-up failed: {}\n", logger.error());
    return 1;
  }

  // The seed's high-frequency call: message + `extra` fields.
  ESPER_LOG_INFO(logger, "Processing health signal", kv("layer_id", 5), kv("health_score", 0.85),
                 kv("processing_time_ms", 1.2));

  // Positional arguments are formatted with {fmt}; any formattable type works.
  std::vector<int> shape{64, 3, 224, 224};
  ESPER_LOG_INFO(logger, "loaded kernel {} with input shape {}", "conv2d_fused", shape);

  // Named placeholders: the message reads naturally and each argument is a field as well.
  ESPER_LOG_INFO(logger, "compiled {kernel} in {compile_ms:.1f} ms", "conv2d_fused", 41.27);

  // Fields bound once — a request id — then carried by every line logged through the view.
  auto request = (*logger)->With("request_id", "req-7f3a").With("tenant", "urza");
  ESPER_LOG_INFO(request, "fetched {} bytes", 4096);

  // Debug lines cost one atomic load while the level is INFO (arguments are not evaluated).
  ESPER_LOG_DEBUG(logger, "not written at INFO: {}", shape.size());

  // Several threads: each gets its own queue; the backend merges them in timestamp order.
  std::vector<std::thread> workers;
  for (int w = 0; w < 3; ++w)
    workers.emplace_back([&, w] {
      esper::log::LoggingTimer timer(**logger, "kernel_loading");
      for (int i = 0; i < 3; ++i) ESPER_LOG_INFO(logger, "worker step", kv("worker", w), kv("step", i));
      if (w == 2) timer.Fail("artifact not found in cache");
    });
  for (auto& t : workers) t.join();

  if (auto st = (*logger)->Flush(); !st) fmt::print(stderr, "flush: {}\n", st.error());
  auto stats = (*logger)->get_stats();
  fmt::print(stderr, "processed={} dropped={} avg_backend_ns={:.0f} high_water_bytes={}\n", stats.processed,
             stats.dropped, stats.avg_backend_ns, stats.high_water_bytes);
  return 0;
}
