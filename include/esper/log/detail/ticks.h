// esper/log/detail/ticks.h — the timestamp a logging call takes (the TSC on x86-64), and the
// fenced reads the backend's cut-offs use. Internal (namespace esper::log::detail); in a public
// header only because the logging call site is inlined.
#pragma once

#include <atomic>
#include <cstdint>
#include <ctime>

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#endif

namespace esper::log::detail {

/// The timestamp taken on the logging thread: the TSC on x86-64 (converted to wall-clock time on
/// the backend, calibrated against CLOCK_REALTIME), CLOCK_REALTIME nanoseconds elsewhere.
/// Unfenced, as Quill and NanoLog read it: the CPU may read the TSC a little before this thread's
/// earlier loads complete (see TicksCausal).
inline uint64_t Ticks() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  return __rdtsc();
#else
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
#endif
}

/// Ticks() read after this thread's earlier loads complete (lfence), so a call that follows
/// another causally (it saw that call's effects) never gets an earlier timestamp. Costs an lfence
/// more than Ticks() (the bench's "timestamp cost" rows price both). Options::causal_timestamps.
inline uint64_t TicksCausal() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  _mm_lfence();
  return __rdtsc();
#else
  return Ticks();
#endif
}

/// Ticks() ordered after all earlier loads and stores of this thread (used for cut-offs).
inline void FullFence() noexcept {
#if defined(__SANITIZE_THREAD__)
  // TSan does not model fences: a seq_cst read-modify-write orders the same way.
  static std::atomic<int> dummy{0};
  dummy.fetch_add(0, std::memory_order_seq_cst);
#else
  std::atomic_thread_fence(std::memory_order_seq_cst);
#endif
}

inline uint64_t TicksFenced() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  FullFence();
  unsigned aux;
  uint64_t t = __rdtscp(&aux);
  _mm_lfence();
  return t;
#else
  FullFence();
  return Ticks();
#endif
}

}  // namespace esper::log::detail
