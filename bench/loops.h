// The closed loops the object-store suites measure with (storage, s3): operations back to back on
// some threads, or a fixed number of asynchronous operations kept in flight — each until a
// duration has passed, reporting the rate and this process's CPU per operation (Throughput).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "esper/core/result.h"
#include "testing/proc.h"
#include "throughput.h"

namespace esper::bench {

/// Runs op(thread, i) for i = 0, 1, … until `duration` has passed, on `threads` threads (each its
/// own i). The first error ends the loop and is returned.
inline Result<Throughput> Loop(std::chrono::milliseconds duration, int threads,
                               const std::function<Status(int thread, uint64_t i)>& op) {
  std::atomic<uint64_t> ops{0};
  std::atomic<bool> failed{false};
  Status first_error = OkStatus();
  std::mutex mu;
  const testing::CpuMeter cpu;
  const auto t0 = std::chrono::steady_clock::now();
  const auto until = t0 + duration;
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      for (uint64_t i = 0; std::chrono::steady_clock::now() < until && !failed; ++i) {
        if (Status st = op(t, i); !st) {
          std::lock_guard<std::mutex> lock(mu);
          if (!failed.exchange(true)) first_error = st;
          return;
        }
        ops.fetch_add(1, std::memory_order_relaxed);
      }
    });
  }
  for (auto& th : pool) th.join();
  if (failed) return first_error.error();
  return FromCounts(ops.load(), std::chrono::steady_clock::now() - t0, cpu.Seconds());
}

/// Keeps `in_flight` asynchronous operations outstanding until `duration` has passed: start(i,
/// done) begins operation i and arranges for done(status) to be called once, on any thread (an
/// error returned by start itself counts as that operation's). Each completion starts the next.
/// The first error is returned once everything outstanding has ended.
inline Result<Throughput> Pipelined(int in_flight, std::chrono::milliseconds duration,
                                    const std::function<Status(uint64_t i, std::function<void(Status)> done)>& start) {
  std::mutex mu;
  std::condition_variable cv;
  int outstanding = 0;
  uint64_t done = 0;
  Status first_error = OkStatus();
  const testing::CpuMeter cpu;
  const auto t0 = std::chrono::steady_clock::now();
  const auto until = t0 + duration;
  std::atomic<uint64_t> next{0};
  // Called with mu held.
  std::function<void()> launch = [&] {
    Status st = start(next.fetch_add(1), [&](Status r) {
      std::lock_guard<std::mutex> lock(mu);
      ++done;
      if (!r && first_error) first_error = r;
      if (r && std::chrono::steady_clock::now() < until) {
        launch();  // still outstanding: one ends, one starts
      } else {
        --outstanding;
        cv.notify_all();
      }
    });
    if (!st) {
      if (first_error) first_error = st;
      --outstanding;
      cv.notify_all();
    }
  };
  {
    std::lock_guard<std::mutex> lock(mu);
    for (int k = 0; k < in_flight; ++k) {
      ++outstanding;
      launch();
    }
  }
  std::unique_lock<std::mutex> lock(mu);
  cv.wait(lock, [&] { return outstanding == 0; });
  if (!first_error) return first_error.error();
  return FromCounts(done, std::chrono::steady_clock::now() - t0, cpu.Seconds());
}

/// Rates and CPU per operation of several rounds, and their medians.
struct Samples {
  std::vector<double> ops, cpu;
  void Add(const Throughput& m) {
    ops.push_back(m.per_second);
    cpu.push_back(m.cpu_us_per_op);
  }
  Throughput Median() const { return {bench::Median(ops), bench::Median(cpu)}; }
};

}  // namespace esper::bench
