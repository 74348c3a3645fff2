#include <algorithm>
#include <mutex>
#include <new>
#include <thread>
#include <vector>

#include "esper/metrics/shard.h"

namespace esper::metrics::detail {
namespace {

constexpr size_t kWordsPerLine = kCacheLine / sizeof(uint64_t);

uint32_t ComputeSlotCount() {
  unsigned cpus = std::thread::hardware_concurrency();
  if (cpus == 0) cpus = 1;
  return std::clamp<uint32_t>(std::bit_ceil(2 * cpus), 8, 32);
}

// The free slots (never destroyed: threads may exit after static destruction began).
struct Slots {
  std::mutex mu;
  std::vector<uint32_t> free;
  Slots() {
    for (uint32_t s = SlotCount(); s-- > 0;) free.push_back(s);
  }
};
Slots& TheSlots() {
  static Slots* slots = new Slots();
  return *slots;
}

// Gives the thread's slot back when it exits; later updates from its remaining thread_local
// destructors go to the shared block.
struct SlotHolder {
  uint32_t slot = UINT32_MAX;
  ~SlotHolder() {
    if (slot == UINT32_MAX) return;
    tls_slot = SlotCount();
    Slots& s = TheSlots();
    std::lock_guard lock(s.mu);
    s.free.push_back(slot);
  }
};
thread_local SlotHolder holder;

}  // namespace

uint32_t SlotCount() noexcept {
  static const uint32_t n = ComputeSlotCount();
  return n;
}

uint32_t AssignSlot() noexcept {
  Slots& s = TheSlots();
  uint32_t slot = SlotCount();
  {
    std::lock_guard lock(s.mu);
    if (!s.free.empty()) {
      slot = s.free.back();
      s.free.pop_back();
    }
  }
  if (slot != SlotCount()) holder.slot = slot;
  tls_slot = slot;
  return slot;
}

ShardedWords::ShardedWords(size_t words)
    : stride_((words + kWordsPerLine - 1) / kWordsPerLine * kWordsPerLine), shared_(SlotCount()) {
  const size_t n = stride_ * (SlotCount() + 1);
  void* p = ::operator new[](n * sizeof(std::atomic<uint64_t>), std::align_val_t(kCacheLine));
  base_ = static_cast<std::atomic<uint64_t>*>(p);
  for (size_t i = 0; i < n; ++i) new (&base_[i]) std::atomic<uint64_t>(0);
}

ShardedWords::~ShardedWords() { ::operator delete[](base_, std::align_val_t(kCacheLine)); }

uint64_t ShardedWords::Sum(size_t i) const noexcept {
  uint64_t total = 0;
  for (uint32_t s = 0; s <= shared_; ++s) total += base_[s * stride_ + i].load(std::memory_order_relaxed);
  return total;
}

double ShardedWords::SumDouble(size_t i) const noexcept {
  double total = 0;
  for (uint32_t s = 0; s <= shared_; ++s) {
    total += std::bit_cast<double>(base_[s * stride_ + i].load(std::memory_order_relaxed));
  }
  return total;
}

}  // namespace esper::metrics::detail
