#include "libcurl_alone.h"

#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>
#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <vector>

#include "testing/proc.h"

namespace esper::bench {

using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

Result<Throughput> LibcurlAloneRequestsPerSecond(const std::string& url, int n, std::chrono::milliseconds duration) {
  struct Loop {
    int epoll_fd = -1;
    // curl's timer is one-shot: armed by the timer callback, disarmed once it has run (a loop
    // that keeps waiting 0 ms on an old value busy-polls).
    bool timer_armed = false;
    SteadyClock::time_point timer_at;
    CURLM* multi = nullptr;
    std::vector<CURL*> easies;
    ~Loop() {
      for (CURL* e : easies) {
        curl_multi_remove_handle(multi, e);
        curl_easy_cleanup(e);
      }
      if (multi) curl_multi_cleanup(multi);
      if (epoll_fd >= 0) close(epoll_fd);
    }
  } loop;
  struct Slot {
    std::string body;
  };
  loop.epoll_fd = epoll_create1(EPOLL_CLOEXEC);
  loop.multi = curl_multi_init();
  if (loop.epoll_fd < 0 || !loop.multi) return Error::ResourceExhausted("bare libcurl loop: epoll or multi handle");
  auto on_socket = [](CURL*, curl_socket_t s, int what, void* user, void*) -> int {
    auto* l = static_cast<Loop*>(user);
    if (what == CURL_POLL_REMOVE) {
      epoll_ctl(l->epoll_fd, EPOLL_CTL_DEL, s, nullptr);
      return 0;
    }
    epoll_event ev{};
    ev.data.fd = s;
    ev.events = ((what & CURL_POLL_IN) ? EPOLLIN : 0u) | ((what & CURL_POLL_OUT) ? EPOLLOUT : 0u);
    if (epoll_ctl(l->epoll_fd, EPOLL_CTL_MOD, s, &ev) != 0) epoll_ctl(l->epoll_fd, EPOLL_CTL_ADD, s, &ev);
    return 0;
  };
  auto on_timer = [](CURLM*, long ms, void* user) -> int {
    auto* l = static_cast<Loop*>(user);
    l->timer_armed = ms >= 0;
    l->timer_at = SteadyClock::now() + std::chrono::milliseconds(ms);
    return 0;
  };
  auto on_write = [](char* p, size_t size, size_t count, void* user) -> size_t {
    static_cast<Slot*>(user)->body.append(p, size * count);
    return size * count;
  };
  curl_multi_setopt(loop.multi, CURLMOPT_SOCKETFUNCTION, +on_socket);
  curl_multi_setopt(loop.multi, CURLMOPT_SOCKETDATA, &loop);
  curl_multi_setopt(loop.multi, CURLMOPT_TIMERFUNCTION, +on_timer);
  curl_multi_setopt(loop.multi, CURLMOPT_TIMERDATA, &loop);
  curl_multi_setopt(loop.multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, static_cast<long>(n));
  std::vector<Slot> slots(static_cast<size_t>(n));
  for (Slot& slot : slots) {
    CURL* e = curl_easy_init();
    if (!e) return Error::ResourceExhausted("bare libcurl loop: easy handle");
    loop.easies.push_back(e);
    curl_easy_setopt(e, CURLOPT_URL, url.c_str());
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, +on_write);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &slot);
    curl_easy_setopt(e, CURLOPT_PRIVATE, &slot);
    curl_multi_add_handle(loop.multi, e);
  }
  uint64_t done = 0;
  uint64_t failed = 0;
  std::string first_error;
  int running = 0;
  const auto start = SteadyClock::now();
  const auto warm = start + std::min(duration / 5, std::chrono::milliseconds(300));
  auto t0 = warm;
  uint64_t d0 = 0;
  double c0 = 0;
  bool measuring = false;
  std::vector<epoll_event> events(512);
  auto drain = [&] {
    int queued = 0;
    while (CURLMsg* msg = curl_multi_info_read(loop.multi, &queued)) {
      if (msg->msg != CURLMSG_DONE) continue;
      CURL* e = msg->easy_handle;
      void* priv = nullptr;
      curl_easy_getinfo(e, CURLINFO_PRIVATE, &priv);
      auto* slot = static_cast<Slot*>(priv);
      long status = 0;
      curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
      if (msg->data.result == CURLE_OK && status == 200 && slot->body.size() == 1024) {
        ++done;
      } else if (failed++ == 0) {
        first_error = msg->data.result != CURLE_OK ? curl_easy_strerror(msg->data.result) : fmt::format("status {}", status);
      }
      slot->body.clear();
      curl_multi_remove_handle(loop.multi, e);
      curl_multi_add_handle(loop.multi, e);
    }
  };
  for (;;) {
    const auto now = SteadyClock::now();
    if (!measuring && now >= warm) {
      measuring = true;
      t0 = now;
      d0 = done;
      c0 = testing::CpuSeconds(RUSAGE_SELF);
    } else if (measuring && now - t0 >= duration) {
      if (failed > 0) return Error::Internal(fmt::format("{} bare libcurl requests failed; first: {}", failed, first_error));
      return FromCounts(done - d0, now - t0, testing::CpuSeconds(RUSAGE_SELF) - c0);
    }
    if (now - start > duration + 10s) return Error::Internal("bare libcurl loop did not finish");
    // Re-added handles arm the timer at 0: run it before sleeping, as our client does.
    if (loop.timer_armed && now >= loop.timer_at) {
      loop.timer_armed = false;
      curl_multi_socket_action(loop.multi, CURL_SOCKET_TIMEOUT, 0, &running);
      drain();
      continue;
    }
    long wait_ms = 100;
    if (loop.timer_armed) {
      wait_ms = std::clamp<long>(std::chrono::ceil<std::chrono::milliseconds>(loop.timer_at - now).count(), 0, 100);
    }
    int k = epoll_wait(loop.epoll_fd, events.data(), static_cast<int>(events.size()), static_cast<int>(wait_ms));
    for (int i = 0; i < k; ++i) {
      const uint32_t ev = events[static_cast<size_t>(i)].events;
      int flags = ((ev & EPOLLIN) ? CURL_CSELECT_IN : 0) | ((ev & EPOLLOUT) ? CURL_CSELECT_OUT : 0) |
                  ((ev & (EPOLLERR | EPOLLHUP)) ? CURL_CSELECT_ERR : 0);
      curl_multi_socket_action(loop.multi, events[static_cast<size_t>(i)].data.fd, flags, &running);
    }
    drain();
  }
}

