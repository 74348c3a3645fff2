// The series types' out-of-line parts, the bucket helpers and reading a series for a scrape.
#include <algorithm>
#include <chrono>
#include <cmath>

#include "esper/metrics/family.h"

namespace esper::metrics {

std::string_view TypeName(MetricType type) noexcept {
  switch (type) {
    case MetricType::kCounter: return "counter";
    case MetricType::kGauge: return "gauge";
    case MetricType::kHistogram: return "histogram";
  }
  return "untyped";
}

void Gauge::SetToCurrentTime() noexcept {
  Set(std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count());
}

std::vector<double> LatencyBuckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
          0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,     10};
}

std::vector<double> SizeBuckets() { return ExponentialBuckets(64, 4, 13); }

std::vector<double> ExponentialBuckets(double start, double factor, int count) {
  std::vector<double> b;
  double v = start;
  for (int i = 0; i < count; ++i, v *= factor) b.push_back(v);
  return b;
}

std::vector<double> LinearBuckets(double start, double width, int count) {
  std::vector<double> b;
  for (int i = 0; i < count; ++i) b.push_back(start + width * i);
  return b;
}

Histogram::Histogram(std::span<const double> bounds)
    : bounds_(bounds.begin(), bounds.end()), sum_word_(bounds.size() + 1), cells_(bounds.size() + 2) {}

std::vector<uint64_t> Histogram::BucketCounts() const {
  std::vector<uint64_t> out(bounds_.size() + 1);
  for (size_t i = 0; i < out.size(); ++i) out[i] = cells_.Sum(i);
  return out;
}

uint64_t Histogram::Count() const {
  uint64_t n = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) n += cells_.Sum(i);
  return n;
}

namespace detail {

void ReadSeries(const Counter& c, SeriesSnapshot& out) { out.value = static_cast<double>(c.Value()); }
void ReadSeries(const Gauge& g, SeriesSnapshot& out) { out.value = g.Value(); }
void ReadSeries(const Histogram& h, SeriesSnapshot& out) {
  out.bucket_counts = h.BucketCounts();
  out.sum = h.Sum();
}

}  // namespace detail
}  // namespace esper::metrics
