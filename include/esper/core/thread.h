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

#include <cstdint>
#include <string>
#include <string_view>

namespace esper {

/// Names the calling thread. Linux keeps 15 bytes: a longer name is cut there.
void NameThisThread(std::string_view name) noexcept;

/// The calling thread's name (as the kernel keeps it).
std::string ThisThreadName();

/// 0 until this process (or an ancestor, after its first call) forks; one more in each child of
/// every fork() after the first call. A component that owns a thread reads it when it starts the
/// thread: another value later means this is a forked child, which has only the thread that
/// called fork() — the component's thread is not here. The first call registers the
/// pthread_atfork handler that counts. Thread safety: any thread. Blocking: no (one load).
uint64_t ForkGeneration() noexcept;

}  // namespace esper
