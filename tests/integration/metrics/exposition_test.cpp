// Our exposition as Prometheus's own tools and a real HTTP client see it.
#include <gtest/gtest.h>

#include <cmath>

#include "esper/http/client.h"
#include "esper/metrics/exposition.h"
#include "esper/metrics/server.h"
#include "testing/process.h"
#include "testing/threads.h"
#include "testing/wait.h"

namespace esper::metrics {
namespace {

// A registry with every kind of metric, labelled and not, fed directly and by a collector, with
// label values that need escaping or are not valid UTF-8.
void Populate(Registry& reg) {
  auto requests = reg.AddCounter({.name = "t_requests_total", .help = "Requests, with \\ and a \"quote\".",
                                  .labels = {"method", "code"}});
  auto plain = reg.AddCounter({.name = "t_started_total", .help = "Unlabelled counter."});
  auto gauge = reg.AddGauge({.name = "t_temperature_celsius", .help = "Gauge.", .labels = {"where"}});
  auto hist = reg.AddHistogram({.name = "t_request_duration_seconds", .help = "Latency.",
                                .labels = {"op"}, .buckets = LatencyBuckets()});
  auto sizes = reg.AddHistogram({.name = "t_object_size_bytes", .help = "Sizes.", .buckets = SizeBuckets()});
  ASSERT_TRUE(requests && plain && gauge && hist && sizes);
  (*requests)->With({"GET", "2xx"}).Add(10);
  (*requests)->With({"we\"ird", "back\\slash"}).Increment();
  (*requests)->With({"new\nline", ""}).Increment();
  (*requests)->With({"caf\xC3\xA9 \xF0\x9F\x9A\x80", "bad\xFF"}).Increment();
  (*plain)->With({}).Increment();
  (*gauge)->With({"inside"}).Set(21.5);
  (*gauge)->With({"outside"}).Set(-INFINITY);
  (*gauge)->With({"nowhere"}).Set(NAN);
  for (double v : {0.00005, 0.003, 0.2, 30.0}) (*hist)->With({"get"}).Observe(v);
  (*hist)->With({"put \"x\""}).Observe(1);
  (*sizes)->With({}).Observe(1 << 20);
}

Collector AddCollector(Registry& reg) {
  auto c = reg.AddCollector(
      {{.name = "t_collected_total", .help = "From a collector.", .labels = {"host"}},
       {.name = "t_collected_seconds", .help = "A collected histogram.", .labels = {"host"},
        .buckets = {0.5, 1}, .type = MetricType::kHistogram}},
      [](Collection& out) {
        out.Add("t_collected_total", {"a:80"}, 3);
        const uint64_t counts[] = {1, 0, 2};
        out.AddHistogram("t_collected_seconds", {"a:80"}, counts, 4.25);
      });
  EXPECT_TRUE(c);
  return c ? std::move(*c) : Collector();
}

testing::ProcessResult Promtool(const std::string& text) {
  return testing::RunProcess({"promtool", "check", "metrics"}, {}, text);
}

TEST(Promtool, AcceptsEveryKindAndAwkwardLabelValues) {
  Registry reg;
  Populate(reg);
  Collector collector = AddCollector(reg);
  const std::string text = prometheus_text(reg);
  auto r = Promtool(text);
  ASSERT_NE(r.exit_code, 127) << "promtool is not installed (scripts/setup installs Debian's prometheus)";
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err << "\n--- the text:\n" << text;
  EXPECT_EQ(r.out + r.err, "") << "promtool's linter complained";
}

// The checker is not a rubber stamp: text that breaks the conventions fails it.
TEST(Promtool, RejectsWhatBreaksTheConventions) {
  auto r = Promtool("# HELP x_milliseconds h\n# TYPE x_milliseconds counter\nx_milliseconds 1\n");
  ASSERT_NE(r.exit_code, 127);
  EXPECT_NE(r.exit_code, 0) << r.out << r.err;
}

TEST(MetricsServer, AnswersARealGetWithThePrometheusText) {
  Registry reg;
  Populate(reg);
  auto server = ServeMetrics("127.0.0.1:0", &reg);
  ASSERT_TRUE(server) << server.error();
  ASSERT_GT((*server)->port(), 0);
  auto client = http::Client::Create({});
  ASSERT_TRUE(client) << client.error();
  const std::string base = "http://" + (*server)->address();

  auto r = (*client)->Get(base + "/metrics");
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->Header("Content-Type").value_or(""), kPrometheusContentType);
  EXPECT_EQ(r->body, prometheus_text(reg));
  auto check = Promtool(r->body);
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;

  // The page is made at each scrape.
  (*reg.AddCounter({.name = "t_started_total", .help = "Unlabelled counter."}))->With({}).Add(5);
  r = (*client)->Get(base + "/metrics");
  ASSERT_TRUE(r);
  EXPECT_NE(r->body.find("\nt_started_total 6\n"), std::string::npos) << r->body;
  EXPECT_EQ((*server)->scrapes(), 2u);

  auto head = (*client)->Head(base + "/metrics");
  ASSERT_TRUE(head) << head.error();
  EXPECT_EQ(head->status, 200);
  EXPECT_TRUE(head->body.empty());

  auto other = (*client)->Get(base + "/");
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().http_status(), 404);
  auto post = (*client)->Post(base + "/metrics", http::Body::FromString("x"));
  ASSERT_FALSE(post);
  EXPECT_EQ(post.error().http_status(), 405);
}

TEST(MetricsServer, BadAddressesAndATakenPort) {
  for (const char* bad : {"", "9464", "localhost:9464", "127.0.0.1:", "127.0.0.1:70000", "127.0.0.1:x"}) {
    auto s = ServeMetrics(bad);
    ASSERT_FALSE(s) << bad;
    EXPECT_EQ(s.error().code(), ErrorCode::kInvalidArgument) << bad;
  }
  auto first = ServeMetrics("127.0.0.1:0");
  ASSERT_TRUE(first) << first.error();
  auto second = ServeMetrics((*first)->address());
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code(), ErrorCode::kUnavailable) << second.error();
}

// civetweb's threads are started by Start and joined by the destructor: none is left behind.
// They are counted by name (civetweb names its own: civetweb-master, civetweb-worker), not as all
// of the process's threads: a sanitizer's runtime starts a thread of its own at the process's
// first pthread_create (ThreadSanitizer's background thread, here civetweb's) and keeps it.
TEST(MetricsServer, JoinsItsThreads) {
  auto civetweb_threads = [] {
    return testing::TasksNamed("civetweb-master").size() + testing::TasksNamed("civetweb-worker").size();
  };
  ASSERT_EQ(civetweb_threads(), 0u);
  {
    auto server = MetricsServer::Start({.listen = "127.0.0.1:0", .threads = 3});
    ASSERT_TRUE(server) << server.error();
    // The master and 3 workers (each names itself once it runs).
    EXPECT_TRUE(testing::WaitUntil([&] { return civetweb_threads() == 4; })) << civetweb_threads();
  }
  // A joined thread can linger in /proc/self/task for a moment (testing/threads.h).
  EXPECT_TRUE(testing::WaitUntil([&] { return civetweb_threads() == 0; })) << civetweb_threads();
}

}  // namespace
}  // namespace esper::metrics
