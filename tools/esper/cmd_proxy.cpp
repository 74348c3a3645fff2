// esper proxy --listen HOST:PORT --upstream HOST:PORT [--mode http|tcp] [--reset-rate R]
//   [--stall-rate R] [--latency MS] [--error-rate R --error-status 500|503|SlowDown]
//   [--retry-after S] [--truncate-rate R] [--corrupt-rate R] [--seed N] [--max-connections N]
//   [--request-log FILE] [--metrics-listen HOST:PORT]
//
// Runs a FaultProxy until SIGINT/SIGTERM. stdout gets one line, "listening on HOST:PORT"
// (flushed, so a parent process can read the port the kernel chose), and with --metrics-listen a
// second, "metrics on http://HOST:PORT/metrics"; stderr gets the configuration at start and the
// fault statistics at exit.
#include <fmt/format.h>

#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <memory>
#include <mutex>

#include "commands.h"
#include "esper/proxy/fault_proxy.h"
#include "metrics_listen.h"

namespace esper::cli {
namespace {

void PrintStatistics(const proxy::Statistics& s) {
  PrintErr(
             "esper proxy: connections {} (rejected {}), requests {}: passed {}, resets {}, "
             "stalls {}, errors {}, truncations {}, corruptions {}, delayed {}; upstream failures {}, "
             "protocol errors {}; bytes to upstream {}, to client {}\n",
             s.connections, s.rejected_connections, s.requests, s.passed, s.resets, s.stalls,
             s.errors, s.truncations, s.corruptions, s.delayed, s.upstream_failures, s.protocol_errors,
             s.bytes_to_upstream, s.bytes_to_client);
  Flush();
}

}  // namespace

Runner SetupProxy(CLI::App& cmd) {
  struct Flags {
    std::string listen = "127.0.0.1:0";
    std::string upstream;
    std::string mode = "http";
    double reset_rate = 0, stall_rate = 0, error_rate = 0, truncate_rate = 0, corrupt_rate = 0;
    std::string request_log;
    int64_t latency_ms = 0;
    std::string error_status = "503";
    int64_t retry_after = -1;
    std::string seed = "0";  // parsed by the runner: base 10 only, so "010" is ten
    size_t max_connections = 1024;
    std::string metrics_listen;
  };
  auto f = std::make_shared<Flags>();
  cmd.description(
      "Forward TCP or HTTP/1.1 to an upstream and inject faults reproducibly from a seed: "
      "resets, stalls, latency, 500/503/SlowDown errors, truncated or corrupted bodies. Prints "
      "'listening on HOST:PORT', runs until Ctrl-C, then prints what it injected.");
  cmd.add_option("--listen", f->listen, "Address to listen on, HOST:PORT (port 0: any free port)")
      ->default_str("127.0.0.1:0");
  cmd.add_option("--upstream", f->upstream, "Where to forward, HOST:PORT")->required();
  cmd.add_option("--mode", f->mode, "http: a fault decision per request; tcp: per connection")
      ->check(CLI::IsMember({"http", "tcp"}))
      ->default_str("http");
  cmd.add_option("--reset-rate", f->reset_rate, "Probability of a connection reset (RST)")
      ->check(CLI::Range(0.0, 1.0));
  cmd.add_option("--stall-rate", f->stall_rate, "Probability of never answering")
      ->check(CLI::Range(0.0, 1.0));
  cmd.add_option("--latency", f->latency_ms, "Milliseconds added before each request (tcp: chunk)")
      ->check(CLI::Range(int64_t{0}, int64_t{3600000}));
  cmd.add_option("--error-rate", f->error_rate, "Probability of answering --error-status (http)")
      ->check(CLI::Range(0.0, 1.0));
  cmd.add_option("--error-status", f->error_status, "500, 503 or SlowDown (503 + S3 XML body)")
      ->default_str("503");
  cmd.add_option("--retry-after", f->retry_after, "Seconds for Retry-After on injected errors")
      ->check(CLI::Range(int64_t{0}, int64_t{86400}));
  cmd.add_option("--truncate-rate", f->truncate_rate, "Probability of cutting a response short")
      ->check(CLI::Range(0.0, 1.0));
  cmd.add_option("--corrupt-rate", f->corrupt_rate,
                 "Probability of flipping one byte of the request body (else the response body) (http)")
      ->check(CLI::Range(0.0, 1.0));
  cmd.add_option("--request-log", f->request_log,
                 "Write one line per request to FILE: method, target, statuses, body bytes, fault "
                 "(http)");
  cmd.add_option("--seed", f->seed, "Seed of the fault generator (same seed, same faults)")
      ->type_name("UINT64");
  cmd.add_option("--max-connections", f->max_connections, "Connections open at once")
      ->default_str("1024");
  AddMetricsListenFlag(cmd, f->metrics_listen);

  return [f]() -> Status {
    uint64_t seed = 0;  // from_chars: no sign, no base prefix ("-1" would wrap to 2^64-1 in silence)
    auto [end, ec] = std::from_chars(f->seed.data(), f->seed.data() + f->seed.size(), seed);
    if (ec != std::errc() || end != f->seed.data() + f->seed.size()) {
      return UsageError("--seed: must be a whole number from 0 to 18446744073709551615, not " +
                        TerminalSafe(f->seed));
    }
    auto mode = proxy::ParseMode(f->mode);
    if (!mode) return UsageError(mode.error().message());
    auto status = proxy::ParseErrorStatus(f->error_status);
    if (!status) return UsageError(status.error().message());
    proxy::Options o{
        .listen = f->listen,
        .upstream = f->upstream,
        .mode = *mode,
        .reset_rate = f->reset_rate,
        .stall_rate = f->stall_rate,
        .latency = std::chrono::milliseconds(f->latency_ms),
        .error_rate = f->error_rate,
        .error_status = *status,
        .retry_after = f->retry_after >= 0
                           ? std::optional<std::chrono::seconds>(std::chrono::seconds(f->retry_after))
                           : std::nullopt,
        .truncate_rate = f->truncate_rate,
        .corrupt_rate = f->corrupt_rate,
        .seed = seed,
        .max_connections = f->max_connections,
        .request_log = f->request_log,
    };
    auto created = proxy::FaultProxy::Create(std::move(o));
    if (!created) return UsageError(created.error().message());
    proxy::FaultProxy& p = **created;
    ESPER_RETURN_IF_ERROR(p.Start());

    const proxy::Options opt = p.options();
    PrintErr(
               "esper proxy: {} mode, upstream {}, reset {}, stall {}, latency {} ms, error {} "
               "({}{}), truncate {}, corrupt {}, seed {}{}\n",
               f->mode, opt.upstream, opt.reset_rate, opt.stall_rate, opt.latency.count(),
               opt.error_rate, f->error_status,
               opt.retry_after ? fmt::format(", Retry-After {}", opt.retry_after->count()) : "",
               opt.truncate_rate, opt.corrupt_rate, opt.seed,
               opt.request_log.empty() ? "" : fmt::format(", request log {}", opt.request_log));
    Flush();
    Print("listening on {}\n", p.address());
    Flush();
    ESPER_ASSIGN_OR_RETURN(auto metrics_server, StartMetricsListen(f->metrics_listen));

    {
      std::mutex mu;
      std::condition_variable_any cv;
      std::unique_lock lock(mu);
      cv.wait(lock, InterruptToken(), [] { return false; });  // until Ctrl-C / SIGTERM
    }
    InterruptCleanup cleanup;  // the statistics are what the user stopped it for
    p.Stop();
    PrintStatistics(p.statistics());
    return Error::Cancelled("interrupted");
  };
}

}  // namespace esper::cli
