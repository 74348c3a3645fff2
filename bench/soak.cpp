// esper bench soak --seconds N — every part under load at once for N seconds (issue 18, "Soak"),
// while this process's resident memory and open file descriptors are sampled once a second.
//
//  * log: an async Logger writing JSON to a RotatingFileSink (4 MiB × 2 old files) in a temporary
//    directory, bursts of 1,000 lines with a 10 ms pause between bursts;
//  * http: two threads of GETs (0–64 KiB bodies) through a FaultProxy (5 % 503 with Retry-After 0,
//    2 % resets, 2 % truncations) to a loopback HttpTestServer, with the client's retries;
//  * config: a YAML file rewritten and Config::Reload()ed every 20 ms, one change subscriber, a
//    reader taking snapshots;
//  * s3: PUT, GET, HEAD, DELETE of 16 KiB objects over 64 keys against s3rver 4.0.4 (a child
//    process, not sampled), when it is installed — the row says so when it is not.
//
// What it reports: the least-squares slope of RSS (MB/min) and of open fds (per minute) over the
// samples after the warm-up (the first third of the run, at least 5 s when there is room), the
// figures at the end of warm-up and at the end, and each part's operation rate with its failures.
// The seed's bar is < 50 MB/min; a leak-free run holds the slope near 0 after warm-up.
#include "soak.h"

#include <dirent.h>
#include <fmt/format.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <memory>
#include <thread>
#include <vector>

#include "esper/config/config.h"
#include "esper/http/client.h"
#include "esper/log/logger.h"
#include "esper/log/sink.h"
#include "esper/proxy/fault_proxy.h"
#include "esper/s3/s3_store.h"
#include "testing/http_server.h"
#include "testing/proc.h"
#include "testing/s3_store_options.h"
#include "testing/s3_test_server.h"

namespace esper::bench {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// Operations done and failed by one part; bumped from its threads.
struct Counts {
  std::atomic<uint64_t> done{0};
  std::atomic<uint64_t> failed{0};
  void Add(bool ok) { (ok ? done : failed).fetch_add(1, std::memory_order_relaxed); }
};

struct Sample {
  double seconds = 0;  // since the start
  double rss_mb = 0;
  double fds = 0;
};

int OpenFds() {
  int n = 0;
  if (DIR* d = opendir("/proc/self/fd")) {
    while (dirent* e = readdir(d)) n += e->d_name[0] != '.';
    closedir(d);
    --n;  // the directory stream's own fd
  }
  return n;
}

// Least-squares slope of y over x (per unit of x); 0 with fewer than two points.
double Slope(const std::vector<Sample>& s, double Sample::*y) {
  if (s.size() < 2) return 0;
  double mx = 0, my = 0;
  for (const Sample& p : s) mx += p.seconds, my += p.*y;
  mx /= static_cast<double>(s.size());
  my /= static_cast<double>(s.size());
  double num = 0, den = 0;
  for (const Sample& p : s) num += (p.seconds - mx) * (p.*y - my), den += (p.seconds - mx) * (p.seconds - mx);
  return den > 0 ? num / den : 0;
}

// The threads of the run: each loops until `stop`, all joined by Join() (or the destructor).
class Workers {
 public:
  ~Workers() { Join(); }
  template <typename F>
  void Spawn(F body) {
    threads_.emplace_back([this, body = std::move(body)]() mutable {
      while (!stop_.load(std::memory_order_relaxed)) body();
    });
  }
  void Join() {
    stop_.store(true);
    for (auto& t : threads_) t.join();
    threads_.clear();
  }
  bool stopping() const { return stop_.load(std::memory_order_relaxed); }

 private:
  std::atomic<bool> stop_{false};
  std::vector<std::thread> threads_;
};

std::string ConfigYaml(uint64_t i) {
  return fmt::format("service:\n  name: soak\n  environment: staging\ndatabase:\n  port: {}\n", 5000 + i % 1000);
}

Status WriteFile(const std::filesystem::path& path, const std::string& text) {
  const auto tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << text;
    if (!out.flush()) return Error::FromErrno(errno, "write " + tmp);
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);  // whole files only: a reload never reads half of one
  if (ec) return Error::FromErrno(ec.value(), "rename " + tmp);
  return OkStatus();
}

}  // namespace

