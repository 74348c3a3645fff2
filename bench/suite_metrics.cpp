// `esper bench metrics`: what an update costs on the hot path — a counter increment and a
// histogram observation, ours (wait-free, a cell per thread: shard.h) beside a mutex-guarded
// version of the same thing, and beside one shared atomic (what sharding buys with 2 threads),
// measured in the same run; uncontended (1 thread) and with 2 threads updating the same series
// at once. Plus what a scrape of 1,000 series costs.
//
// Method: measure.h (median of several runs, thread CPU time, the slowest thread).
#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <vector>

#include "esper/metrics/exposition.h"
#include "esper/metrics/registry.h"
#include "frame.h"
#include "measure.h"

namespace esper::bench {
namespace {

namespace m = esper::metrics;

// The peer: the obvious thread-safe counter and histogram, a mutex around plain fields.
struct MutexCounter {
  std::mutex mu;
  uint64_t value = 0;
  void Increment() {
    std::lock_guard lock(mu);
    ++value;
  }
};

struct MutexHistogram {
  explicit MutexHistogram(std::vector<double> b) : bounds(std::move(b)), counts(bounds.size() + 1) {}
  std::mutex mu;
  std::vector<double> bounds;
  std::vector<uint64_t> counts;
  double sum = 0;
  void Observe(double v) {
    std::lock_guard lock(mu);
    size_t i = 0;
    while (i < bounds.size() && !(v <= bounds[i])) ++i;
    ++counts[i];
    sum += v;
  }
};

// One atomic for everyone: lock-free, but two threads bounce its cache line between cores.
struct alignas(64) SharedAtomicCounter {
  std::atomic<uint64_t> value{0};
};

Row NsRow(std::string metric, std::string case_name, const Spread& ours, std::string peer,
          double peer_ns, std::string target, std::optional<bool> pass, std::string note) {
  Row r;
  r.part = "metrics";
  r.metric = std::move(metric);
  r.case_name = std::move(case_name);
  r.unit = "ns";
  r.value = ours.median;
  r.min = ours.min;
  r.max = ours.max;
  r.peer = std::move(peer);
  r.peer_value = peer_ns;
  r.target = std::move(target);
  r.pass = pass;
  r.note = std::move(note);
  return r;
}

std::string Threads(int n) { return fmt::format("{} thread{}", n, n == 1 ? "" : "s"); }

}  // namespace

Status RunMetricsSuite(Context& ctx) {
  const int runs = ctx.quick() ? 5 : 11;
  const int64_t iters = ctx.quick() ? 2'000'000 : 10'000'000;
  const std::string method = fmt::format(
      "median of {} runs x {} calls per thread, thread CPU time; with 2 threads both update the same series", runs,
      iters);
  // Observed values cycle over the buckets, so the scan length is the same for both.
  const std::vector<double> values = {0.0002, 0.003, 0.04, 0.7, 0.0004, 0.02, 8.0, 0.0009};

  for (int threads : {1, 2}) {
    ctx.Progress(fmt::format("counter increment, {}", Threads(threads)));
    m::Registry reg;
    auto fam = reg.AddCounter({.name = "bench_ops_total", .help = "Bench."});
    if (!fam) return fam.error();
    m::Counter& ours = (*fam)->With({});
    const Spread ours_ns = NsPerCallSpread(runs, threads, iters, [&](int) { ours.Increment(); });
    MutexCounter locked;
    const double mutex_ns = MedianNsPerCall(runs, threads, iters, [&](int) { locked.Increment(); });
    SharedAtomicCounter shared;
    const double shared_ns = MedianNsPerCall(runs, threads, iters, [&](int) {
      shared.value.fetch_add(1, std::memory_order_relaxed);
    });
    if (ours.Value() == 0 || locked.value == 0) return Error::Internal("counter bench: nothing counted");
    ctx.Add(NsRow("counter increment", Threads(threads), ours_ns, "mutex-guarded counter", mutex_ns,
                  threads == 1 ? "<= 5 ns" : "", threads == 1 ? std::optional<bool>(ours_ns.median <= 5) : std::nullopt,
                  threads == 1 ? method : ""));
    ctx.Add(NsRow("counter increment, vs one shared atomic", Threads(threads), ours_ns, "one shared atomic",
                  shared_ns, "", std::nullopt,
                  threads == 2 ? "what a cell per thread buys: no locked instruction, and two cores no longer bounce one cache line" : ""));
  }

  for (int threads : {1, 2}) {
    ctx.Progress(fmt::format("histogram observation, {}", Threads(threads)));
    m::Registry reg;
    auto fam = reg.AddHistogram({.name = "bench_latency_seconds", .help = "Bench.", .buckets = m::LatencyBuckets()});
    if (!fam) return fam.error();
    m::Histogram& ours = (*fam)->With({});
    std::vector<uint64_t> next(2, 0);
    const Spread ours_ns = NsPerCallSpread(runs, threads, iters, [&](int t) {
      ours.Observe(values[next[static_cast<size_t>(t)]++ & 7]);
    });
    MutexHistogram locked(m::LatencyBuckets());
    std::fill(next.begin(), next.end(), 0);
    const double mutex_ns = MedianNsPerCall(runs, threads, iters, [&](int t) {
      locked.Observe(values[next[static_cast<size_t>(t)]++ & 7]);
    });
    if (ours.Count() == 0) return Error::Internal("histogram bench: nothing observed");
    ctx.Add(NsRow("histogram observation", fmt::format("16 buckets, {}", Threads(threads)), ours_ns,
                  "mutex-guarded histogram", mutex_ns, threads == 1 ? "<= 10 ns" : "",
                  threads == 1 ? std::optional<bool>(ours_ns.median <= 10) : std::nullopt, ""));
  }

  {
    ctx.Progress("scrape of 1,000 series");
    m::Registry reg;
    auto counters = reg.AddCounter({.name = "bench_requests_total", .help = "Bench.", .labels = {"host", "code"}});
    auto hist = reg.AddHistogram(
        {.name = "bench_request_duration_seconds", .help = "Bench.", .labels = {"host"}, .buckets = m::LatencyBuckets()});
    if (!counters || !hist) return Error::Internal("scrape bench: could not register");
    for (int h = 0; h < 100; ++h) {
      for (int c = 0; c < 9; ++c) (*counters)->With({fmt::format("host-{}", h), fmt::format("{}xx", c)}).Add(h * c);
      (*hist)->With({fmt::format("host-{}", h)}).Observe(0.001 * h);
    }
    std::vector<double> ms;
    size_t bytes = 0;
    for (int r = 0; r < (ctx.quick() ? 20 : 100); ++r) {
      const auto t0 = std::chrono::steady_clock::now();
      bytes = m::prometheus_text(reg).size();
      ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
    Row r;
    r.part = "metrics";
    r.metric = "scrape (Gather + text)";
    r.case_name = "900 counter + 100 histogram series";
    r.unit = "ms";
    r.value = Median(ms);
    r.min = *std::min_element(ms.begin(), ms.end());
    r.max = *std::max_element(ms.begin(), ms.end());
    r.note = fmt::format("{} KiB of text per scrape; no peer measured", bytes / 1024);
    ctx.Add(r);
  }
  return OkStatus();
}

}  // namespace esper::bench
