// esper/core/thread.h — naming the threads esper-utils owns.
//
// Each library thread names itself ("esper-log" for a logger's backend, "esper-http" for a
// client's event loop, "esper-proxy" for the fault proxy's loop), so `top -H`, `ps -L`, gdb,
// perf and /proc/<pid>/task/<tid>/comm tell them from the service's own threads.
//
// Thread safety: names only the calling thread. Blocking: no (one prctl). Errors: none to act
// on — naming is best effort (a failure leaves the inherited name).
//
// Example:
//   std::thread t([] { esper::NameThisThread("tamiyo-upload"); Work(); });
#pragma once

#include <string>
#include <string_view>

namespace esper {

/// Names the calling thread. Linux keeps 15 bytes: a longer name is cut there.
void NameThisThread(std::string_view name) noexcept;

/// The calling thread's name (as the kernel keeps it).
std::string ThisThreadName();

}  // namespace esper
