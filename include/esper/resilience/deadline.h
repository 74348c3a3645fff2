// esper/resilience/deadline.h — an absolute time limit that every retry and every layer respects.
//
// A Deadline is a point in time on an injectable esper::Clock (the steady clock by default). It is
// created once, at the top of an operation ("this upload must finish within 30 s"), and passed
// down by value. Each layer asks `remaining()` before it waits and `expired()` before it starts
// work; a per-try limit is a child deadline, `Child(per_try)`, which never outlives its parent.
//
//   esper::FakeClock clock;
//   auto overall = esper::resilience::Deadline::After(30s, clock);
//   auto try1 = overall.Child(5s);        // min(overall, now + 5 s)
//   if (overall.expired()) return overall.ExceededError("upload part 3");
//   clock.SleepFor(std::min(backoff, overall.remaining()));
//
// `Deadline::Infinite()` never expires (remaining() is Clock::Duration::max()).
//
// Thread safety: a value type (two words); copies may be used from any thread. The Clock it
// refers to must outlive it (SystemClock() lives forever; a FakeClock is the test's to keep).
// Nothing here blocks.
#pragma once

#include <algorithm>
#include <chrono>
#include <string>
#include <string_view>

#include "esper/core/clock.h"
#include "esper/core/error.h"

namespace esper::resilience {

class Deadline {
 public:
  using Duration = Clock::Duration;
  using TimePoint = Clock::TimePoint;

  /// A deadline that never expires, on the system clock.
  Deadline() = default;

  /// A deadline that never expires.
  static Deadline Infinite(Clock& clock = SystemClock()) { return Deadline(&clock, TimePoint::max()); }
  /// now + `timeout` on `clock`. A negative or zero timeout is already expired. Saturates instead
  /// of overflowing for huge timeouts (Duration::max() means infinite).
  static Deadline After(Duration timeout, Clock& clock = SystemClock()) {
    const TimePoint now = clock.Now();
    if (timeout >= TimePoint::max() - now) return Deadline(&clock, TimePoint::max());
    return Deadline(&clock, now + timeout);
  }
  /// An absolute point on `clock`.
  static Deadline At(TimePoint when, Clock& clock = SystemClock()) { return Deadline(&clock, when); }

  /// The absolute time limit (TimePoint::max() when infinite).
  TimePoint when() const noexcept { return when_; }
  bool infinite() const noexcept { return when_ == TimePoint::max(); }
  Clock& clock() const noexcept { return *clock_; }

  /// Time left, never negative; Duration::max() when infinite.
  Duration remaining() const {
    if (infinite()) return Duration::max();
    const TimePoint now = clock_->Now();
    return now >= when_ ? Duration::zero() : when_ - now;
  }
  /// Whether the deadline has passed (now >= when()).
  bool expired() const { return !infinite() && clock_->Now() >= when_; }

  /// min(this, now + per_try): the deadline for one attempt. A zero or negative `per_try` means
  /// "no per-try limit" and returns *this.
  Deadline Child(Duration per_try) const {
    if (per_try <= Duration::zero()) return *this;
    const Deadline d = After(per_try, *clock_);
    return d.when_ < when_ ? d : *this;
  }
  /// The earlier of two deadlines (they should share a clock).
  static Deadline Earlier(const Deadline& a, const Deadline& b) { return a.when_ <= b.when_ ? a : b; }

  /// DeadlineExceeded naming what was being done and by how much the deadline was missed, e.g.
  /// "DeadlineExceeded: upload part 3: deadline exceeded (expired 12 ms ago)". Retryable bit set
  /// per the code's default (a caller with a larger deadline may retry).
  Error ExceededError(std::string_view what) const;

 private:
  Deadline(Clock* clock, TimePoint when) : clock_(clock), when_(when) {}
  Clock* clock_ = &SystemClock();
  TimePoint when_ = TimePoint::max();
};

/// "250 ms", "1.5 s", "2 min" — how durations appear in resilience error messages.
std::string FormatDuration(Clock::Duration d);

}  // namespace esper::resilience
