// The http client's metrics: a collector over Client::get_stats(), so both are the same numbers;
// and the names of the per-host finish counts (transfer.h), given when they are read.
#include "metrics.h"

#include <array>

#include "transfer.h"

namespace esper::http::detail {
namespace {

namespace m = esper::metrics;

m::MetricDesc Counter(std::string name, std::string help, std::vector<std::string> labels = {"host"}) {
  return {.name = std::move(name), .help = std::move(help), .labels = std::move(labels), .type = m::MetricType::kCounter};
}
m::MetricDesc Gauge(std::string name, std::string help, std::vector<std::string> labels = {"host"}) {
  return {.name = std::move(name), .help = std::move(help), .labels = std::move(labels), .type = m::MetricType::kGauge};
}

std::vector<m::MetricDesc> Descs() {
  return {
      Counter("esper_http_requests_total",
              "HTTP requests finished, by method and final status class (code=\"none\": ended without a response).",
              {"host", "method", "code"}),
      Counter("esper_http_errors_total", "HTTP requests that ended in an error, by its canonical code.", {"host", "kind"}),
      Counter("esper_http_attempts_total", "HTTP attempts started (first tries and retries)."),
      Counter("esper_http_retries_total", "HTTP attempts after the first."),
      Counter("esper_http_retries_denied_total", "Retries the host's retry budget refused (budget exhausted)."),
      Counter("esper_http_breaker_rejections_total", "Attempts refused because the host's circuit breaker was open."),
      Counter("esper_http_breaker_transitions_total", "State changes of the host's circuit breaker."),
      Gauge("esper_http_breaker_state", "1 for the state the host's circuit breaker is in, 0 for the others.",
            {"host", "state"}),
      Gauge("esper_http_retry_budget_tokens", "Tokens left in the host's retry budget."),
      Gauge("esper_http_in_flight", "HTTP requests submitted and not finished."),
      Counter("esper_http_sent_bytes_total", "Request body bytes sent."),
      Counter("esper_http_received_bytes_total", "Response body bytes received."),
      {.name = "esper_http_request_duration_seconds",
       .help = "Time from submission to completion of an HTTP request, retries included.",
       .labels = {"host"},
       .buckets = LatencyHistogram::CoarseBoundsSeconds(),
       .type = m::MetricType::kHistogram},
  };
}

void Collect(const ClientStats& stats, m::Collection& out) {
  static constexpr std::array<std::string_view, 5> kStates = {"closed", "open", "half_open", "forced_open", "disabled"};
  for (const auto& [host, s] : stats) {
    const std::vector<std::string> h = {host};
    for (const auto& [key, n] : s.finished) {
      out.Add("esper_http_requests_total", {host, key.first, key.second}, static_cast<double>(n));
    }
    for (const auto& [code, n] : s.errors_by_code) out.Add("esper_http_errors_total", {host, code}, static_cast<double>(n));
    out.Add("esper_http_attempts_total", h, static_cast<double>(s.attempts));
    out.Add("esper_http_retries_total", h, static_cast<double>(s.retries));
    out.Add("esper_http_retries_denied_total", h, static_cast<double>(s.retries_denied));
    out.Add("esper_http_breaker_rejections_total", h, static_cast<double>(s.breaker_rejections));
    out.Add("esper_http_breaker_transitions_total", h, static_cast<double>(s.breaker_transitions));
    bool known = false;
    for (std::string_view state : kStates) {
      known |= state == s.breaker_state;
      out.Add("esper_http_breaker_state", {host, state}, state == s.breaker_state ? 1 : 0);
    }
    if (!known) out.Add("esper_http_breaker_state", {host, s.breaker_state}, 1);
    out.Add("esper_http_retry_budget_tokens", h, static_cast<double>(s.retry_budget_tokens));
    out.Add("esper_http_in_flight", h, static_cast<double>(s.in_flight()));
    out.Add("esper_http_sent_bytes_total", h, static_cast<double>(s.bytes_out));
    out.Add("esper_http_received_bytes_total", h, static_cast<double>(s.bytes_in));

    out.AddHistogram("esper_http_request_duration_seconds", h, s.latency.CoarseCounts(),
                     std::chrono::duration<double>(s.latency.sum()).count());
  }
}

}  // namespace

void FinishCounts::Count(Method method, int status, const Error* error) noexcept {
  const size_t cls = status < 100 || status > 599 ? kClasses - 1 : static_cast<size_t>(status / 100 - 1);
  const auto m = static_cast<size_t>(method);
  if (m < kMethods) ++finished[m][cls];
  if (error) {
    const auto code = static_cast<size_t>(error->code());
    if (code < kCodes) ++errors_by_code[code];
  }
}

void FinishCounts::AddTo(HostStats& s) const {
  static constexpr std::array<std::string_view, kClasses> kClassNames = {"1xx", "2xx", "3xx", "4xx", "5xx", "none"};
  for (size_t m = 0; m < kMethods; ++m) {
    for (size_t c = 0; c < kClasses; ++c) {
      if (finished[m][c] == 0) continue;
      s.finished[{std::string(MethodName(static_cast<Method>(m))), std::string(kClassNames[c])}] += finished[m][c];
    }
  }
  for (size_t c = 0; c < kCodes; ++c) {
    if (errors_by_code[c] != 0) s.errors_by_code[std::string(ErrorCodeName(static_cast<ErrorCode>(c)))] += errors_by_code[c];
  }
}

Result<metrics::Collector> PublishClientStats(std::function<ClientStats()> stats, metrics::Registry& registry) {
  return registry.AddCollector(Descs(), [stats = std::move(stats)](m::Collection& out) { Collect(stats(), out); });
}

}  // namespace esper::http::detail
