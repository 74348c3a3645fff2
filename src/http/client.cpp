// The event loop: one thread, one curl multi handle, a submission queue and a timer heap.
//
// Ownership: a Transfer (one logical request with its retries) is created by the submitting
// thread, handed to the loop through `queue_` (mutex), and from then on touched only by the loop
// thread until Finish() deletes it after running the caller's callback.
#include "esper/http/client.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <initializer_list>
#include <map>
#include <mutex>
#include <new>
#include <queue>
#include <thread>
#include <unordered_set>
#include <vector>

#include "esper/core/thread.h"
#include "ascii.h"
#include "curl_error.h"

namespace esper::http {

using resilience::CircuitBreaker;
using resilience::Deadline;
using resilience::RetryBudget;
using resilience::RetryPolicy;
using resilience::RetryState;
using TimePoint = Clock::TimePoint;
using std::chrono::duration_cast;
using std::chrono::milliseconds;

namespace {

constexpr size_t kErrorBodyCap = 64 * 1024;
constexpr size_t kEasyPoolCap = 256;


bool IsRetryableStatus(long status) {
  return status == 429 || status == 502 || status == 503 || status == 504;
}

bool IsValidHeaderName(std::string_view name) {
  if (name.empty()) return false;
  // RFC 9110 token characters.
  return std::all_of(name.begin(), name.end(), [](char c) {
    return detail::IsAsciiAlnum(c) || std::strchr("!#$%&'*+-.^_`|~", c) != nullptr;
  });
}
bool IsValidHeaderValue(std::string_view v) {
  // A plain loop: find_first_of calls memchr once per character of the value.
  return std::none_of(v.begin(), v.end(), [](char c) { return c == '\r' || c == '\n' || c == '\0'; });
}

/// Redacts one line of curl's verbose log.
std::string RedactDebugLine(std::string_view line) {
  // Any header whose name mentions a credential: Authorization, Proxy-Authorization, Cookie,
  // Set-Cookie, X-Amz-Security-Token, X-Api-Key, X-Auth-Token, …
  static constexpr std::string_view kSecretWords[] = {"authorization", "cookie", "token", "secret",
                                                      "api-key", "apikey", "password", "signature"};
  size_t colon = line.find(':');
  if (colon != std::string_view::npos && line.substr(0, colon).find(' ') == std::string_view::npos) {
    const std::string name = detail::AsciiLowerCopy(line.substr(0, colon));
    for (auto w : kSecretWords) {
      if (name.find(w) != std::string::npos) return fmt::format("{}: ***", line.substr(0, colon));
    }
  }
  // Request lines ("GET /path?X-Amz-Signature=… HTTP/1.1") and anything else with a query.
  if (line.find('?') != std::string_view::npos || line.find('@') != std::string_view::npos) {
    return RedactUrl(line);
  }
  return std::string(line);
}


}  // namespace

struct HostState {
  std::string key;
  // From the key, for messages and the handle's shape; set once when the host is first seen.
  std::string host_name;
  long port = 0;
  bool https = false;
  std::unique_ptr<RetryBudget> budget;
  std::unique_ptr<CircuitBreaker> breaker;  // null when breaker_per_host is off
  HostStats stats;                          // guarded by Client::Impl::stats_mu_
};

// What a curl easy handle carries besides itself, allocated with it.
struct EasyExtras {
  char errbuf[CURL_ERROR_SIZE] = {};  // its CURLOPT_ERRORBUFFER
  // Its CURLOPT_CURLU: the request URL parsed by curl's own parser, and the text it was parsed
  // from. Given a parsed URL, libcurl 7.88 skips parsing the text and printing it back normalised
  // (~6k instructions a request), and a handle reused for the same URL skips the parse too
  // (~12k in all; docs/http.md, eighth session). curl copies it per transfer (a redirect changes
  // the copy) and never changes it.
  CURLU* url = nullptr;
  std::string url_text;

  EasyExtras() = default;
  EasyExtras(const EasyExtras&) = delete;
  EasyExtras& operator=(const EasyExtras&) = delete;
  ~EasyExtras() { curl_url_cleanup(url); }
};

// A curl easy handle and what travels with it between the client's pool and a transfer.
// Whoever holds it calls curl_easy_cleanup before `extras` goes.
struct EasyHandle {
  CURL* easy = nullptr;
  uint32_t shape = 0;  // EasyShape() of the request it was last set up for
  std::unique_ptr<EasyExtras> extras;
};

// One request from Submit to Finish. Kept under 1,000 bytes: a larger block is a "large" chunk
// to glibc's malloc, which then consolidates its fast bins on every allocation the per-thread
// cache cannot serve (about 1k instructions a request at 64 in flight); rarely used parts live
// behind pointers, the curl error buffer with the handle.
struct Transfer {
  Client::Impl* impl = nullptr;
  Request req;
  Client::Callback done;
  std::string url;           // final URL with the query
  std::string redacted_url;  // for messages
  std::string_view method;
  HostState* host = nullptr;
  std::unique_ptr<RetryPolicy> own_policy;  // when CallOptions::max_attempts overrides
  const RetryPolicy* policy = nullptr;
  std::optional<RetryState> retry;
  Deadline deadline;
  TimePoint submitted{};
  milliseconds per_try{0};
  curl_slist* header_list = nullptr;

  // The current attempt.
  EasyHandle handle;  // easy null between attempts
  std::optional<CircuitBreaker::Permit> permit;
  Response resp;
  std::unique_ptr<Error> callback_error;  // a Body / Sink callback failed
  milliseconds attempt_timeout{0};
  TimePoint attempt_start{};
  int status_seen = -1;     // status known at the first body byte
  int out_fd = -1;
  int in_fd = -1;
  bool idempotent = true;
  bool owns_header_list = true;  // false: one of the client's shared lists (see Impl::shared_headers_)
  bool divert_body = false;      // body goes to resp.body (error / retryable response), not the sink
  bool attempt_limited_by_deadline = false;
  bool stream_touched = false;  // a stream body has been read (needs a rewind to resend)
  uint64_t in_size = 0;
  uint64_t in_off = 0;
  uint64_t stream_read = 0;     // bytes produced by a stream body in this attempt
  uint64_t sink_delivered = 0;  // bytes handed to a stream sink (all attempts)
  uint64_t bytes_in_total = 0;

  ~Transfer() {
    if (header_list && owns_header_list) curl_slist_free_all(header_list);
    if (out_fd >= 0) close(out_fd);
    if (in_fd >= 0) close(in_fd);
  }
};
static_assert(sizeof(Transfer) <= 1000, "see the comment above Transfer");

// The proxy settings curl takes from the environment, with its rules (curl 7.88 detect_proxy):
// http:// uses http_proxy (lower case only: HTTP_PROXY can be set by a CGI request, "httpoxy"),
// https:// uses https_proxy or HTTPS_PROXY; either falls back to all_proxy / ALL_PROXY; hosts in
// no_proxy / NO_PROXY go direct. Empty variables count as unset.
struct ProxyEnv {
  std::string http, https, no_proxy;

