// The fault proxy's plumbing: accepting, connecting upstream, reading and writing the four
// buffers, epoll interest, timers, and closing (reset, or a graceful FIN handshake).
#include "proxy/impl.h"

#include <netinet/in.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace esper::proxy {

void FaultProxy::Impl::Accept() {
  for (;;) {
    int fd = ::accept4(listenfd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        // Out of descriptors: stop accepting for a moment instead of spinning.
        epoll_event ev{};
        ev.data.u64 = kListenTag;
        ::epoll_ctl(epfd, EPOLL_CTL_MOD, listenfd, &ev);
        listen_resume = SteadyClock::now() + std::chrono::milliseconds(100);
      }
      return;
    }
    Inc(stats.connections);
    if (conns.size() >= opts.max_connections) {
      Inc(stats.rejected);
      detail::ResetFd(fd);
      continue;
    }
    detail::SetNoDelay(fd);
    auto conn = std::make_unique<Conn>();
    Conn& c = *conn;
    c.id = next_conn++;
    c.cfd = fd;
    c.rng = detail::ConnectionRng(opts.seed, c.id);
    conns.emplace(c.id, std::move(conn));
    Inc(stats.active);
    if (opts.mode == Mode::kTcp) {
      Inc(stats.requests);
      RefreshFaults();
      c.decision = detail::Decide(c.rng, opts);
      RecordDecision(c, 0);
      if (c.decision.kind != FaultKind::kStall && !StartConnect(c)) {
        Inc(stats.upstream_failures);
        ResetClient(c);
        continue;
      }
    }
    Pump(c);
  }
}

void FaultProxy::Impl::RecordDecision(Conn& c, uint64_t request_index) {
  switch (c.decision.kind) {
    case FaultKind::kNone: Inc(stats.passed); break;
    case FaultKind::kReset:
    case FaultKind::kResetAfterUpstream: Inc(stats.resets); break;
    case FaultKind::kStall: Inc(stats.stalls); break;
    case FaultKind::kError: Inc(stats.errors); break;
    case FaultKind::kTruncate: Inc(stats.truncations); break;
    case FaultKind::kCorrupt: Inc(stats.corruptions); break;
  }
  std::lock_guard lock(log_mu);
  if (log.size() < opts.fault_log_capacity) log.push_back({c.id, request_index, c.decision.kind});
}

bool FaultProxy::Impl::StartConnect(Conn& c) {
  int fd = ::socket(upstream_addr.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  detail::SetNoDelay(fd);
  int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&upstream_addr.addr), upstream_addr.len);
  if (rc != 0 && errno != EINPROGRESS) {
    ::close(fd);
    return false;
  }
  c.ufd = fd;
  c.u_connecting = rc != 0;
  c.u_events = {};
  c.u_eof = false;
  return true;
}

void FaultProxy::Impl::HandleEvent(Conn& c, bool upstream_side, uint32_t events) {
  if (upstream_side) {
    if (c.ufd < 0) return;
    if (c.u_connecting) {
      if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
      // The event may be stale (an earlier socket of this connection); ask the socket itself.
      pollfd pfd{c.ufd, POLLOUT, 0};
      if (::poll(&pfd, 1, 0) <= 0) return;
      int err = 0;
      socklen_t len = sizeof err;
      ::getsockopt(c.ufd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0) {
        Inc(stats.upstream_failures);
        CloseSocket(c.ufd, c.u_events, false);
        c.u_connecting = false;
        if (opts.mode == Mode::kTcp) {
          ResetClient(c);
        } else {
          FailWithLocal(c, 502,
                        fmt::format("esper proxy: cannot connect to upstream {}\n", opts.upstream));
          Pump(c);
        }
        return;
      }
      c.u_connecting = false;
    }
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
      if (!ReadInto(c, true)) return;
      if (events & EPOLLERR) {
        UpstreamBroken(c);
        if (c.dead) return;
      }
    }
  } else {
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
      if (!ReadInto(c, false)) return;
      if (events & (EPOLLERR | EPOLLHUP)) {  // reset, or both directions closed: nobody to answer
        Destroy(c);
        return;
      }
    }
  }
  Pump(c);
}

