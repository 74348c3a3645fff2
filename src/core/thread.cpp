#include "esper/core/thread.h"

#include <pthread.h>

#include <algorithm>

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

}  // namespace esper
