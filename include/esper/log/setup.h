// esper/log/setup.h — setup_service_logging(): the seed's one-call logger set-up for a service.
//
//   auto logger = esper::log::setup_service_logging("tamiyo", "INFO", "json", true, "/var/log/t.log");
//   if (!logger) { fmt::print(stderr, "{}\n", logger.error()); return 1; }
//   ESPER_LOG_INFO(*logger, "started", esper::log::kv("version", "1.2"));
//
// What it builds: a Logger named `service` at `level` ("trace" … "critical", any case; the
// ESPER_LOG_LEVEL environment variable overrides it), writing `format` ("json", "logfmt",
// "text"/"structured") to stderr and, when `log_file` is not empty, also to that file (appended,
// created if missing). `async` = false gives a synchronous logger (formats and writes on the
// calling thread, under a lock) — the seed's enable_async=False. The crash handler is installed.
//
// From a configuration's `logging` section instead: log::setup_service_logging(snapshot) and
// log::FromConfig(snapshot), in esper/service/from_config.h.
//
// Errors: InvalidArgument for an unknown level or format; the file's open error (NotFound,
// PermissionDenied, …) for log_file. Nothing is created on error.
#pragma once

#include <memory>
#include <string_view>

#include "esper/core/result.h"
#include "esper/log/logger.h"

namespace esper::log {

Result<std::unique_ptr<Logger>> setup_service_logging(std::string_view service,
                                                      std::string_view level = "INFO",
                                                      std::string_view format = "structured",
                                                      bool async = true,
                                                      std::string_view log_file = "");

}  // namespace esper::log
