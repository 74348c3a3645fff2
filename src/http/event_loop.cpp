// The loop thread: epoll, the eventfd wakeup, curl's socket and timer callbacks, the retry-timer
// heap, draining finished transfers, and shutdown.
//
// The loop drives curl with curl_multi_socket_action and its own epoll set rather than
// curl_multi_poll/perform: each wakeup then costs O(ready sockets), not O(transfers)
// (docs/http.md, "Design choices").
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <functional>
#include <new>
#include <utility>

#include "client_impl.h"

namespace esper::http {

using std::chrono::milliseconds;

Status Client::Impl::Init() {
  multi_ = curl_multi_init();
  if (!multi_) return Error::ResourceExhausted("curl_multi_init failed");
  for (int has_body = 0; has_body < 2; ++has_body) {
    if (!BuildHeaderList({}, {}, has_body != 0, shared_headers_[has_body])) {
      return Error::ResourceExhausted("curl_slist_append: out of memory");
    }
  }
  curl_multi_setopt(multi_, CURLMOPT_MAX_TOTAL_CONNECTIONS, static_cast<long>(options_.max_connections));
  curl_multi_setopt(multi_, CURLMOPT_MAX_HOST_CONNECTIONS, static_cast<long>(options_.max_connections_per_host));
  long idle = options_.max_idle_connections > 0 ? options_.max_idle_connections
                                                 : 4L * std::max(options_.max_connections, 25);
  curl_multi_setopt(multi_, CURLMOPT_MAXCONNECTS, idle);
  curl_multi_setopt(multi_, CURLMOPT_PIPELINING, options_.http2 ? CURLPIPE_MULTIPLEX : CURLPIPE_NOTHING);
  // Event-driven: curl tells us which sockets to watch (epoll) and when its next timeout is.
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) return Error::FromErrno(errno, "epoll_create1");
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) return Error::FromErrno(errno, "eventfd");
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = wake_fd_;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev) != 0) return Error::FromErrno(errno, "epoll_ctl");
  curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, &Impl::OnSocket);
  curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, this);
  curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, &Impl::OnTimer);
  curl_multi_setopt(multi_, CURLMOPT_TIMERDATA, this);
  thread_ = std::thread([this] {
    NameThisThread("esper-http");
    Loop();
  });
  return OkStatus();
}

Client::Impl::~Impl() {
  if (ForkGeneration() != fork_generation_) {
    // A fork() child's copy: the loop thread is not in this process, and the connections are
    // the parent's too (closing them from here could end its TLS sessions and HTTP/2 streams).
    // Nothing is joined or closed; the child's memory goes when it exits.
    new (&thread_) std::thread();
    return;
  }
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  if (wake_fd_ >= 0) Wakeup();
  if (thread_.joinable()) thread_.join();
  easy_pool_.Clear();
  for (curl_slist* l : shared_headers_) curl_slist_free_all(l);
  if (multi_) curl_multi_cleanup(multi_);
  if (epoll_fd_ >= 0) close(epoll_fd_);
  if (wake_fd_ >= 0) close(wake_fd_);
}

// With mu_ held, after queueing work for the loop: whether the caller must Wakeup() once it has
// released mu_. One wakeup per batch (the loop takes everything queued when it wakes), and none
// on the loop thread itself (a callback submitting or cancelling): the loop looks again before it
// sleeps.
bool Client::Impl::ClaimWakeupLocked() {
  if (wakeup_pending_ || OnLoopThread()) return false;
  wakeup_pending_ = true;
  return true;
}

void Client::Impl::Wakeup() {
  uint64_t one = 1;
  ssize_t w = write(wake_fd_, &one, sizeof one);
  (void)w;  // EAGAIN: the counter is already non-zero, the loop will wake anyway
}

// ---- curl's socket and timer glue ----
//
// epoll bookkeeping per file descriptor. A socket curl stops watching (CURL_POLL_REMOVE: the
// transfer ended and the connection went back to the pool) stays registered, "parked", with its
// last interest: when curl reuses the connection it usually asks for the same interest again and
// no epoll_ctl is needed. An event on a parked socket (the server closed an idle connection)
// removes it from epoll; curl finds the connection dead when it next looks.

Client::Impl::FdState& Client::Impl::Fd(curl_socket_t s) {
  if (static_cast<size_t>(s) >= fds_.size()) fds_.resize(static_cast<size_t>(s) + 64);
  return fds_[static_cast<size_t>(s)];
}

