// get_performance_stats(): per-operation counts, bytes and latency histograms (s3_store_impl.h).
#include "s3/s3_store_impl.h"

namespace esper::s3::detail {

StoreStats::StoreStats() : created_(SystemClock().Now()) {}

void StoreStats::Record(Op op, std::chrono::nanoseconds latency, bool failed, uint64_t bytes) {
  std::lock_guard lock(mu_);
  PerOp& p = ops_[static_cast<size_t>(op)];
  ++p.operations;
  if (failed) ++p.errors;
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

}  // namespace esper::s3::detail