  static ProxyEnv FromEnvironment() {
    auto get = [](std::initializer_list<const char*> names) -> std::string {
      for (const char* n : names) {
        const char* v = std::getenv(n);
        if (v && *v) return v;
      }
      return {};
    };
    ProxyEnv p;
    const std::string all = get({"all_proxy", "ALL_PROXY"});
    p.http = get({"http_proxy"});
    if (p.http.empty()) p.http = all;
    p.https = get({"https_proxy", "HTTPS_PROXY"});
    if (p.https.empty()) p.https = all;
    p.no_proxy = get({"no_proxy", "NO_PROXY"});
    return p;
  }
};

class Client::Impl {
 public:
  explicit Impl(ClientOptions options) : options_(std::move(options)), policy_(MakePolicy(options_)) {}

  static RetryPolicy MakePolicy(const ClientOptions& o) {
    resilience::RetryOptions r = o.retry;
    r.per_try_timeout = Clock::Duration::zero();  // the loop sets per-try limits itself
    return RetryPolicy(r);
  }

  Status Init() {
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
    // Event-driven: curl tells us which sockets to watch (epoll) and when its next timeout is,
    // so each wakeup costs O(ready sockets), not O(transfers) as curl_multi_poll/perform would.
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

  void Wakeup() {
    uint64_t one = 1;
    ssize_t w = write(wake_fd_, &one, sizeof one);
    (void)w;  // EAGAIN: the counter is already non-zero, the loop will wake anyway
  }

  // epoll bookkeeping per file descriptor. A socket curl stops watching (CURL_POLL_REMOVE: the
  // transfer ended and the connection went back to the pool) stays registered, "parked", with its
  // last interest: when curl reuses the connection it usually asks for the same interest again
  // and no epoll_ctl is needed. An event on a parked socket (the server closed an idle
  // connection) removes it from epoll; curl finds the connection dead when it next looks.
  struct FdState {
    uint32_t events = 0;   // registered interest; 0 = not in epoll
    bool parked = false;   // curl is not watching it
  };

  FdState& Fd(curl_socket_t s) {
    if (static_cast<size_t>(s) >= fds_.size()) fds_.resize(static_cast<size_t>(s) + 64);
    return fds_[static_cast<size_t>(s)];
  }

  static int OnSocket(CURL*, curl_socket_t s, int what, void* userp, void*) {
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
  static curl_socket_t OnOpenSocket(void* userp, curlsocktype, curl_sockaddr* a) {
    auto* self = static_cast<Impl*>(userp);
    curl_socket_t s = socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
    if (s >= 0) self->Fd(s) = FdState{};
    return s;
  }
  static int OnCloseSocket(void* userp, curl_socket_t s) {
    auto* self = static_cast<Impl*>(userp);
    self->Fd(s) = FdState{};  // close() removes it from epoll
    return close(s);
  }

  static int OnTimer(CURLM*, long timeout_ms, void* userp) {
    auto* self = static_cast<Impl*>(userp);
    if (timeout_ms < 0) {
      self->curl_timer_armed_ = false;
    } else {
      self->curl_timer_armed_ = true;
      self->curl_timer_ = SteadyNow() + milliseconds(timeout_ms);
    }
    return 0;
  }

  ~Impl() {
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
    for (const EasyHandle& p : easy_pool_) curl_easy_cleanup(p.easy);
    for (curl_slist* l : shared_headers_) curl_slist_free_all(l);
    if (multi_) curl_multi_cleanup(multi_);
    if (epoll_fd_ >= 0) close(epoll_fd_);
    if (wake_fd_ >= 0) close(wake_fd_);
  }

  // ---- submission (any thread) ----

  Status Submit(Request request, Callback done) {
    if (!done) return Error::InvalidArgument("SendAsync: the callback is empty");
    if (ForkGeneration() != fork_generation_) [[unlikely]] {
      return Error::FailedPrecondition(
          "http::Client: this process is a fork() child of the one that created the client, and the "
          "client's event-loop thread did not come with it; create a Client in this process");
    }
    auto t = std::make_unique<Transfer>();
    t->impl = this;
    t->done = std::move(done);
    t->req = std::move(request);
    ESPER_RETURN_IF_ERROR(Prepare(*t));
    int now = in_flight_.fetch_add(1, std::memory_order_acq_rel) + 1;
    if (now > options_.max_in_flight) {
      in_flight_.fetch_sub(1, std::memory_order_acq_rel);
      return Error::ResourceExhausted(fmt::format(
          "{} {}: {} requests already in flight (max_in_flight)", t->method, t->redacted_url,
          options_.max_in_flight));
    }
    {
      std::lock_guard lock(mu_);
      if (stopping_) {
        in_flight_.fetch_sub(1, std::memory_order_acq_rel);
        return Error::Cancelled(fmt::format("{} {}: the client is shutting down", t->method, t->redacted_url));
      }
      {
        std::lock_guard slock(stats_mu_);
        ++t->host->stats.requests;
      }
      queue_.push_back(t.release());
      // One wakeup per batch: the loop drains the whole queue when it wakes. On the loop thread
      // itself (a callback submitting more) no wakeup is needed: the loop looks at the queue
      // before it sleeps.
      if (wakeup_pending_ || OnLoopThread()) return OkStatus();
      wakeup_pending_ = true;
    }
    Wakeup();
    return OkStatus();
  }

  bool OnLoopThread() const { return std::this_thread::get_id() == loop_id_.load(); }

  ClientStats Stats() const {
    ClientStats out;
    std::lock_guard hl(hosts_mu_);
    std::lock_guard sl(stats_mu_);
    for (const auto& [key, h] : hosts_) {
      HostStats s = h->stats;
      s.retries_denied = h->budget->stats().retries_denied;
      s.breaker_state = h->breaker ? detail::AsciiLowerCopy(resilience::BreakerStateName(h->breaker->state()))
                                   : "disabled";
      out.emplace(key, std::move(s));
    }
    return out;
  }

  std::string BreakerStateOf(const std::string& url) const {
    auto key = HostKey(url);
    if (!key) return "unknown";
    std::lock_guard hl(hosts_mu_);
    auto it = hosts_.find(*key);
    if (it == hosts_.end() || !it->second->breaker) return "disabled";
    return detail::AsciiLowerCopy(resilience::BreakerStateName(it->second->breaker->state()));
  }

  int in_flight() const { return in_flight_.load(std::memory_order_acquire); }
  const ClientOptions& options() const { return options_; }

 private:
  // Whether curl sends a body (possibly empty): a body was given, or the method carries one.
  static bool HasBody(const Request& r) {
    return r.body.kind() != Body::Kind::kNone || r.method == Method::kPost || r.method == Method::kPut ||
           r.method == Method::kPatch;
  }
  // curl: "Name;" sends an empty header, "Name:" would remove it.
  static std::string HeaderLine(std::string_view k, std::string_view v) {
    return v.empty() ? fmt::format("{};", k) : fmt::format("{}: {}", k, v);
  }
  // Appends `line`. Out of memory: frees the list, leaves it null and returns false (appending
  // to a null list after that would only start a new one; callers stop at the first false).
  static bool AppendHeader(curl_slist*& list, const std::string& line) {
    curl_slist* n = curl_slist_append(list, line.c_str());
    if (!n) curl_slist_free_all(list);
    list = n;
    return n != nullptr;
  }
  // The request's header list (headers and trace context already validated): the defaults it
  // does not override, its own headers, traceparent/tracestate, then User-Agent (a header line
  // rather than CURLOPT_USERAGENT, which curl would format anew for every request) unless one is
  // given, and for requests with a body no "Expect: 100-continue" round trip and no made-up form
  // Content-Type. `out` may be null (nothing to send). false: out of memory (nothing allocated).
  bool BuildHeaderList(const Headers& request_headers, const CallOptions& co, bool has_body,
                       curl_slist*& out) const {
    curl_slist* list = nullptr;
    bool ok = true;
    for (const auto& [k, v] : options_.default_headers) {
      if (!FindHeader(request_headers, k)) ok = ok && AppendHeader(list, HeaderLine(k, v));
    }
    for (const auto& [k, v] : request_headers) ok = ok && AppendHeader(list, HeaderLine(k, v));
    if (!co.traceparent.empty() && !FindHeader(request_headers, "traceparent")) {
      ok = ok && AppendHeader(list, HeaderLine("traceparent", co.traceparent));
      if (!co.tracestate.empty()) ok = ok && AppendHeader(list, HeaderLine("tracestate", co.tracestate));
    }
    if (!options_.user_agent.empty() && !FindHeader(request_headers, "User-Agent") &&
        !FindHeader(options_.default_headers, "User-Agent")) {
      ok = ok && AppendHeader(list, "User-Agent: " + options_.user_agent);
    }
    if (has_body) {
      ok = ok && AppendHeader(list, "Expect:");
      if (!FindHeader(request_headers, "Content-Type") && !FindHeader(options_.default_headers, "Content-Type")) {
        ok = ok && AppendHeader(list, "Content-Type:");
      }
    }
    out = list;
    return ok;
  }

  // Validates the request and fills the Transfer (caller's thread).
  Status Prepare(Transfer& t) {
    Request& r = t.req;
    t.method = MethodName(r.method);
    ESPER_ASSIGN_OR_RETURN(std::string abs, ResolveUrl(options_.base_url, r.url));
    t.url = AppendQuery(std::move(abs), r.query);
    t.redacted_url = RedactUrl(t.url);
    ESPER_ASSIGN_OR_RETURN(std::string key, HostKey(t.url));
    if (r.method == Method::kHead && r.body.kind() != Body::Kind::kNone) {
      return Error::InvalidArgument(fmt::format("HEAD {}: a HEAD request cannot carry a body", t.redacted_url));
    }
    if (r.sink.kind() == Sink::Kind::kStream && !r.sink.write_fn()) {
      return Error::InvalidArgument(fmt::format("{} {}: the stream sink has no write function", t.method, t.redacted_url));
    }
    if (r.sink.kind() == Sink::Kind::kFile && r.sink.path().empty()) {
      return Error::InvalidArgument(fmt::format("{} {}: the file sink has an empty path", t.method, t.redacted_url));
    }
    if (r.body.kind() == Body::Kind::kStream && !r.body.read_fn()) {
      return Error::InvalidArgument(fmt::format("{} {}: the stream body has no read function", t.method, t.redacted_url));
    }
    const CallOptions& co = r.options;
    if (!co.traceparent.empty() && !IsValidTraceparent(co.traceparent)) {
      return Error::InvalidArgument(fmt::format(
          "{} {}: traceparent '{}' is not a valid W3C version-00 traceparent "
          "(00-<32 hex>-<16 hex>-<2 hex>)", t.method, t.redacted_url, co.traceparent));
    }
    if (!IsValidHeaderValue(co.tracestate)) {
      return Error::InvalidArgument(fmt::format("{} {}: tracestate contains CR/LF", t.method, t.redacted_url));
    }
    if (co.timeout && co.timeout->count() <= 0) {
      return Error::InvalidArgument(fmt::format("{} {}: timeout must be > 0", t.method, t.redacted_url));
    }
    if (co.max_attempts && (*co.max_attempts < 1 || *co.max_attempts > 100)) {
      return Error::InvalidArgument(fmt::format("{} {}: max_attempts must be 1..100", t.method, t.redacted_url));
    }
    // Headers: defaults not overridden, then the request's, then ours. A request with no headers
    // of its own (the common case) shares a list built once at Create.
    const bool has_body = HasBody(r);
    for (const auto& [k, v] : r.headers) {  // the defaults were validated by Create()
      if (!IsValidHeaderName(k)) {
        return Error::InvalidArgument(fmt::format("{} {}: invalid header name '{}'", t.method, t.redacted_url, k));
      }
      if (!IsValidHeaderValue(v)) {
        return Error::InvalidArgument(fmt::format(
            "{} {}: the value of header '{}' contains CR, LF or NUL", t.method, t.redacted_url, k));
      }
    }
    if (r.headers.empty() && co.traceparent.empty()) {
      t.header_list = shared_headers_[has_body ? 1 : 0];
      t.owns_header_list = false;
    } else if (!BuildHeaderList(r.headers, co, has_body, t.header_list)) {
      return Error::ResourceExhausted("curl_slist_append: out of memory");
    }

    t.host = GetHost(key);
    t.idempotent = IsIdempotent(r.method) || co.retry_safe;
    if (co.max_attempts) {
      resilience::RetryOptions ro = policy_.options();
      ro.max_attempts = *co.max_attempts;
      t.own_policy = std::make_unique<RetryPolicy>(ro);
      t.policy = t.own_policy.get();
    } else {
      t.policy = &policy_;
    }
    Clock& clock = *options_.clock;
    t.submitted = clock.Now();
    milliseconds overall = co.overall_timeout.value_or(options_.overall_timeout);
    t.deadline = overall.count() > 0 ? Deadline::After(overall, clock) : Deadline::Infinite(clock);
    if (co.deadline) t.deadline = Deadline::Earlier(t.deadline, *co.deadline);
    t.per_try = co.timeout.value_or(options_.request_timeout);
    return OkStatus();
  }

  HostState* GetHost(const std::string& key) {
    std::lock_guard lock(hosts_mu_);
    auto& slot = hosts_[key];
    if (!slot) {
      slot = std::make_unique<HostState>();
      slot->key = key;
      // "scheme://host:port"
      const size_t sep = key.find("://");
      const size_t colon = key.rfind(':');
      slot->host_name = key.substr(sep + 3, colon - sep - 3);
      slot->port = std::strtol(key.c_str() + colon + 1, nullptr, 10);
      slot->https = key.compare(0, sep, "https") == 0;
      slot->budget = std::make_unique<RetryBudget>(options_.retry_budget);
      if (options_.breaker_per_host) {
        resilience::CircuitBreakerOptions bo = options_.breaker;
        bo.name = key;
        slot->breaker = std::make_unique<CircuitBreaker>(std::move(bo), *options_.clock);
      }
    }
    return slot.get();
  }

  // ---- the loop thread ----

  void Loop() {
    loop_id_.store(std::this_thread::get_id());
    std::vector<Transfer*> batch;
    while (true) {
      bool stopping;
      {
        std::lock_guard lock(mu_);
        batch.assign(queue_.begin(), queue_.end());
        queue_.clear();
        stopping = stopping_;
        wakeup_pending_ = false;
      }
      for (Transfer* t : batch) {
        active_.insert(t);
        t->retry.emplace(t->policy->Start(t->host->budget.get(), t->deadline,
                                          resilience::RetryCallOptions{.idempotent = t->idempotent}));
        StartAttempt(t);
      }
      batch.clear();
      if (stopping) break;
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
        auto d = std::chrono::ceil<milliseconds>(timers_.top().when - options_.clock->Now()).count();
        wait_ms = std::min<long>(wait_ms, std::max<long>(0, static_cast<long>(d)));
        // A FakeClock moves without waking us: look again soon.
        if (options_.clock != &SystemClock()) wait_ms = std::min(wait_ms, 5L);
      }
      if (wait_ms > 0) {
        // Requests submitted by callbacks during this iteration: go round again at once.
        std::lock_guard lock(mu_);
        if (!queue_.empty()) wait_ms = 0;
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
    std::vector<Transfer*> all(active_.begin(), active_.end());
    for (Transfer* t : all) {
      if (t->handle.easy) {
        curl_multi_remove_handle(multi_, t->handle.easy);
        ReleaseEasy(t);
      }
      Abandon(t, Error::Cancelled(fmt::format("{} {}: the client was destroyed before the request completed",
                                              t->method, t->redacted_url)));
    }
    while (!timers_.empty()) timers_.pop();
  }

  void DrainMessages() {
    int left = 0;
    while (CURLMsg* m = curl_multi_info_read(multi_, &left)) {
      if (m->msg != CURLMSG_DONE) continue;
      Transfer* t = nullptr;
      curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, reinterpret_cast<char**>(&t));
      OnAttemptDone(t, m->data.result);
    }
  }

  struct Timer {
    TimePoint when;
    uint64_t seq;
    Transfer* t;
    bool operator>(const Timer& o) const { return when != o.when ? when > o.when : seq > o.seq; }
  };

  void FireTimers() {
    const TimePoint now = options_.clock->Now();
    while (!timers_.empty() && timers_.top().when <= now) {
      Transfer* t = timers_.top().t;
      timers_.pop();
      StartAttempt(t);
    }
  }

  // What decides which options SetupEasy sets (rather than only their values): method, body kind,
  // https. A pooled handle last set up for the same shape still carries every option that is the
  // same for all transfers of that shape (callbacks, timeouts, TLS, proxy, method...), so only the
  // per-transfer values are set again, and it needs no curl_easy_reset (together a few % of a
  // small request's CPU); curl itself resets the per-transfer state when the handle is added again.
  static uint32_t EasyShape(const Transfer& t) {
    return static_cast<uint32_t>(t.req.method) << 8 | static_cast<uint32_t>(t.req.body.kind()) << 1 |
           (t.host->https ? 1u : 0u);
  }

  // Gives `t` a handle for t->handle.shape; returns whether it already carries the options
  // SetupEasy sets once per handle (false for a new or reset handle). t->handle.easy stays null
  // when curl_easy_init fails.
  bool AcquireEasy(Transfer* t) {
    const uint32_t shape = t->handle.shape;
    // Look at the few most recently used handles for one of the same shape.
    const size_t look = std::min<size_t>(easy_pool_.size(), 4);
    for (size_t k = easy_pool_.size(); k-- > easy_pool_.size() - look;) {
      if (easy_pool_[k].shape != shape) continue;
      t->handle = std::move(easy_pool_[k]);
      easy_pool_.erase(easy_pool_.begin() + static_cast<std::ptrdiff_t>(k));
      return true;
    }
    if (easy_pool_.empty()) {
      t->handle.easy = curl_easy_init();
      if (t->handle.easy) t->handle.extras = std::make_unique<EasyExtras>();
    } else {
      t->handle = std::move(easy_pool_.back());
      easy_pool_.pop_back();
      t->handle.shape = shape;
      curl_easy_reset(t->handle.easy);
    }
    return false;
  }

  // Takes t->handle back: into the pool, or cleaned up when the pool is full or the handle is not
  // `reusable` (set up for a shape but without that shape's options).
  void ReleaseEasy(Transfer* t, bool reusable = true) {
    if (!t->handle.easy) return;
    if (reusable && easy_pool_.size() < kEasyPoolCap) {
      easy_pool_.push_back(std::move(t->handle));
    } else {
      curl_easy_cleanup(t->handle.easy);
    }
    t->handle = EasyHandle{};
  }

  // Ends `t` with `e` where no attempt is running (any handle already released): gives its
  // breaker permit back unused, then finishes.
  void Abandon(Transfer* t, Error e) {
    if (t->permit) t->permit->Release();
    t->permit.reset();
    Finish(t, std::move(e));
  }

  void StartAttempt(Transfer* t) {
    const int attempt = t->retry->attempts();
    if (t->deadline.expired()) {
      Finish(t, t->deadline.ExceededError(fmt::format(
                    "{} {}: overall deadline reached before attempt {}", t->method, t->redacted_url, attempt)));
      return;
    }
    {
      std::lock_guard lock(stats_mu_);
      ++t->host->stats.attempts;
      if (attempt > 1) ++t->host->stats.retries;
    }
    if (t->host->breaker) {
      auto permit = t->host->breaker->TryAcquire();
      if (!permit) {
        {
          std::lock_guard lock(stats_mu_);
          ++t->host->stats.breaker_rejections;
        }
        Finish(t, Error(permit.error()).Wrap(fmt::format("{} {}", t->method, t->redacted_url)));
        return;
      }
      t->permit.emplace(std::move(*permit));
    }
    // Reset the per-attempt state.
    t->resp = Response{};
    t->status_seen = -1;
    t->divert_body = false;
    t->callback_error.reset();
    t->in_off = 0;
    t->stream_read = 0;
    if (Status s = OpenFiles(t); !s) {
      Abandon(t, s.error());
      return;
    }
    // Per-try limit: the smaller of the per-try timeout and what the deadline leaves.
    t->attempt_timeout = t->per_try;
    t->attempt_limited_by_deadline = false;
    if (!t->deadline.infinite()) {
      auto left = duration_cast<milliseconds>(t->deadline.remaining());
      if (left < t->attempt_timeout) {
        t->attempt_timeout = std::max(left, milliseconds(1));
        t->attempt_limited_by_deadline = true;
      }
    }
    t->attempt_start = SteadyNow();
    t->handle.shape = EasyShape(*t);
    const bool configured = AcquireEasy(t);
    if (!t->handle.easy) {
      Abandon(t, Error::ResourceExhausted("curl_easy_init failed"));
      return;
    }
    t->handle.extras->errbuf[0] = '\0';
    if (CURLUcode uc = SetUrl(t); uc != CURLUE_OK) {
      // Prepare checked the URL (HostKey), so this is out of memory, or a URL only curl's parser
      // refuses, as curl would have refused it given the text. The handle may not carry its
      // shape's options yet (SetupEasy has not run), so it is not pooled.
      ReleaseEasy(t, configured);
      std::string what = fmt::format("{} {}: curl_url_set: {}", t->method, t->redacted_url, curl_url_strerror(uc));
      Abandon(t, uc == CURLUE_OUT_OF_MEMORY ? Error::ResourceExhausted(std::move(what))
                                            : Error::InvalidArgument(std::move(what)));
      return;
    }
    SetupEasy(t, configured);
    CURLMcode mc = curl_multi_add_handle(multi_, t->handle.easy);
    if (mc != CURLM_OK) {
      ReleaseEasy(t);
      Abandon(t, Error::Internal(fmt::format("{} {}: curl_multi_add_handle: {}", t->method, t->redacted_url,
                                             curl_multi_strerror(mc))));
    }
  }

  static TimePoint SteadyNow() { return std::chrono::steady_clock::now(); }

  Status OpenFiles(Transfer* t) {
    const Request& r = t->req;
    if (r.body.kind() == Body::Kind::kFile) {
      if (t->in_fd < 0) {
        t->in_fd = open(r.body.path().c_str(), O_RDONLY | O_CLOEXEC);
        if (t->in_fd < 0) {
          return Error::FromErrno(errno, fmt::format("{} {}: open request body {}", t->method,
                                                     t->redacted_url, r.body.path()));
        }
        struct stat st {};
        if (fstat(t->in_fd, &st) != 0) {
          return Error::FromErrno(errno, fmt::format("stat request body {}", r.body.path()));
        }
        t->in_size = static_cast<uint64_t>(st.st_size);
      }
    }
    if (r.body.kind() == Body::Kind::kStream && t->stream_touched) {
      if (!r.body.rewind_fn()) {
        return Error::FailedPrecondition(fmt::format("{} {}: the stream body cannot be rewound for a retry",
                                                     t->method, t->redacted_url));
      }
      if (Status s = r.body.rewind_fn()(); !s) {
        return Error(s.error()).Wrap(fmt::format("{} {}: rewind the request body", t->method, t->redacted_url));
      }
      t->stream_touched = false;
    }
    if (r.sink.kind() == Sink::Kind::kFile) {
      if (t->out_fd < 0) {
        t->out_fd = open(r.sink.path().c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (t->out_fd < 0) {
          return Error::FromErrno(errno, fmt::format("{} {}: open response file {}", t->method,
                                                     t->redacted_url, r.sink.path()));
        }
      } else {
        // A retry: start the file over.
        if (ftruncate(t->out_fd, 0) != 0 || lseek(t->out_fd, 0, SEEK_SET) != 0) {
          return Error::FromErrno(errno, fmt::format("truncate response file {}", r.sink.path()));
        }
      }
    }
    return OkStatus();
  }

  // Makes t->handle's parsed URL t->url (see EasyExtras), parsing only when it holds another.
  static CURLUcode SetUrl(Transfer* t) {
    EasyExtras& x = *t->handle.extras;
    if (x.url_text == t->url) return CURLUE_OK;
    x.url_text.clear();
    if (!x.url && !(x.url = curl_url())) return CURLUE_OUT_OF_MEMORY;
    // The same parse (and flags) as HostKeyByCurl; t->url is absolute, so nothing of the URL
    // the handle held before carries over.
    if (CURLUcode uc = curl_url_set(x.url, CURLUPART_URL, t->url.c_str(), 0); uc != CURLUE_OK) return uc;
    x.url_text = t->url;
    return CURLUE_OK;
  }

  // Sets `t`'s options on t->handle.easy. The options that are the same for every transfer of its
  // EasyShape() are set only when the handle is not `configured` yet (see AcquireEasy).
  void SetupEasy(Transfer* t, bool configured) {
    CURL* e = t->handle.easy;
    const Request& r = t->req;
    const bool has_body = HasBody(r);
    // Per transfer.
    curl_easy_setopt(e, CURLOPT_PRIVATE, t);
    curl_easy_setopt(e, CURLOPT_CURLU, t->handle.extras->url);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->header_list);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, t);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(t->attempt_timeout.count()));
    if (options_.debug_log) curl_easy_setopt(e, CURLOPT_DEBUGDATA, t);
    if (has_body) {
      switch (r.body.kind()) {
        case Body::Kind::kNone:
          curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(0));
          curl_easy_setopt(e, CURLOPT_POSTFIELDS, "");
          break;
        case Body::Kind::kMemory:
          curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(r.body.data()->size()));
          curl_easy_setopt(e, CURLOPT_POSTFIELDS, r.body.data()->data());
          t->resp.bytes_sent = r.body.data()->size();
          break;
        case Body::Kind::kFile:
        case Body::Kind::kStream: {
          curl_off_t size = -1;  // chunked
          if (r.body.kind() == Body::Kind::kFile) size = static_cast<curl_off_t>(t->in_size);
          if (r.body.kind() == Body::Kind::kStream && r.body.stream_size()) {
            size = static_cast<curl_off_t>(*r.body.stream_size());
          }
          curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, size);
          curl_easy_setopt(e, CURLOPT_READDATA, t);
          curl_easy_setopt(e, CURLOPT_SEEKDATA, t);
          break;
        }
      }
    }
    if (configured) return;

    // Per handle and shape.
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->handle.extras->errbuf);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, &Impl::OnOpenSocket);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, this);
    curl_easy_setopt(e, CURLOPT_CLOSESOCKETFUNCTION, &Impl::OnCloseSocket);
    curl_easy_setopt(e, CURLOPT_CLOSESOCKETDATA, this);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &Impl::OnWrite);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &Impl::OnHeader);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.connect_timeout.count()));
    if (options_.stall_time.count() > 0) {
      curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, static_cast<long>(options_.stall_bytes_per_second));
      curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, static_cast<long>(options_.stall_time.count()));
    }
    if (options_.keep_alive) {
      curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    } else {
      curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
    }
    // 2_PRIOR_KNOWLEDGE: h2c for http://, ALPN as with 2TLS for https://.
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION,
                     !options_.http2                ? CURL_HTTP_VERSION_1_1
                     : options_.http2_cleartext     ? CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE
                                                    : CURL_HTTP_VERSION_2TLS);
    const bool https = t->host->https;
    // Explicit values (empty = none) stop curl's per-request environment lookup.
    curl_easy_setopt(e, CURLOPT_PROXY, (https ? proxy_env_.https : proxy_env_.http).c_str());
    curl_easy_setopt(e, CURLOPT_NOPROXY, proxy_env_.no_proxy.c_str());
    if (options_.http2_cleartext && !https && h2c_reuse_broken_) {
      // libcurl 7.88.x fails every request that reuses an h2c connection (curl issue #10634,
      // fixed in 8.0.0): one connection per request, correct but without multiplexing.
      curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
      curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
    } else if (options_.http2 && (options_.http2_cleartext || https)) {
      // Wait for a connection that may multiplex rather than open another one.
      curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
    }
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, options_.verify_tls ? 1L : 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, options_.verify_tls ? 2L : 0L);
    if (!options_.ca_bundle.empty()) curl_easy_setopt(e, CURLOPT_CAINFO, options_.ca_bundle.c_str());
    if (options_.follow_redirects) {
      curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
      curl_easy_setopt(e, CURLOPT_MAXREDIRS, static_cast<long>(options_.max_redirects));
    }
    if (options_.debug_log) {
      curl_easy_setopt(e, CURLOPT_VERBOSE, 1L);
      curl_easy_setopt(e, CURLOPT_DEBUGFUNCTION, &Impl::OnDebug);
    }
    // Method and how the body is read.
    if (r.method == Method::kHead) {
      curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    } else if (!has_body) {
      curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
      if (r.method != Method::kGet) curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, MethodName(r.method).data());
    } else {
      curl_easy_setopt(e, CURLOPT_POST, 1L);
      if (r.method != Method::kPost) curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, MethodName(r.method).data());
      if (r.body.kind() == Body::Kind::kFile || r.body.kind() == Body::Kind::kStream) {
        curl_easy_setopt(e, CURLOPT_READFUNCTION, &Impl::OnRead);
        curl_easy_setopt(e, CURLOPT_SEEKFUNCTION, &Impl::OnSeek);
      }
    }
  }

  // ---- curl callbacks (loop thread) ----

  // A Body / Sink callback failed: the attempt ends with this error rather than curl's.
  static void SetCallbackError(Transfer* t, Error e) { t->callback_error = std::make_unique<Error>(std::move(e)); }

  static size_t OnHeader(char* p, size_t size, size_t n, void* ud) {
    auto* t = static_cast<Transfer*>(ud);
    std::string_view line(p, size * n);
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
    if (line.rfind("HTTP/", 0) == 0) {
      t->resp.headers.clear();  // a new response (after 100 Continue or a redirect)
      return size * n;
    }
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) return size * n;
    std::string_view v = line.substr(colon + 1);
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    // One allocation for a typical response; 15 entries (960 bytes) stay inside glibc's per-thread
    // cache, 16 (1,024) would take its slower large-chunk path on every response.
    if (t->resp.headers.empty()) t->resp.headers.reserve(15);
    t->resp.headers.emplace_back(std::string(line.substr(0, colon)), std::string(v));
    return size * n;
  }

  static size_t OnWrite(char* p, size_t size, size_t n, void* ud) {
    auto* t = static_cast<Transfer*>(ud);
    const size_t len = size * n;
    Impl* self = t->impl;
    if (t->status_seen < 0) {
      long code = 0;
      curl_easy_getinfo(t->handle.easy, CURLINFO_RESPONSE_CODE, &code);
      t->status_seen = static_cast<int>(code);
      t->divert_body = code >= 400;
    }
    t->resp.bytes_received += len;
    t->bytes_in_total += len;
    const Sink& sink = t->req.sink;
    if (t->divert_body && sink.kind() != Sink::Kind::kMemory) {
      size_t room = kErrorBodyCap > t->resp.body.size() ? kErrorBodyCap - t->resp.body.size() : 0;
      t->resp.body.append(p, std::min(room, len));
      return len;
    }
    switch (sink.kind()) {
      case Sink::Kind::kMemory:
        if (t->resp.body.size() + len > self->options_.max_response_bytes) {
          SetCallbackError(t, Error::ResourceExhausted(fmt::format(
              "{} {}: response body exceeds max_response_bytes ({} bytes); use a file or stream sink",
              t->method, t->redacted_url, self->options_.max_response_bytes)));
          return 0;
        }
        t->resp.body.append(p, len);
        return len;
      case Sink::Kind::kFile: {
        size_t off = 0;
        while (off < len) {
          ssize_t w = write(t->out_fd, p + off, len - off);
          if (w < 0) {
            if (errno == EINTR) continue;
            SetCallbackError(t, Error::FromErrno(errno, fmt::format("write response file {}", sink.path())));
            return 0;
          }
          off += static_cast<size_t>(w);
        }
        return len;
      }
      case Sink::Kind::kStream: {
        Status s = sink.write_fn()(std::string_view(p, len));
        if (!s) {
          SetCallbackError(t, Error(s.error()).Wrap(fmt::format("{} {}: response sink", t->method, t->redacted_url)));
          return 0;
        }
        t->sink_delivered += len;
        return len;
      }
    }
    return len;
  }

  static size_t OnRead(char* buf, size_t size, size_t n, void* ud) {
    auto* t = static_cast<Transfer*>(ud);
    const size_t cap = size * n;
    const Body& body = t->req.body;
    if (body.kind() == Body::Kind::kFile) {
      if (t->in_off >= t->in_size) return 0;
      size_t want = static_cast<size_t>(std::min<uint64_t>(cap, t->in_size - t->in_off));
      ssize_t got;
      do {
        got = pread(t->in_fd, buf, want, static_cast<off_t>(t->in_off));
      } while (got < 0 && errno == EINTR);
      if (got < 0) {
        SetCallbackError(t, Error::FromErrno(errno, fmt::format("read request body {}", body.path())));
        return CURL_READFUNC_ABORT;
      }
      if (got == 0) {
        SetCallbackError(t, Error::DataLoss(fmt::format(
            "request body {} shrank while being sent ({} of {} bytes)", body.path(), t->in_off, t->in_size)));
        return CURL_READFUNC_ABORT;
      }
      t->in_off += static_cast<uint64_t>(got);
      t->resp.bytes_sent += static_cast<uint64_t>(got);
      return static_cast<size_t>(got);
    }
    // Stream.
    t->stream_touched = true;
    Result<size_t> got = body.read_fn()(buf, cap);
    if (!got) {
      SetCallbackError(t, Error(got.error()).Wrap(fmt::format("{} {}: request body", t->method, t->redacted_url)));
      return CURL_READFUNC_ABORT;
    }
    if (*got > cap) {
      SetCallbackError(t, Error::Internal("request body read function returned more bytes than asked"));
      return CURL_READFUNC_ABORT;
    }
    t->stream_read += *got;
    if (body.stream_size() && t->stream_read > *body.stream_size()) {
      SetCallbackError(t, Error::InvalidArgument(fmt::format(
          "{} {}: the stream body produced more than its declared size {}", t->method, t->redacted_url,
          *body.stream_size())));
      return CURL_READFUNC_ABORT;
    }
    if (*got == 0 && body.stream_size() && t->stream_read < *body.stream_size()) {
      SetCallbackError(t, Error::InvalidArgument(fmt::format(
          "{} {}: the stream body ended after {} of its declared {} bytes", t->method, t->redacted_url,
          t->stream_read, *body.stream_size())));
      return CURL_READFUNC_ABORT;
    }
    t->resp.bytes_sent += *got;
    return *got;
  }

  static int OnSeek(void* ud, curl_off_t offset, int origin) {
    auto* t = static_cast<Transfer*>(ud);
    if (origin != SEEK_SET || offset < 0) return CURL_SEEKFUNC_CANTSEEK;
    const Body& body = t->req.body;
    if (body.kind() == Body::Kind::kFile) {
      t->in_off = static_cast<uint64_t>(offset);
      t->resp.bytes_sent = t->in_off;
      return CURL_SEEKFUNC_OK;
    }
    if (body.kind() == Body::Kind::kStream && offset == 0 && body.rewind_fn()) {
      if (!body.rewind_fn()()) return CURL_SEEKFUNC_FAIL;
      t->stream_read = 0;
      t->stream_touched = false;
      t->resp.bytes_sent = 0;
      return CURL_SEEKFUNC_OK;
    }
    return CURL_SEEKFUNC_CANTSEEK;
  }

  static int OnDebug(CURL*, curl_infotype type, char* data, size_t size, void* ud) {
    auto* t = static_cast<Transfer*>(ud);
    const char* prefix;
    switch (type) {
      case CURLINFO_TEXT: prefix = "* "; break;
      case CURLINFO_HEADER_OUT: prefix = "> "; break;
      case CURLINFO_HEADER_IN: prefix = "< "; break;
      default: return 0;  // bodies and TLS records are not logged
    }
    std::string_view text(data, size);
    while (!text.empty()) {
      size_t nl = text.find('\n');
      std::string_view line = text.substr(0, nl);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (!line.empty()) t->impl->options_.debug_log(fmt::format("{}{}", prefix, RedactDebugLine(line)));
      if (nl == std::string_view::npos) break;
      text.remove_prefix(nl + 1);
    }
    return 0;
  }

  // ---- completion ----

  void OnAttemptDone(Transfer* t, CURLcode code) {
    CURL* e = t->handle.easy;
    long status = 0;
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
    long version = 0;
    curl_easy_getinfo(e, CURLINFO_HTTP_VERSION, &version);
    double connect_time = 0;
    curl_easy_getinfo(e, CURLINFO_CONNECT_TIME, &connect_time);
    const auto attempt_elapsed = duration_cast<milliseconds>(SteadyNow() - t->attempt_start);
    t->resp.status = static_cast<int>(status);
    t->resp.http_version = version == CURL_HTTP_VERSION_2_0 ? "2" : version == CURL_HTTP_VERSION_1_0 ? "1.0" : "1.1";
    {
      std::lock_guard lock(stats_mu_);
      t->host->stats.bytes_in += t->resp.bytes_received;
      t->host->stats.bytes_out += t->resp.bytes_sent;
    }

    // The attempt's outcome as an error, if it failed.
    std::optional<Error> err;
    bool http_failure = false;
    std::optional<Clock::Duration> retry_after;
    if (code != CURLE_OK) {
      if (t->callback_error && (code == CURLE_WRITE_ERROR || code == CURLE_READ_ERROR ||
                                code == CURLE_ABORTED_BY_CALLBACK || code == CURLE_SEND_FAIL_REWIND)) {
        err = std::move(*t->callback_error);
        err->WithRetryable(false);  // our side failed, not the server
      } else {
        detail::CurlFailureContext ctx{
            .method = t->method,
            .url = t->redacted_url,
            .host = t->host->host_name,
            .port = t->host->port,
            .curl_message = t->handle.extras->errbuf,
            .connected = connect_time > 0,
            .elapsed = attempt_elapsed,
            .connect_timeout = options_.connect_timeout,
            .attempt_timeout = t->attempt_timeout,
            .attempt_limited_by_deadline = t->attempt_limited_by_deadline,
            .stall_time = options_.stall_time,
            .stall_bytes_per_second = options_.stall_bytes_per_second,
        };
        err = detail::MapCurlError(code, ctx);
      }
    } else if (status >= 400) {
      http_failure = true;
      t->resp.url = t->redacted_url;
      err = t->resp.ToStatus().error();
      err->Wrap(std::string(t->method));
      // Only 429/502/503/504 are worth repeating (a 500 is usually a bug, not a blip).
      err->WithRetryable(IsRetryableStatus(status));
      if (auto ra = t->resp.Header("Retry-After")) retry_after = resilience::ParseRetryAfter(*ra);
      if (auto rid = t->resp.Header("x-amz-request-id")) err->WithRequestId(std::string(*rid));
    }
    // The handle goes back to the pool only now: curl's message above is in its error buffer.
    curl_multi_remove_handle(multi_, e);
    ReleaseEasy(t);

    // The breaker hears about the host's health: transport failures, 5xx and 429 are failures.
    if (t->permit) {
      if (err && (!http_failure || status >= 500 || status == 429) && !t->callback_error) {
        Error for_breaker = *err;
        if (http_failure) for_breaker.WithRetryable(true);
        t->permit->RecordFailure(for_breaker);
      } else {
        t->permit->RecordSuccess();
      }
      t->permit.reset();
    }

    if (!err) {
      t->retry->OnSuccess();
      Finish(t, std::move(t->resp));
      return;
    }
    // Can this request be sent again?
    Error cause = *err;
    if (cause.retryable()) {
      if (t->req.body.kind() == Body::Kind::kStream && t->stream_touched && !t->req.body.rewind_fn()) {
        cause.WithRetryable(false).Wrap("not retried: the stream body cannot be rewound");
      } else if (t->req.sink.kind() == Sink::Kind::kStream && t->sink_delivered > 0) {
        cause.WithRetryable(false).Wrap("not retried: part of the body was already delivered to the stream sink");
      }
    }
    Result<Clock::Duration> next = t->retry->OnFailure(cause, retry_after);
    if (!next) {
      if (http_failure && t->req.options.accept_http_errors) {
        Finish(t, std::move(t->resp));
      } else {
        Finish(t, std::move(next).error());
      }
      return;
    }
    timers_.push(Timer{options_.clock->Now() + *next, ++timer_seq_, t});
  }

  void Finish(Transfer* t, Result<Response> result) {
    const auto elapsed = options_.clock->Now() - t->submitted;
    if (result) {
      result->attempts = t->retry ? t->retry->attempts() : 0;
      result->elapsed = elapsed;
      result->bytes_received = t->bytes_in_total;
      if (result->url.empty()) result->url = std::move(t->redacted_url);  // t ends here
    }
    {
      std::lock_guard lock(stats_mu_);
      HostStats& s = t->host->stats;
      if (result) {
        ++s.completed;
        ++s.status_counts[result->status];
      } else {
        ++s.errors;
        if (result.error().http_status() != 0) ++s.status_counts[result.error().http_status()];
      }
      s.latency.Record(elapsed);
    }
    active_.erase(t);
    std::unique_ptr<Transfer> owned(t);
    Callback done = std::move(t->done);
    owned->retry.reset();  // ends the request in the retry budget
    owned.reset();
    in_flight_.fetch_sub(1, std::memory_order_acq_rel);
    done(std::move(result));
  }

  ClientOptions options_;
  RetryPolicy policy_;
  CURLM* multi_ = nullptr;
  // The header lists of requests without headers of their own: [0] no body, [1] with a body.
  curl_slist* shared_headers_[2] = {nullptr, nullptr};
  // The proxy environment, read once (curl would getenv() up to six variables per request).
  ProxyEnv proxy_env_ = ProxyEnv::FromEnvironment();
  // libcurl < 8.0.0 cannot reuse an h2c (prior knowledge) connection: see SetupEasy.
  const bool h2c_reuse_broken_ = curl_version_info(CURLVERSION_NOW)->version_num < 0x080000;
  std::thread thread_;
  const uint64_t fork_generation_ = ForkGeneration();  // another value: a fork() child's copy
  std::atomic<std::thread::id> loop_id_{};
  std::atomic<int> in_flight_{0};

  std::mutex mu_;  // guards queue_ and stopping_
  std::deque<Transfer*> queue_;
  bool stopping_ = false;
  bool wakeup_pending_ = false;  // a wakeup is on its way

  mutable std::mutex hosts_mu_;  // guards hosts_ (the map; HostState objects live as long as the client)
  std::map<std::string, std::unique_ptr<HostState>> hosts_;
  mutable std::mutex stats_mu_;  // guards HostState::stats

  // Loop thread only.
  std::unordered_set<Transfer*> active_;
  std::priority_queue<Timer, std::vector<Timer>, std::greater<>> timers_;
  uint64_t timer_seq_ = 0;
  std::vector<EasyHandle> easy_pool_;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  std::vector<epoll_event> events_ = std::vector<epoll_event>(512);
  bool curl_timer_armed_ = false;
  std::vector<FdState> fds_;
  TimePoint curl_timer_{};
};

