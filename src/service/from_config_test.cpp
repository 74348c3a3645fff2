// log::FromConfig and http::FromConfig on real files: a logger that writes where the file says,
// an http client against a real server on 127.0.0.1 that sees what the file says (attempts,
// timeouts, User-Agent), environment overrides winning, and bad values reported at file:line:col.
#include "esper/service/from_config.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "esper/config/loader.h"
#include "testing/http_server.h"

namespace esper {
namespace {

using namespace std::chrono_literals;

class FromConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::path(::testing::TempDir()) /
           fmt::format("esper_from_config_{}_{}", ::getpid(),
                       ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Writes service.yaml and loads it with `env` as the whole environment.
  Result<std::shared_ptr<const config::Snapshot>> LoadFile(const std::string& yaml,
                                                           std::map<std::string, std::string> env = {},
                                                           std::vector<config::Diagnostic>* diags = nullptr) {
    path_ = (dir_ / "service.yaml").string();
    std::ofstream(path_) << yaml;
    config::LoadOptions o;
    o.files = {path_};
    o.environment = std::move(env);
    return config::Load(o, diags);
  }

  // `error` names `key` and where the file set it ("tls.ca_file (set at service.yaml:4:12)").
  void ExpectNamesKeyAt(const Error& error, std::string_view key, int line, int col) const {
    EXPECT_NE(error.message().find(fmt::format("{} (set at {}:{}:{})", key, path_, line, col)), std::string::npos)
        << error;
  }

  std::filesystem::path dir_;
  std::string path_;
};

std::string ReadAll(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST_F(FromConfigTest, TheLoggingSectionMakesTheLoggerThatWritesTheFile) {
  const auto log_path = dir_ / "svc.log";
  auto snap = LoadFile(fmt::format(
      "service:\n  name: tamiyo\n"
      "logging:\n  level: warn\n  format: json\n  file: {}\n  queue_policy: drop\n  queue_bytes: 65536\n",
      log_path.string()));
  ASSERT_TRUE(snap) << snap.error();
  auto options = log::FromConfig(**snap);
  ASSERT_TRUE(options) << options.error();
  EXPECT_EQ(options->name, "tamiyo");
  EXPECT_EQ(options->level, log::Level::kWarn);
  EXPECT_EQ(options->policy, log::QueuePolicy::kDrop);
  EXPECT_EQ(options->queue_bytes, 65536u) << "bytes, as log::Options counts them";
  ASSERT_EQ(options->sinks.size(), 1u) << "the file, not stderr too";

  auto logger = log::setup_service_logging(**snap);
  ASSERT_TRUE(logger) << logger.error();
  ESPER_LOG_INFO(**logger, "below the level");
  ESPER_LOG_WARN(**logger, "from the config", log::kv("shard", 3));
  ASSERT_TRUE((*logger)->Flush());
  logger->reset();
  const std::string text = ReadAll(log_path);
  EXPECT_EQ(text.find("below the level"), std::string::npos) << text;
  EXPECT_NE(text.find("\"msg\":\"from the config\""), std::string::npos) << text;
  EXPECT_NE(text.find("\"logger\":\"tamiyo\""), std::string::npos) << text;
  EXPECT_NE(text.find("\"shard\":3"), std::string::npos) << text;
}

TEST_F(FromConfigTest, ALogFileThatCannotBeOpenedNamesTheKeyAndWhereItWasSet) {
  auto snap = LoadFile("service:\n  name: tamiyo\nlogging:\n  file: /nonexistent-dir/x/svc.log\n");
  ASSERT_TRUE(snap) << snap.error();
  auto logger = log::setup_service_logging(**snap);
  ASSERT_FALSE(logger);
  ExpectNamesKeyAt(logger.error(), "logging.file", 4, 9);
}

TEST_F(FromConfigTest, TheHttpSectionSetsAttemptsTimeoutAndUserAgentTheServerSees) {
  std::atomic<int> hits{0};
  std::string agent;
  testing::HttpTestServer server([&](const testing::ServerRequest& req) {
    agent = req.Header("User-Agent");
    if (req.path == "/silent") return testing::Reply{.action = testing::Reply::Action::kSilent};
    // 503 twice, then 200: three attempts succeed, two do not.
    return testing::Reply{.status = ++hits <= 2 ? 503 : 200, .body = "ok"};
  });
  ASSERT_TRUE(server.Start());
  auto snap = LoadFile(
      "service:\n  name: tamiyo\n"
      "http:\n  max_attempts: 2\n  request_timeout: 300ms\n  connect_timeout: 2s\n  user_agent: tamiyo/1.4\n",
      {{"ESPER_HTTP__MAX_ATTEMPTS", "3"}});
  ASSERT_TRUE(snap) << snap.error();
  auto options = http::FromConfig(**snap);
  ASSERT_TRUE(options) << options.error();
  EXPECT_EQ(options->retry.max_attempts, 3) << "the environment wins over the file";
  EXPECT_EQ(options->request_timeout, 300ms);
  EXPECT_EQ(options->connect_timeout, 2s);
  options->retry.base_delay = 1ms;
  options->retry.max_delay = 5ms;
  options->metrics = nullptr;
  auto client = http::Client::Create(std::move(*options));
  ASSERT_TRUE(client) << client.error();

  auto r = (*client)->Get(server.Url("/flaky"));
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(hits.load(), 3) << "max_attempts counts the first attempt";
  EXPECT_EQ(agent, "tamiyo/1.4");

  // request_timeout is one attempt: a silent server is asked max_attempts times.
  const auto before = server.requests();
  auto silent = (*client)->Get(server.Url("/silent"));
  ASSERT_FALSE(silent);
  EXPECT_EQ(server.requests() - before, 3u) << silent.error();
  EXPECT_NE(silent.error().message().find("per-try timeout"), std::string::npos) << silent.error();

  auto explained = (*snap)->Explain("http.max_attempts");
  ASSERT_TRUE(explained);
  EXPECT_NE(explained->find(fmt::format("{}:4:17", path_)), std::string::npos) << *explained;
  EXPECT_NE(explained->find("env ESPER_HTTP__MAX_ATTEMPTS"), std::string::npos) << *explained;
}

TEST_F(FromConfigTest, TheTlsSectionIsTheClientsVerification) {
  const auto ca = dir_ / "extra.pem";
  std::ofstream(ca) << "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n";
  auto snap = LoadFile(fmt::format("service:\n  name: tamiyo\ntls:\n  verify: false\n  ca_file: {}\n", ca.string()));
  ASSERT_TRUE(snap) << snap.error();
  auto options = http::FromConfig(**snap);
  ASSERT_TRUE(options) << options.error();
  EXPECT_FALSE(options->verify_tls);
  EXPECT_EQ(options->ca_bundle, ca.string());
  EXPECT_EQ(options->overall_timeout, 0ms) << "0s: none";

  // A CA file the client cannot read is reported at the key that named it.
  auto missing = LoadFile("service:\n  name: tamiyo\ntls:\n  ca_file: /nonexistent-dir/extra.pem\n");
  ASSERT_TRUE(missing) << missing.error();
  auto refused = http::FromConfig(**missing);
  ASSERT_FALSE(refused);
  ExpectNamesKeyAt(refused.error(), "tls.ca_file", 4, 12);
}

TEST_F(FromConfigTest, AUserAgentTheClientRefusesNamesTheKeyAndWhereItWasSet) {
  auto snap = LoadFile("service:\n  name: tamiyo\nhttp:\n  user_agent: \"tamiyo\\r\\nX-Injected: 1\"\n");
  ASSERT_TRUE(snap) << snap.error();
  auto refused = http::FromConfig(**snap);
  ASSERT_FALSE(refused);
  ExpectNamesKeyAt(refused.error(), "http.user_agent", 4, 15);
}

TEST_F(FromConfigTest, AWrongUnitOrTypeIsReportedAtFileLineCol) {
  std::vector<config::Diagnostic> diags;
  auto snap = LoadFile(
      "service:\n  name: tamiyo\n"
      "http:\n  request_timeout: 30\n"
      "logging:\n  queue_bytes: 1MB\n  async: sometimes\n",
      {}, &diags);
  ASSERT_FALSE(snap);
  const std::string& m = snap.error().message();
  EXPECT_NE(m.find(fmt::format("{}:4:20: error: http.request_timeout: expected a duration with a unit", path_)),
            std::string::npos) << m;
  EXPECT_NE(m.find(fmt::format("{}:6:16: error: logging.queue_bytes: expected an integer", path_)),
            std::string::npos) << m;
  EXPECT_NE(m.find(fmt::format("{}:7:10: error: logging.async:", path_)), std::string::npos) << m;
}

}  // namespace
}  // namespace esper