Status RunSoak(Context& ctx, std::chrono::seconds duration, std::stop_token stop) {
  if (duration < 1s) return Error::InvalidArgument("soak: --seconds must be at least 1");
  const auto dir = std::filesystem::temp_directory_path() / fmt::format("esper_soak_{}", getpid());
  std::filesystem::create_directories(dir);
  struct RemoveDir {
    std::filesystem::path p;
    ~RemoveDir() {
      std::error_code ec;
      std::filesystem::remove_all(p, ec);
    }
  } remove_dir{dir};

  // ---- log
  ESPER_ASSIGN_OR_RETURN(auto log_file, log::RotatingFileSink::Create({.path = (dir / "soak.log").string(),
                                                                       .max_bytes = 4u << 20,
                                                                       .max_files = 2}));
  ESPER_ASSIGN_OR_RETURN(auto logger, log::Logger::Create({.name = "soak",
                                                          .level_from_env = false,
                                                          .sinks = {{.sink = log_file, .format = log::Format::kJson}}}));
  // ---- http through the fault proxy
  testing::HttpTestServer upstream(testing::BasicRoutes);
  ESPER_RETURN_IF_ERROR(upstream.Start());
  ESPER_ASSIGN_OR_RETURN(auto proxy, proxy::FaultProxy::Create({.upstream = fmt::format("127.0.0.1:{}", upstream.port()),
                                                                .reset_rate = 0.02,
                                                                .error_rate = 0.05,
                                                                .retry_after = 0s,
                                                                .truncate_rate = 0.02,
                                                                .seed = 18}));
  ESPER_RETURN_IF_ERROR(proxy->Start());
  http::ClientOptions http_options;
  http_options.base_url = fmt::format("http://127.0.0.1:{}", proxy->port());
  http_options.retry.base_delay = 5ms;
  http_options.retry.max_delay = 50ms;
  ESPER_ASSIGN_OR_RETURN(auto client, http::Client::Create(std::move(http_options)));
  // ---- config
  const auto config_path = dir / "soak.yaml";
  ESPER_RETURN_IF_ERROR(WriteFile(config_path, ConfigYaml(0)));
  ESPER_ASSIGN_OR_RETURN(auto config, config::Config::Create({.files = {config_path.string()}, .environment = std::map<std::string, std::string>{}}));
  std::atomic<uint64_t> changes{0};
  config->Subscribe([&](const auto&, const auto&) { changes.fetch_add(1, std::memory_order_relaxed); });
  // ---- s3, when s3rver is installed
  std::unique_ptr<testing::S3TestServer> s3_server;
  std::unique_ptr<s3::S3Store> store;
  std::string s3_missing;
  if (auto started = testing::S3TestServer::Start({.kind = testing::S3ServerKind::kS3rver4, .buckets = {"soak"}})) {
    s3_server = std::move(*started);
    ESPER_ASSIGN_OR_RETURN(store, s3::S3Store::Create(testing::StoreOptionsFor(*s3_server)));
  } else {
    s3_missing = started.error().ToString();
  }

  Counts log_lines, http_requests, reloads, snapshots, s3_ops;
  Workers workers;
  workers.Spawn([&, i = uint64_t{0}]() mutable {
    for (int k = 0; k < 1000; ++k, ++i) {
      ESPER_LOG_INFO(logger, "soak line {} of a burst", i, log::kv("part", "log"), log::kv("bytes", i * 7 % 4096));
    }
    log_lines.done.fetch_add(1000, std::memory_order_relaxed);
    std::this_thread::sleep_for(10ms);
  });
  for (int t = 0; t < 2; ++t) {
    workers.Spawn([&, i = uint64_t(t) * 7919]() mutable {
      const size_t n = (i++ * 104729) % (64 << 10);
      auto r = client->Get(fmt::format("/bytes?n={}", n));
      http_requests.Add(r && r->status == 200 && r->body == testing::PatternBytes(n));
    });
  }
  workers.Spawn([&, i = uint64_t{1}]() mutable {
    const bool ok = WriteFile(config_path, ConfigYaml(i++)).has_value() && config->Reload().has_value();
    reloads.Add(ok);
    std::this_thread::sleep_for(20ms);
  });
  workers.Spawn([&] {
    auto snap = config->snapshot();
    snapshots.Add(snap->database().port >= 5000);
    std::this_thread::sleep_for(1ms);
  });
  if (store) {
    workers.Spawn([&, data = std::make_shared<const std::string>(testing::PatternBytes(16 << 10)),
                   i = uint64_t{0}]() mutable {
      const std::string key = fmt::format("k/{}", i++ % 64);
      s3_ops.Add(store->Put("soak", key, storage::PutBody::FromShared(data)).has_value());
      auto got = store->Get("soak", key);
      s3_ops.Add(got && got->body == *data);
      s3_ops.Add(store->Stat("soak", key).has_value());
      if (i % 4 == 0) s3_ops.Add(store->Delete("soak", key).has_value());
    });
  }

  // Samples, once a second, until the end or an interrupt.
  std::vector<Sample> samples;
  const auto t0 = Clock::now();
  const auto end = t0 + duration;
  for (auto next = t0; next <= end && !stop.stop_requested(); next += 1s) {
    std::this_thread::sleep_until(next);
    const double s = std::chrono::duration<double>(Clock::now() - t0).count();
    samples.push_back({s, static_cast<double>(testing::RssBytes()) / 1e6, static_cast<double>(OpenFds())});
    if (samples.size() % 10 == 0) {
      ctx.Progress(fmt::format("soak: {:.0f} s, RSS {:.1f} MB, {} fds, {} log lines, {} http, {} reloads, {} s3 ops",
                               s, samples.back().rss_mb, samples.back().fds, log_lines.done.load(),
                               http_requests.done.load(), reloads.done.load(), s3_ops.done.load()));
    }
  }
  workers.Join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
  ESPER_RETURN_IF_ERROR(logger->Flush());
  const auto log_stats = logger->get_stats();
  const auto proxy_stats = proxy->statistics();
  if (stop.stop_requested()) return Error::Cancelled("soak interrupted");

  // The warm-up: the first third, at least 5 s when the run is long enough to keep 3 samples after.
  const double warm_up = std::min(std::max(elapsed / 3, 5.0), std::max(elapsed - 3, 0.0));
  std::vector<Sample> steady;
  for (const Sample& s : samples)
    if (s.seconds >= warm_up) steady.push_back(s);
  const Sample first = steady.empty() ? Sample{} : steady.front(), last = steady.empty() ? Sample{} : steady.back();
  const double rss_slope = Slope(steady, &Sample::rss_mb) * 60, fd_slope = Slope(steady, &Sample::fds) * 60;
  const std::string window = fmt::format("{} one-second samples from {:.0f} s (after warm-up) to {:.0f} s",
                                         steady.size(), first.seconds, last.seconds);
  ctx.Add(Row{.part = "soak",
              .metric = "RSS growth after warm-up",
              .case_name = fmt::format("all parts, {} s", duration.count()),
              .unit = "MB/min",
              .value = rss_slope,
              .target = "< 50 MB/min (seed)",
              .pass = rss_slope < 50,
              .note = fmt::format("least-squares slope of this process's RSS over {}; {:.1f} MB then {:.1f} MB",
                                  window, first.rss_mb, last.rss_mb)});
  // Open fds swing by the connections in flight at the sampling instant (a proxy reset closes one,
  // a retry opens one), so two single samples can differ by ten without any leak (a CI run saw 30
  // then 22). A leak raises the floor: compare the fewest fds seen in the first and the last quarter
  // of the steady window, and only growth fails.
  auto floor_of = [&](size_t from, size_t to) {
    double least = steady.empty() ? 0 : steady[from].fds;
    for (size_t i = from; i < to; ++i) least = std::min(least, steady[i].fds);
    return least;
  };
  const size_t quarter = std::max<size_t>(steady.size() / 4, 1);
  const double fd_floor_start = floor_of(0, std::min(quarter, steady.size()));
  const double fd_floor_end = floor_of(steady.size() > quarter ? steady.size() - quarter : 0, steady.size());
  ctx.Add(Row{.part = "soak",
              .metric = "open fds growth after warm-up",
              .case_name = fmt::format("all parts, {} s", duration.count()),
              .unit = "fds/min",
              .value = fd_slope,
              .target = "floor grows by <= 2",
              .pass = fd_floor_end - fd_floor_start <= 2,
              .note = fmt::format("least-squares slope over {}; {:.0f} fds then {:.0f}; the fewest in the first "
                                  "quarter {:.0f}, in the last {:.0f} (pass: the floor grows by at most 2)",
                                  window, first.fds, last.fds, fd_floor_start, fd_floor_end)});
  auto rate = [&](const char* part, const char* what, const Counts& c, std::string note) {
    ctx.Add(Row{.part = "soak",
                .metric = fmt::format("{} rate", part),
                .case_name = what,
                .unit = "ops/s",
                .value = static_cast<double>(c.done.load()) / elapsed,
                .lower_is_better = false,
                .note = fmt::format("{} done, {} failed; {}", c.done.load(), c.failed.load(), note)});
  };
  rate("log", "JSON lines to a rotating file, bursts of 1,000", log_lines,
       fmt::format("{} written, {} dropped, {} sink errors", log_stats.processed, log_stats.dropped,
                   log_stats.backend_errors));
  rate("http", "GET 0-64 KiB through the fault proxy, 2 threads", http_requests,
       fmt::format("body checked; the proxy injected {} errors, {} resets, {} truncations in {} requests",
                   proxy_stats.errors, proxy_stats.resets, proxy_stats.truncations, proxy_stats.requests));
  rate("config", "rewrite + Reload() every 20 ms", reloads,
       fmt::format("{} change callbacks; {} snapshots read", changes.load(), snapshots.done.load()));
  if (store) {
    rate("s3", "PUT/GET/HEAD/DELETE 16 KiB against s3rver 4.0.4", s3_ops, "GET bodies checked");
  } else {
    ctx.Add(Row{.part = "soak", .metric = "s3 rate", .case_name = "not run", .note = "not run: " + s3_missing});
  }
  return OkStatus();
}

}  // namespace esper::bench
