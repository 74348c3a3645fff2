#include <gtest/gtest.h>

#include <thread>

#include "esper/metrics/exposition.h"
#include "esper/metrics/registry.h"

namespace esper::metrics {
namespace {

TEST(ValidateDesc, FollowsPrometheusRulesAndConventions) {
  auto check = [](MetricDesc d) { return ValidateDesc(d).has_value(); };
  EXPECT_TRUE(check({.name = "app_requests_total", .help = "h"}));
  EXPECT_TRUE(check({.name = "app_in_flight", .help = "h", .type = MetricType::kGauge}));
  EXPECT_TRUE(check({.name = "app_latency_seconds", .help = "h", .buckets = {1}, .type = MetricType::kHistogram}));

  EXPECT_FALSE(check({.name = "app_requests", .help = "h"})) << "a counter ends in _total";
  EXPECT_FALSE(check({.name = "app_x_total", .help = "h", .type = MetricType::kGauge})) << "_total is for counters";
  EXPECT_FALSE(check({.name = "AppRequests_total", .help = "h"})) << "snake_case";
  EXPECT_FALSE(check({.name = "app:requests_total", .help = "h"})) << "colons are for recording rules";
  EXPECT_FALSE(check({.name = "9app_total", .help = "h"}));
  EXPECT_FALSE(check({.name = "", .help = "h"}));
  EXPECT_FALSE(check({.name = "app_requests_total", .help = ""})) << "help is required";
  EXPECT_FALSE(check({.name = "app_requests_total", .help = "two\nlines"}));
  EXPECT_FALSE(check({.name = "app_latency_milliseconds", .help = "h", .type = MetricType::kGauge})) << "base units";
  EXPECT_FALSE(check({.name = "app_read_kilobytes_total", .help = "h"}));
  EXPECT_FALSE(check({.name = "app_ms_spent_total", .help = "h"}));
  EXPECT_FALSE(check({.name = "app_total", .help = "h", .labels = {"Method"}}));
  EXPECT_FALSE(check({.name = "app_total", .help = "h", .labels = {"__name"}})) << "reserved";
  EXPECT_FALSE(check({.name = "app_total", .help = "h", .labels = {"a", "a"}}));
  EXPECT_FALSE(check({.name = "app_seconds", .help = "h", .labels = {"le"}, .buckets = {1},
                      .type = MetricType::kHistogram}));
  EXPECT_FALSE(check({.name = "app_seconds", .help = "h", .type = MetricType::kHistogram})) << "no buckets";
  EXPECT_FALSE(check({.name = "app_seconds", .help = "h", .buckets = {2, 1}, .type = MetricType::kHistogram}));
  EXPECT_FALSE(check({.name = "app_seconds", .help = "h", .buckets = {1, 1}, .type = MetricType::kHistogram}));
  EXPECT_FALSE(check({.name = "app_seconds", .help = "h", .buckets = {1, INFINITY}, .type = MetricType::kHistogram}));
  EXPECT_FALSE(check({.name = "app_seconds_count", .help = "h", .buckets = {1}, .type = MetricType::kHistogram}));
  EXPECT_FALSE(check({.name = "app_seconds", .help = "h", .buckets = {1}, .type = MetricType::kGauge}));
}

TEST(Registry, AddReturnsTheSameFamilyForTheSameDescription) {
  Registry reg;
  auto a = reg.AddCounter({.name = "x_total", .help = "h", .labels = {"k"}});
  auto b = reg.AddCounter({.name = "x_total", .help = "h", .labels = {"k"}});
  ASSERT_TRUE(a && b);
  EXPECT_EQ(*a, *b);
  auto c = reg.AddCounter({.name = "x_total", .help = "other", .labels = {"k"}});
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code(), ErrorCode::kAlreadyExists);
  EXPECT_FALSE(reg.AddGauge({.name = "x_total", .help = "h"}));
  auto bad = reg.AddCounter({.name = "bad", .help = "h"});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), ErrorCode::kInvalidArgument);
}

TEST(Registry, AHistogramsSeriesNamesAreTaken) {
  Registry reg;
  ASSERT_TRUE(reg.AddHistogram({.name = "lat_seconds", .help = "h", .buckets = {1}}));
  EXPECT_FALSE(reg.AddGauge({.name = "lat_seconds_count", .help = "h"}));
  ASSERT_TRUE(reg.AddGauge({.name = "q_sum", .help = "h"}));
  EXPECT_FALSE(reg.AddHistogram({.name = "q", .help = "h", .buckets = {1}}));
}

TEST(Registry, CardinalityIsCappedWithAnOverflowSeries) {
  Registry reg({.max_series_per_family = 4});
  auto f = reg.AddCounter({.name = "by_key_total", .help = "h", .labels = {"key"}});
  ASSERT_TRUE(f);
  for (int i = 0; i < 100; ++i) (*f)->With({std::to_string(i)}).Increment();
  EXPECT_EQ((*f)->size(), 4u);  // 3 real series + the overflow series
  auto families = reg.Gather();
  ASSERT_EQ(families.size(), 1u);
  ASSERT_EQ(families[0].series.size(), 4u);
  double total = 0, overflow = 0;
  for (const auto& s : families[0].series) {
    total += s.value;
    if (s.label_values[0] == kOverflowLabel) overflow = s.value;
  }
  EXPECT_EQ(total, 100);
  EXPECT_EQ(overflow, 97);
  // An existing series is still found after the cap is reached.
  (*f)->With({"0"}).Increment();
  EXPECT_EQ((*f)->With({"0"}).Value(), 2u);
}