// ---- Client ----

namespace {
std::once_flag g_curl_once;
}

Status Client::Validate(const ClientOptions& o) {
  auto bad = [](std::string_view field, std::string_view why) {
    return Error::InvalidArgument(fmt::format("http::ClientOptions.{} {}", field, why));
  };
  if (!o.base_url.empty()) {
    if (auto k = HostKey(o.base_url); !k) return Error(k.error()).Wrap("http::ClientOptions.base_url");
  }
  for (const auto& [k, v] : o.default_headers) {
    if (!IsValidHeaderName(k)) return bad("default_headers", fmt::format("has an invalid header name '{}'", k));
    if (!IsValidHeaderValue(v)) return bad("default_headers", fmt::format("'{}' has CR, LF or NUL in its value", k));
  }
  if (!IsValidHeaderValue(o.user_agent)) return bad("user_agent", "contains CR, LF or NUL");
  if (o.connect_timeout.count() <= 0) return bad("connect_timeout", "must be > 0");
  if (o.request_timeout.count() <= 0) return bad("request_timeout", "must be > 0");
  if (o.overall_timeout.count() < 0) return bad("overall_timeout", "must be >= 0 (0 = none)");
  if (o.stall_time.count() < 0) return bad("stall_time", "must be >= 0 (0 = off)");
  if (o.stall_time.count() > 0 && o.stall_bytes_per_second < 1) return bad("stall_bytes_per_second", "must be >= 1");
  if (o.max_connections < 0) return bad("max_connections", "must be >= 0 (0 = unlimited)");
  if (o.max_connections_per_host < 0) return bad("max_connections_per_host", "must be >= 0 (0 = unlimited)");
  if (o.max_idle_connections < 0) return bad("max_idle_connections", "must be >= 0");
  if (o.max_redirects < 0) return bad("max_redirects", "must be >= 0");
  if (o.max_response_bytes == 0) return bad("max_response_bytes", "must be > 0");
  if (o.max_in_flight < 1) return bad("max_in_flight", "must be >= 1");
  if (o.http2_cleartext && !o.http2) return bad("http2_cleartext", "requires http2 = true");
  if (o.http2_cleartext && (curl_version_info(CURLVERSION_NOW)->features & CURL_VERSION_HTTP2) == 0) {
    return bad("http2_cleartext", "needs a libcurl built with HTTP/2 (nghttp2); this one is not");
  }
  if (!o.ca_bundle.empty() && access(o.ca_bundle.c_str(), R_OK) != 0) {
    return Error::FromErrno(errno, fmt::format("http::ClientOptions.ca_bundle: cannot read {}", o.ca_bundle));
  }
  if (o.clock == nullptr) return bad("clock", "must not be null");
  if (auto s = resilience::RetryPolicy::Validate(o.retry); !s) return Error(s.error()).Wrap("http::ClientOptions.retry");
  if (auto s = resilience::RetryBudget::Validate(o.retry_budget); !s) {
    return Error(s.error()).Wrap("http::ClientOptions.retry_budget");
  }
  if (o.breaker_per_host) {
    if (auto s = resilience::CircuitBreaker::Validate(o.breaker); !s) {
      return Error(s.error()).Wrap("http::ClientOptions.breaker");
    }
  }
  return OkStatus();
}

