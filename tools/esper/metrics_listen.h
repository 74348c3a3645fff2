// --metrics-listen HOST:PORT, for the long-running commands (esper proxy, esper bench): the
// default metrics registry served on /metrics while the command runs (docs/metrics.md).
#pragma once

#include <memory>
#include <string>

#include "cli.h"
#include "esper/metrics/server.h"

namespace esper::cli {

/// Adds --metrics-listen to `cmd`, stored in `listen`.
void AddMetricsListenFlag(CLI::App& cmd, std::string& listen);

/// Starts the endpoint when `listen` is set (nullptr when not); a bad address is a usage error.
/// Prints "metrics on http://HOST:PORT/metrics" on stdout (after a command's own first line, if
/// it has one), so a caller that asked for port 0 can read the port.
Result<std::unique_ptr<metrics::MetricsServer>> StartMetricsListen(const std::string& listen);

}  // namespace esper::cli
