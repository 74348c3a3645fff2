// The real thing end to end: a Prometheus server (Debian's `prometheus`) on loopback scrapes an
// `esper proxy --metrics-listen …` while requests flow through the proxy, and its HTTP API then
// reports `up` and the request counter the traffic implies.
#include <gtest/gtest.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

#include "esper/http/client.h"
#include "testing/http_server.h"
#include "testing/net.h"
#include "testing/process.h"
#include "testing/wait.h"

namespace esper::metrics {
namespace {

using namespace std::chrono_literals;

// "prefix ADDRESS" → ADDRESS, or "" when the line is something else.
std::string After(const std::string& line, std::string_view prefix) {
  return line.rfind(prefix, 0) == 0 ? line.substr(prefix.size()) : "";
}

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/esper_prometheus_XXXXXX";
    path_ = mkdtemp(tmpl) ? tmpl : "";
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// The value of a one-series instant query, or nullopt while Prometheus has none.
std::optional<double> Query(http::Client& client, const std::string& prometheus, const std::string& promql) {
  auto r = client.Send(http::Request{.url = prometheus + "/api/v1/query", .query = {{"query", promql}}});
  if (!r) return std::nullopt;
  auto j = nlohmann::json::parse(r->body, nullptr, false);
  if (j.is_discarded() || j.value("status", "") != "success") return std::nullopt;
  const auto& result = j["data"]["result"];
  if (!result.is_array() || result.size() != 1) return std::nullopt;
  return std::stod(result[0]["value"][1].get<std::string>());
}

TEST(Prometheus, ScrapesTheProxyAndCountsTheTrafficThatFlowedThroughIt) {
  testing::HttpTestServer upstream(testing::BasicRoutes);
  ASSERT_TRUE(upstream.Start());

  testing::ChildProcess proxy;
  ASSERT_TRUE(proxy.Start({testing::EsperBinary(), "proxy", "--upstream", fmt::format("127.0.0.1:{}", upstream.port()),
                           "--metrics-listen", "127.0.0.1:0"}));
  const std::string proxy_addr = After(proxy.ReadLine(30s), "listening on ");
  const std::string metrics_url = After(proxy.ReadLine(30s), "metrics on http://");
  ASSERT_FALSE(proxy_addr.empty()) << proxy.err();
  ASSERT_FALSE(metrics_url.empty()) << proxy.err();
  const std::string metrics_target = metrics_url.substr(0, metrics_url.find('/'));

  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  std::ofstream(dir.path() + "/prometheus.yml") << fmt::format(R"(global:
  scrape_interval: 1s
  scrape_timeout: 900ms
scrape_configs:
  - job_name: esper_proxy
    metrics_path: /metrics
    static_configs:
      - targets: ['{}']
)", metrics_target);
  const int port = testing::FreePort();
  ASSERT_GT(port, 0);
  testing::ChildProcess prometheus;
  const auto started =
      prometheus.Start({"prometheus", "--config.file=" + dir.path() + "/prometheus.yml",
                        "--storage.tsdb.path=" + dir.path() + "/data", fmt::format("--web.listen-address=127.0.0.1:{}", port),
                        "--log.level=warn"},
                       {.output_file = dir.path() + "/prometheus.log"});
  ASSERT_TRUE(started) << started.error();
  ASSERT_TRUE(testing::WaitForPort(port, 60s)) << "prometheus did not listen (scripts/setup installs Debian's prometheus)";
  const std::string api = fmt::format("http://127.0.0.1:{}", port);

  auto client = http::Client::Create({.metrics = nullptr});
  ASSERT_TRUE(client) << client.error();
  auto send = [&](int n) {
    for (int i = 0; i < n; ++i) {
      auto r = (*client)->Get(fmt::format("http://{}/hello", proxy_addr));
      ASSERT_TRUE(r) << r.error();
      ASSERT_EQ(r->status, 200);
    }
  };

  // Prometheus finds the target up, then sees each wave of traffic in the counter.
  EXPECT_TRUE(testing::WaitUntil([&] { return Query(**client, api, "up{job=\"esper_proxy\"}") == 1.0; }, 60s))
      << "never up; prometheus log in " << dir.path();
  send(10);
  EXPECT_TRUE(testing::WaitUntil([&] { return Query(**client, api, "esper_proxy_requests_total") == 10.0; }, 60s))
      << "last seen: " << Query(**client, api, "esper_proxy_requests_total").value_or(-1);
  send(15);
  EXPECT_TRUE(testing::WaitUntil([&] { return Query(**client, api, "esper_proxy_forwarded_total") == 25.0; }, 60s))
      << "last seen: " << Query(**client, api, "esper_proxy_forwarded_total").value_or(-1);
  EXPECT_EQ(Query(**client, api, "sum(esper_proxy_faults_total)"), 0.0);
  // Bytes flowed both ways: the counter Prometheus holds is the one the proxy kept.
  EXPECT_GT(Query(**client, api, "esper_proxy_sent_bytes_total{to=\"client\"}").value_or(0), 0.0);

  prometheus.Stop();
  proxy.Signal(SIGINT);
  EXPECT_EQ(proxy.Wait(), 130);
}

}  // namespace
}  // namespace esper::metrics