int Client::Impl::OnSocket(CURL*, curl_socket_t s, int what, void* userp, void*) {
  auto* self = static_cast<Impl*>(userp);
  FdState& st = self->Fd(s);
  if (what == CURL_POLL_REMOVE) {
    st.parked = true;
    return 0;
  }
  const uint32_t want = ((what & CURL_POLL_IN) ? uint32_t{EPOLLIN} : 0u) |
                        ((what & CURL_POLL_OUT) ? uint32_t{EPOLLOUT} : 0u);
  st.parked = false;
  if (st.events == want && want != 0) return 0;
  epoll_event ev{};
  ev.events = want;
  ev.data.fd = s;
  int op = st.events == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
  if (epoll_ctl(self->epoll_fd_, op, s, &ev) != 0) {
    // Our record was stale (curl closed and reopened the fd number): try the other operation.
    op = op == EPOLL_CTL_ADD ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
    epoll_ctl(self->epoll_fd_, op, s, &ev);
  }
  st.events = want == 0 ? 0 : want;
  if (want == 0) epoll_ctl(self->epoll_fd_, EPOLL_CTL_DEL, s, nullptr);
  return 0;
}

// curl opens and closes sockets itself; these keep our epoll records true.
curl_socket_t Client::Impl::OnOpenSocket(void* userp, curlsocktype, curl_sockaddr* a) {
  auto* self = static_cast<Impl*>(userp);
  curl_socket_t s = socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
  if (s >= 0) self->Fd(s) = FdState{};
  return s;
}

int Client::Impl::OnCloseSocket(void* userp, curl_socket_t s) {
  auto* self = static_cast<Impl*>(userp);
  self->Fd(s) = FdState{};  // close() removes it from epoll
  return close(s);
}

int Client::Impl::OnTimer(CURLM*, long timeout_ms, void* userp) {
  auto* self = static_cast<Impl*>(userp);
  if (timeout_ms < 0) {
    self->curl_timer_armed_ = false;
  } else {
    self->curl_timer_armed_ = true;
    self->curl_timer_ = SteadyNow() + milliseconds(timeout_ms);
  }
  return 0;
}

// ---- the loop ----

