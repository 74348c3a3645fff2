#include <gtest/gtest.h>

#include <cmath>
#include <thread>
#include <vector>

#include "esper/metrics/family.h"

namespace esper::metrics {
namespace {

TEST(Counter, AddsUp) {
  Counter c;
  c.Increment();
  c.Add(41);
  EXPECT_EQ(c.Value(), 42u);
}

// Many threads (more than there are shards, so some share cells) update one counter and one
// histogram at once: nothing is lost. Run under TSan by the tsan preset.
TEST(Counter, ConcurrentUpdatesSumExactly) {
  Counter c;
  Histogram h(std::vector<double>{1, 10, 100});
  constexpr int kThreads = 24;
  constexpr int kPerThread = 20000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        c.Increment();
        h.Observe(static_cast<double>((t + i) % 200));  // 0..199: all four buckets
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(c.Value(), uint64_t{kThreads} * kPerThread);
  EXPECT_EQ(h.Count(), uint64_t{kThreads} * kPerThread);
  // Each thread observes a window of 200 consecutive values mod 200, kPerThread/200 times.
  const uint64_t windows = uint64_t{kThreads} * kPerThread / 200;
  std::vector<uint64_t> expect = {2 * windows, 9 * windows, 90 * windows, 99 * windows};
  EXPECT_EQ(h.BucketCounts(), expect);
  EXPECT_DOUBLE_EQ(h.Sum(), static_cast<double>(windows) * (199.0 * 200 / 2));
}

TEST(Gauge, SetAddAndConcurrentAdds) {
  Gauge g;
  g.Set(5);
  g.Add(2.5);
  g.Decrement();
  EXPECT_DOUBLE_EQ(g.Value(), 6.5);
  g.Set(0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        g.Increment();
        g.Add(-1);
        g.Increment();
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_DOUBLE_EQ(g.Value(), 80000);
  g.SetToCurrentTime();
  EXPECT_GT(g.Value(), 1.6e9);  // some time after 2020
}

TEST(Histogram, BucketsByUpperBoundInclusive) {
  Histogram h(std::vector<double>{0.1, 1});
  h.Observe(0.1);   // le="0.1" is inclusive
  h.Observe(0.5);
  h.Observe(1);
  h.Observe(7);
  h.Observe(std::nan(""));  // +Inf bucket
  EXPECT_EQ(h.BucketCounts(), (std::vector<uint64_t>{1, 2, 2}));
  EXPECT_EQ(h.Count(), 5u);
  EXPECT_TRUE(std::isnan(h.Sum()));
}

TEST(Histogram, ManyBucketsUseBinarySearchWithTheSameAnswer) {
  auto bounds = ExponentialBuckets(1, 2, 30);
  Histogram h(bounds);
  for (double v : {0.5, 1.0, 1.5, 3.0, 1e9, 1e10}) h.Observe(v);
  auto counts = h.BucketCounts();
  EXPECT_EQ(counts[0], 2u);   // 0.5, 1
  EXPECT_EQ(counts[1], 1u);   // 1.5 <= 2
  EXPECT_EQ(counts[2], 1u);   // 3 <= 4
  EXPECT_EQ(counts[30], 2u);  // the last bound is 2^29 = 5.4e8: 1e9 and 1e10 are past it
  EXPECT_EQ(h.Count(), 6u);
}

TEST(Histogram, ObserveDurationInSeconds) {
  Histogram h(LatencyBuckets());
  h.ObserveDuration(std::chrono::milliseconds(3));
  EXPECT_DOUBLE_EQ(h.Sum(), 0.003);
  EXPECT_EQ(h.BucketCounts()[5], 1u);  // le=0.005
}

TEST(Buckets, Helpers) {
  EXPECT_EQ(LinearBuckets(1, 2, 3), (std::vector<double>{1, 3, 5}));
  EXPECT_EQ(ExponentialBuckets(1, 10, 3), (std::vector<double>{1, 10, 100}));
  EXPECT_EQ(SizeBuckets().front(), 64);
  EXPECT_EQ(SizeBuckets().back(), 64.0 * (1 << 24));  // 1 GiB
  EXPECT_EQ(LatencyBuckets().size(), 16u);
}

}  // namespace
}  // namespace esper::metrics
