// esper/log/detail/byte_ring.h — the per-thread single-producer byte ring of the logger's front
// end. Internal (namespace esper::log::detail); in a public header only because the logging call
// site is inlined.
//
// ByteRing: a bounded SPSC ring of variable-size records. The producer (one logging thread)
// reserves contiguous space, writes a record and commits it with one release store; the consumer
// (the backend thread) peeks, reads and pops. A record's first 4 bytes are never all zero (they
// hold its size, RecordHeader); one that would straddle the end is preceded by a wrap marker
// (4 zero bytes) and placed at offset 0. Positions are 64-bit and never wrap.
// Each side caches the other's position, so the hot path touches the shared cache line only when
// its cache says the ring is full (producer) or empty (consumer).
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace esper::log::detail {

inline constexpr size_t kCacheLine = 64;

class ByteRing {
 public:
  /// `capacity` must be a power of two >= 64.
  explicit ByteRing(size_t capacity);
  ~ByteRing();
  ByteRing(const ByteRing&) = delete;
  ByteRing& operator=(const ByteRing&) = delete;

  size_t capacity() const noexcept { return cap_; }

  // ---- producer side ----
  /// Contiguous space for `n` bytes (n a multiple of 8, n <= capacity/2), or nullptr when full.
  char* Reserve(size_t n) noexcept {
    if (FitsFast(n)) [[likely]] return WritePointer();
    return ReserveSlow(n);
  }
  /// Reserve() without calls, for the inlined logging call: whether `n` bytes fit before both the
  /// ring's end and the cached read position (when not, Reserve() decides: wrap, refresh, full).
  /// The space is then at WritePointer().
  bool FitsFast(size_t n) const noexcept { return w_ + n <= limit_; }
  char* WritePointer() const noexcept { return wbuf_ + (w_ & wmask_); }
  /// Committing the `n` bytes written at the last Reserve() takes two halves: WriteEnd(n) before
  /// the record is written (its stores, through char*, might alias w_ for all the compiler knows,
  /// so reading it after them would cost a load), then Publish() of that position.
  uint64_t WriteEnd(size_t n) const noexcept { return w_ + n; }
  void Publish(uint64_t end) noexcept {
    w_ = end;
    write_.store(end, std::memory_order_release);
  }

  // ---- consumer side ----
  /// The next committed record, or nullptr when empty.
  const char* Peek() noexcept {
    for (;;) {
      if (r_ == w_cache_) {
        w_cache_ = write_.load(std::memory_order_acquire);
        if (r_ == w_cache_) return nullptr;
      }
      const char* p = buf_ + (r_ & mask_);
      uint32_t first;
      std::memcpy(&first, p, sizeof first);
      if (first != 0) return p;
      r_ += cap_ - (r_ & mask_);  // skip the wrap marker
    }
  }
  void Pop(size_t n) noexcept {
    r_ += n;
    read_.store(r_, std::memory_order_release);
  }
  /// Whether the producer has published nothing beyond what was consumed (consumer side).
  bool EmptyForConsumer() noexcept {
    w_cache_ = write_.load(std::memory_order_acquire);
    return r_ == w_cache_;
  }
  /// Bytes committed but not yet consumed (approximate from any thread).
  size_t Depth() const noexcept {
    return static_cast<size_t>(write_.load(std::memory_order_relaxed) -
                               read_.load(std::memory_order_relaxed));
  }

  /// The next ring (unbounded mode): set by the producer once it has stopped writing here.
  std::atomic<ByteRing*> next{nullptr};

 private:
  char* ReserveSlow(size_t n) noexcept;
  // The first position FitsFast() refuses: the end of the half of the ring w_ is in, or a full
  // ring by r_cache_, whichever is first. Set where either changes (ReserveSlow); a Publish() that
  // reaches it sends the next call to ReserveSlow, which moves it on. Halves, not laps, so the
  // producer takes the slow path twice a lap (the logger uses it to wake a backend in a long
  // idle sleep before the ring fills); a record may still straddle the middle.
  void SetLimit() noexcept { limit_ = std::min((w_ | (mask_ >> 1)) + 1, r_cache_ + cap_); }

  char* buf_;
  size_t cap_;
  uint64_t mask_;
  // The producer's line: its own state, beside the position it publishes.
  alignas(kCacheLine) std::atomic<uint64_t> write_{0};
  uint64_t w_ = 0;        // producer's own position
  uint64_t r_cache_ = 0;  // producer's view of read_
  uint64_t limit_;        // see SetLimit()
  char* wbuf_;            // buf_ and mask_ again, so the logging call reads this one line
  uint64_t wmask_;
  alignas(kCacheLine) std::atomic<uint64_t> read_{0};
  uint64_t r_ = 0;        // consumer's own position
  uint64_t w_cache_ = 0;  // consumer's view of write_
};

}  // namespace esper::log::detail
