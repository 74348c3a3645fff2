// esper/metrics/histogram.h — a histogram: how a measured value is distributed (latencies in
// seconds, sizes in bytes), over fixed buckets chosen when the family is created.
//
//   auto latency = registry.AddHistogram({.name = "myservice_request_duration_seconds",
//                                         .help = "Time from request to response.",
//                                         .labels = {"op"},
//                                         .buckets = metrics::LatencyBuckets()});
//   metrics::Histogram& get = (*latency)->With({"get"});
//   get.Observe(0.0042);                                   // seconds
//   get.ObserveDuration(std::chrono::steady_clock::now() - start);
//
// Exposed as Prometheus expects: `_bucket{le="…"}` cumulative counts for each upper bound and
// "+Inf", `_sum`, `_count`. `_count` is the +Inf bucket's count by construction (both come from
// the same read), so they always agree; `_sum` is read beside them and, during updates, may
// include an observation the buckets do not yet (or the reverse).
//
// Cost: an observation finds its bucket (a linear scan from the lowest bound for up to 16 bounds, binary search above)
// and adds to two cells of the calling thread's own (the bucket's count, the sum; shard.h): a few
// nanoseconds, wait-free. Memory: (buckets + 2) words per slot, each slot on cache lines of its own.
//
// Thread safety: Observe from any thread at once. Blocking: never. Errors: none — a NaN is
// counted in the +Inf bucket and adds NaN to the sum (as Prometheus's own clients do).
#pragma once

#include <chrono>
#include <cstdint>
#include <span>
#include <vector>

#include "esper/metrics/shard.h"

namespace esper::metrics {

/// Bucket bounds for latencies in seconds: 100 µs … 10 s (1, 2.5, 5 per decade; 16 bounds).
std::vector<double> LatencyBuckets();
/// Bucket bounds for sizes in bytes: 64 B … 1 GiB, ×4 each (13 bounds).
std::vector<double> SizeBuckets();
/// `count` bounds start, start·factor, start·factor², … (start > 0, factor > 1).
std::vector<double> ExponentialBuckets(double start, double factor, int count);
/// `count` bounds start, start + width, … (width > 0).
std::vector<double> LinearBuckets(double start, double width, int count);

class Histogram {
 public:
  /// `bounds`: strictly increasing upper bounds, +Inf implied (checked by the registry).
  explicit Histogram(std::span<const double> bounds);
  Histogram(const Histogram&) = delete;
  Histogram& operator=(const Histogram&) = delete;

  void Observe(double v) noexcept {
    const size_t b = BucketOf(v);
    cells_.Add(b, 1);
    cells_.AddDouble(sum_word_, v);
  }
  /// Observes `d` in seconds.
  template <class Rep, class Period>
  void ObserveDuration(std::chrono::duration<Rep, Period> d) noexcept {
    Observe(std::chrono::duration<double>(d).count());
  }

  std::span<const double> bounds() const noexcept { return bounds_; }
  /// Per-bucket counts, not cumulative: one per bound, then the +Inf bucket.
  std::vector<uint64_t> BucketCounts() const;
  double Sum() const noexcept { return cells_.SumDouble(sum_word_); }
  uint64_t Count() const;

 private:
  size_t BucketOf(double v) const noexcept {
    const size_t n = bounds_.size();
    const double* b = bounds_.data();
    if (n <= 16) {
      size_t i = 0;
      while (i < n && !(v <= b[i])) ++i;  // NaN falls through to +Inf
      return i;
    }
    size_t lo = 0, hi = n;  // the first bound >= v
    while (lo < hi) {
      const size_t mid = (lo + hi) / 2;
      if (b[mid] < v) lo = mid + 1; else hi = mid;
    }
    return v <= b[n - 1] ? lo : n;  // NaN: n
  }

  std::vector<double> bounds_;
  size_t sum_word_;  // the sum's word; words 0..bounds.size() are the bucket counts
  detail::ShardedWords cells_;
};

}  // namespace esper::metrics
