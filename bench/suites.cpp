// The suites `esper bench` knows, in the order `all` runs them. A part that has not landed keeps
// its entry with `run` empty, so `esper bench` says plainly what is missing.
#include "frame.h"

namespace esper::bench {

#ifdef ESPER_HAVE_LOG
Status RunLogSuite(Context& ctx);
#endif
#ifdef ESPER_HAVE_METRICS
Status RunMetricsSuite(Context& ctx);
#endif
#ifdef ESPER_HAVE_CONFIG
Status RunConfigSuite(Context& ctx);
#endif
#ifdef ESPER_HAVE_RESILIENCE
Status RunResilienceSuite(Context& ctx);
#endif
#ifdef ESPER_HAVE_HTTP
Status RunHttpSuite(Context& ctx);
#endif
#ifdef ESPER_HAVE_STORAGE
Status RunStorageSuite(Context& ctx);
#endif
#ifdef ESPER_HAVE_S3
Status RunS3Suite(Context& ctx);
#endif

const std::vector<Suite>& Suites() {
  static const std::vector<Suite> kSuites = {
#ifdef ESPER_HAVE_LOG
      {"log", "front-end latency vs spdlog async, backend throughput, memory under overload",
       RunLogSuite, ""},
#else
      {"log", "async logging", nullptr, "the log part has not landed (issue #3)"},
#endif
#ifdef ESPER_HAVE_METRICS
      {"metrics", "counter increment and histogram observation vs mutex-guarded versions; scrape cost",
       RunMetricsSuite, ""},
#else
      {"metrics", "counters, gauges, histograms", nullptr, "the metrics part has not landed (issue 21)"},
#endif
#ifdef ESPER_HAVE_CONFIG
      {"config", "load + override + validate vs PyYAML's C loader", RunConfigSuite, ""},
#else
      {"config", "layered configuration", nullptr, "the config part has not landed (issue #4)"},
#endif
#ifdef ESPER_HAVE_RESILIENCE
      {"resilience", "cost of a closed circuit breaker per call", RunResilienceSuite, ""},
#else
      {"resilience", "circuit breaker", nullptr, "the resilience part has not landed (issue #5)"},
#endif
#ifdef ESPER_HAVE_HTTP
      {"http", "requests/s vs wrk against nginx on loopback, memory per in-flight request",
       RunHttpSuite, ""},
#else
      {"http", "HTTP client", nullptr, "the http part has not landed (issue #5)"},
#endif
#ifdef ESPER_HAVE_STORAGE
      {"storage", "LocalStore PUT/GET/HEAD of 4 KiB: ops/s and CPU per op beside the bare file system",
       RunStorageSuite, ""},
#else
      {"storage", "object storage", nullptr, "the storage part has not landed (issue 19)"},
#endif
#ifdef ESPER_HAVE_S3
      {"s3", "S3Store PUT/GET/HEAD of 4 KiB against s3rver 4.0.4: ops/s and client CPU per op, 1, 16 and 64 in flight",
       RunS3Suite, ""},
#else
      {"s3", "S3 object storage", nullptr, "the s3 part has not landed (issue 19)"},
#endif
  };
  return kSuites;
}

}  // namespace esper::bench
