#include "esper/log/timer.h"

#include <gtest/gtest.h>

#include "esper/log/setup.h"
#include "log/test_util.h"

namespace esper::log {
namespace {

using testing::ParseFlatJson;

TEST(TimerTest, LogsCompletionWithDuration) {
  auto mem = std::make_shared<MemorySink>();
  auto logger = Logger::Create({.name = "t", .level_from_env = false,
                                .sinks = {{.sink = mem, .format = Format::kJson}}});
  ASSERT_TRUE(logger);
  {
    LoggingTimer timer(**logger, "kernel_loading");
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  {
    LoggingTimer timer(**logger, "upload", Level::kDebug);  // below the logger level: nothing
  }
  {
    LoggingTimer timer(**logger, "fetch");
    timer.Fail(Error::Unavailable("connection refused"));
  }
  ASSERT_TRUE((*logger)->Flush());
  auto lines = mem->lines();
  ASSERT_EQ(lines.size(), 2u);
  auto ok = ParseFlatJson(lines[0]);
  ASSERT_TRUE(ok) << lines[0];
  EXPECT_EQ(ok->values["msg"], "Operation completed: kernel_loading");
  EXPECT_EQ(ok->values["operation"], "kernel_loading");
  EXPECT_FALSE(ok->is_string["duration_ms"]);
  EXPECT_GE(std::stod(ok->values["duration_ms"]), 2.0);
  auto bad = ParseFlatJson(lines[1]);
  ASSERT_TRUE(bad) << lines[1];
  EXPECT_EQ(bad->values["level"], "ERROR");
  EXPECT_EQ(bad->values["msg"], "Operation failed: fetch");
  EXPECT_NE(bad->values["error"].find("connection refused"), std::string::npos);
}

TEST(SetupTest, ServiceLoggingToFile) {
  std::string dir = testing::TempDir("setup");
  auto logger = setup_service_logging("tamiyo", "debug", "json", true, dir + "/svc.log");
  ASSERT_TRUE(logger) << logger.error().ToString();
  EXPECT_EQ((*logger)->name(), "tamiyo");
  ESPER_LOG_DEBUG(logger, "Processing health signal", kv("layer_id", 5), kv("health_score", 0.85),
                  kv("processing_time_ms", 1.2));
  ASSERT_TRUE((*logger)->Flush());
  auto lines = testing::ReadLines(dir + "/svc.log");
  ASSERT_EQ(lines.size(), 1u);
  auto o = ParseFlatJson(lines[0]);
  ASSERT_TRUE(o);
  EXPECT_EQ(o->values["logger"], "tamiyo");
  EXPECT_EQ(o->values["layer_id"], "5");
  EXPECT_EQ(o->values["health_score"], "0.85");
}

TEST(SetupTest, SynchronousAndErrors) {
  std::string dir = testing::TempDir("setup_sync");
  auto logger = setup_service_logging("svc", "INFO", "logfmt", false, dir + "/s.log");
  ASSERT_TRUE(logger);
  ESPER_LOG_INFO(logger, "sync line");
  EXPECT_EQ(testing::ReadLines(dir + "/s.log").size(), 1u);  // written before returning
  EXPECT_EQ(setup_service_logging("svc", "LOUD").error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(setup_service_logging("svc", "info", "xml").error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(setup_service_logging("svc", "info", "json", true, dir + "/missing/dir/x.log").error().code(),
            ErrorCode::kNotFound);
}

}  // namespace
}  // namespace esper::log
