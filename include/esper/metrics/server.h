// esper/metrics/server.h — the embedded /metrics endpoint, on civetweb (a small, well-kept C
// HTTP server library; Debian's libcivetweb-dev).
//
// One call turns it on; destroying the handle turns it off:
//
//   auto server = metrics::ServeMetrics("127.0.0.1:9464");        // the default registry
//   if (!server) return server.error();
//   fmt::print("metrics on http://{}/metrics\n", (*server)->address());
//
// GET (or HEAD) /metrics answers 200 with prometheus_text(registry) as text/plain;
// version=0.0.4. Any other path is 404, any other method 405. Port 0 takes a free port (port()
// says which).
//
// Threads: civetweb's, started by Start and joined by the destructor (a listener and
// Options::threads workers). A scrape runs the registry's collectors on a worker thread.
// Ownership: the server reads the registry it was given; the registry must outlive it.
// Blocking: Start binds and returns; the destructor waits for a scrape in progress.
// Errors: InvalidArgument for a malformed address, Unavailable when the port cannot be bound.
#pragma once

#include <memory>
#include <string>

#include "esper/core/result.h"
#include "esper/metrics/registry.h"

namespace esper::metrics {

class MetricsServer {
 public:
  struct Options {
    std::string listen = "127.0.0.1:9464";  // HOST:PORT; HOST an IPv4 address; PORT 0 = any free
    Registry* registry = nullptr;           // nullptr: DefaultRegistry()
    int threads = 2;                        // civetweb worker threads, 1..64
  };

  static Result<std::unique_ptr<MetricsServer>> Start(Options options);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  int port() const noexcept { return port_; }
  /// "HOST:PORT" as bound (the real port when asked for 0).
  std::string address() const;
  /// Scrapes answered so far.
  uint64_t scrapes() const noexcept;

 private:
  struct Impl;
  explicit MetricsServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  int port_ = 0;
};

/// MetricsServer::Start({.listen = listen, .registry = registry}).
Result<std::unique_ptr<MetricsServer>> ServeMetrics(const std::string& listen, Registry* registry = nullptr);

}  // namespace esper::metrics
