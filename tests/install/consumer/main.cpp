// A program that uses esper-utils from an install, as a service would.
#include <esper/core/result.h>
#include <esper/core/secret.h>
#include <esper/core/version.h>
#include <esper/log/logger.h>  // and the detail/ headers its inlined call site needs
#include <fmt/format.h>

#include <memory>

esper::Result<int> Parse(bool ok) {
  if (!ok) return esper::Error::InvalidArgument("bad");
  return 42;
}

int main() {
  esper::Secret s("do-not-print");
  auto r = Parse(true);
  auto e = Parse(false);
  if (!r || *r != 42 || e || fmt::format("{}", s) != "***") return 1;
  auto lines = std::make_shared<esper::log::MemorySink>();
  auto logger = esper::log::Logger::Create({.level_from_env = false, .sinks = {{.sink = lines}}});
  if (!logger) return 2;
  ESPER_LOG_INFO(logger, "answer {}", *r, esper::log::kv("ok", true));
  if (!(*logger)->Flush() || lines->size() != 1) return 3;
  fmt::print("consumer ok (esper {})\n", esper::kVersion);
  return 0;
}
