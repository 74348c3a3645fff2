#include "esper/http/stats.h"

#include <gtest/gtest.h>

namespace esper::http {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;
using std::chrono::nanoseconds;

TEST(LatencyHistogram, EmptyIsZero) {
  LatencyHistogram h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.Percentile(50), nanoseconds(0));
  EXPECT_EQ(h.min(), nanoseconds(0));
  EXPECT_EQ(h.mean(), nanoseconds(0));
}

TEST(LatencyHistogram, PercentilesWithinABucket) {
  LatencyHistogram h;
  for (int i = 1; i <= 1000; ++i) h.Record(microseconds(i));  // 1 µs .. 1 ms uniform
  EXPECT_EQ(h.count(), 1000u);
  EXPECT_EQ(h.min(), microseconds(1));
  EXPECT_EQ(h.max(), microseconds(1000));
  EXPECT_NEAR(static_cast<double>(h.mean().count()), 500500.0, 1.0);
  // Bucket width is at most 41 %: each percentile within that of the truth.
  for (double p : {10.0, 50.0, 90.0, 99.0}) {
    double truth = p * 10.0 * 1000.0;  // ns
    double got = static_cast<double>(h.Percentile(p).count());
    EXPECT_NEAR(got, truth, truth * 0.42) << "p" << p;
  }
  EXPECT_LE(h.Percentile(100), h.max());
  EXPECT_GE(h.Percentile(0), h.min());
}

TEST(LatencyHistogram, PercentilesNeverDecrease) {
  // Deterministic samples (no clock): a skewed spread over many buckets, as real latencies are.
  LatencyHistogram h;
  for (int i = 1; i <= 5000; ++i) h.Record(microseconds((i * i) % 97'001 + 1));
  nanoseconds last{0};
  for (double p : {0.0, 1.0, 10.0, 25.0, 50.0, 75.0, 90.0, 99.0, 99.9, 100.0}) {
    EXPECT_LE(last, h.Percentile(p)) << "p" << p;
    last = h.Percentile(p);
  }
  EXPECT_LE(h.Percentile(50), h.Percentile(99));
}

TEST(LatencyHistogram, OutliersAndMerge) {
  LatencyHistogram a, b;
  for (int i = 0; i < 99; ++i) a.Record(milliseconds(1));
  b.Record(std::chrono::hours(3));  // beyond the last bucket: overflow, max exact
  a.Merge(b);
  EXPECT_EQ(a.count(), 100u);
  EXPECT_EQ(a.max(), std::chrono::hours(3));
  EXPECT_NEAR(static_cast<double>(a.Percentile(50).count()), 1e6, 0.42e6);
  EXPECT_EQ(a.Percentile(100), std::chrono::hours(3));
  a.Record(nanoseconds(-5));  // clamps, does not crash
  EXPECT_EQ(a.min(), nanoseconds(0));
}

}  // namespace
}  // namespace esper::http
