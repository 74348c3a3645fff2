// The compile-time floor removes lower calls entirely: their arguments are never evaluated, even
// when the runtime level would let them through.
#define ESPER_LOG_ACTIVE_LEVEL 3  // warn
#include <gtest/gtest.h>

#include "esper/log/logger.h"

namespace esper::log {
namespace {

TEST(FloorTest, CallsBelowTheFloorAreCompiledOut) {
  auto mem = std::make_shared<MemorySink>();
  auto logger = Logger::Create({.level = Level::kTrace, .level_from_env = false, .sinks = {{.sink = mem}}});
  ASSERT_TRUE(logger);
  int evaluated = 0;
  ESPER_LOG_TRACE(logger, "{}", ++evaluated);
  ESPER_LOG_DEBUG(logger, "{}", ++evaluated);
  ESPER_LOG_INFO(logger, "{}", ++evaluated);
  ESPER_LOG_WARN(logger, "{}", ++evaluated);
  ESPER_LOG_ERROR(logger, "{}", ++evaluated);
  EXPECT_EQ(evaluated, 2);
  ASSERT_TRUE((*logger)->Flush());
  EXPECT_EQ(mem->size(), 2u);
}

}  // namespace
}  // namespace esper::log
