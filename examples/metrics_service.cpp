// A service's own metrics, served on /metrics for Prometheus to scrape.
//
//   build/release/bin/example_metrics_service            # one pass of work, prints the page
//   build/release/bin/example_metrics_service 30         # also serves it for 30 s:
//   curl http://127.0.0.1:<port>/metrics
#include <fmt/format.h>

#include <chrono>
#include <cstdlib>
#include <random>
#include <thread>

#include "esper/metrics/exposition.h"
#include "esper/metrics/registry.h"
#include "esper/metrics/server.h"

namespace metrics = esper::metrics;

int main(int argc, char** argv) {
  const int serve_seconds = argc > 1 ? std::atoi(argv[1]) : 0;
  auto& registry = metrics::DefaultRegistry();

  // Families are registered once, at start-up; a mistake in a name is an error here, not a
  // broken scrape later.
  auto jobs = registry.AddCounter({.name = "tezzeret_jobs_total",
                                   .help = "Jobs finished, by outcome.",
                                   .labels = {"outcome"}});
  auto queue = registry.AddGauge({.name = "tezzeret_queue_depth", .help = "Jobs waiting."});
  auto duration = registry.AddHistogram({.name = "tezzeret_job_duration_seconds",
                                         .help = "Time to run a job.",
                                         .labels = {"kind"},
                                         .buckets = metrics::LatencyBuckets()});
  if (!jobs || !queue || !duration) {
    fmt::print(stderr, "registering metrics failed\n");
    return 1;
  }
  // The series a hot path updates: looked up once, kept by reference; updates take no lock.
  metrics::Counter& ok = (*jobs)->With({"ok"});
  metrics::Counter& failed = (*jobs)->With({"failed"});
  metrics::Gauge& depth = (*queue)->With({});
  metrics::Histogram& compile = (*duration)->With({"compile"});

  // One call turns the endpoint on (port 0: any free port); destroying it turns it off.
  auto server = metrics::ServeMetrics("127.0.0.1:0");
  if (!server) {
    fmt::print(stderr, "{}\n", server.error());
    return 1;
  }
  fmt::print("serving http://{}/metrics\n", (*server)->address());

  std::mt19937 rng(7);
  std::exponential_distribution<double> seconds(500);  // mean 2 ms
  for (int i = 0; i < 1000; ++i) {
    depth.Set(1000 - i);
    compile.Observe(seconds(rng));
    (i % 50 == 0 ? failed : ok).Increment();
  }
  fmt::print("{}", metrics::prometheus_text());
  std::this_thread::sleep_for(std::chrono::seconds(serve_seconds));
  return 0;
}