TEST(Registry, CollectorsMergeEqualSeriesAndAreRemovedByTheirHandle) {
  Registry reg;
  const std::vector<MetricDesc> descs = {
      {.name = "part_requests_total", .help = "Requests.", .labels = {"host"}},
      {.name = "part_latency_seconds", .help = "Latency.", .labels = {"host"}, .buckets = {0.1, 1},
       .type = MetricType::kHistogram}};
  auto collect = [](Collection& c) {
    c.Add("part_requests_total", {"a"}, 2);
    c.Add("part_requests_total", {"b"}, 1);
    const uint64_t counts[] = {1, 1, 0};
    c.AddHistogram("part_latency_seconds", {"a"}, counts, 0.6);
    c.Add("undeclared_total", {}, 1);             // dropped
    c.Add("part_requests_total", {"a", "x"}, 1);  // wrong label count: dropped
  };
  auto one = reg.AddCollector(descs, collect);
  auto two = reg.AddCollector(descs, collect);
  ASSERT_TRUE(one && two);
  auto families = reg.Gather();
  ASSERT_EQ(families.size(), 2u);
  EXPECT_EQ(families[0].desc.name, "part_latency_seconds");
  EXPECT_EQ(families[0].series[0].bucket_counts, (std::vector<uint64_t>{2, 2, 0}));
  EXPECT_DOUBLE_EQ(families[0].series[0].sum, 1.2);
  ASSERT_EQ(families[1].series.size(), 2u);
  EXPECT_EQ(families[1].series[0].label_values, std::vector<std::string>{"a"});
  EXPECT_EQ(families[1].series[0].value, 4);
  EXPECT_EQ(families[1].series[1].value, 2);
  EXPECT_EQ(reg.dropped_samples(), 4u);

  // A collector declaring the same name differently is refused.
  auto clash = reg.AddCollector({{.name = "part_requests_total", .help = "Other.", .labels = {"host"}}},
                                [](Collection&) {});
  EXPECT_FALSE(clash);

  one->Reset();
  families = reg.Gather();
  EXPECT_EQ(families[1].series[0].value, 2);
  *two = Collector();  // move-assigning over it removes it too
  EXPECT_TRUE(reg.Gather().empty());
  // Once every declaring collector is gone, the name is free again.
  EXPECT_TRUE(reg.AddCounter({.name = "part_requests_total", .help = "Other.", .labels = {"host"}}));
}

// Removing a collector waits for a scrape that is using it, so the collector may read an object
// destroyed right after its handle.
TEST(Registry, RemovingACollectorWaitsForAScrapeInProgress) {
  Registry reg;
  auto value = std::make_unique<std::atomic<int>>(7);
  std::atomic<bool> inside{false};
  std::atomic<bool> release{false};
  auto handle = reg.AddCollector({{.name = "v", .help = "h", .type = MetricType::kGauge}}, [&](Collection& c) {
    inside = true;
    while (!release) std::this_thread::yield();
    c.Add("v", {}, value->load());
  });
  ASSERT_TRUE(handle);
  std::string page;
  std::thread scraper([&] { page = prometheus_text(reg); });
  while (!inside) std::this_thread::yield();
  std::atomic<bool> removed{false};
  std::thread remover([&] {
    handle->Reset();
    removed = true;
  });
  for (int i = 0; i < 1000 && !removed; ++i) std::this_thread::yield();
  EXPECT_FALSE(removed.load()) << "Reset returned while the collector was still running";
  release = true;
  scraper.join();
  remover.join();
  value.reset();
  EXPECT_NE(page.find("v 7\n"), std::string::npos) << page;
}

TEST(Registry, ConcurrentWithAndScrapes) {
  Registry reg;
  auto f = reg.AddCounter({.name = "hits_total", .help = "h", .labels = {"t"}});
  ASSERT_TRUE(f);
  std::atomic<bool> stop{false};
  std::thread scraper([&] {
    while (!stop) (void)prometheus_text(reg);
  });
  std::vector<std::thread> writers;
  for (int t = 0; t < 4; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; i < 5000; ++i) (*f)->With({std::to_string((t + i) % 8)}).Increment();
    });
  }
  for (auto& w : writers) w.join();
  stop = true;
  scraper.join();
  double total = 0;
  const auto families = reg.Gather();
  for (const auto& s : families[0].series) total += s.value;
  EXPECT_EQ(total, 20000);
}

TEST(Registry, DefaultRegistryIsOneObject) { EXPECT_EQ(&DefaultRegistry(), &DefaultRegistry()); }

}  // namespace
}  // namespace esper::metrics
