// The per-thread byte ring (ByteRing) and a producer thread's queue (ThreadQueue): their
// out-of-line parts.
#include <cstring>
#include <new>

#include "esper/log/detail/byte_ring.h"
#include "esper/log/detail/thread_queue.h"

namespace esper::log::detail {

ByteRing::ByteRing(size_t capacity)
    : buf_(static_cast<char*>(::operator new(capacity, std::align_val_t{kCacheLine}))),
      cap_(capacity),
      mask_(capacity - 1),
      wbuf_(buf_),
      wmask_(mask_) {
  SetLimit();
  // Touch every page now (on the thread's first call) so no page fault lands in a later call.
  std::memset(buf_, 0, cap_);
}

ByteRing::~ByteRing() { ::operator delete(buf_, std::align_val_t{kCacheLine}); }

char* ByteRing::ReserveSlow(size_t n) noexcept {
  uint64_t pos = w_;
  size_t off = static_cast<size_t>(pos & mask_);
  size_t pad = (off + n > cap_) ? cap_ - off : 0;
  if (pos + pad + n - r_cache_ > cap_) {
    r_cache_ = read_.load(std::memory_order_acquire);
    SetLimit();
    if (pos + pad + n - r_cache_ > cap_) return nullptr;
  }
  if (pad) {
    uint32_t zero = 0;
    std::memcpy(buf_ + off, &zero, sizeof zero);  // wrap marker
    w_ = pos + pad;
  }
  SetLimit();
  return buf_ + (w_ & mask_);
}

ThreadQueue::~ThreadQueue() {
  ByteRing* r = cons_ring;
  while (r) {
    ByteRing* next = r->next.load(std::memory_order_acquire);
    delete r;
    r = next;
  }
}

}  // namespace esper::log::detail
