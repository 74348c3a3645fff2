#include <algorithm>
#include <cmath>

#include "esper/http/stats.h"

namespace esper::http {
namespace {

// Bucket i (0..63) covers [1µs·√2^i, 1µs·√2^(i+1)); bucket 0 also takes everything below 1 µs;
// bucket 64 is the overflow.
constexpr double kBase = 1000.0;  // ns
const double kLogSqrt2 = std::log(std::sqrt(2.0));

int BucketOf(uint64_t ns) {
  if (ns < 1000) return 0;
  int b = static_cast<int>(std::log(static_cast<double>(ns) / kBase) / kLogSqrt2);
  return std::clamp(b, 0, LatencyHistogram::kBuckets - 1);
}
double BucketLow(int b) { return b == 0 ? 0.0 : kBase * std::pow(std::sqrt(2.0), b); }
double BucketHigh(int b) { return kBase * std::pow(std::sqrt(2.0), b + 1); }

}  // namespace

std::chrono::nanoseconds LatencyHistogram::UpperBound(int b) noexcept {
  return std::chrono::nanoseconds(static_cast<int64_t>(BucketHigh(b)));
}

namespace {
// CoarseBoundsSeconds: bucket b ends at 2^((b+1)/2) µs; b = 13 … 47, odd.
constexpr int kFirstCoarse = 13;
constexpr int kLastCoarse = 47;
}  // namespace

const std::vector<double>& LatencyHistogram::CoarseBoundsSeconds() {
  static const std::vector<double> bounds = [] {
    std::vector<double> out;
    for (int b = kFirstCoarse; b <= kLastCoarse; b += 2) {
      out.push_back(std::chrono::duration<double>(UpperBound(b)).count());
    }
    return out;
  }();
  return bounds;
}

std::vector<uint64_t> LatencyHistogram::CoarseCounts() const {
  std::vector<uint64_t> counts;
  uint64_t acc = 0;
  for (int b = 0; b < kBuckets; ++b) {
    acc += buckets_[static_cast<size_t>(b)];
    if (b >= kFirstCoarse && b <= kLastCoarse && (b - kFirstCoarse) % 2 == 0) {
      counts.push_back(acc);
      acc = 0;
    }
  }
  counts.push_back(acc);  // +Inf
  return counts;
}

void LatencyHistogram::Record(std::chrono::nanoseconds latency) noexcept {
  uint64_t ns = latency.count() < 0 ? 0 : static_cast<uint64_t>(latency.count());
  ++buckets_[static_cast<size_t>(BucketOf(ns))];
  ++count_;
  sum_ns_ += ns;
  min_ns_ = std::min(min_ns_, ns);
  max_ns_ = std::max(max_ns_, ns);
}

void LatencyHistogram::Merge(const LatencyHistogram& other) noexcept {
  for (size_t i = 0; i < buckets_.size(); ++i) buckets_[i] += other.buckets_[i];
  count_ += other.count_;
  sum_ns_ += other.sum_ns_;
  min_ns_ = std::min(min_ns_, other.min_ns_);
  max_ns_ = std::max(max_ns_, other.max_ns_);
}

std::chrono::nanoseconds LatencyHistogram::mean() const noexcept {
  return std::chrono::nanoseconds(count_ ? static_cast<int64_t>(sum_ns_ / count_) : 0);
}

std::chrono::nanoseconds LatencyHistogram::Percentile(double pct) const noexcept {
  if (count_ == 0) return std::chrono::nanoseconds(0);
  pct = std::clamp(pct, 0.0, 100.0);
  const double rank = pct / 100.0 * static_cast<double>(count_);
  double seen = 0;
  for (int b = 0; b < kBuckets; ++b) {
    const auto n = static_cast<double>(buckets_[static_cast<size_t>(b)]);
    if (n == 0) continue;
    if (seen + n >= rank) {
      double lo = std::max(BucketLow(b), static_cast<double>(min_ns_));
      double hi = b == kBuckets - 1 ? static_cast<double>(max_ns_)
                                    : std::min(BucketHigh(b), static_cast<double>(max_ns_));
      if (hi < lo) hi = lo;
      double frac = n > 0 ? (rank - seen) / n : 0;
      return std::chrono::nanoseconds(static_cast<int64_t>(lo + (hi - lo) * std::clamp(frac, 0.0, 1.0)));
    }
    seen += n;
  }
  return max();
}

}  // namespace esper::http
