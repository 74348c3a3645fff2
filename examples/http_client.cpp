// example_http_client URL [N] — fetch URL N times concurrently on one esper::http::Client, then
// print what happened per host (get_stats) and a health check.
//
//   ./build/debug/bin/example_http_client http://127.0.0.1:8080/ 100
#include <fmt/format.h>

#include <atomic>
#include <cstdlib>
#include <latch>

#include "esper/http/client.h"

int main(int argc, char** argv) {
  using namespace std::chrono_literals;
  namespace http = esper::http;
  if (argc < 2) {
    fmt::print(stderr, "usage: {} URL [N]\n", argv[0]);
    return 2;
  }
  const std::string url = argv[1];
  const int n = argc > 2 ? std::max(1, std::atoi(argv[2])) : 10;

  http::ClientOptions options;
  options.request_timeout = 5s;
  options.overall_timeout = 15s;
  options.retry.max_attempts = 3;           // GET is idempotent: retried on 429/502/503/504, resets…
  options.breaker.failure_threshold = 5;    // one breaker per host
  options.default_headers = {{"Accept", "*/*"}};
  auto client = http::Client::Create(std::move(options));
  if (!client) {
    fmt::print(stderr, "{}\n", client.error());
    return 1;
  }

  // Async with callbacks: they run on the client's loop thread, so keep them short.
  std::atomic<int> ok{0};
  std::latch done(n);
  for (int i = 0; i < n; ++i) {
    http::Request req = http::Request::Get(url);
    req.options.traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    esper::Status s = (*client)->SendAsync(std::move(req), [&](esper::Result<http::Response> r) {
      if (r) {
        ok.fetch_add(1);
      } else if (ok.load() == 0) {
        fmt::print(stderr, "failed: {}\n", r.error());
      }
      done.count_down();
    });
    if (!s) {
      fmt::print(stderr, "not submitted: {}\n", s.error());
      done.count_down();
    }
  }
  done.wait();
  fmt::print("{} of {} requests succeeded\n", ok.load(), n);

  // A future, and a blocking call.
  auto fut = (*client)->SendAsync(http::Request::Head(url));
  if (auto head = fut.get(); head) fmt::print("HEAD: {} ({} header fields)\n", head->status, head->headers.size());
  if (auto health = (*client)->HealthCheck(url, 2s); health) {
    fmt::print("health: {} in {:.2f} ms, breaker {}\n", health->status,
               std::chrono::duration<double, std::milli>(health->latency).count(), health->breaker_state);
  } else {
    fmt::print("health: {}\n", health.error());
  }

  for (const auto& [host, s] : (*client)->get_stats()) {
    fmt::print("{}: {} requests, {} errors, {} retries, {} B in, p50 {:.2f} ms, p99 {:.2f} ms, breaker {}\n", host,
               s.requests, s.errors, s.retries, s.bytes_in,
               std::chrono::duration<double, std::milli>(s.latency.Percentile(50)).count(),
               std::chrono::duration<double, std::milli>(s.latency.Percentile(99)).count(), s.breaker_state);
  }
  return ok.load() == n ? 0 : 1;
}
