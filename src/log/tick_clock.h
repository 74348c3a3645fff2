// Private: TickClock, the backend's conversion of the logging calls' TSC ticks to wall-clock time.
#pragma once

#include <time.h>

#include <cstdint>

namespace esper::log::detail {

/// `id`'s clock_gettime() in nanoseconds.
inline int64_t NowNs(clockid_t id) {
  timespec ts;
  clock_gettime(id, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

/// Converts Ticks() to Unix nanoseconds; owned by one backend (no sharing).
class TickClock {
 public:
  TickClock();
  int64_t ToUnixNs(uint64_t ticks) const;
  /// Re-anchors to CLOCK_REALTIME and refines the tick rate; call now and then (backend).
  void Resync();

 private:
  double ns_per_tick_ = 1.0;
  uint64_t base_ticks_ = 0;
  int64_t base_ns_ = 0;
  uint64_t start_ticks_ = 0;
  int64_t start_mono_ns_ = 0;
};

}  // namespace esper::log::detail
