// `esper bench http`: requests/s of esper::http::Client against nginx on loopback beside wrk on
// the same server in the same run (1, 16, 64, 256 in flight), and memory per in-flight request
// at 10,000 in flight.
//
// Setup: nginx (testing/nginx.h: 1 worker, access log off, keep-alive) is started from a temp
// prefix on a free 127.0.0.1 port and serves a 1 KiB static file. Our figure is a closed loop: N
// requests kept in flight on one client (one loop thread, pool of N connections), each completion
// submitting the next, for 1 s. wrk runs with -t1 -cN -d1s (one thread, N keep-alive connections)
// against the same URL. Both share the machine with nginx; the ratio is what matters. Each level
// runs five rounds (one with --quick), a round running the three loops (ours, libcurl alone below,
// wrk) one after another, the order turning each round; every figure is the median over the rounds,
// so a slow spell of this shared VM lands on all three rather than on whichever loop ran during it
// (one 5 s run each put wrk anywhere from 60k to 85k req/s), and the note lists each round's ours /
// wrk. The requests are the same bytes but for one header: wrk sends the request line and Host,
// libcurl adds "Accept: */*", and our client is set to send no User-Agent so it adds nothing more
// (its default User-Agent line costs ~4.5k instructions per request in libcurl 7.88's printf
// engine, ~5 % of a request: docs/http.md, sixth session).
//
// A third loop measures libcurl alone (libcurl_alone.h): the same closed loop written directly on a
// curl multi handle (epoll + curl_multi_socket_action, one reused easy handle per slot, body
// appended to a string, the URL given as text with CURLOPT_URL) with none of our client around it:
// what a client written on this libcurl the usual way starts from, so the rows against it show what
// our layer costs, and the rows against wrk what libcurl costs. (Our client hands libcurl a parsed
// URL, CURLOPT_CURLU, kept with each pooled handle: ~12k fewer instructions a request inside
// libcurl when the URL repeats, ~6k when it does not; so ours can beat this loop.)
//
// Memory: 10,000 GETs held open by the esper test server, peak RSS delta per request: first
// libcurl alone on a bare multi handle in a forked child (so neither measurement inherits the
// other's freed heap pages), then ours in this process.
#include <malloc.h>
#include <sys/resource.h>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdlib>
#include <chrono>
#include <condition_variable>
#include <fstream>
#include <functional>
#include <mutex>
#include <regex>
#include <thread>

#include "esper/http/client.h"
#include "frame.h"
#include "libcurl_alone.h"
#include "testing/http_server.h"
#include "testing/nginx.h"
#include "testing/proc.h"
#include "throughput.h"

