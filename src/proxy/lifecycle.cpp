// The fault proxy's lifecycle: Start binds and starts the loop thread, Stop wakes and joins it,
// Run is the loop, Shutdown drops what is left.
#include "proxy/impl.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstdio>

#include "esper/core/thread.h"

namespace esper::proxy {

Status FaultProxy::Impl::Start() {
  std::lock_guard lock(lifecycle_mu);
  if (started) return Error::FailedPrecondition("the fault proxy was already started");
  if (stopped) return Error::FailedPrecondition("a stopped fault proxy cannot be restarted; create a new one");
  ESPER_ASSIGN_OR_RETURN(detail::Resolved listen_addr, detail::Resolve(listen_ep, /*passive=*/true));
  ESPER_ASSIGN_OR_RETURN(upstream_addr, detail::Resolve(upstream_ep, /*passive=*/false));

  int fd = ::socket(listen_addr.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return Error::FromErrno(errno, "socket");
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  // What a failure below leaves behind: the socket, and the epoll and wake-up fds once created.
  auto fail = [&](int err, std::string_view what) {
    ::close(fd);
    detail::CloseFd(epfd);
    detail::CloseFd(wakefd);
    return Error::FromErrno(err, what);
  };
  if (::bind(fd, reinterpret_cast<sockaddr*>(&listen_addr.addr), listen_addr.len) != 0) {
    int err = errno;  // before fmt allocates
    return fail(err, fmt::format("bind {}", opts.listen));
  }
  if (::listen(fd, 1024) != 0) {
    int err = errno;
    return fail(err, fmt::format("listen {}", opts.listen));
  }
  sockaddr_storage bound{};
  socklen_t blen = sizeof bound;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &blen);
  uint16_t port = bound.ss_family == AF_INET6
                      ? ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port)
                      : ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);

  epfd = ::epoll_create1(EPOLL_CLOEXEC);
  wakefd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (epfd < 0 || wakefd < 0) return fail(errno, "epoll/eventfd");
  if (!opts.request_log.empty()) {
    request_log = std::fopen(opts.request_log.c_str(), "we");  // e: O_CLOEXEC
    if (!request_log) {
      int err = errno;
      return fail(err, fmt::format("request log {}", opts.request_log));
    }
  }
  listenfd = fd;
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kListenTag;
  ::epoll_ctl(epfd, EPOLL_CTL_ADD, listenfd, &ev);
  ev.data.u64 = kWakeTag;
  ::epoll_ctl(epfd, EPOLL_CTL_ADD, wakefd, &ev);

  bound_port.store(port, std::memory_order_release);
  started = true;
  thread = std::thread([this] {
    NameThisThread("esper-proxy");
    Run();
  });
  return OkStatus();
}

void FaultProxy::Impl::Stop() {
  std::lock_guard lock(lifecycle_mu);
  if (!started || stopped) {
    stopped = true;
    return;
  }
  stopped = true;
  stopping.store(true, std::memory_order_release);
  uint64_t one = 1;
  ssize_t w = ::write(wakefd, &one, sizeof one);
  (void)w;
  if (thread.joinable()) thread.join();
  if (request_log) {
    std::fclose(request_log);
    request_log = nullptr;
  }
  detail::CloseFd(listenfd);
  detail::CloseFd(wakefd);
  detail::CloseFd(epfd);
}

void FaultProxy::Impl::Run() {
  std::vector<epoll_event> events(256);
  while (!stopping.load(std::memory_order_acquire)) {
    int n = ::epoll_wait(epfd, events.data(), static_cast<int>(events.size()), TimeoutMs());
    if (n < 0) {
      if (errno == EINTR) continue;
      break;  // EBADF/EINVAL: cannot happen with our own fds
    }
    RefreshFaults();
    for (int i = 0; i < n; ++i) {
      uint64_t tag = events[i].data.u64;
      if (tag == kWakeTag) {
        uint64_t v;
        ssize_t r = ::read(wakefd, &v, sizeof v);
        (void)r;
        continue;
      }
      if (tag == kListenTag) {
        Accept();
        continue;
      }
      auto it = conns.find(tag >> 1);
      if (it == conns.end() || it->second->dead) continue;
      HandleEvent(*it->second, (tag & 1) != 0, events[i].events);
    }
    FireTimers();
    for (uint64_t id : dead) conns.erase(id);
    dead.clear();
  }
  Shutdown();
}

void FaultProxy::Impl::Shutdown() {
  for (auto& [id, c] : conns) {
    if (!c->dead) Destroy(*c);
  }
  conns.clear();
  dead.clear();
  timers.clear();
}

}  // namespace esper::proxy
