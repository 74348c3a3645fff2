// `esper bench log`: the async logger's front-end latency against spdlog's async logger (same
// harness, same run), backend throughput into a file, memory under sustained overload, and the
// cost of the timestamp sources.
//
// Latency follows Quill's method: each pinned producer thread takes rdtscp around a burst of 20
// calls, spins (not sleeps) a randomised gap, repeats; the per-call figure is burst/20;
// percentiles over all samples. Ours and spdlog's run in alternating blocks (MeasureBesidePeer),
// so the ratio between them compares the same minutes of this shared VM.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "esper/log/logger.h"
#include "frame.h"
#include "testing/proc.h"

#ifdef ESPER_BENCH_HAVE_SPDLOG
#include <spdlog/async.h>
#include <spdlog/async_logger.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>
#endif

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#endif

namespace esper::bench {
namespace {

using esper::log::kv;
using Clock = std::chrono::steady_clock;

inline uint64_t Stamp() {
#if defined(__x86_64__) || defined(__i386__)
  unsigned aux;
  uint64_t t = __rdtscp(&aux);
  _mm_lfence();
  return t;
#else
  return static_cast<uint64_t>(Clock::now().time_since_epoch().count());
#endif
}

double NsPerStamp() {
  static const double rate = [] {
    auto c0 = Clock::now();
    uint64_t t0 = Stamp();
    while (Clock::now() - c0 < std::chrono::milliseconds(50)) {
    }
    auto c1 = Clock::now();
    uint64_t t1 = Stamp();
    return std::chrono::duration<double, std::nano>(c1 - c0).count() / static_cast<double>(t1 - t0);
  }();
  return rate;
}

void Pin(int cpu) {
  int n = static_cast<int>(std::thread::hardware_concurrency());
  if (n <= 0) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu % n, &set);
  pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

struct Params {
  int samples;
  std::chrono::microseconds gap;
};

// Runs `threads` pinned producers; each calls burst(i) (20 log calls) `samples` times.
std::vector<double> Measure(int threads, const Params& p, const std::function<void(int)>& warm,
                            const std::function<void(int)>& burst) {
  std::vector<std::vector<double>> per(static_cast<size_t>(threads));
  std::atomic<int> ready{0};
  std::vector<std::thread> ts;
  double rate = NsPerStamp();
  for (int t = 0; t < threads; ++t) {
    ts.emplace_back([&, t] {
      Pin(t);
      warm(t);
      ready.fetch_add(1);
      while (ready.load() < threads) std::this_thread::yield();
      auto& v = per[static_cast<size_t>(t)];
      std::minstd_rand rng(static_cast<unsigned>(t + 1));  // the same gaps in every run
      v.reserve(static_cast<size_t>(p.samples));
      for (int s = 0; s < p.samples; ++s) {
        uint64_t a = Stamp();
        burst(s);
        uint64_t b = Stamp();
        v.push_back(static_cast<double>(b - a) * rate / 20.0);
        // Quill's gap: spin (a sleeping vCPU wakes with cold caches, which measures the VM, not
        // the call) for a random time in [0.75, 1.25] x gap (no phase lock with the backend's
        // idle poll).
        const auto until = Clock::now() + p.gap * 3 / 4 + p.gap * static_cast<int64_t>(rng() % 1000) / 2000;
        while (Clock::now() < until) {
        }
      }
    });
  }
  for (auto& th : ts) th.join();
  std::vector<double> all;
  for (auto& v : per) all.insert(all.end(), v.begin(), v.end());
  return all;
}

class NullSink final : public log::Sink {
 public:
  Status Write(std::string_view lines, std::chrono::system_clock::time_point) override {
    bytes_ += lines.size();
    return OkStatus();
  }
  uint64_t bytes_ = 0;
};

struct Pct {
  double p50 = 0, p99 = 0, p999 = 0;
};
Pct Percentiles(const std::vector<double>& v) {
  return {Percentile(v, 50), Percentile(v, 99), Percentile(v, 99.9)};
}

// kIntIntDoubleCausal: the same call on a logger with Options::causal_timestamps (fenced TSC).
enum class Shape { kIntIntDouble, kIntIntDoubleCausal, kString60, kVector16, kKv3, kPositional3, kNamed3, kBound3 };
const char* ShapeName(Shape s) {
  switch (s) {
    case Shape::kIntIntDouble: return "int,int,double";
    case Shape::kIntIntDoubleCausal: return "int,int,double, causal_timestamps";
    case Shape::kString60: return "60-char string";
    case Shape::kVector16: return "vector of 16 strings";
    case Shape::kKv3: return "3 kv fields";
    case Shape::kPositional3: return "3 positional args";
    case Shape::kNamed3: return "3 named placeholders";
    case Shape::kBound3: return "3 fields bound by With()";
  }
  return "";
}

const std::string kStr60(60, 'x');
const std::vector<std::string> kVec16(16, "element");

// One function per shape (S is a template argument): each burst is a loop around one call site,
// as in a caller's code, not a switch over eight inlined calls.
// kBound3's view: one per thread and logger, made outside the timed calls (as a request would).
const log::ContextLogger& BoundView(log::Logger& l) {
  thread_local const log::Logger* bound_for = nullptr;
  thread_local std::optional<log::ContextLogger> bound;
  if (bound_for != &l) {
    bound = l.With("a", 1).With("b", 2).With("c", 0.5);
    bound_for = &l;
  }
  return *bound;
}

template <Shape S>
void OursBurst(log::Logger& l, int s) {
  [[maybe_unused]] const log::ContextLogger* bound = nullptr;
  if constexpr (S == Shape::kBound3) bound = &BoundView(l);
  for (int k = 0; k < 20; ++k) {
    int i = s * 20 + k;
    if constexpr (S == Shape::kIntIntDouble || S == Shape::kIntIntDoubleCausal) {
      ESPER_LOG_INFO(l, "iteration {} value {} price {}", i, k, 0.5 * i);
    } else if constexpr (S == Shape::kString60) {
      ESPER_LOG_INFO(l, "message {}", kStr60);
    } else if constexpr (S == Shape::kVector16) {
      ESPER_LOG_INFO(l, "batch {}", kVec16);
    } else if constexpr (S == Shape::kKv3) {
      ESPER_LOG_INFO(l, "fields", kv("a", i), kv("b", k), kv("c", 0.5 * i));
    } else if constexpr (S == Shape::kPositional3) {
      ESPER_LOG_INFO(l, "fields {} {} {}", i, k, 0.5 * i);
    } else if constexpr (S == Shape::kNamed3) {
      ESPER_LOG_INFO(l, "fields {a} {b} {c}", i, k, 0.5 * i);
    } else {
      ESPER_LOG_INFO(*bound, "fields");
    }
  }
}

// The burst function for a shape chosen at run time.
template <template <Shape> class F>
auto ForShape(Shape shape) {
  switch (shape) {
    case Shape::kIntIntDouble: return F<Shape::kIntIntDouble>::fn;
    case Shape::kIntIntDoubleCausal: return F<Shape::kIntIntDoubleCausal>::fn;
    case Shape::kString60: return F<Shape::kString60>::fn;
    case Shape::kVector16: return F<Shape::kVector16>::fn;
    case Shape::kKv3: return F<Shape::kKv3>::fn;
    case Shape::kPositional3: return F<Shape::kPositional3>::fn;
    case Shape::kNamed3: return F<Shape::kNamed3>::fn;
    case Shape::kBound3: return F<Shape::kBound3>::fn;
  }
  return F<Shape::kIntIntDouble>::fn;
}
template <Shape S>
struct OursBurstFn {
  static constexpr auto fn = &OursBurst<S>;
};

// Our latency for N shapes on one logger, rotating burst by burst (N = 1: one shape).
// What one call form costs over another is a difference of two p50s. Measured one after the
// other, the difference also holds whatever the machine did in between (on this VM a call's
// memory traffic costs 3-4x more in some periods of tens of seconds, so two shapes a minute apart
// can differ by 60 ns). So the forms compared are measured in one run: their p50s come from the
// same moments.
template <size_t N>
Result<std::array<std::vector<double>, N>> OursSamplesRotating(const std::array<Shape, N>& shapes, int threads,
                                                               const Params& p, bool sched_batch = true) {
  auto sink = std::make_shared<NullSink>();
  const bool causal = std::find(shapes.begin(), shapes.end(), Shape::kIntIntDoubleCausal) != shapes.end();
  auto logger = log::Logger::Create({.name = "bench", .level_from_env = false,
                                     .sinks = {{.sink = sink, .format = log::Format::kText}},
                                     .queue_bytes = size_t{4} << 20, .backend_sched_batch = sched_batch,
                                     .crash_handler = false, .causal_timestamps = causal});
  if (!logger) return logger.error();
  log::Logger& l = **logger;
  std::array<void (*)(log::Logger&, int), N> bursts;
  for (size_t k = 0; k < N; ++k) bursts[k] = ForShape<OursBurstFn>(shapes[k]);
  auto rotate = [&](int s) { bursts[static_cast<size_t>(s) % N](l, s); };
  auto v = Measure(
      threads, p, [&](int) { for (int s = 0; s < 200; ++s) rotate(s); }, rotate);
  if (Status st = l.Flush(); !st) return st.error();
  // Measure() returns each thread's samples in order, thread after thread; with whole rotations
  // per thread, per[k][j] and per[k + 1][j] are neighbouring bursts of one thread.
  if (p.samples % static_cast<int>(N) != 0) {
    return Error::InvalidArgument(fmt::format("{} samples per thread do not rotate {} forms evenly", p.samples, N));
  }
  std::array<std::vector<double>, N> per;
  for (size_t i = 0; i < v.size(); ++i) per[(i % static_cast<size_t>(p.samples)) % N].push_back(v[i]);
  return per;
}

// What form `b` costs over form `a` of one rotating run (OursSamplesRotating): the median, over
// the run, of each burst of `b` minus the burst of `a` just before it on the same thread (2 gaps
// apart). A difference of the two p50s is fragile here: when a slow spell of this VM covers
// about half the run, each p50 sits between the fast and the slow bursts, where a percent more
// slow bursts on one side moves it by many ns; a burst and its neighbour share the spell.
template <size_t N>
double MedianPairedCost(const std::array<std::vector<double>, N>& per, size_t a, size_t b) {
  std::vector<double> d;
  const size_t n = std::min(per[a].size(), per[b].size());
  d.reserve(n);
  for (size_t j = 0; j < n; ++j) d.push_back(per[b][j] - per[a][j]);
  return Median(std::move(d));
}

#ifdef ESPER_BENCH_HAVE_SPDLOG
template <Shape S>
void SpdBurst(spdlog::logger& l, int s) {
  for (int k = 0; k < 20; ++k) {
    int i = s * 20 + k;
    if constexpr (S == Shape::kIntIntDouble || S == Shape::kIntIntDoubleCausal) {
      l.info("iteration {} value {} price {}", i, k, 0.5 * i);
    } else if constexpr (S == Shape::kString60) {
      l.info("message {}", kStr60);
    } else if constexpr (S == Shape::kVector16) {
      l.info("batch {}", kVec16);
    } else if constexpr (S == Shape::kKv3 || S == Shape::kBound3) {
      l.info("fields a={} b={} c={}", i, k, 0.5 * i);
    } else {
      l.info("fields {} {} {}", i, k, 0.5 * i);
    }
  }
}
template <Shape S>
struct SpdBurstFn {
  static constexpr auto fn = &SpdBurst<S>;
};

std::vector<double> SpdlogSamples(Shape shape, int threads, const Params& p) {
  auto pool = std::make_shared<spdlog::details::thread_pool>(8192, 1);
  auto sink = std::make_shared<spdlog::sinks::null_sink_mt>();
  auto l = std::make_shared<spdlog::async_logger>("bench", sink, pool, spdlog::async_overflow_policy::block);
  const auto burst = ForShape<SpdBurstFn>(shape);
  auto v = Measure(
      threads, p, [&](int) { for (int s = 0; s < 200; ++s) burst(*l, s); }, [&](int s) { burst(*l, s); });
  l->flush();
  return v;
}
#endif

// One shape, ours and (with_peer, when built with spdlog) spdlog's, in `blocks` alternating
// blocks of p.samples / blocks (the first side turning each block); percentiles over each side's
// pooled samples. Measured one after the other, a slow spell of this VM (see OursSamplesRotating)
// can land on one logger only and decide the ratio between them; interleaved, it lands on both.
struct PairPct {
  Pct ours;
  std::optional<Pct> peer;
};
// Runs side(0, block) and side(1, block) in `blocks` alternating blocks of p.samples / blocks
// samples, the first side turning each block; stops at the first error.
template <class Side>
Status Alternate(const Params& p, int blocks, Side side) {
  const Params block{p.samples / blocks, p.gap};
  for (int b = 0; b < blocks; ++b) {
    for (int k = 0; k < 2; ++k) ESPER_RETURN_IF_ERROR(side((b + k) % 2, block));
  }
  return OkStatus();
}

Result<PairPct> MeasureBesidePeer(Shape shape, int threads, const Params& p, bool with_peer, int blocks) {
  std::vector<double> ours, peer;
  auto side = [&](int which, const Params& block) -> Status {
    if (which == 0) {
      ESPER_ASSIGN_OR_RETURN(auto v, OursSamplesRotating<1>({shape}, threads, block));
      ours.insert(ours.end(), v[0].begin(), v[0].end());
    } else if (with_peer) {
#ifdef ESPER_BENCH_HAVE_SPDLOG
      auto v = SpdlogSamples(shape, threads, block);
      peer.insert(peer.end(), v.begin(), v.end());
#endif
    }
    return OkStatus();
  };
  ESPER_RETURN_IF_ERROR(Alternate(p, blocks, side));
  PairPct out{.ours = Percentiles(ours), .peer = std::nullopt};
  if (!peer.empty()) out.peer = Percentiles(peer);
  return out;
}

// int,int,double at 2 threads (both vCPUs busy: the backend has no CPU of its own) with the backend
// as SCHED_BATCH (the default) and as SCHED_OTHER (before it: each wake preempted a producer at
// once), alternating in blocks. [0] batch, [1] other.
Result<std::array<std::vector<double>, 2>> MeasureBackendPolicies(const Params& p, int blocks) {
  std::array<std::vector<double>, 2> out;
  auto side = [&](int which, const Params& block) -> Status {
    ESPER_ASSIGN_OR_RETURN(auto v, OursSamplesRotating<1>({Shape::kIntIntDouble}, 2, block, which == 0));
    auto& to = out[static_cast<size_t>(which)];
    to.insert(to.end(), v[0].begin(), v[0].end());
    return OkStatus();
  };
  ESPER_RETURN_IF_ERROR(Alternate(p, blocks, side));
  return out;
}

// ---- backend throughput: lines/s into a file ----
struct Throughput {
  double wall;     // lines/s from the first call until flushed (shares 2 cores with the producer)
  double per_cpu;  // lines per CPU-second of the backend thread (its capacity)
};
Result<Throughput> OursThroughput(log::Format fmt_kind, const std::string& path, int n) {
  std::filesystem::remove(path);
  auto file = log::FileSink::Create(path);
  if (!file) return file.error();
  auto logger = log::Logger::Create({.name = "bench", .level_from_env = false,
                                     .sinks = {{.sink = *file, .format = fmt_kind}},
                                     .queue_bytes = size_t{64} << 20, .crash_handler = false});
  if (!logger) return logger.error();
  log::Logger& l = **logger;
  auto t0 = Clock::now();
  for (int i = 0; i < n; ++i) ESPER_LOG_INFO(l, "iteration {} value {} price {}", i, i * 2, 0.5 * i, kv("layer_id", 5));
  if (Status st = l.Flush(); !st) return st.error();
  double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  double cpu = static_cast<double>(l.get_stats().backend_cpu_ns) / 1e9;
  std::filesystem::remove(path);
  return Throughput{n / secs, cpu > 0 ? n / cpu : 0};
}

#ifdef ESPER_BENCH_HAVE_SPDLOG
double SpdlogThroughput(const std::string& path, int n) {
  std::filesystem::remove(path);
  auto pool = std::make_shared<spdlog::details::thread_pool>(8192, 1);
  auto sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(path, true);
  auto l = std::make_shared<spdlog::async_logger>("tp", sink, pool, spdlog::async_overflow_policy::block);
  auto t0 = Clock::now();
  for (int i = 0; i < n; ++i) l->info("iteration {} value {} price {} layer_id={}", i, i * 2, 0.5 * i, 5);
  l->flush();
  // flush() on an async logger only queues a flush; wait until the pool has drained.
  while (pool->queue_size() > 0) std::this_thread::yield();
  l.reset();
  pool.reset();  // joins the worker: everything is written
  double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  std::filesystem::remove(path);
  return n / secs;
}
#endif

// ---- memory under sustained overload ----
// Peak RSS (VmHWM) less the RSS before, with the peak reset first (testing/proc.h).
double PeakRssDeltaMib(uint64_t before) {
  const uint64_t peak = testing::PeakRssBytes();
  return static_cast<double>(peak > before ? peak - before : 0) / (1024.0 * 1024.0);
}

struct MemResult {
  double delta_mib;
  uint64_t dropped;
};

Result<MemResult> OursOverload(log::QueuePolicy policy, size_t queue_bytes, size_t cap, const std::string& path,
                               std::chrono::milliseconds dur) {
  std::filesystem::remove(path);
  auto file = log::FileSink::Create(path);
  if (!file) return file.error();
  testing::ResetPeakRss();
  const uint64_t before = testing::RssBytes();
  MemResult r{};
  {
    auto logger = log::Logger::Create({.name = "bench", .level_from_env = false,
                                       .sinks = {{.sink = *file, .format = log::Format::kJson}},
                                       .policy = policy, .queue_bytes = queue_bytes,
                                       .unbounded_max_bytes = cap, .crash_handler = false});
    if (!logger) return logger.error();
    log::Logger& l = **logger;
    std::vector<std::thread> ts;
    for (int t = 0; t < 2; ++t)
      ts.emplace_back([&] {
        auto end = Clock::now() + dur;
        int i = 0;
        while (Clock::now() < end)
          for (int k = 0; k < 100; ++k, ++i) ESPER_LOG_INFO(l, "overload {} {}", i, kStr60, kv("k", i));
      });
    for (auto& th : ts) th.join();
    r.dropped = l.get_stats().dropped;
    r.delta_mib = PeakRssDeltaMib(before);
  }
  std::filesystem::remove(path);
  return r;
}

#ifdef ESPER_BENCH_HAVE_SPDLOG
double SpdlogOverload(const std::string& path, std::chrono::milliseconds dur) {
  std::filesystem::remove(path);
  testing::ResetPeakRss();
  const uint64_t before = testing::RssBytes();
  {
    auto pool = std::make_shared<spdlog::details::thread_pool>(8192, 1);
    auto sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(path, true);
    auto l = std::make_shared<spdlog::async_logger>("ov", sink, pool, spdlog::async_overflow_policy::block);
    std::vector<std::thread> ts;
    for (int t = 0; t < 2; ++t)
      ts.emplace_back([&] {
        auto end = Clock::now() + dur;
        int i = 0;
        while (Clock::now() < end)
          for (int k = 0; k < 100; ++k, ++i) l->info("overload {} {} k={}", i, kStr60, i);
      });
    for (auto& th : ts) th.join();
  }
  const double delta_mib = PeakRssDeltaMib(before);
  std::filesystem::remove(path);
  return delta_mib;
}
#endif

// ---- timestamp sources ----
template <class F>
double NsPerCall(F f) {
  const int n = 2'000'000;
  uint64_t sink = 0;
  auto t0 = Clock::now();
  for (int i = 0; i < n; ++i) sink += f();
  double ns = std::chrono::duration<double, std::nano>(Clock::now() - t0).count() / n;
  asm volatile("" : : "r"(sink) : "memory");  // keep the loop
  return ns;
}

uint64_t Gettime(clockid_t id) {
  timespec ts;
  clock_gettime(id, &ts);
  return static_cast<uint64_t>(ts.tv_nsec);
}

const char* kNoSpdlog = "spdlog not found at build time (libspdlog-dev)";

// CPU the whole process uses (ms per second) while a logger that has written one line sits idle
// for `idle` (the caller only sleeps, so it is the logger's backend's).
template <class MakeAndLogOne>
double IdleCpuMsPerSecond(MakeAndLogOne make, std::chrono::milliseconds idle) {
  auto keep = make();  // created, one line logged and flushed
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // past any start-up work
  const testing::CpuMeter cpu;
  const auto t0 = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(idle);
  const double cpu_ms = cpu.Seconds() * 1e3;
  const double wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return cpu_ms / wall_s;
}

// Row has no default member initializers, so rows are built field by field.
Row MkRow(std::string metric, std::string case_name, std::string unit, double value, std::string target = "",
          std::optional<bool> pass = std::nullopt, std::string note = "") {
  Row r;
  r.part = "log";
  r.metric = std::move(metric);
  r.case_name = std::move(case_name);
  r.unit = std::move(unit);
  r.value = value;
  r.target = std::move(target);
  r.pass = pass;
  r.note = std::move(note);
  return r;
}

}  // namespace

Status RunLogSuite(Context& ctx) {
  const bool quick = ctx.quick();
  const Params p = quick ? Params{1000, std::chrono::microseconds(100)}
                         : Params{10'000, std::chrono::microseconds(1000)};
  const int blocks = quick ? 1 : 5;  // ours and spdlog alternate in blocks: see MeasureBesidePeer
  const std::string note = fmt::format(
      "{} samples x 20-call bursts{}, {} us gap, producers pinned, null sink", p.samples,
      blocks > 1 ? fmt::format(" each, ours and spdlog alternating in {} blocks of {}", blocks, p.samples / blocks) : "",
      p.gap.count());
  std::string tmp = std::filesystem::temp_directory_path().string() + fmt::format("/esper-bench-log-{}", getpid());

  // 1. memory under sustained overload (first: the peak-RSS reset is cleanest before big queues)
  {
    ctx.Progress("memory under overload");
    auto dur = std::chrono::milliseconds(quick ? 700 : 3000);
    const size_t qb = size_t{1} << 20;
    auto ours = OursOverload(log::QueuePolicy::kBlock, qb, qb, tmp + "-mem.log", dur);
    if (!ours) return ours.error();
    Row r = MkRow("peak RSS delta", "2 producers outrunning, kBlock, 1 MiB/thread", "MiB", ours->delta_mib,
                  "<= 2 MiB queues + 4 MiB", ours->delta_mib <= 6.0);
#ifdef ESPER_BENCH_HAVE_SPDLOG
    r.peer = "spdlog async (8192 slots)";
    r.peer_value = SpdlogOverload(tmp + "-mem-spd.log", dur);
#else
    r.note = kNoSpdlog;
#endif
    ctx.Add(r);
    const size_t cap = size_t{8} << 20;
    auto unb = OursOverload(log::QueuePolicy::kUnbounded, size_t{256} << 10, cap, tmp + "-mem2.log", dur);
    if (!unb) return unb.error();
    ctx.Add(MkRow("peak RSS delta", "2 producers outrunning, kUnbounded cap 8 MiB/thread", "MiB", unb->delta_mib,
                  "<= 2 x 2 x 8 MiB + 4 MiB", unb->delta_mib <= 36.0,
                  "documented bound: < 2 x unbounded_max_bytes per thread (old rings freed once drained); "
                  "no peer: spdlog has no growable queue"));
    auto drop = OursOverload(log::QueuePolicy::kDrop, qb, qb, tmp + "-mem3.log", dur);
    if (!drop) return drop.error();
    ctx.Add(MkRow("peak RSS delta", "2 producers outrunning, kDrop, 1 MiB/thread", "MiB", drop->delta_mib,
                  "<= 2 MiB queues + 4 MiB", drop->delta_mib <= 6.0,
                  fmt::format("{} records dropped and counted", drop->dropped)));
  }

  // 2. front-end latency, ours and spdlog async, same harness
  for (int threads : {1, 2}) {
    // The four 3-field forms in one rotating run (see OursSamplesRotating): their differences, and
    // the named and bound forms' own rows (they have no spdlog peer to measure beside them).
    const std::string tn = fmt::format("{} thread{}", threads, threads > 1 ? "s" : "");
    ctx.Progress("latency of the 3-field forms, rotating, " + tn);
    ESPER_ASSIGN_OR_RETURN(
        auto form_samples,
        OursSamplesRotating<4>({Shape::kPositional3, Shape::kKv3, Shape::kNamed3, Shape::kBound3}, threads, p));
    std::array<Pct, 4> forms;
    for (size_t k = 0; k < 4; ++k) forms[k] = Percentiles(form_samples[k]);
    const std::string rotating_note = fmt::format(
        "{} samples x 20-call bursts of this form, rotating with the positional, kv, named and bound forms; {} us "
        "gap, producers pinned, null sink; no spdlog peer: it has no such call",
        p.samples / 4, p.gap.count());
    for (Shape shape : {Shape::kIntIntDouble, Shape::kIntIntDoubleCausal, Shape::kString60, Shape::kVector16,
                        Shape::kPositional3, Shape::kKv3, Shape::kNamed3, Shape::kBound3}) {
      // The last two are ours only: spdlog has neither (its nearest call is the positional one).
      const bool with_peer = shape != Shape::kNamed3 && shape != Shape::kBound3;
      std::string cname = fmt::format("{}, {}", ShapeName(shape), tn);
      PairPct both;  // the named and bound forms' figures are the rotating run's
      if (shape == Shape::kNamed3) {
        both.ours = forms[2];
      } else if (shape == Shape::kBound3) {
        both.ours = forms[3];
      } else {
        ctx.Progress("latency " + cname);
        ESPER_ASSIGN_OR_RETURN(both, MeasureBesidePeer(shape, threads, p, with_peer, blocks));
      }
      const Pct& ours = both.ours;
      const std::optional<Pct>& peer = both.peer;
      auto add = [&](const char* metric, double ours_v, std::optional<double> peer_v, std::string target,
                     std::optional<bool> pass) {
        Row r = MkRow(metric, cname, "ns", ours_v);
        r.peer = "spdlog async";
        r.peer_value = peer_v;
        r.target = std::move(target);
        r.pass = pass;
        r.note = peer_v ? note : with_peer ? kNoSpdlog : rotating_note;
        if (!with_peer) r.peer.clear();
        if (shape == Shape::kKv3 && peer_v) r.note += "; spdlog has no fields: it formats a={} b={} c={}";
        if (shape == Shape::kVector16) r.note += "; ours formats the vector on the caller (documented fallback)";
        if (shape == Shape::kIntIntDoubleCausal) {
          r.note += "; the TSC read fenced (lfence) so causally ordered calls keep their order across threads; "
                    "spdlog's clock (vDSO clock_gettime) is fenced the same way";
        }
        ctx.Add(r);
      };
      bool iid = shape == Shape::kIntIntDouble;
      add("latency p50", ours.p50, peer ? std::optional(peer->p50) : std::nullopt, iid ? "<= 25 ns" : "",
          iid ? std::optional(ours.p50 <= 25) : std::nullopt);
      add("latency p99", ours.p99, peer ? std::optional(peer->p99) : std::nullopt, "", std::nullopt);
      add("latency p99.9", ours.p999, peer ? std::optional(peer->p999) : std::nullopt, iid ? "<= 250 ns" : "",
          iid ? std::optional(ours.p999 <= 250) : std::nullopt);
      if (iid && peer) {
        double ratio = peer->p50 / std::max(ours.p50, 0.01);
        Row r = MkRow("p50 speed-up vs spdlog", cname, "x", ratio, ">= 20x", ratio >= 20.0,
                      "spdlog p50 / our p50, same run");
        r.lower_is_better = false;
        ctx.Add(r);
      }
    }
    const std::string paired = fmt::format(
        "; the four forms measured in one run, rotating burst by burst ({} samples, {} each), each burst paired "
        "with its neighbour of the other form; p50 positional {:.1f}, kv {:.1f}, named {:.1f}, bound {:.1f} ns",
        p.samples * threads, p.samples * threads / 4, forms[0].p50, forms[1].p50, forms[2].p50, forms[3].p50);
    ctx.Add(MkRow("named cost over positional", "3 fields, " + tn, "ns", MedianPairedCost(form_samples, 0, 2), "",
                  std::nullopt,
                  "median of (\"fields {a} {b} {c}\" - \"fields {} {} {}\"), same values: the caller does the same work" +
                      paired));
    ctx.Add(MkRow("bound-field cost over kv", "3 fields, " + tn, "ns", MedianPairedCost(form_samples, 1, 3), "",
                  std::nullopt,
                  "median of (3 fields bound by With() - 3 kv() fields): a pointer to the view's fields instead of 3 args" +
                      paired));
    const double kv_cost = MedianPairedCost(form_samples, 0, 1);
    ctx.Add(MkRow("kv cost over positional", "3 fields, " + tn, "ns", kv_cost, "<= 5 ns", kv_cost <= 5.0,
                  "median of (3 kv fields - 3 positional args), same values" + paired));
  }

  // 2b. the backend's scheduling policy when it has no CPU of its own
  {
    ctx.Progress("backend SCHED_BATCH vs SCHED_OTHER, 2 threads");
    ESPER_ASSIGN_OR_RETURN(auto v, MeasureBackendPolicies(p, blocks));
    auto over_1us_per_10k = [](const std::vector<double>& x) {
      return 1e4 * static_cast<double>(std::count_if(x.begin(), x.end(), [](double ns) { return ns > 1000; })) /
             static_cast<double>(x.size());
    };
    const std::string cname = "int,int,double, 2 threads, backend SCHED_BATCH (default)";
    const std::string why = fmt::format(
        "{} samples per thread and policy, 20-call bursts, {} us gap, alternating in {} blocks; a burst over 1 us a call is "
        "a producer preempted mid-burst (by the backend, when its wake preempts)",
        p.samples, p.gap.count(), blocks);
    Row r = MkRow("bursts over 1 us a call", cname, "per 10k", over_1us_per_10k(v[0]), "", std::nullopt, why);
    r.peer = "backend SCHED_OTHER";
    r.peer_value = over_1us_per_10k(v[1]);
    ctx.Add(r);
    Row q = MkRow("latency p99.9", cname, "ns", Percentiles(v[0]).p999, "", std::nullopt, why);
    q.peer = "backend SCHED_OTHER";
    q.peer_value = Percentiles(v[1]).p999;
    ctx.Add(q);
  }

  // 3. backend throughput into a file
  const int n = quick ? 300'000 : 2'000'000;
  for (auto f : {log::Format::kJson, log::Format::kText, log::Format::kLogfmt}) {
    ctx.Progress(fmt::format("backend throughput {}", log::FormatName(f)));
    auto ours = OursThroughput(f, tmp + "-tp.log", n);
    if (!ours) return ours.error();
    Row c = MkRow("backend capacity", fmt::format("{} lines into a file, per backend CPU-second", log::FormatName(f)),
                  "lines/s", ours->per_cpu, ">= 2M lines/s", ours->per_cpu >= 2e6,
                  "lines / CPU time of the backend thread: what one free core would sustain");
    c.lower_is_better = false;
    ctx.Add(c);
    Row r = MkRow("backend throughput", fmt::format("{} lines into a file, wall clock", log::FormatName(f)), "lines/s",
                  ours->wall, ">= 2M lines/s", ours->wall >= 2e6);
    r.lower_is_better = false;
    r.note = fmt::format("{} lines (int,int,double + 1 kv), 1 producer, until flushed; producer and backend share the 2 cores", n);
#ifdef ESPER_BENCH_HAVE_SPDLOG
    if (f == log::Format::kText) {
      r.peer = "spdlog async file";
      r.peer_value = SpdlogThroughput(tmp + "-tp-spd.log", n);
      r.note += "; spdlog: its default text pattern";
    }
#endif
    ctx.Add(r);
  }

  // 4. what a logger costs while nothing is logged
  {
    ctx.Progress("idle cost");
    const auto idle = std::chrono::milliseconds(quick ? 1000 : 3000);
    auto ours_with = [&](std::chrono::microseconds max_sleep) {
      return IdleCpuMsPerSecond(
          [&] {
            auto l = log::Logger::Create({.level_from_env = false, .sinks = {{.sink = std::make_shared<NullSink>()}},
                                          .idle_sleep_max = max_sleep});
            if (l) {
              ESPER_LOG_INFO(*l, "one line {}", 1);
              (void)(*l)->Flush();
            }
            return l;
          },
          idle);
    };
    Row r = MkRow("idle CPU", "a logger with nothing to write (ms of CPU per second)", "ms/s",
                  ours_with(log::Options{}.idle_sleep_max), "", std::nullopt,
                  "the backend's sleep doubles from idle_sleep (500 us) to idle_sleep_max (100 ms)");
#ifdef ESPER_BENCH_HAVE_SPDLOG
    r.peer = "spdlog async";
    r.peer_value = IdleCpuMsPerSecond(
        [] {
          auto pool = std::make_shared<spdlog::details::thread_pool>(8192, 1);
          auto l = std::make_shared<spdlog::async_logger>("idle", std::make_shared<spdlog::sinks::null_sink_mt>(),
                                                          pool, spdlog::async_overflow_policy::block);
          l->info("one line {}", 1);
          l->flush();
          return std::make_pair(pool, l);
        },
        idle);
    r.note += "; spdlog's worker blocks on a condition variable, which its every call notifies";
#endif
    ctx.Add(r);
    ctx.Add(MkRow("idle CPU", "the same at a fixed 500 us sleep (idle_sleep_max = idle_sleep)", "ms/s",
                  ours_with(log::Options{}.idle_sleep), "", std::nullopt,
                  "the backend's cadence before the back-off: a wake every 500 us"));
  }

  // 5. timestamp sources (why the front end reads the TSC)
  ctx.Progress("timestamp sources");
#if defined(__x86_64__) || defined(__i386__)
  ctx.Add(MkRow("timestamp cost", "rdtsc (ours, default)", "ns", NsPerCall([] { return log::detail::Ticks(); }), "",
                std::nullopt, "converted to wall clock on the backend"));
  ctx.Add(MkRow("timestamp cost", "lfence; rdtsc (ours, causal_timestamps)", "ns",
                NsPerCall([] { return log::detail::TicksCausal(); }), "", std::nullopt,
                "the TSC read after earlier loads complete: causal order across threads"));
#endif
  ctx.Add(MkRow("timestamp cost", "clock_gettime(CLOCK_REALTIME)", "ns",
                NsPerCall([] { return Gettime(CLOCK_REALTIME); }), "", std::nullopt, "vDSO"));
  ctx.Add(MkRow("timestamp cost", "clock_gettime(CLOCK_REALTIME_COARSE)", "ns",
                NsPerCall([] { return Gettime(CLOCK_REALTIME_COARSE); }), "", std::nullopt,
                "too coarse for the issue's sub-ms precision (jiffy resolution)"));
  return OkStatus();
}

}  // namespace esper::bench