void Client::Impl::Loop() {
  loop_id_.store(std::this_thread::get_id());
  std::vector<Transfer*> batch;
  std::deque<std::function<void()>> tasks;
  while (true) {
    bool stopping;
    uint64_t cancel_upto;
    bool cancel_flagged;
    {
      std::lock_guard lock(mu_);
      batch.assign(queue_.begin(), queue_.end());
      queue_.clear();
      tasks.swap(posted_);
      stopping = stopping_;
      wakeup_pending_ = false;
      cancel_upto = std::exchange(cancel_upto_, 0);
      cancel_flagged = std::exchange(cancel_flagged_, false);
    }
    for (Transfer* t : batch) {
      active_.insert(t);
      t->retry.emplace(t->policy->Start(t->host->budget.get(), t->deadline,
                                        resilience::RetryCallOptions{.idempotent = t->idempotent}));
      StartAttempt(t);
    }
    batch.clear();
    // Post()ed tasks, in order; those posted while they run wait for the next round (they are
    // in posted_ again, and the loop does not sleep while it holds any).
    for (auto& task : tasks) task();
    tasks.clear();
    if (stopping) break;
    if (cancel_upto != 0 || cancel_flagged) {
      CancelWhere([cancel_upto](const Transfer* t) {
        return t->seq <= cancel_upto || t->cancel_requested.load(std::memory_order_acquire);
      }, "cancelled");
    }
    FireTimers();
    // New transfers arm curl's timer at 0: run it now (this sends their requests) rather than
    // after a zero-timeout epoll_wait.
    if (curl_timer_armed_ && SteadyNow() >= curl_timer_) {
      curl_timer_armed_ = false;
      int running = 0;
      curl_multi_socket_action(multi_, CURL_SOCKET_TIMEOUT, 0, &running);
      DrainMessages();
    }
    // Sleep until a socket is ready, curl's next timeout, our next timer or a wakeup.
    long wait_ms = 1000;
    if (curl_timer_armed_) {
      auto d = std::chrono::ceil<milliseconds>(curl_timer_ - SteadyNow()).count();
      wait_ms = std::min<long>(wait_ms, std::max<long>(0, static_cast<long>(d)));
    }
    if (!timers_.empty()) {
      auto d = std::chrono::ceil<milliseconds>(timers_.front().when - options_.clock->Now()).count();
      wait_ms = std::min<long>(wait_ms, std::max<long>(0, static_cast<long>(d)));
      // A FakeClock moves without waking us: look again soon.
      if (options_.clock != &SystemClock()) wait_ms = std::min(wait_ms, 5L);
    }
    if (wait_ms > 0) {
      // Requests submitted (or cancelled) by callbacks during this iteration: go round again at once.
      std::lock_guard lock(mu_);
      if (!queue_.empty() || !posted_.empty() || cancel_upto_ != 0 || cancel_flagged_) wait_ms = 0;
    }
    int n = epoll_wait(epoll_fd_, events_.data(), static_cast<int>(events_.size()), static_cast<int>(wait_ms));
    int running = 0;
    for (int i = 0; i < n; ++i) {
      const epoll_event& ev = events_[static_cast<size_t>(i)];
      if (ev.data.fd == wake_fd_) {
        uint64_t v;
        ssize_t r = read(wake_fd_, &v, sizeof v);
        (void)r;
        continue;
      }
      FdState& st = Fd(ev.data.fd);
      if (st.parked) {
        epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, ev.data.fd, nullptr);
        st = FdState{};
        continue;
      }
      int flags = 0;
      if (ev.events & EPOLLIN) flags |= CURL_CSELECT_IN;
      if (ev.events & EPOLLOUT) flags |= CURL_CSELECT_OUT;
      if (ev.events & (EPOLLERR | EPOLLHUP)) flags |= CURL_CSELECT_ERR;
      curl_multi_socket_action(multi_, ev.data.fd, flags, &running);
    }
    if (curl_timer_armed_ && SteadyNow() >= curl_timer_) {
      curl_timer_armed_ = false;
      curl_multi_socket_action(multi_, CURL_SOCKET_TIMEOUT, 0, &running);
    }
    DrainMessages();
  }
  // Shutdown: fail everything still here.
  CancelWhere([](const Transfer*) { return true; }, "the client was destroyed before the request completed");
}

// Ends every active transfer `pred` picks with Cancelled ("<METHOD> <url>: <why>"): a running
// attempt is taken from curl (its connection closes), a backoff wait ends.
template <typename Pred>
void Client::Impl::CancelWhere(Pred pred, std::string_view why) {
  std::vector<Transfer*> victims;
  for (Transfer* t : active_) {
    if (pred(t)) victims.push_back(t);
  }
  if (victims.empty()) return;
  // A transfer without an easy handle is waiting for its retry timer: the timers go first, in one
  // pass, while every victim still exists.
  if (!timers_.empty()) {
    std::sort(victims.begin(), victims.end());
    std::erase_if(timers_, [&](const Timer& x) { return std::binary_search(victims.begin(), victims.end(), x.t); });
    std::make_heap(timers_.begin(), timers_.end(), std::greater<>{});
  }
  for (Transfer* t : victims) {
    if (t->handle.easy) {
      curl_multi_remove_handle(multi_, t->handle.easy);
      easy_pool_.Release(t->handle);
    }
    Abandon(t, Error::Cancelled(fmt::format("{} {}: {}", t->method, t->redacted_url, why)));
  }
}

void Client::Impl::DrainMessages() {
  int left = 0;
  while (CURLMsg* m = curl_multi_info_read(multi_, &left)) {
    if (m->msg != CURLMSG_DONE) continue;
    Transfer* t = nullptr;
    curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, reinterpret_cast<char**>(&t));
    OnAttemptDone(t, m->data.result);
  }
}

void Client::Impl::PushTimer(TimePoint when, Transfer* t) {
  timers_.push_back(Timer{when, ++timer_seq_, t});
  std::push_heap(timers_.begin(), timers_.end(), std::greater<>{});
}

void Client::Impl::FireTimers() {
  const TimePoint now = options_.clock->Now();
  while (!timers_.empty() && timers_.front().when <= now) {
    Transfer* t = timers_.front().t;
    std::pop_heap(timers_.begin(), timers_.end(), std::greater<>{});
    timers_.pop_back();
    StartAttempt(t);
  }
}

}  // namespace esper::http
