#include "metrics_listen.h"

#include <fmt/format.h>

#include "output.h"

namespace esper::cli {

void AddMetricsListenFlag(CLI::App& cmd, std::string& listen) {
  cmd.add_option("--metrics-listen", listen,
                 "Serve Prometheus metrics on http://HOST:PORT/metrics while running (port 0: any free port)");
}

Result<std::unique_ptr<metrics::MetricsServer>> StartMetricsListen(const std::string& listen) {
  if (listen.empty()) return std::unique_ptr<metrics::MetricsServer>();
  auto server = metrics::ServeMetrics(listen);
  if (!server) {
    if (server.error().code() == ErrorCode::kInvalidArgument) {
      return UsageError(fmt::format("--metrics-listen: {}", server.error().message()));
    }
    return server.error();
  }
  Print("metrics on http://{}/metrics\n", (*server)->address());
  Flush();
  return server;
}

}  // namespace esper::cli
