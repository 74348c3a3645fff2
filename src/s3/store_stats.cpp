// get_performance_stats(): per-operation counts, bytes and latency histograms (s3_store_impl.h).
#include "s3/s3_store_impl.h"

namespace esper::s3::detail {

StoreStats::StoreStats() : created_(SystemClock().Now()) {}

void StoreStats::Record(Op op, std::chrono::nanoseconds latency, const Error* error, uint64_t bytes) {
  std::lock_guard lock(mu_);
  PerOp& p = ops_[static_cast<size_t>(op)];
  ++p.operations;
  if (error) {
    ++p.errors;
    ++p.errors_by_code[error->service_code().empty() ? std::string(ErrorCodeName(error->code())) : error->service_code()];
  }
  p.bytes += bytes;
  p.latency.Record(latency);
}

PerformanceStats StoreStats::Snapshot(int in_flight) const {
  PerformanceStats out;
  out.elapsed = std::chrono::duration_cast<std::chrono::nanoseconds>(SystemClock().Now() - created_);
  out.in_flight = in_flight;
  out.retries = retries_.load(std::memory_order_relaxed);
  http::LatencyHistogram all;
  {
    std::lock_guard lock(mu_);
    for (size_t i = 0; i < kOpCount; ++i) {
      const PerOp& p = ops_[i];
      if (p.operations == 0) continue;
      const Op op = static_cast<Op>(i);
      OperationStats s;
      s.operations = p.operations;
      s.errors = p.errors;
      s.error_rate = static_cast<double>(p.errors) / static_cast<double>(p.operations);
      s.bytes = p.bytes;
      s.retries = op_retries_[i].load(std::memory_order_relaxed);
      s.errors_by_code = p.errors_by_code;
      s.latency = p.latency;
      s.average_latency = p.latency.mean();
      s.p50 = p.latency.Percentile(50);
      s.p90 = p.latency.Percentile(90);
      s.p99 = p.latency.Percentile(99);
      out.operations += p.operations;
      out.errors += p.errors;
      if (op == Op::kPut) out.bytes_uploaded += p.bytes;
      if (op == Op::kGet) out.bytes_downloaded += p.bytes;
      all.Merge(p.latency);
      out.per_operation.emplace(std::string(OpName(op)), std::move(s));
    }
  }
  if (out.operations > 0) out.error_rate = static_cast<double>(out.errors) / static_cast<double>(out.operations);
  out.average_latency = all.mean();
  const double seconds = std::chrono::duration<double>(out.elapsed).count();
  if (seconds > 0) {
    out.operations_per_second = static_cast<double>(out.operations) / seconds;
    out.throughput_bytes_per_second = static_cast<double>(out.bytes_uploaded + out.bytes_downloaded) / seconds;
  }
  return out;
}

Result<metrics::Collector> PublishStoreStats(std::function<PerformanceStats()> stats, metrics::Registry& registry) {
  namespace m = esper::metrics;
  auto counter = [](std::string n, std::string help, std::vector<std::string> labels = {"op"}) {
    return m::MetricDesc{.name = std::move(n), .help = std::move(help), .labels = std::move(labels),
                         .type = m::MetricType::kCounter};
  };
  std::vector<m::MetricDesc> descs = {
      counter("esper_s3_operations_total", "S3 store operations completed (put, get, stat, list, …)."),
      counter("esper_s3_errors_total", "S3 store operations that failed, by S3 error code (or canonical code).",
              {"op", "code"}),
      counter("esper_s3_retries_total", "S3 requests sent again (attempts after the first)."),
      counter("esper_s3_object_bytes_total", "Object bytes sent (put) or received (get)."),
      {.name = "esper_s3_in_flight", .help = "S3 store operations started and not completed.",
       .type = m::MetricType::kGauge},
      {.name = "esper_s3_request_duration_seconds",
       .help = "S3 store operation time, start to completion, retries included.",
       .labels = {"op"},
       .buckets = http::LatencyHistogram::CoarseBoundsSeconds(),
       .type = m::MetricType::kHistogram},
  };
  return registry.AddCollector(std::move(descs), [stats = std::move(stats)](m::Collection& out) {
    const PerformanceStats s = stats();
    out.Add("esper_s3_in_flight", {}, s.in_flight);
    for (const auto& [op, o] : s.per_operation) {
      const std::vector<std::string> l = {op};
      out.Add("esper_s3_operations_total", l, static_cast<double>(o.operations));
      for (const auto& [code, n] : o.errors_by_code) out.Add("esper_s3_errors_total", {op, code}, static_cast<double>(n));
      out.Add("esper_s3_retries_total", l, static_cast<double>(o.retries));
      out.Add("esper_s3_object_bytes_total", l, static_cast<double>(o.bytes));
      out.AddHistogram("esper_s3_request_duration_seconds", l, o.latency.CoarseCounts(),
                       std::chrono::duration<double>(o.latency.sum()).count());
    }
  });
}

}  // namespace esper::s3::detail
