// esper/core/clock.h — an injectable clock, so time-dependent code is testable without sleeping.
//
// Code that waits or measures time (circuit breakers, retry backoff, deadlines, rate limits)
// takes a `Clock&` (default: `SystemClock()`), and tests pass a `FakeClock` they advance by hand.
// The clock is monotonic (std::chrono::steady_clock); wall-clock time for log timestamps is the
// logger's business, not this interface's.
//
// Thread safety: both implementations are safe to call from any thread. SystemClock() returns a
// process-wide instance that lives forever. A FakeClock must outlive everything that uses it.
//
// Example:
//   esper::FakeClock clock;
//   esper::resilience::CircuitBreaker breaker({.open_duration = 30s}, clock);
//   ...trip it...
//   clock.Advance(30s);   // the breaker is now half-open, no sleep needed
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>

namespace esper {

class Clock {
 public:
  using Duration = std::chrono::steady_clock::duration;
  using TimePoint = std::chrono::steady_clock::time_point;

  virtual ~Clock() = default;
  /// Monotonic now.
  virtual TimePoint Now() const = 0;
  /// Blocks the calling thread for `d` of this clock's time (a FakeClock: until advanced past it).
  virtual void SleepFor(Duration d) = 0;
};

/// The real monotonic clock (steady_clock). Never destroyed.
Clock& SystemClock();

/// A clock that moves only when told. Sleepers wake when Advance() passes their wake time.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(TimePoint start = TimePoint(std::chrono::hours(1)));
  FakeClock(const FakeClock&) = delete;
  FakeClock& operator=(const FakeClock&) = delete;

  TimePoint Now() const override;
  void SleepFor(Duration d) override;
  /// Moves time forward and wakes every sleeper whose time has come.
  void Advance(Duration d);
  /// How many threads are inside SleepFor() now (lets a test wait until a sleeper is parked).
  int sleepers() const;

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  TimePoint now_;
  int sleepers_ = 0;
};

}  // namespace esper
