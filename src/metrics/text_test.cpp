#include <gtest/gtest.h>

#include <cmath>

#include "esper/metrics/exposition.h"

namespace esper::metrics {
namespace {

TEST(PrometheusText, EveryKindInTheTextFormat) {
  Registry reg;
  auto requests = reg.AddCounter({.name = "app_requests_total", .help = "Requests served.",
                                  .labels = {"method", "code"}});
  auto depth = reg.AddGauge({.name = "app_queue_depth", .help = "Jobs waiting."});
  auto latency = reg.AddHistogram({.name = "app_request_duration_seconds", .help = "Latency.",
                                   .labels = {"op"}, .buckets = {0.01, 0.1}});
  ASSERT_TRUE(requests && depth && latency);
  (*requests)->With({"GET", "2xx"}).Add(3);
  (*requests)->With({"PUT", "5xx"}).Increment();
  (*depth)->With({}).Set(-2.5);
  auto& get = (*latency)->With({"get"});
  get.Observe(0.005);
  get.Observe(0.05);
  get.Observe(5);
  EXPECT_EQ(prometheus_text(reg),
            "# HELP app_queue_depth Jobs waiting.\n"
            "# TYPE app_queue_depth gauge\n"
            "app_queue_depth -2.5\n"
            "# HELP app_request_duration_seconds Latency.\n"
            "# TYPE app_request_duration_seconds histogram\n"
            "app_request_duration_seconds_bucket{op=\"get\",le=\"0.01\"} 1\n"
            "app_request_duration_seconds_bucket{op=\"get\",le=\"0.1\"} 2\n"
            "app_request_duration_seconds_bucket{op=\"get\",le=\"+Inf\"} 3\n"
            "app_request_duration_seconds_sum{op=\"get\"} 5.055\n"
            "app_request_duration_seconds_count{op=\"get\"} 3\n"
            "# HELP app_requests_total Requests served.\n"
            "# TYPE app_requests_total counter\n"
            "app_requests_total{method=\"GET\",code=\"2xx\"} 3\n"
            "app_requests_total{method=\"PUT\",code=\"5xx\"} 1\n");
}

TEST(PrometheusText, EscapesLabelValuesAndHelpAndReplacesInvalidUtf8) {
  Registry reg;
  auto f = reg.AddCounter({.name = "odd_total", .help = "Back\\slash.", .labels = {"v"}});
  ASSERT_TRUE(f);
  (*f)->With({"a\"b\\c\nd"}).Increment();
  (*f)->With({"caf\xC3\xA9 \xE2\x9C\x93"}).Increment();  // valid UTF-8 stays
  (*f)->With({"bad\xFF\xC3"}).Increment();                // invalid bytes become U+FFFD
  (*f)->With({""}).Increment();
  const std::string text = prometheus_text(reg);
  EXPECT_NE(text.find("# HELP odd_total Back\\\\slash.\n"), std::string::npos) << text;
  EXPECT_NE(text.find("odd_total{v=\"a\\\"b\\\\c\\nd\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("odd_total{v=\"caf\xC3\xA9 \xE2\x9C\x93\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("odd_total{v=\"bad\xEF\xBF\xBD\xEF\xBF\xBD\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("odd_total{v=\"\"} 1\n"), std::string::npos) << text;
}

TEST(PrometheusText, SpecialNumbers) {
  Registry reg;
  auto g = reg.AddGauge({.name = "g", .help = "h", .labels = {"k"}});
  ASSERT_TRUE(g);
  (*g)->With({"inf"}).Set(INFINITY);
  (*g)->With({"ninf"}).Set(-INFINITY);
  (*g)->With({"nan"}).Set(NAN);
  (*g)->With({"big"}).Set(1e300);
  (*g)->With({"small"}).Set(1.5e-7);
  const std::string text = prometheus_text(reg);
  EXPECT_NE(text.find("g{k=\"inf\"} +Inf\n"), std::string::npos) << text;
  EXPECT_NE(text.find("g{k=\"ninf\"} -Inf\n"), std::string::npos);
  EXPECT_NE(text.find("g{k=\"nan\"} NaN\n"), std::string::npos);
  EXPECT_NE(text.find("g{k=\"big\"} 1e+300\n"), std::string::npos);
  EXPECT_NE(text.find("g{k=\"small\"} 1.5e-07\n"), std::string::npos);
}

TEST(PrometheusText, AFamilyWithoutSeriesIsLeftOut) {
  Registry reg;
  ASSERT_TRUE(reg.AddCounter({.name = "unused_total", .help = "h", .labels = {"k"}}));
  ASSERT_TRUE(reg.AddCounter({.name = "plain_total", .help = "h"}));
  EXPECT_EQ(prometheus_text(reg), "# HELP plain_total h\n# TYPE plain_total counter\nplain_total 0\n");
}

}  // namespace
}  // namespace esper::metrics