// Reads what is available into c_in / u_in (up to the cap). Returns false if the connection died.
bool FaultProxy::Impl::ReadInto(Conn& c, bool upstream_side) {
  int fd = upstream_side ? c.ufd : c.cfd;
  Buffer& buf = upstream_side ? c.u_in : c.c_in;
  bool& eof = upstream_side ? c.u_eof : c.c_eof;
  char tmp[kReadChunk];
  while (!eof && buf.size() < kBufferCap) {
    ssize_t n = ::recv(fd, tmp, std::min(sizeof tmp, kBufferCap - buf.size()), 0);
    if (n > 0) {
      buf.append({tmp, static_cast<size_t>(n)});
      continue;
    }
    if (n == 0) {
      eof = true;
      break;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) break;
    // A reset or other hard error.
    if (upstream_side) {
      UpstreamBroken(c);
      return !c.dead;
    }
    Destroy(c);
    return false;
  }
  return true;
}

// Writes the out-buffers. Returns true if anything was written.
bool FaultProxy::Impl::Flush(Conn& c) {
  bool wrote = false;
  auto write_all = [&](int fd, Buffer& buf, std::atomic<uint64_t>& counter) -> int {
    while (!buf.empty()) {
      std::string_view v = buf.view();
      ssize_t n = ::send(fd, v.data(), v.size(), MSG_NOSIGNAL);
      if (n > 0) {
        buf.consume(static_cast<size_t>(n));
        Inc(counter, static_cast<uint64_t>(n));
        wrote = true;
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
      return -1;
    }
    return 0;
  };
  if (c.cfd >= 0 && write_all(c.cfd, c.c_out, stats.bytes_to_client) < 0) {
    Destroy(c);  // the client is gone
    return wrote;
  }
  if (c.ufd >= 0 && !c.u_connecting && write_all(c.ufd, c.u_out, stats.bytes_to_upstream) < 0) {
    UpstreamBroken(c);
  }
  return wrote;
}

void FaultProxy::Impl::Pump(Conn& c) {
  for (int round = 0; round < 64 && !c.dead; ++round) {
    size_t before = c.c_in.size() + c.c_out.size() + c.u_in.size() + c.u_out.size();
    if (c.closing) {
      ProcessClosing(c);
    } else if (opts.mode == Mode::kHttp) {
      ProcessHttp(c);
    } else {
      ProcessTcp(c);
    }
    if (c.dead) return;
    bool wrote = Flush(c);
    if (c.dead) return;
    size_t after = c.c_in.size() + c.c_out.size() + c.u_in.size() + c.u_out.size();
    if (!wrote && before == after) break;
  }
  if (c.closing && !c.dead) ProcessClosing(c);
  if (!c.dead) UpdateInterest(c);
}

// Registers `wanted` for fd (level-triggered). Nothing wanted = not registered at all, so a
// hung-up socket we are done with cannot make epoll spin on EPOLLHUP.
void FaultProxy::Impl::SetInterest(int fd, uint64_t tag, Interest& cur, uint32_t wanted) {
  if (fd < 0) return;
  epoll_event ev{};
  ev.events = wanted;
  ev.data.u64 = tag;
  if (wanted == 0) {
    if (cur.registered) ::epoll_ctl(epfd, EPOLL_CTL_DEL, fd, nullptr);
    cur = {};
    return;
  }
  if (!cur.registered) {
    ::epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
  } else if (cur.events != wanted) {
    ::epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &ev);
  }
  cur = {true, wanted};
}

void FaultProxy::Impl::UpdateInterest(Conn& c) {
  uint32_t cw = 0;
  if (!c.c_eof && c.c_in.size() < kBufferCap) cw |= EPOLLIN;
  if (!c.c_out.empty()) cw |= EPOLLOUT;
  SetInterest(c.cfd, c.id << 1, c.c_events, cw);
  if (c.ufd >= 0) {
    uint32_t uw = 0;
    if (c.u_connecting) {
      uw = EPOLLOUT;
    } else {
      if (!c.u_eof && c.u_in.size() < kBufferCap) uw |= EPOLLIN;
      if (!c.u_out.empty()) uw |= EPOLLOUT;
    }
    SetInterest(c.ufd, (c.id << 1) | 1, c.u_events, uw);
  }
}