Result<double> LibcurlAloneMemoryPerRequest(const std::string& url, int n, std::chrono::milliseconds hold) {
  int fds[2];
  if (pipe(fds) != 0) return Error::FromErrno(errno, "pipe");
  const pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    return Error::FromErrno(errno, "fork");
  }
  if (pid == 0) {
    close(fds[0]);
    auto discard = +[](char*, size_t a, size_t b, void*) -> size_t { return a * b; };
    CURLM* multi = curl_multi_init();
    auto make = [&](const std::string& u) {
      CURL* e = curl_easy_init();
      curl_easy_setopt(e, CURLOPT_URL, u.c_str());
      curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
      curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 60000L);
      curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
      return e;
    };
    // Warm up (allocator, connection machinery) with one request before the baseline, as ours.
    CURL* warm = make(url + "-warm");
    curl_easy_perform(warm);
    curl_easy_cleanup(warm);
    malloc_trim(0);  // free pages inherited from the parent's heap: see the http suite's MeasureMemory
    const size_t before = testing::RssBytes();
    size_t peak = before;
    for (int i = 0; i < n; ++i) curl_multi_add_handle(multi, make(url));
    const auto t0 = SteadyClock::now();
    int running = n;
    while (SteadyClock::now() - t0 < hold - 500ms && running > 0) {
      curl_multi_perform(multi, &running);
      curl_multi_poll(multi, nullptr, 0, 50, nullptr);
      peak = std::max(peak, testing::RssBytes());
    }
    const double kib = static_cast<double>(peak - before) / n / 1024.0;
    [[maybe_unused]] ssize_t w = write(fds[1], &kib, sizeof kib);
    _exit(running > 0 ? 0 : 3);  // no cleanup: the process ends here
  }
  close(fds[1]);
  double kib = 0;
  pollfd pfd{.fd = fds[0], .events = POLLIN, .revents = 0};
  const int ready = poll(&pfd, 1, static_cast<int>((hold + 30s).count()));
  const ssize_t got = ready > 0 ? read(fds[0], &kib, sizeof kib) : -1;
  close(fds[0]);
  if (ready <= 0) kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  if (got != static_cast<ssize_t>(sizeof kib)) return Error::Internal("libcurl-alone memory child gave no figure");
  if (WIFEXITED(status) && WEXITSTATUS(status) == 3) {
    return Error::Internal("libcurl-alone memory child: the requests ended before the measurement did");
  }
  return kib;
}

}  // namespace esper::bench
