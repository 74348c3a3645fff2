// esper/metrics/shard.h — internals of the lock-free update path (included by counter.h and
// histogram.h; nothing here is for callers).
//
// A counter or histogram series keeps one block of cells per slot, each block on cache lines of
// its own, plus one shared block. A thread takes a slot of its own the first time it updates any
// series and gives it back when it exits. A thread with a slot is the only writer of that slot's
// cells, so its update is a relaxed load, an add and a relaxed store — no locked instruction, no
// cache line shared with another writer (about a nanosecond). Threads beyond the slot count all
// use the shared block with atomic read-modify-writes (fetch_add, a CAS loop for a double's sum):
// still exact, only slower. A scrape adds the blocks up with relaxed loads.
//
// Slots: twice the CPUs rounded up to a power of two, at least 8 and at most 32 (memory per
// series: (slots + 1) × the block, a block being a cache line for a counter). A slot freed by a
// thread that exited goes to the next new thread; its cells keep what the old thread added.
#pragma once

#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>

namespace esper::metrics::detail {

inline constexpr size_t kCacheLine = 64;

/// Slots with a single writer each; the shared block's index is SlotCount().
uint32_t SlotCount() noexcept;

/// Gives the calling thread a slot of its own, or the shared block's index when none is free.
uint32_t AssignSlot() noexcept;

[[gnu::tls_model("initial-exec")]] inline thread_local constinit uint32_t tls_slot = UINT32_MAX;

/// The calling thread's block: its own slot, or SlotCount() (shared).
inline uint32_t ThisSlot() noexcept {
  uint32_t s = tls_slot;
  if (s == UINT32_MAX) [[unlikely]] s = AssignSlot();
  return s;
}

/// `words` 8-byte atomic words per block, each block starting on its own cache line.
class ShardedWords {
 public:
  explicit ShardedWords(size_t words);
  ~ShardedWords();
  ShardedWords(const ShardedWords&) = delete;
  ShardedWords& operator=(const ShardedWords&) = delete;

  /// Adds `n` to word `i` of the calling thread's block.
  void Add(size_t i, uint64_t n) noexcept {
    const uint32_t s = ThisSlot();
    std::atomic<uint64_t>& w = base_[s * stride_ + i];
    if (s != shared_) [[likely]] w.store(w.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    else w.fetch_add(n, std::memory_order_relaxed);
  }
  /// Adds `v` to word `i` of the calling thread's block, the word holding a double's bits.
  void AddDouble(size_t i, double v) noexcept {
    const uint32_t s = ThisSlot();
    std::atomic<uint64_t>& w = base_[s * stride_ + i];
    uint64_t cur = w.load(std::memory_order_relaxed);
    if (s != shared_) [[likely]] {
      w.store(std::bit_cast<uint64_t>(std::bit_cast<double>(cur) + v), std::memory_order_relaxed);
      return;
    }
    while (!w.compare_exchange_weak(cur, std::bit_cast<uint64_t>(std::bit_cast<double>(cur) + v),
                                    std::memory_order_relaxed)) {
    }
  }

  /// Word `i` summed over the blocks (integer words).
  uint64_t Sum(size_t i) const noexcept;
  /// Word `i` read as a double in every block, summed.
  double SumDouble(size_t i) const noexcept;

 private:
  std::atomic<uint64_t>* base_;
  size_t stride_;    // words per block, a multiple of a cache line
  uint32_t shared_;  // SlotCount(): the shared block
};

}  // namespace esper::metrics::detail
