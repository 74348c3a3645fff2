// Private: the Client's implementation — one thread, one curl multi handle, a submission queue
// and a timer heap. Its jobs live in files of their own names:
//
//   client.cpp      the public Client methods, option validation, submission (validating a
//                   request on the caller's thread and queueing it), statistics
//   event_loop.cpp  the loop thread: epoll, the eventfd wakeup, curl's socket and timer glue,
//                   the retry-timer heap, draining finished transfers, shutdown
//   easy_pool.cpp   the pool of easy handles and the options a handle is set up with
//   body_io.cpp     what curl reads and writes: request bodies (memory / file / stream), response
//                   headers and bodies (memory / file / stream sink), the debug log
//   attempt.cpp     one attempt from start to outcome: deadline, breaker, retry decision,
//                   completion and the caller's callback
//
// Threads: the members under "loop thread only" are touched by the loop thread alone; mu_ guards
// the queue, hosts_mu_ the host map, stats_mu_ the per-host statistics.
#pragma once

#include <curl/curl.h>
#include <sys/epoll.h>

#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_set>
#include <vector>

#include "easy_pool.h"
#include "esper/core/thread.h"
#include "esper/http/client.h"
#include "transfer.h"

namespace esper::http {

class Client::Impl {
 public:
  using Transfer = detail::Transfer;
  using HostState = detail::HostState;
  using TimePoint = Clock::TimePoint;

  explicit Impl(ClientOptions options);
  ~Impl();  // event_loop.cpp

  // ---- client.cpp: submission and queries (any thread) ----
  Status Submit(Request request, Callback done);
  bool OnLoopThread() const { return std::this_thread::get_id() == loop_id_.load(); }
  ClientStats Stats() const;
  std::string BreakerStateOf(const std::string& url) const;
  int in_flight() const { return in_flight_.load(std::memory_order_acquire); }
  const ClientOptions& options() const { return options_; }

  // ---- client.cpp: cancellation (any thread) ----
  void CancelAll();
  Status Post(std::function<void()> task);
  /// From a request's stop callback: flags `t` and wakes the loop, which cancels it.
  void RequestCancel(Transfer* t);

  // ---- event_loop.cpp ----
  /// Creates the multi handle, epoll set and wakeup, and starts the loop thread.
  Status Init();

 private:
  // client.cpp
  static bool HasBody(const Request& r);
  template <typename Emit>
  void ForEachSentHeader(const Headers& own, const CallOptions& co, Emit&& emit) const;
  bool BuildHeaderList(const Headers& own, const CallOptions& co, bool has_body, curl_slist*& out) const;
  Status Prepare(Transfer& t, Request&& r);
  HostState* GetHost(const std::string& key);

  // event_loop.cpp
  struct FdState {
    uint32_t events = 0;  // registered interest; 0 = not in epoll
    bool parked = false;  // curl is not watching it
  };
  struct Timer {
    TimePoint when;
    uint64_t seq;
    Transfer* t;
    bool operator>(const Timer& o) const { return when != o.when ? when > o.when : seq > o.seq; }
  };
  void Wakeup();
  FdState& Fd(curl_socket_t s);
  static int OnSocket(CURL*, curl_socket_t s, int what, void* userp, void*);
  static curl_socket_t OnOpenSocket(void* userp, curlsocktype, curl_sockaddr* a);
  static int OnCloseSocket(void* userp, curl_socket_t s);
  static int OnTimer(CURLM*, long timeout_ms, void* userp);
  bool ClaimWakeupLocked();
  void Loop();
  void DrainMessages();
  void PushTimer(TimePoint when, Transfer* t);
  void FireTimers();
  template <typename Pred>
  void CancelWhere(Pred pred, std::string_view why);
  static TimePoint SteadyNow() { return std::chrono::steady_clock::now(); }

  // easy_pool.cpp
  static uint32_t EasyShape(const Transfer& t);
  void SetupEasy(Transfer* t, bool configured);

  // body_io.cpp
  static Status OpenFiles(Transfer* t);
  static void SetCallbackError(Transfer* t, Error e);
  static size_t OnHeader(char* p, size_t size, size_t n, void* ud);
  static int OnPrereq(void* ud, char* conn_primary_ip, char* conn_local_ip, int conn_primary_port, int conn_local_port);
  static size_t OnWrite(char* p, size_t size, size_t n, void* ud);
  static size_t OnRead(char* buf, size_t size, size_t n, void* ud);
  static int OnSeek(void* ud, curl_off_t offset, int origin);
  static int OnDebug(CURL*, curl_infotype type, char* data, size_t size, void* ud);

  // attempt.cpp
  void StartAttempt(Transfer* t);
  Status RunAttemptHook(Transfer* t);
  void OnAttemptDone(Transfer* t, CURLcode code);
  void Abandon(Transfer* t, Error e);
  void Finish(Transfer* t, Result<Response> result);

  ClientOptions options_;
  resilience::RetryPolicy policy_;
  CURLM* multi_ = nullptr;
  // The header lists of requests without headers of their own: [0] no body, [1] with a body.
  curl_slist* shared_headers_[2] = {nullptr, nullptr};
  // The proxy environment, read once (curl would getenv() up to six variables per request).
  detail::ProxyEnv proxy_env_ = detail::ProxyEnv::FromEnvironment();
  // libcurl < 8.0.0 cannot reuse an h2c (prior knowledge) connection: see SetupEasy.
  const bool h2c_reuse_broken_ = curl_version_info(CURLVERSION_NOW)->version_num < 0x080000;
  std::thread thread_;
  const uint64_t fork_generation_ = ForkGeneration();  // another value: a fork() child's copy
  std::atomic<std::thread::id> loop_id_{};
  std::atomic<int> in_flight_{0};

  std::mutex mu_;  // guards queue_, posted_, stopping_, the submission sequence and the cancel requests
  std::deque<Transfer*> queue_;
  std::deque<std::function<void()>> posted_;  // Post()ed tasks, run by the loop in order
  bool stopping_ = false;
  bool wakeup_pending_ = false;  // a wakeup is on its way
  uint64_t submit_seq_ = 0;      // Transfer::seq of the latest submission
  uint64_t cancel_upto_ = 0;     // CancelAll: cancel transfers with seq <= this (0 = none)
  bool cancel_flagged_ = false;  // a stop callback flagged a transfer

  mutable std::mutex hosts_mu_;  // guards hosts_ (the map; HostState objects live as long as the client)
  std::map<std::string, std::unique_ptr<HostState>> hosts_;
  mutable std::mutex stats_mu_;  // guards HostState::stats

  // Loop thread only.
  std::unordered_set<Transfer*> active_;
  std::vector<Timer> timers_;  // a min-heap (std::push_heap with std::greater): backoff waits
  uint64_t timer_seq_ = 0;
  detail::EasyPool easy_pool_;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  std::vector<epoll_event> events_ = std::vector<epoll_event>(512);
  bool curl_timer_armed_ = false;
  std::vector<FdState> fds_;
  TimePoint curl_timer_{};
};

}  // namespace esper::http
