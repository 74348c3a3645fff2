// Timing loops the suites share: CPU nanoseconds per call of an operation run by one or more
// threads at once, repeated, with the spread of the repeats (for `esper bench compare`).
//
// A run times `iters` calls per thread with the thread's CPU clock around the whole loop (the
// slowest thread of the run counts). The machine is shared (2 cores, several builds at once):
// wall time would charge an operation for every preemption, CPU time charges only the work done.
// With 2 threads both hammer the same object at once, so the figure includes the cache-line
// traffic between the cores; a thread blocked on a mutex is charged for its futex calls, not for
// the time it sleeps (which flatters a mutex-guarded peer, not us).
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <ctime>
#include <thread>
#include <vector>

#include "frame.h"

namespace esper::bench {

/// CPU time of the calling thread, ns.
inline double ThreadCpuNs() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

/// ns per call per thread (CPU time): `threads` threads each call op(thread) `iters` times,
/// started together.
template <class Op>
double NsPerCall(int threads, int64_t iters, Op op) {
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  std::vector<double> ns(static_cast<size_t>(threads));
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      ready.fetch_add(1);
      while (!go.load(std::memory_order_acquire)) {
      }
      const double start = ThreadCpuNs();
      for (int64_t i = 0; i < iters; ++i) op(t);
      ns[static_cast<size_t>(t)] = ThreadCpuNs() - start;
    });
  }
  while (ready.load() != threads) std::this_thread::yield();
  go.store(true, std::memory_order_release);
  for (auto& th : pool) th.join();
  double worst = 0;
  for (double v : ns) worst = std::max(worst, v);
  return worst / static_cast<double>(iters);
}

/// The median of `runs` runs (after a warm-up of a tenth), with the fastest and slowest run.
struct Spread {
  double median = 0, min = 0, max = 0;
};
template <class Op>
Spread NsPerCallSpread(int runs, int threads, int64_t iters, Op op) {
  std::vector<double> samples;
  NsPerCall(threads, iters / 10 + 1, op);  // warm-up: caches, shards, page faults
  for (int r = 0; r < runs; ++r) samples.push_back(NsPerCall(threads, iters, op));
  return {Median(samples), *std::min_element(samples.begin(), samples.end()),
          *std::max_element(samples.begin(), samples.end())};
}
template <class Op>
double MedianNsPerCall(int runs, int threads, int64_t iters, Op op) {
  return NsPerCallSpread(runs, threads, iters, op).median;
}

}  // namespace esper::bench
