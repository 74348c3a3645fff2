// Every part publishes into the registry, and what it publishes is what its get_stats() says.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "esper/config/config.h"
#include "esper/http/client.h"
#include "esper/log/logger.h"
#include "esper/metrics/exposition.h"
#include "esper/metrics/log_metrics.h"
#include "esper/proxy/fault_proxy.h"
#include "esper/resilience/circuit_breaker.h"
#include "esper/resilience/retry_budget.h"
#include "esper/s3/s3_store.h"
#include "testing/http_server.h"
#include "testing/process.h"
#include "testing/s3_store_options.h"
#include "testing/s3_test_server.h"
#include "testing/wait.h"

namespace esper::metrics {
namespace {

using namespace std::chrono_literals;

// name{label values joined by ','} → value, from a gather (histograms: their count).
std::map<std::string, double> Flatten(const std::vector<FamilySnapshot>& families) {
  std::map<std::string, double> out;
  for (const auto& f : families) {
    for (const auto& s : f.series) {
      std::string key = f.desc.name + "{";
      for (size_t i = 0; i < s.label_values.size(); ++i) key += (i ? "," : "") + s.label_values[i];
      key += "}";
      double v = s.value;
      if (f.desc.type == MetricType::kHistogram) {
        v = 0;
        for (uint64_t c : s.bucket_counts) v += static_cast<double>(c);
      }
      out[key] = v;
    }
  }
  return out;
}

void ExpectPromtoolAccepts(const Registry& reg) {
  auto r = testing::RunProcess({"promtool", "check", "metrics"}, {}, prometheus_text(reg));
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err << prometheus_text(reg);
}

TEST(PartsPublish, HttpClientPerHostIsItsGetStats) {
  testing::HttpTestServer server([](const testing::ServerRequest& req) {
    if (req.path == "/busy") return testing::Reply{.status = 503, .body = "busy"};
    if (req.path == "/missing") return testing::Reply{.status = 404, .body = "no"};
    return testing::Reply{.status = 200, .body = "ok"};
  });
  ASSERT_TRUE(server.Start());
  Registry reg;
  http::ClientOptions o;
  o.retry.max_attempts = 3;
  o.retry.base_delay = 1ms;
  o.retry.max_delay = 2ms;
  o.breaker_per_host = false;
  o.metrics = &reg;
  auto client = http::Client::Create(o);
  ASSERT_TRUE(client) << client.error();
  for (int i = 0; i < 3; ++i) ASSERT_TRUE((*client)->Get(server.Url("/ok")));
  EXPECT_FALSE((*client)->Put(server.Url("/missing"), http::Body::FromString("x")));
  EXPECT_FALSE((*client)->Get(server.Url("/busy")));

  const http::ClientStats stats = (*client)->get_stats();
  ASSERT_EQ(stats.size(), 1u);
  const auto& [host, s] = *stats.begin();
  auto m = Flatten(reg.Gather());
  EXPECT_EQ(m[fmt::format("esper_http_requests_total{{{},GET,2xx}}", host)], 3);
  EXPECT_EQ(m[fmt::format("esper_http_requests_total{{{},PUT,4xx}}", host)], 1);
  EXPECT_EQ(m[fmt::format("esper_http_requests_total{{{},GET,5xx}}", host)], 1);
  EXPECT_EQ(m[fmt::format("esper_http_errors_total{{{},NotFound}}", host)], 1);
  EXPECT_EQ(m[fmt::format("esper_http_errors_total{{{},Unavailable}}", host)], 1);
  EXPECT_EQ(m[fmt::format("esper_http_attempts_total{{{}}}", host)], 7);  // 3 + 1 + 3 tries of /busy
  EXPECT_EQ(m[fmt::format("esper_http_retries_total{{{}}}", host)], 2);
  EXPECT_EQ(m[fmt::format("esper_http_in_flight{{{}}}", host)], 0);
  EXPECT_EQ(m[fmt::format("esper_http_request_duration_seconds{{{}}}", host)], 5);
  EXPECT_EQ(m[fmt::format("esper_http_breaker_state{{{},disabled}}", host)], 1);
  // The same numbers as get_stats().
  EXPECT_EQ(m[fmt::format("esper_http_attempts_total{{{}}}", host)], static_cast<double>(s.attempts));
  EXPECT_EQ(m[fmt::format("esper_http_sent_bytes_total{{{}}}", host)], static_cast<double>(s.bytes_out));
  EXPECT_EQ(m[fmt::format("esper_http_received_bytes_total{{{}}}", host)], static_cast<double>(s.bytes_in));
  EXPECT_EQ(m[fmt::format("esper_http_retry_budget_tokens{{{}}}", host)], static_cast<double>(s.retry_budget_tokens));
  ExpectPromtoolAccepts(reg);

  // Destroying the client removes what it published.
  client->reset();
  EXPECT_TRUE(reg.Gather().empty());
}

TEST(PartsPublish, TwoClientsToOneHostAddUp) {
  testing::HttpTestServer server(testing::BasicRoutes);
  ASSERT_TRUE(server.Start());
  Registry reg;
  auto a = http::Client::Create({.metrics = &reg});
  auto b = http::Client::Create({.metrics = &reg});
  ASSERT_TRUE(a && b);
  ASSERT_TRUE((*a)->Get(server.Url("/hello")));
  ASSERT_TRUE((*b)->Get(server.Url("/hello")));
  ASSERT_TRUE((*b)->Get(server.Url("/hello")));
  const std::string host = (*a)->get_stats().begin()->first;
  EXPECT_EQ(Flatten(reg.Gather())[fmt::format("esper_http_requests_total{{{},GET,2xx}}", host)], 3);
}

TEST(PartsPublish, BreakerAndRetryBudget) {
  Registry reg;
  resilience::CircuitBreaker breaker({.name = "users-api", .failure_threshold = 2, .metrics = &reg});
  resilience::RetryBudget budget({.name = "users-api", .metrics = &reg});
  for (int i = 0; i < 2; ++i) {
    auto permit = breaker.TryAcquire();
    ASSERT_TRUE(permit);
    permit->RecordFailure(Error::Unavailable("down"));
  }
  EXPECT_FALSE(breaker.TryAcquire());
  ASSERT_TRUE(budget.TryAcquireRetry(Error::Unavailable("x")));
  auto m = Flatten(reg.Gather());
  EXPECT_EQ(m["esper_breaker_state{users-api,open}"], 1);
  EXPECT_EQ(m["esper_breaker_state{users-api,closed}"], 0);
  EXPECT_EQ(m["esper_breaker_transitions_total{users-api}"], 1);
  EXPECT_EQ(m["esper_breaker_calls_total{users-api,failure}"], 2);
  EXPECT_EQ(m["esper_breaker_rejections_total{users-api}"], 1);
  EXPECT_EQ(m["esper_retry_budget_tokens{users-api}"], static_cast<double>(budget.stats().tokens));
  EXPECT_EQ(m["esper_retry_budget_retries_total{users-api,granted}"], 1);
  ExpectPromtoolAccepts(reg);
}

TEST(PartsPublish, FaultProxy) {
  testing::HttpTestServer upstream(testing::BasicRoutes);
  ASSERT_TRUE(upstream.Start());
  Registry reg;
  auto proxy = proxy::FaultProxy::Create(
      {.upstream = fmt::format("127.0.0.1:{}", upstream.port()), .error_rate = 1.0, .metrics = &reg});
  ASSERT_TRUE(proxy) << proxy.error();
  ASSERT_TRUE((*proxy)->Start());
  auto client = http::Client::Create({.retry = {.max_attempts = 1}, .metrics = nullptr});
  ASSERT_TRUE(client);
  for (int i = 0; i < 4; ++i) EXPECT_FALSE((*client)->Get(fmt::format("http://{}/hello", (*proxy)->address())));
  auto m = Flatten(reg.Gather());
  EXPECT_EQ(m["esper_proxy_faults_total{error}"], 4);
  EXPECT_EQ(m["esper_proxy_faults_total{error}"], static_cast<double>((*proxy)->statistics().errors));
  EXPECT_EQ(m["esper_proxy_forwarded_total{}"], 0);
  ExpectPromtoolAccepts(reg);
}

TEST(PartsPublish, ConfigReloadsAndTheTimeOfTheLastGoodLoad) {
  const std::string path = std::filesystem::temp_directory_path() / fmt::format("esper_metrics_config_{}.yaml", getpid());
  std::ofstream(path) << "service:\n  name: svc\n";
  config::LoadOptions o;
  o.files = {path};
  o.environment = std::map<std::string, std::string>{};
  Registry reg;
  auto cfg = config::Config::Create(o, &reg);
  ASSERT_TRUE(cfg) << cfg.error();
  ASSERT_TRUE((*cfg)->Reload());
  std::ofstream(path) << "service:\n  name: svc\n  name: twice\n";
  EXPECT_FALSE((*cfg)->Reload());
  std::filesystem::remove(path);
  const config::ConfigStats stats = (*cfg)->get_stats();
  auto m = Flatten(reg.Gather());
  EXPECT_EQ(m["esper_config_reloads_total{ok}"], 1);
  EXPECT_EQ(m["esper_config_reloads_total{failed}"], 1);
  EXPECT_EQ(m["esper_config_last_good_load_timestamp_seconds{}"],
            std::chrono::duration<double>(stats.last_good_load.time_since_epoch()).count());
  EXPECT_GT(m["esper_config_last_good_load_timestamp_seconds{}"], 1.6e9);
  ExpectPromtoolAccepts(reg);
}

TEST(PartsPublish, S3StorePerOperationWithErrorsByS3Code) {
  auto server = testing::S3TestServer::Start({.kind = testing::S3ServerKind::kS3rver4, .buckets = {"metrics"}});
  ASSERT_TRUE(server) << server.error();
  Registry reg;
  s3::S3StoreOptions o = testing::StoreOptionsFor(**server);
  o.metrics = &reg;
  auto store = s3::S3Store::Create(std::move(o));
  ASSERT_TRUE(store) << store.error();
  ASSERT_TRUE((*store)->Put("metrics", "a/b.bin", storage::PutBody::FromString(std::string(1000, 'x'))));
  ASSERT_TRUE((*store)->Get("metrics", "a/b.bin"));
  EXPECT_FALSE((*store)->Get("metrics", "missing"));
  EXPECT_FALSE((*store)->Stat("no-such-bucket", "k"));
  // A blocking call returns from the operation's callback, just before the store counts it done.
  ASSERT_TRUE(testing::WaitUntil([&] { return (*store)->get_performance_stats().in_flight == 0; }));
  const s3::PerformanceStats stats = (*store)->get_performance_stats();
  auto m = Flatten(reg.Gather());
  EXPECT_EQ(m["esper_s3_operations_total{put}"], 1);
  EXPECT_EQ(m["esper_s3_operations_total{get}"], 2);
  EXPECT_EQ(m["esper_s3_errors_total{get,NoSuchKey}"], 1);
  EXPECT_EQ(m["esper_s3_object_bytes_total{put}"], 1000);
  EXPECT_EQ(m["esper_s3_object_bytes_total{get}"], static_cast<double>(stats.per_operation.at("get").bytes));
  EXPECT_EQ(m["esper_s3_request_duration_seconds{get}"], 2);
  EXPECT_EQ(m["esper_s3_in_flight{}"], 0);
  double stat_errors = 0;
  for (const auto& [key, v] : m) {
    if (key.rfind("esper_s3_errors_total{stat,", 0) == 0) stat_errors += v;
  }
  EXPECT_EQ(stat_errors, 1);
  // No key, no bucket as a label: the page holds the operation names and codes only.
  const std::string page = prometheus_text(reg);
  EXPECT_EQ(page.find("a/b.bin"), std::string::npos);
  EXPECT_EQ(page.find("no-such-bucket"), std::string::npos);
  ExpectPromtoolAccepts(reg);
}

TEST(PartsPublish, LoggerThroughItsCollector) {
  class Null final : public log::Sink {
   public:
    Status Write(std::string_view, std::chrono::system_clock::time_point) override { return OkStatus(); }
  };
  auto logger = log::Logger::Create({.sinks = {log::SinkSpec{.sink = std::make_shared<Null>()}}});
  ASSERT_TRUE(logger) << logger.error();
  Registry reg;
  auto published = PublishLogger(**logger, "svc", reg);
  ASSERT_TRUE(published) << published.error();
  for (int i = 0; i < 5; ++i) ESPER_LOG_INFO(**logger, "record {}", i);
  ASSERT_TRUE((*logger)->Flush());
  auto m = Flatten(reg.Gather());
  EXPECT_EQ(m["esper_log_records_total{svc}"], 5);
  EXPECT_EQ(m["esper_log_records_total{svc}"], static_cast<double>((*logger)->get_stats().processed));
  EXPECT_EQ(m["esper_log_dropped_total{svc}"], 0);
  ExpectPromtoolAccepts(reg);
  published->Reset();
  logger->reset();
}

}  // namespace
}  // namespace esper::metrics
