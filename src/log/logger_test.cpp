#include "esper/log/logger.h"

#include <fmt/ranges.h>
#include <gtest/gtest.h>

#include <map>
#include <thread>

#include "esper/core/secret.h"

namespace esper::log {
namespace {

struct Fixture {
  std::shared_ptr<MemorySink> mem = std::make_shared<MemorySink>();
  std::unique_ptr<Logger> logger;
  explicit Fixture(Options o = {}, Format f = Format::kJson) {
    o.level_from_env = false;
    if (o.sinks.empty()) o.sinks.push_back({.sink = mem, .format = f});
    auto l = Logger::Create(std::move(o));
    EXPECT_TRUE(l.has_value()) << (l ? "" : l.error().ToString());
    logger = std::move(*l);
  }
};

TEST(LoggerTest, LogsMessageAndFieldsAsJson) {
  Fixture f({.name = "tamiyo", .level = Level::kTrace, .context = {{"service", "tamiyo"}}});
  std::string name = "conv1";
  ESPER_LOG_INFO(f.logger, "Processing health signal for {} ({}, {:.2f})", name, 42, 0.5,
                 kv("layer_id", 5), kv("health_score", 0.85), kv("ok", true), kv("who", "me"));
  ASSERT_TRUE(f.logger->Flush());
  auto lines = f.mem->lines();
  ASSERT_EQ(lines.size(), 1u);
  const std::string& l = lines[0];
  EXPECT_NE(l.find("\"level\":\"INFO\""), std::string::npos) << l;
  EXPECT_NE(l.find("\"logger\":\"tamiyo\""), std::string::npos) << l;
  EXPECT_NE(l.find("\"msg\":\"Processing health signal for conv1 (42, 0.50)\""), std::string::npos) << l;
  EXPECT_NE(l.find("\"service\":\"tamiyo\",\"layer_id\":5,\"health_score\":0.85,\"ok\":true,\"who\":\"me\"}"),
            std::string::npos) << l;
}

struct Point {
  int x, y;
};

}  // namespace
}  // namespace esper::log

template <>
struct fmt::formatter<esper::log::Point> : fmt::formatter<std::string_view> {
  template <class Ctx>
  auto format(const esper::log::Point& p, Ctx& ctx) const {
    return fmt::format_to(ctx.out(), "({}, {})", p.x, p.y);
  }
};

namespace esper::log {
namespace {

TEST(LoggerTest, FormatsAnyFmtType) {
  Fixture f({}, Format::kText);
  std::vector<std::string> v{"a", "b"};
  std::map<std::string, int> m{{"k", 1}};
  Secret s("hunter2");
  ESPER_LOG_WARN(f.logger, "v={} m={} p={} secret={} c={} b={}", v, m, Point{1, 2}, s, 'x', false,
                 kv("pt", Point{3, 4}));
  ASSERT_TRUE(f.logger->Flush());
  auto lines = f.mem->lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("WARN - v=[\\\"a\\\", \\\"b\\\"] m={\\\"k\\\": 1} p=(1, 2) secret=*** c=x b=false [pt=\"(3, 4)\"]"),
            std::string::npos)
      << lines[0];
  EXPECT_EQ(lines[0].find("hunter2"), std::string::npos);
}

TEST(LoggerTest, LevelCheckedBeforeArgumentsAreEvaluated) {
  Fixture f({.level = Level::kWarn});
  int evaluated = 0;
  auto touch = [&] { return ++evaluated; };
  ESPER_LOG_INFO(f.logger, "x {}", touch());
  ESPER_LOG_DEBUG(f.logger, "x {}", touch());
  EXPECT_EQ(evaluated, 0);
  ESPER_LOG_ERROR(f.logger, "x {}", touch());
  EXPECT_EQ(evaluated, 1);
  f.logger->set_level(Level::kTrace);
  ESPER_LOG_TRACE(f.logger, "x {}", touch());
  EXPECT_EQ(evaluated, 2);
  ASSERT_TRUE(f.logger->Flush());
  EXPECT_EQ(f.mem->size(), 2u);
}

}  // namespace
}  // namespace esper::log