namespace esper::bench {
namespace {

using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

// N requests kept in flight for `duration`: completed requests per second and CPU per request.
Result<Throughput> OurRequestsPerSecond(const std::string& url, int n, std::chrono::milliseconds duration) {
  http::ClientOptions o;
  o.max_connections = n;
  o.breaker_per_host = false;
  o.retry.max_attempts = 1;
  o.user_agent.clear();  // the same request as wrk's and libcurl alone's (see the top of the file)
  ESPER_ASSIGN_OR_RETURN(auto client, http::Client::Create(o));
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> done{0};
  std::atomic<uint64_t> failed{0};
  std::atomic<int> outstanding{0};
  std::mutex mu;
  std::condition_variable cv;
  std::string first_error;
  std::function<void()> submit;
  submit = [&] {
    outstanding.fetch_add(1);
    Status s = client->SendAsync(http::Request::Get(url), [&](Result<http::Response> r) {
      if (r && r->status == 200 && r->body.size() == 1024) {
        done.fetch_add(1, std::memory_order_relaxed);
      } else {
        failed.fetch_add(1);
        std::lock_guard lock(mu);
        if (first_error.empty()) first_error = r ? fmt::format("status {}", r->status) : r.error().ToString();
      }
      if (!stop.load(std::memory_order_relaxed)) submit();
      if (outstanding.fetch_sub(1) == 1) {
        std::lock_guard lock(mu);
        cv.notify_all();
      }
    });
    if (!s) outstanding.fetch_sub(1);
  };
  // Warm-up: open the connections.
  for (int i = 0; i < n; ++i) submit();
  std::this_thread::sleep_for(std::min(duration / 5, std::chrono::milliseconds(300)));
  const uint64_t d0 = done.load();
  const auto t0 = SteadyClock::now();
  const testing::CpuMeter cpu;
  std::this_thread::sleep_for(duration);
  const uint64_t d1 = done.load();
  const auto t1 = SteadyClock::now();
  const double cpu_seconds = cpu.Seconds();
  stop.store(true);
  {
    std::unique_lock lock(mu);
    cv.wait_for(lock, 10s, [&] { return outstanding.load() == 0; });
  }
  if (failed.load() > 0) {
    return Error::Internal(fmt::format("{} of our requests failed; first: {}", failed.load(), first_error));
  }
  return FromCounts(d1 - d0, t1 - t0, cpu_seconds);
}

// wrk -t1 -cN -dD; Requests/sec and wrk's CPU per request (its rusage as a reaped child).
Result<Throughput> WrkRequestsPerSecond(const std::string& wrk, const std::string& url, int n,
                                        std::chrono::milliseconds duration) {
  int rc = 0;
  const double c0 = testing::CpuSeconds(RUSAGE_CHILDREN);
  auto secs = std::max<int64_t>(1, std::chrono::duration_cast<std::chrono::seconds>(duration).count());
  ESPER_ASSIGN_OR_RETURN(std::string out,
                         RunProgram({wrk, "-t1", fmt::format("-c{}", n), fmt::format("-d{}s", secs), url}, &rc));
  std::smatch m;
  static const std::regex kRps(R"(Requests/sec:\s*([0-9.]+))");
  if (rc != 0 || !std::regex_search(out, m, kRps)) {
    return Error::Unknown(fmt::format("wrk exit {}: {}", rc, out.substr(0, 200)));
  }
  const double c1 = testing::CpuSeconds(RUSAGE_CHILDREN);
  static const std::regex kTotal(R"(([0-9]+) requests in)");
  std::smatch t;
  double total = std::regex_search(out, t, kTotal) ? std::stod(t[1].str()) : 0;
  return Throughput{.per_second = std::stod(m[1].str()), .cpu_us_per_op = total > 0 ? (c1 - c0) * 1e6 / total : 0};
}

Status MeasureMemory(Context& ctx) {
  const int kN = 10000;
  const auto hold = ctx.quick() ? 3s : 6s;
  esper::testing::HttpTestServer server(
      [hold](const esper::testing::ServerRequest&) {
        return esper::testing::Reply{.body = "ok", .delay = std::chrono::duration_cast<std::chrono::milliseconds>(hold)};
      },
      {.in_child_process = true});
  ESPER_RETURN_IF_ERROR(server.Start());
  // The peer first (in its own process): libcurl alone holding the same requests.
  ctx.Progress("memory: libcurl multi alone, 10,000 in flight");
  const Result<double> bare = LibcurlAloneMemoryPerRequest(server.Url("/hold"), kN, hold);
  ctx.Progress("memory: esper::http::Client, 10,000 in flight");
  http::ClientOptions o;
  // One connection per request: all 10,000 on the wire (some connect late: the kernel's listen
  // backlog is 4,096, so a few SYNs are retried).
  const int conns = 0;
  o.max_connections = conns;
  o.max_idle_connections = kN;
  o.request_timeout = 60s;
  o.breaker_per_host = false;
  o.retry.max_attempts = 1;
  ESPER_ASSIGN_OR_RETURN(auto client, http::Client::Create(o));
  // Warm the client (thread, allocator) with one request before the baseline.
  {
    auto warm = client->Get(server.Url("/warm"));
    if (!warm) return Error(warm.error()).Wrap("memory warm-up");
  }
  // Free heap pages left resident by the earlier measurements are given back first (both here and
  // in the libcurl-alone child, which inherits this heap): otherwise whichever allocates into
  // them looks smaller by what they already cost.
  malloc_trim(0);
  const size_t before = testing::RssBytes();
  std::atomic<int> ok{0}, failed{0};
  std::string first_error;
  std::mutex mu;
  const auto t0 = SteadyClock::now();
  for (int i = 0; i < kN; ++i) {
    ESPER_RETURN_IF_ERROR(client->SendAsync(http::Request::Get(server.Url("/hold")), [&](Result<http::Response> r) {
      if (r) {
        ok.fetch_add(1);
      } else {
        failed.fetch_add(1);
        std::lock_guard lock(mu);
        if (first_error.empty()) first_error = r.error().ToString();
      }
    }));
  }
  // Sample RSS while everything is held; keep the peak.
  size_t peak = before;
  while (SteadyClock::now() - t0 < hold - 500ms && client->in_flight() > 0) {
    peak = std::max(peak, testing::RssBytes());
    std::this_thread::sleep_for(50ms);
  }
  const int still = client->in_flight();
  // Measured. Destroying the client cancels what is still waiting; then the server goes.
  const int ok_before = ok.load();
  client.reset();
  server.Stop();
  Row row{.part = "http",
          .metric = "memory per in-flight request",
          .case_name = "10,000 GETs in flight, 1 connection each",
          .unit = "KiB",
          .value = static_cast<double>(peak - before) / kN / 1024.0,
          .lower_is_better = true,
          .peer = "libcurl multi alone",
          .peer_value = bare ? std::optional<double>(*bare) : std::nullopt,
          .target = "",
          .pass = std::nullopt,
          .note = fmt::format("peak RSS delta of the process / N; responses held {} s by the esper test server "
                              "in a forked child process (its memory not counted); {} in flight at the "
                              "last sample ({} answered before the client was destroyed){}; the peer is the "
                              "same 10,000 requests on a bare curl multi handle, in a forked child{}",
                              std::chrono::duration_cast<std::chrono::seconds>(hold).count(), still, ok_before,
                              first_error.empty() || ok_before + still == kN ? "" : "; first error: " + first_error,
                              bare ? "" : " (failed: " + bare.error().message() + ")")};
  ctx.Add(std::move(row));
  return OkStatus();
}

}  // namespace

Status RunHttpSuite(Context& ctx) {
  // Full: five 1 s rounds per level, each running the three loops in turn; --quick: one round.
  const auto duration = 1000ms;
  const int rounds = ctx.quick() ? 1 : 5;
  const std::string nginx_bin = FindProgram({"/usr/sbin/nginx", "nginx"});
  const std::string wrk_bin = FindProgram({"/usr/bin/wrk", "wrk"});
  std::vector<int> levels{1, 16, 64, 256};
  // ESPER_BENCH_HTTP_LEVELS=64,256 measures only those (for profiling one point).
  if (const char* env = std::getenv("ESPER_BENCH_HTTP_LEVELS"); env && *env) {
    levels.clear();
    for (std::string_view rest = env; !rest.empty();) {
      size_t comma = rest.find(',');
      int v = std::atoi(std::string(rest.substr(0, comma)).c_str());
      if (v > 0) levels.push_back(v);
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  const bool skip_memory = std::getenv("ESPER_BENCH_HTTP_SKIP_MEMORY") != nullptr;
  auto add_row = [&](int n, double ours, std::optional<double> peer, std::string note) {
    Row row{.part = "http",
            .metric = "throughput",
            .case_name = fmt::format("GET 1 KiB from nginx, {} in flight", n),
            .unit = "req/s",
            .value = ours,
            .lower_is_better = false,
            .peer = "wrk -t1",
            .peer_value = peer,
            .target = n == 64 ? ">= 0.7x wrk" : "",
            .pass = std::nullopt,
            .note = std::move(note)};
    if (n == 64 && peer) row.pass = ours >= 0.7 * *peer;
    ctx.Add(std::move(row));
  };
  if (nginx_bin.empty()) {
    for (int n : levels) {
      ctx.Add(Row{.part = "http", .metric = "throughput", .case_name = fmt::format("GET 1 KiB, {} in flight", n),
                  .unit = "req/s", .value = 0, .lower_is_better = false, .peer = "wrk -t1",
                  .peer_value = std::nullopt, .target = n == 64 ? ">= 0.7x wrk" : "", .pass = std::nullopt,
                  .note = "not measured: nginx not found (apt-get install nginx-light)"});
    }
  } else {
    // 1 KiB static file; keep-alive for the whole run; room for 256 connections and then some.
    testing::Nginx nginx;
    std::ofstream(nginx.root() + "/file.txt") << std::string(1024, 'e');
    ESPER_RETURN_IF_ERROR(nginx.Start({.binary = nginx_bin,
                                       .worker_connections = 20000,
                                       .http_directives = "  keepalive_requests 10000000;\n  keepalive_timeout 120s;"}));
    const std::string url = nginx.Url("/file.txt");
    for (int n : levels) {
      // Interleaved rounds (see the top of the file): each figure is the median over the rounds.
      std::vector<Throughput> ours_runs, bare_runs, wrk_runs;
      std::vector<double> vs_wrk;  // ours / wrk, by round
      std::string note;
      std::string bare_error;
      std::string of;  // " (round i of n)" in the progress lines
      const std::array<std::function<Status()>, 3> loops{
          [&]() -> Status {
            ctx.Progress(fmt::format("esper::http::Client, {} in flight{}", n, of));
            ESPER_ASSIGN_OR_RETURN(Throughput ours, OurRequestsPerSecond(url, n, duration));
            ours_runs.push_back(ours);
            return OkStatus();
          },
          [&]() -> Status {
            ctx.Progress(fmt::format("libcurl multi alone, {} in flight{}", n, of));
            auto bare = LibcurlAloneRequestsPerSecond(url, n, duration);
            if (bare) bare_runs.push_back(*bare);
            else bare_error = bare.error().message();
            return OkStatus();
          },
          [&]() -> Status {
            if (wrk_bin.empty()) {
              note = "wrk not found (apt-get install wrk)";
              return OkStatus();
            }
            ctx.Progress(fmt::format("wrk -t1 -c{}{}", n, of));
            auto w = WrkRequestsPerSecond(wrk_bin, url, n, duration);
            if (w) wrk_runs.push_back(*w);
            else note = "wrk failed: " + w.error().message();
            return OkStatus();
          }};
      for (int round = 0; round < rounds; ++round) {
        of = rounds > 1 ? fmt::format(" (round {} of {})", round + 1, rounds) : "";
        const size_t wrk_before = wrk_runs.size();
        // The order turns each round, so no loop always runs first.
        for (int k = 0; k < 3; ++k) ESPER_RETURN_IF_ERROR(loops[static_cast<size_t>((round + k) % 3)]());
        if (wrk_runs.size() > wrk_before) vs_wrk.push_back(ours_runs.back().per_second / wrk_runs.back().per_second);
      }
      const Throughput ours = MedianOf(ours_runs);
      std::optional<Throughput> bare;
      if (bare_runs.size() == static_cast<size_t>(rounds)) bare = MedianOf(bare_runs);
      std::optional<double> peer;
      std::optional<double> peer_cpu;
      if (note.empty() && !wrk_runs.empty()) {
        const Throughput w = MedianOf(wrk_runs);
        peer = w.per_second;
        if (w.cpu_us_per_op > 0) peer_cpu = w.cpu_us_per_op;
      }
      std::string rounds_note;
      if (vs_wrk.size() > 1) {
        rounds_note = fmt::format("medians of {} interleaved {} s rounds; ours / wrk by round: {:.2f}", rounds,
                                  std::chrono::duration_cast<std::chrono::seconds>(duration).count(),
                                  fmt::join(vs_wrk, " "));
      }
      ctx.Add(Row{.part = "http",
                  .metric = "CPU per request",
                  .case_name = fmt::format("GET 1 KiB from nginx, {} in flight", n),
                  .unit = "us",
                  .value = ours.cpu_us_per_op,
                  .lower_is_better = true,
                  .peer = "wrk -t1",
                  .peer_value = peer_cpu,
                  .target = "",
                  .pass = std::nullopt,
                  .note = n == 1 ? "user+system CPU of the whole process per completed request (getrusage); "
                                   "unlike req/s it does not depend on how busy the machine is"
                                 : ""});
      std::string bare_note;
      if (!bare) {
        bare_note = "libcurl alone failed: " + bare_error;
      } else if (peer) {
        bare_note = fmt::format("libcurl alone reached {:.2f}x wrk in this run", bare->per_second / *peer);
        if (n == 64 && note.empty()) note = bare_note + " (what libcurl costs by itself)";
      }
      if (!rounds_note.empty()) note = note.empty() ? rounds_note : note + "; " + rounds_note;
      for (bool cpu : {false, true}) {
        ctx.Add(Row{.part = "http",
                    .metric = cpu ? "CPU per request, vs libcurl alone" : "throughput, vs libcurl alone",
                    .case_name = fmt::format("GET 1 KiB from nginx, {} in flight", n),
                    .unit = cpu ? "us" : "req/s",
                    .value = cpu ? ours.cpu_us_per_op : ours.per_second,
                    .lower_is_better = cpu,
                    .peer = "libcurl multi alone",
                    .peer_value = bare ? std::optional<double>(cpu ? bare->cpu_us_per_op : bare->per_second) : std::nullopt,
                    .target = "",
                    .pass = std::nullopt,
                    .note = cpu ? "" : bare_note});
      }
      add_row(n, ours.per_second, peer, std::move(note));
    }
  }
  if (skip_memory) return OkStatus();
  ctx.Progress("memory per in-flight request at 10,000 in flight");
  return MeasureMemory(ctx);
}

}  // namespace esper::bench
