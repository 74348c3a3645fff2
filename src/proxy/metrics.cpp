// The fault proxy's metrics: a collector over FaultProxy::get_stats(), so both are the same
// numbers (docs/proxy.md, Metrics).
#include "metrics.h"

namespace esper::proxy::detail {

Result<metrics::Collector> PublishProxyStats(std::function<Statistics()> stats, metrics::Registry& registry) {
  namespace m = esper::metrics;
  auto counter = [](std::string n, std::string help, std::vector<std::string> labels = {}) {
    return m::MetricDesc{.name = std::move(n), .help = std::move(help), .labels = std::move(labels),
                         .type = m::MetricType::kCounter};
  };
  std::vector<m::MetricDesc> descs = {
      counter("esper_proxy_connections_total", "Client connections accepted (rejected ones included)."),
      counter("esper_proxy_rejected_connections_total", "Connections reset on accept because max_connections were open."),
      {.name = "esper_proxy_active_connections", .help = "Client connections open now.", .type = m::MetricType::kGauge},
      counter("esper_proxy_requests_total", "Fault decisions: HTTP request heads parsed, or TCP connections decided."),
      counter("esper_proxy_forwarded_total", "Requests (or connections) forwarded with no fault injected."),
      counter("esper_proxy_faults_total", "Faults injected, by kind.", {"kind"}),
      counter("esper_proxy_delayed_total", "Requests (http) or chunks (tcp) held for the configured latency."),
      counter("esper_proxy_upstream_failures_total", "Upstream connections that failed."),
      counter("esper_proxy_protocol_errors_total", "Malformed HTTP from a client or the upstream."),
      counter("esper_proxy_sent_bytes_total", "Bytes forwarded, by direction.", {"to"}),
  };
  return registry.AddCollector(std::move(descs), [stats = std::move(stats)](m::Collection& out) {
    const Statistics s = stats();
    auto n = [](uint64_t v) { return static_cast<double>(v); };
    out.Add("esper_proxy_connections_total", {}, n(s.connections));
    out.Add("esper_proxy_rejected_connections_total", {}, n(s.rejected_connections));
    out.Add("esper_proxy_active_connections", {}, n(s.active_connections));
    out.Add("esper_proxy_requests_total", {}, n(s.requests));
    out.Add("esper_proxy_forwarded_total", {}, n(s.passed));
    out.Add("esper_proxy_faults_total", {"reset"}, n(s.resets));
    out.Add("esper_proxy_faults_total", {"stall"}, n(s.stalls));
    out.Add("esper_proxy_faults_total", {"error"}, n(s.errors));
    out.Add("esper_proxy_faults_total", {"truncate"}, n(s.truncations));
    out.Add("esper_proxy_faults_total", {"corrupt"}, n(s.corruptions));
    out.Add("esper_proxy_delayed_total", {}, n(s.delayed));
    out.Add("esper_proxy_upstream_failures_total", {}, n(s.upstream_failures));
    out.Add("esper_proxy_protocol_errors_total", {}, n(s.protocol_errors));
    out.Add("esper_proxy_sent_bytes_total", {"upstream"}, n(s.bytes_to_upstream));
    out.Add("esper_proxy_sent_bytes_total", {"client"}, n(s.bytes_to_client));
  });
}

}  // namespace esper::proxy::detail
