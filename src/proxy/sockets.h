// Private: the socket calls the fault proxy's loop makes in more than one place.
#pragma once

#include <sys/socket.h>

#include "esper/core/result.h"
#include "esper/proxy/fault_proxy.h"

namespace esper::proxy::detail {

/// Closes `fd` if open and sets it to -1.
void CloseFd(int& fd);
/// Closes with SO_LINGER {on, 0}: the kernel sends RST instead of FIN.
void ResetFd(int& fd);
void SetNoDelay(int fd);

struct Resolved {
  sockaddr_storage addr{};
  socklen_t len = 0;
};

/// The address of `e` (numeric port; `passive` for a listening socket).
Result<Resolved> Resolve(const Endpoint& e, bool passive);

}  // namespace esper::proxy::detail
