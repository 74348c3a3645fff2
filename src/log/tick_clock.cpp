// TickClock: the TSC ticks of the logging calls converted to wall-clock time on the backend.
#include "log/tick_clock.h"

#include "esper/log/detail/ticks.h"

namespace esper::log::detail {
namespace {

// Process-wide tick rate, measured once (a few ms of busy-wait on the first Logger::Create).
double MeasureNsPerTick() {
#if defined(__x86_64__) || defined(__i386__)
  static const double rate = [] {
    int64_t m0 = NowNs(CLOCK_MONOTONIC_RAW);
    uint64_t t0 = Ticks();
    int64_t m1;
    do {
      m1 = NowNs(CLOCK_MONOTONIC_RAW);
    } while (m1 - m0 < 5'000'000);
    uint64_t t1 = Ticks();
    return static_cast<double>(m1 - m0) / static_cast<double>(t1 - t0);
  }();
  return rate;
#else
  return 1.0;
#endif
}

}  // namespace

TickClock::TickClock() {
  ns_per_tick_ = MeasureNsPerTick();
  start_ticks_ = Ticks();
  start_mono_ns_ = NowNs(CLOCK_MONOTONIC_RAW);
  Resync();
}

void TickClock::Resync() {
#if defined(__x86_64__) || defined(__i386__)
  uint64_t t = Ticks();
  int64_t real = NowNs(CLOCK_REALTIME);
  int64_t mono = NowNs(CLOCK_MONOTONIC_RAW);
  if (mono - start_mono_ns_ > 200'000'000 && t > start_ticks_)
    ns_per_tick_ = static_cast<double>(mono - start_mono_ns_) / static_cast<double>(t - start_ticks_);
  base_ticks_ = t;
  base_ns_ = real;
#endif
}

int64_t TickClock::ToUnixNs(uint64_t ticks) const {
#if defined(__x86_64__) || defined(__i386__)
  auto diff = static_cast<int64_t>(ticks - base_ticks_);
  return base_ns_ + static_cast<int64_t>(static_cast<double>(diff) * ns_per_tick_);
#else
  return static_cast<int64_t>(ticks);
#endif
}

}  // namespace esper::log::detail
