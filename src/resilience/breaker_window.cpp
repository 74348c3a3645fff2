#include "breaker_window.h"

#include <algorithm>
#include <chrono>

namespace esper::resilience::detail {

CountWindow::CountWindow(int size) : ring_(static_cast<size_t>(size), 0) {}

void CountWindow::Record(bool failure, bool slow, Clock::TimePoint /*now*/) {
  uint8_t& slot = ring_[next_];
  if (totals_.calls == static_cast<int64_t>(ring_.size())) {  // full: the oldest call leaves
    totals_.failures -= (slot & kFailure) ? 1 : 0;
    totals_.slow -= (slot & kSlow) ? 1 : 0;
  } else {
    ++totals_.calls;
  }
  slot = static_cast<uint8_t>((failure ? kFailure : 0) | (slow ? kSlow : 0));
  totals_.failures += failure ? 1 : 0;
  totals_.slow += slow ? 1 : 0;
  next_ = next_ + 1 == ring_.size() ? 0 : next_ + 1;
}

WindowTotals CountWindow::Totals(Clock::TimePoint /*now*/) const { return totals_; }

void CountWindow::Clear() {
  std::fill(ring_.begin(), ring_.end(), 0);
  next_ = 0;
  totals_ = {};
}

TimeWindow::TimeWindow(Clock::Duration duration, int buckets)
    : buckets_(static_cast<size_t>(buckets)),
      width_ns_(std::max<int64_t>(1, std::chrono::duration_cast<std::chrono::nanoseconds>(duration).count() / buckets)) {}

int64_t TimeWindow::IndexOf(Clock::TimePoint now) const {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count() / width_ns_;
}

void TimeWindow::Record(bool failure, bool slow, Clock::TimePoint now) {
  const int64_t index = IndexOf(now);
  Bucket& b = buckets_[static_cast<size_t>(index % static_cast<int64_t>(buckets_.size()))];
  if (b.index != index) {
    b.index = index;
    b.totals = {};
  }
  ++b.totals.calls;
  b.totals.failures += failure ? 1 : 0;
  b.totals.slow += slow ? 1 : 0;
}

WindowTotals TimeWindow::Totals(Clock::TimePoint now) const {
  const int64_t index = IndexOf(now);
  const auto n = static_cast<int64_t>(buckets_.size());
  WindowTotals t;
  for (const Bucket& b : buckets_) {
    if (b.index >= 0 && b.index <= index && b.index > index - n) {
      t.calls += b.totals.calls;
      t.failures += b.totals.failures;
      t.slow += b.totals.slow;
    }
  }
  return t;
}

void TimeWindow::Clear() { std::fill(buckets_.begin(), buckets_.end(), Bucket{}); }

}  // namespace esper::resilience::detail
