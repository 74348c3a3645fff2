// Private: the sliding windows behind CircuitBreaker's kCountBased / kTimeBased modes.
// Not thread-safe; the breaker calls them under its mutex.
#pragma once

#include <cstdint>
#include <vector>

#include "esper/core/clock.h"

namespace esper::resilience::detail {

struct WindowTotals {
  int64_t calls = 0;
  int64_t failures = 0;
  int64_t slow = 0;
};

class BreakerWindow {
 public:
  virtual ~BreakerWindow() = default;
  virtual void Record(bool failure, bool slow, Clock::TimePoint now) = 0;
  virtual WindowTotals Totals(Clock::TimePoint now) const = 0;
  virtual void Clear() = 0;
};

/// The last `size` outcomes in a ring of bytes, with running totals: O(1) per call.
class CountWindow final : public BreakerWindow {
 public:
  explicit CountWindow(int size);
  void Record(bool failure, bool slow, Clock::TimePoint now) override;
  WindowTotals Totals(Clock::TimePoint now) const override;
  void Clear() override;

 private:
  static constexpr uint8_t kFailure = 1, kSlow = 2;
  std::vector<uint8_t> ring_;
  size_t next_ = 0;
  WindowTotals totals_;
};

/// The outcomes of the last `duration`, in `buckets` buckets of duration/buckets each: a bucket
/// is reused (zeroed) when time has moved past it. O(1) per call, O(buckets) per Totals().
class TimeWindow final : public BreakerWindow {
 public:
  TimeWindow(Clock::Duration duration, int buckets);
  void Record(bool failure, bool slow, Clock::TimePoint now) override;
  WindowTotals Totals(Clock::TimePoint now) const override;
  void Clear() override;

 private:
  struct Bucket {
    int64_t index = -1;  // which bucket-width slice of time it holds; -1 = empty
    WindowTotals totals;
  };
  int64_t IndexOf(Clock::TimePoint now) const;
  std::vector<Bucket> buckets_;
  int64_t width_ns_;
};

}  // namespace esper::resilience::detail