void FaultProxy::Impl::SetTimer(Conn& c, std::optional<TimePoint> t) {
  if (c.timer) timers.erase({*c.timer, c.id});
  c.timer = t;
  if (t) timers.insert({*t, c.id});
}

int FaultProxy::Impl::TimeoutMs() const {
  std::optional<TimePoint> next;
  if (!timers.empty()) next = timers.begin()->first;
  if (listen_resume && (!next || *listen_resume < *next)) next = listen_resume;
  if (!next) return -1;
  auto d = *next - SteadyClock::now();
  if (d <= SteadyClock::duration::zero()) return 0;
  return static_cast<int>(
      std::chrono::ceil<std::chrono::milliseconds>(d).count());
}

void FaultProxy::Impl::FireTimers() {
  TimePoint now = SteadyClock::now();
  if (listen_resume && *listen_resume <= now) {
    listen_resume.reset();
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = kListenTag;
    ::epoll_ctl(epfd, EPOLL_CTL_MOD, listenfd, &ev);
  }
  while (!timers.empty() && timers.begin()->first <= now) {
    uint64_t id = timers.begin()->second;
    timers.erase(timers.begin());
    auto it = conns.find(id);
    if (it == conns.end() || it->second->dead) continue;
    Conn& c = *it->second;
    c.timer.reset();
    if (c.closing) {
      Destroy(c);  // the client did not close within the grace period
      continue;
    }
    if (opts.mode == Mode::kHttp && c.req == ReqState::kDelay) Act(c);
    if (!c.dead) Pump(c);
  }
}

void FaultProxy::Impl::CloseSocket(int& fd, Interest& interest, bool reset) {
  if (fd < 0) return;
  if (interest.registered) ::epoll_ctl(epfd, EPOLL_CTL_DEL, fd, nullptr);
  interest = {};
  if (reset) {
    detail::ResetFd(fd);
  } else {
    detail::CloseFd(fd);
  }
}

void FaultProxy::Impl::Destroy(Conn& c) {
  if (c.dead) return;
  LogExchange(c);  // an exchange the connection ends under (reset, cut, stall, client gone)
  c.dead = true;
  SetTimer(c, std::nullopt);
  CloseSocket(c.cfd, c.c_events, false);
  CloseSocket(c.ufd, c.u_events, false);
  stats.active.fetch_sub(1, std::memory_order_relaxed);
  dead.push_back(c.id);
}

void FaultProxy::Impl::ResetClient(Conn& c) {
  if (c.dead) return;
  CloseSocket(c.cfd, c.c_events, true);
  CloseSocket(c.ufd, c.u_events, true);
  Destroy(c);
}

void FaultProxy::Impl::BeginClose(Conn& c) {
  if (c.closing || c.dead) return;
  c.closing = true;
  // The exchange's outcome is decided now: log it before the client can see the cut (waiting
  // for the FIN handshake let a client read the log without the exchange that failed it).
  LogExchange(c);
  if (c.ufd >= 0) {
    CloseSocket(c.ufd, c.u_events, false);
    c.u_connecting = false;
  }
  c.u_in.clear();
  c.u_out.clear();
  // A client that never reads what is left must not hold the connection forever.
  SetTimer(c, SteadyClock::now() + kCloseFlushLimit);
}

// Closing: discard what the client sends; once our out-buffer is flushed, send FIN; when the
// client's FIN arrives (or the grace period passes) close.
void FaultProxy::Impl::ProcessClosing(Conn& c) {
  c.c_in.clear();
  if (!c.fin_sent && c.c_out.empty()) {
    ::shutdown(c.cfd, SHUT_WR);
    c.fin_sent = true;
    SetTimer(c, SteadyClock::now() + kCloseGrace);
  }
  if (c.fin_sent && c.c_eof) Destroy(c);
}

}  // namespace esper::proxy
