#include "esper/core/thread.h"

#include <pthread.h>

#include <algorithm>
#include <atomic>

namespace esper {

void NameThisThread(std::string_view name) noexcept {
  char buf[16];  // the kernel's TASK_COMM_LEN, terminator included
  const size_t n = std::min(name.size(), sizeof buf - 1);
  name.copy(buf, n);
  buf[n] = '\0';
  (void)pthread_setname_np(pthread_self(), buf);
}

std::string ThisThreadName() {
  char buf[16] = {};
  if (pthread_getname_np(pthread_self(), buf, sizeof buf) != 0) return {};
  return buf;
}

namespace {
std::atomic<uint64_t> g_fork_generation{0};
}  // namespace

uint64_t ForkGeneration() noexcept {
  static const bool counting = [] {
    return pthread_atfork(nullptr, nullptr, [] { g_fork_generation.fetch_add(1, std::memory_order_relaxed); }) == 0;
  }();
  (void)counting;
  return g_fork_generation.load(std::memory_order_relaxed);
}

}  // namespace esper