Result<std::unique_ptr<Client>> Client::Create(ClientOptions options) {
  ESPER_RETURN_IF_ERROR(Validate(options));
  CURLcode init = CURLE_OK;
  std::call_once(g_curl_once, [&] { init = curl_global_init(CURL_GLOBAL_DEFAULT); });
  if (init != CURLE_OK) return Error::Internal(fmt::format("curl_global_init: {}", curl_easy_strerror(init)));
  auto impl = std::make_unique<Impl>(std::move(options));
  ESPER_RETURN_IF_ERROR(impl->Init());
  return std::unique_ptr<Client>(new Client(std::move(impl)));
}

Client::Client(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Client::~Client() = default;

Status Client::SendAsync(Request request, Callback done) {
  return impl_->Submit(std::move(request), std::move(done));
}

std::future<Result<Response>> Client::SendAsync(Request request) {
  auto promise = std::make_shared<std::promise<Result<Response>>>();
  auto fut = promise->get_future();
  Status s = impl_->Submit(std::move(request),
                           [promise](Result<Response> r) { promise->set_value(std::move(r)); });
  if (!s) promise->set_value(Result<Response>(s.error()));
  return fut;
}

Result<Response> Client::Send(Request request) {
  if (impl_->OnLoopThread()) {
    return Error::FailedPrecondition(
        "http::Client: a blocking call was made from the client's own loop thread (inside a callback); "
        "use SendAsync there");
  }
  return SendAsync(std::move(request)).get();
}

Result<Response> Client::Get(std::string url, CallOptions options) {
  return Send(Request{.method = Method::kGet, .url = std::move(url), .options = std::move(options)});
}
Result<Response> Client::Head(std::string url, CallOptions options) {
  return Send(Request{.method = Method::kHead, .url = std::move(url), .options = std::move(options)});
}
Result<Response> Client::Delete(std::string url, CallOptions options) {
  return Send(Request{.method = Method::kDelete, .url = std::move(url), .options = std::move(options)});
}

namespace {
Request WithBody(Method m, std::string url, Body body, std::string content_type, CallOptions options) {
  Request r{.method = m, .url = std::move(url), .body = std::move(body), .options = std::move(options)};
  if (!content_type.empty()) r.headers.emplace_back("Content-Type", std::move(content_type));
  return r;
}
}  // namespace

Result<Response> Client::Post(std::string url, Body body, std::string content_type, CallOptions options) {
  return Send(WithBody(Method::kPost, std::move(url), std::move(body), std::move(content_type), std::move(options)));
}
Result<Response> Client::Put(std::string url, Body body, std::string content_type, CallOptions options) {
  return Send(WithBody(Method::kPut, std::move(url), std::move(body), std::move(content_type), std::move(options)));
}
Result<Response> Client::Patch(std::string url, Body body, std::string content_type, CallOptions options) {
  return Send(WithBody(Method::kPatch, std::move(url), std::move(body), std::move(content_type), std::move(options)));
}

ClientStats Client::GetStats() const { return impl_->Stats(); }

Result<HealthReport> Client::HealthCheck(std::string url, std::chrono::milliseconds timeout) {
  Request r = Request::Get(url);
  r.options.max_attempts = 1;
  r.options.timeout = timeout;
  r.options.overall_timeout = timeout;
  auto resolved = ResolveUrl(impl_->options().base_url, url);
  auto response = Send(std::move(r));
  if (!response) return Error(response.error()).Wrap("health check");
  if (!response->ok()) {
    return Error::FailedPrecondition(fmt::format("health check: GET {} answered {} (want 2xx)",
                                                 response->url, response->status))
        .WithHttpStatus(response->status);
  }
  HealthReport rep;
  rep.status = response->status;
  rep.latency = response->elapsed;
  rep.breaker_state = resolved ? impl_->BreakerStateOf(*resolved) : "unknown";
  return rep;
}

int Client::in_flight() const { return impl_->in_flight(); }
const ClientOptions& Client::options() const { return impl_->options(); }

}  // namespace esper::http
