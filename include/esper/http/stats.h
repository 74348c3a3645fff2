// esper/http/stats.h — per-host statistics of an esper::http::Client (the seed's get_stats).
//
// Client::GetStats() returns a snapshot: for each host key ("http://127.0.0.1:8080") the counts
// of requests, attempts, retries, errors, bytes in and out, a latency histogram (per completed
// request, submission to completion, retries included) with percentiles, and the state of the
// host's circuit breaker.
//
// Thread safety: HostStats and LatencyHistogram are value types; the snapshot is a copy.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace esper::http {

/// A fixed-bucket latency histogram: 1 µs .. ~72 min in 64 buckets growing by ~1.41× (√2),
/// plus one overflow bucket. Percentile error is bounded by a bucket's width (≤ 41 %); the
/// exact minimum, maximum and mean are kept too. Memory: fixed (~600 bytes).
class LatencyHistogram {
 public:
  static constexpr int kBuckets = 65;

  void Record(std::chrono::nanoseconds latency) noexcept;
  void Merge(const LatencyHistogram& other) noexcept;
  uint64_t count() const noexcept { return count_; }
  std::chrono::nanoseconds min() const noexcept { return std::chrono::nanoseconds(count_ ? min_ns_ : 0); }
  std::chrono::nanoseconds max() const noexcept { return std::chrono::nanoseconds(max_ns_); }
  std::chrono::nanoseconds mean() const noexcept;
  /// The `pct` (0..100) percentile, interpolated inside its bucket; 0 when empty.
  std::chrono::nanoseconds Percentile(double pct) const noexcept;
  /// The sum of every latency recorded.
  std::chrono::nanoseconds sum() const noexcept { return std::chrono::nanoseconds(sum_ns_); }
  /// Bucket b holds latencies below this bound (b < kBuckets - 1; the last one is the overflow).
  static std::chrono::nanoseconds UpperBound(int b) noexcept;
  /// For metrics (Prometheus buckets): every other bound of the √2 ladder, 2^k µs for k = 7 …
  /// 24 (128 µs … 16.8 s), in seconds; and the counts between them (not cumulative; the last
  /// is +Inf).
  static const std::vector<double>& CoarseBoundsSeconds();
  std::vector<uint64_t> CoarseCounts() const;

 private:
  std::array<uint64_t, kBuckets> buckets_{};
  uint64_t count_ = 0;
  uint64_t sum_ns_ = 0;
  uint64_t min_ns_ = UINT64_MAX;
  uint64_t max_ns_ = 0;
};

struct HostStats {
  uint64_t requests = 0;        // submitted requests
  uint64_t completed = 0;       // finished with a Response (any status)
  uint64_t errors = 0;          // finished with an Error (transport, status >= 400, breaker, …)
  uint64_t attempts = 0;        // attempts started (requests + retries)
  uint64_t retries = 0;         // attempts after the first
  uint64_t retries_denied = 0;  // retries the budget refused
  uint64_t breaker_rejections = 0;  // attempts refused because the breaker was open
  uint64_t bytes_in = 0;        // response body bytes
  uint64_t bytes_out = 0;       // request body bytes
  std::map<int, uint64_t> status_counts;  // final status → count
  /// Finished requests by method and outcome: the final status's class ("2xx" … "5xx"), or
  /// "none" when the request ended without a response (transport error, open breaker, deadline).
  std::map<std::pair<std::string, std::string>, uint64_t> finished;
  /// Requests that ended in an error, by its canonical code ("Unavailable", "DeadlineExceeded", …).
  std::map<std::string, uint64_t> errors_by_code;
  uint64_t breaker_transitions = 0;  // of the host's breaker
  int64_t retry_budget_tokens = 0;   // the host's retry budget (token bucket), now
  /// Submitted and not finished yet.
  uint64_t in_flight() const { return requests - completed - errors; }
  LatencyHistogram latency{};
  std::string breaker_state = "disabled";  // "closed", "open", "half_open", … or "disabled"
};

/// Host key → statistics.
using ClientStats = std::map<std::string, HostStats>;

}  // namespace esper::http
