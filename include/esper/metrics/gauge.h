// esper/metrics/gauge.h — a gauge: a number that goes up and down (queue depth, in flight,
// temperature, the time of the last good load).
//
//   metrics::Gauge& depth = (*queue)->With({});
//   depth.Set(42);
//   depth.Add(1);  depth.Add(-1);
//   depth.SetToCurrentTime();   // seconds since the epoch (name it *_timestamp_seconds)
//
// A gauge is one atomic double (not sharded: Set must be seen by the next Add). Set is one
// store; Add is a compare-and-swap loop, lock-free, that retries only while another thread
// changed the value between its load and its swap.
//
// Thread safety: any thread at once. Blocking: never. Ownership: as counter.h. Errors: none.
#pragma once

#include <atomic>

namespace esper::metrics {

class Gauge {
 public:
  Gauge() = default;
  Gauge(const Gauge&) = delete;
  Gauge& operator=(const Gauge&) = delete;

  void Set(double v) noexcept { value_.store(v, std::memory_order_relaxed); }
  void Add(double v) noexcept {
    double cur = value_.load(std::memory_order_relaxed);
    while (!value_.compare_exchange_weak(cur, cur + v, std::memory_order_relaxed)) {
    }
  }
  void Increment() noexcept { Add(1); }
  void Decrement() noexcept { Add(-1); }
  /// Sets the gauge to the wall-clock time in seconds since the Unix epoch.
  void SetToCurrentTime() noexcept;
  double Value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  alignas(64) std::atomic<double> value_{0};
};

}  // namespace esper::metrics
