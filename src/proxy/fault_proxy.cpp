// The fault proxy: one epoll event loop over non-blocking sockets. Each client connection is a
// Conn with four buffers (client in/out, upstream in/out); events read into the in-buffers,
// Process*() moves bytes between them according to the mode's state machine and the fault
// decision, Flush() writes the out-buffers, UpdateInterest() re-arms epoll (level-triggered).
#include "esper/proxy/fault_proxy.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <deque>
#include <limits>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <unordered_map>

#include "esper/core/ascii.h"
#include "esper/core/thread.h"
#include "proxy/fault_plan.h"
#include "proxy/http_framing.h"

namespace esper::proxy {

std::string_view FaultKindName(FaultKind kind) noexcept {
  switch (kind) {
    case FaultKind::kNone: return "none";
    case FaultKind::kReset: return "reset";
    case FaultKind::kResetAfterUpstream: return "reset-after-upstream";
    case FaultKind::kStall: return "stall";
    case FaultKind::kError: return "error";
    case FaultKind::kTruncate: return "truncate";
  }
  return "unknown";
}

Result<ErrorStatus> ParseErrorStatus(std::string_view text) {
  if (text == "500") return ErrorStatus::k500;
  if (text == "503") return ErrorStatus::k503;
  if (EqualsIgnoreCase(text, "SlowDown")) return ErrorStatus::kSlowDown;
  return Error::InvalidArgument(
      fmt::format("error status '{}' is not one of 500, 503, SlowDown", text));
}

Result<Mode> ParseMode(std::string_view text) {
  if (EqualsIgnoreCase(text, "http")) return Mode::kHttp;
  if (EqualsIgnoreCase(text, "tcp")) return Mode::kTcp;
  return Error::InvalidArgument(fmt::format("mode '{}' is not one of http, tcp", text));
}

Result<Endpoint> ParseEndpoint(std::string_view text) {
  Endpoint e;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return Error::InvalidArgument(fmt::format("'{}' is not [IPv6]:PORT", text));
    }
    e.host = std::string(text.substr(1, close - 1));
    port = text.substr(close + 2);
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      return Error::InvalidArgument(fmt::format("'{}' is not HOST:PORT", text));
    }
    e.host = std::string(text.substr(0, colon));
    port = text.substr(colon + 1);
  }
  if (e.host.empty()) return Error::InvalidArgument(fmt::format("'{}' has no host", text));
  unsigned value = 0;
  auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || p != port.data() + port.size() || value > 65535) {
    return Error::InvalidArgument(fmt::format("'{}': port '{}' is not a number in [0, 65535]", text, port));
  }
  e.port = static_cast<uint16_t>(value);
  return e;
}

namespace {

using SteadyClock = std::chrono::steady_clock;
using TimePoint = SteadyClock::time_point;

constexpr size_t kBufferCap = 256 * 1024;   // per buffer; reading stops above it
constexpr size_t kMaxHead = 64 * 1024;      // request / response head limit
constexpr size_t kReadChunk = 64 * 1024;
constexpr auto kCloseGrace = std::chrono::seconds(2);  // after our FIN, wait this long for theirs
constexpr auto kCloseFlushLimit = std::chrono::seconds(30);  // closing: time to drain our bytes
constexpr uint64_t kUnknownLengthWindow = 64 * 1024;   // truncation range when length is unknown

// epoll tags: the top two values are the listener and the wake-up eventfd; a connection's
// sockets are (id << 1) | side.
constexpr uint64_t kListenTag = std::numeric_limits<uint64_t>::max();
constexpr uint64_t kWakeTag = kListenTag - 1;

/// A FIFO byte buffer with cheap consumption from the front.
class Buffer {
 public:
  size_t size() const noexcept { return data_.size() - pos_; }
  bool empty() const noexcept { return size() == 0; }
  std::string_view view() const noexcept { return {data_.data() + pos_, size()}; }
  void append(std::string_view s) { data_.append(s); }
  void consume(size_t n) {
    pos_ += std::min(n, size());
    if (pos_ == data_.size()) {
      data_.clear();
      pos_ = 0;
    } else if (pos_ >= kReadChunk && pos_ * 2 >= data_.size()) {
      data_.erase(0, pos_);
      pos_ = 0;
    }
  }
  void clear() noexcept {
    data_.clear();
    pos_ = 0;
  }
  /// Moves the first n bytes of src to the end of this buffer; O(1) when this buffer is empty and
  /// src is taken whole (the common case when forwarding a body).
  void MoveFrom(Buffer& src, size_t n) {
    if (empty() && n == src.size()) {
      data_.swap(src.data_);
      std::swap(pos_, src.pos_);
      src.clear();
      return;
    }
    append(src.view().substr(0, n));
    src.consume(n);
  }

 private:
  std::string data_;
  size_t pos_ = 0;
};

void CloseFd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

// Closes with SO_LINGER {on, 0}: the kernel sends RST instead of FIN.
void ResetFd(int& fd) {
  if (fd < 0) return;
  linger lg{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  CloseFd(fd);
}

void SetNoDelay(int fd) {
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

struct Resolved {
  sockaddr_storage addr{};
  socklen_t len = 0;
};

Result<Resolved> Resolve(const Endpoint& e, bool passive) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
  addrinfo* res = nullptr;
  std::string port = std::to_string(e.port);
  int rc = ::getaddrinfo(e.host.c_str(), port.c_str(), &hints, &res);
  if (rc != 0 || res == nullptr) {
    return Error::NotFound(fmt::format("resolve '{}': {}", e.host, gai_strerror(rc)));
  }
  Resolved r;
  std::memcpy(&r.addr, res->ai_addr, res->ai_addrlen);
  r.len = res->ai_addrlen;
  ::freeaddrinfo(res);
  return r;
}

std::string StatusReason(int status) {
  switch (status) {
    case 400: return "Bad Request";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    default: return "Error";
  }
}

std::string XmlEscape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out += c;
    }
  }
  return out;
}

// A response the proxy writes itself (local errors: 400, 431, 502).
std::string LocalResponse(int status, std::string_view body) {
  return fmt::format(
      "HTTP/1.1 {} {}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n"
      "Connection: close\r\n\r\n{}",
      status, StatusReason(status), body.size(), body);
}

}  // namespace

struct FaultProxy::Impl {
  enum class ReqState { kHead, kDelay, kForwardBody, kDiscardBody, kAwaitResponse, kStall, kTunnel };
  enum class RespState { kIdle, kHead, kBody, kDone, kTunnel };

  struct Interest {
    bool registered = false;
    uint32_t events = 0;
  };

  struct Conn {
    uint64_t id = 0;
    int cfd = -1;
    int ufd = -1;
    bool u_connecting = false;
    Interest c_events, u_events;  // what epoll has for each socket
    Buffer c_in, c_out, u_in, u_out;
    bool c_eof = false;
    bool u_eof = false;
    detail::SplitMix64 rng;
    uint64_t next_request = 0;
    bool dead = false;
    std::optional<TimePoint> timer;

    // Current fault decision.
    detail::Decision decision;

    // http: the request in progress.
    ReqState req = ReqState::kHead;
    RespState resp = RespState::kIdle;
    size_t head_len = 0;
    detail::RequestHead request;
    detail::BodyScanner req_body;
    detail::BodyScanner resp_body;
    bool close_after = false;       // close once this exchange is complete
    uint64_t truncate_at = std::numeric_limits<uint64_t>::max();
    uint64_t resp_body_sent = 0;
    bool resp_started = false;      // some response bytes went to the client

    // Graceful close: flush c_out, send FIN, wait for the client's FIN (or kCloseGrace).
    bool closing = false;
    bool fin_sent = false;

    // tcp
    struct Chunk {
      TimePoint release;
      std::string bytes;
    };
    std::deque<Chunk> delayed_up, delayed_down;
    size_t delayed_up_bytes = 0, delayed_down_bytes = 0;
    bool up_fin = false;    // FIN sent to upstream
    bool down_fin = false;  // FIN sent to client
  };

  explicit Impl(Options o) : opts(o), published(std::move(o)) {}

  Options opts;  // the loop thread's copy

  // SetFaults() publishes new fault settings here; the loop picks them up before its next decision.
  mutable std::mutex faults_mu;
  Options published;  // guarded by faults_mu; what options() returns
  std::atomic<bool> faults_dirty{false};
  void RefreshFaults() {
    if (!faults_dirty.exchange(false, std::memory_order_acq_rel)) return;
    std::lock_guard lock(faults_mu);
    CopyFaults(published, opts);
  }
  static void CopyFaults(const Options& from, Options& to) {
    to.reset_rate = from.reset_rate;
    to.stall_rate = from.stall_rate;
    to.latency = from.latency;
    to.error_rate = from.error_rate;
    to.error_status = from.error_status;
    to.retry_after = from.retry_after;
    to.truncate_rate = from.truncate_rate;
  }
  Endpoint listen_ep, upstream_ep;
  Resolved upstream_addr;

  std::mutex lifecycle_mu;
  bool started = false;
  bool stopped = false;
  std::thread thread;
  std::atomic<bool> stopping{false};
  std::atomic<uint16_t> bound_port{0};
  int epfd = -1, wakefd = -1, listenfd = -1;
  std::optional<TimePoint> listen_resume;

  // Loop-thread state.
  std::unordered_map<uint64_t, std::unique_ptr<Conn>> conns;
  std::set<std::pair<TimePoint, uint64_t>> timers;
  std::vector<uint64_t> dead;
  uint64_t next_conn = 0;

  // Statistics (written by the loop thread, read anywhere).
  struct Counters {
    std::atomic<uint64_t> connections{0}, active{0}, rejected{0}, requests{0}, passed{0},
        resets{0}, stalls{0}, errors{0}, truncations{0}, delayed{0}, upstream_failures{0},
        protocol_errors{0}, bytes_to_upstream{0}, bytes_to_client{0};
  } stats;
  mutable std::mutex log_mu;
  std::vector<FaultRecord> log;

  static void Inc(std::atomic<uint64_t>& c, uint64_t n = 1) { c.fetch_add(n, std::memory_order_relaxed); }

  // ---------------------------------------------------------------- lifecycle
  Status Start();
  void Stop();
  void Run();
  void Shutdown();

  // ---------------------------------------------------------------- plumbing
  void Accept();
  void HandleEvent(Conn& c, bool upstream_side, uint32_t events);
  void Pump(Conn& c);
  bool ReadInto(Conn& c, bool upstream_side);
  bool Flush(Conn& c);
  void UpdateInterest(Conn& c);
  void SetInterest(int fd, uint64_t tag, Interest& current, uint32_t wanted);
  void SetTimer(Conn& c, std::optional<TimePoint> t);
  void FireTimers();
  int TimeoutMs() const;
  bool StartConnect(Conn& c);
  void Destroy(Conn& c);
  void ResetClient(Conn& c);
  // Closes a connection's socket, taking it out of epoll first (a forked child may still hold
  // the file open, and epoll would keep reporting it).
  void CloseSocket(int& fd, Interest& interest, bool reset);
  void BeginClose(Conn& c);
  void ProcessClosing(Conn& c);
  void RecordDecision(Conn& c, uint64_t request_index);

  // ---------------------------------------------------------------- http
  void ProcessHttp(Conn& c);
  bool StepRequest(Conn& c);
  bool StepResponse(Conn& c);
  void Act(Conn& c);
  void EndExchange(Conn& c);
  void UpstreamBroken(Conn& c);
  void FailWithLocal(Conn& c, int status, std::string_view body);
  std::string InjectedError(const Conn& c, bool keep_alive) const;

  // ---------------------------------------------------------------- tcp
  void ProcessTcp(Conn& c);
};

// ==================================================================== lifecycle

Status FaultProxy::Impl::Start() {
  std::lock_guard lock(lifecycle_mu);
  if (started) return Error::FailedPrecondition("the fault proxy was already started");
  if (stopped) return Error::FailedPrecondition("a stopped fault proxy cannot be restarted; create a new one");
  ESPER_ASSIGN_OR_RETURN(Resolved listen_addr, Resolve(listen_ep, /*passive=*/true));
  ESPER_ASSIGN_OR_RETURN(upstream_addr, Resolve(upstream_ep, /*passive=*/false));

  int fd = ::socket(listen_addr.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return Error::FromErrno(errno, "socket");
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&listen_addr.addr), listen_addr.len) != 0) {
    int err = errno;
    ::close(fd);
    return Error::FromErrno(err, fmt::format("bind {}", opts.listen));
  }
  if (::listen(fd, 1024) != 0) {
    int err = errno;
    ::close(fd);
    return Error::FromErrno(err, fmt::format("listen {}", opts.listen));
  }
  sockaddr_storage bound{};
  socklen_t blen = sizeof bound;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &blen);
  uint16_t port = bound.ss_family == AF_INET6
                      ? ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port)
                      : ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);

  epfd = ::epoll_create1(EPOLL_CLOEXEC);
  wakefd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (epfd < 0 || wakefd < 0) {
    int err = errno;
    ::close(fd);
    CloseFd(epfd);
    CloseFd(wakefd);
    return Error::FromErrno(err, "epoll/eventfd");
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
  CloseFd(listenfd);
  CloseFd(wakefd);
  CloseFd(epfd);
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

// ==================================================================== plumbing

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
      ResetFd(fd);
      continue;
    }
    SetNoDelay(fd);
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
  }
  std::lock_guard lock(log_mu);
  if (log.size() < opts.fault_log_capacity) log.push_back({c.id, request_index, c.decision.kind});
}

bool FaultProxy::Impl::StartConnect(Conn& c) {
  int fd = ::socket(upstream_addr.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  SetNoDelay(fd);
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
    ResetFd(fd);
  } else {
    CloseFd(fd);
  }
}

void FaultProxy::Impl::Destroy(Conn& c) {
  if (c.dead) return;
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

// ==================================================================== http

void FaultProxy::Impl::FailWithLocal(Conn& c, int status, std::string_view body) {
  if (!c.resp_started) c.c_out.append(LocalResponse(status, body));
  BeginClose(c);
}

void FaultProxy::Impl::UpstreamBroken(Conn& c) {
  // Upstream reset or failed to take our bytes.
  CloseSocket(c.ufd, c.u_events, false);
  c.u_connecting = false;
  c.u_in.clear();
  c.u_out.clear();
  if (opts.mode == Mode::kTcp || c.decision.kind == FaultKind::kResetAfterUpstream) {
    ResetClient(c);
    return;
  }
  if (c.resp == RespState::kIdle) {
    // Between exchanges: the next request reconnects.
    c.u_eof = false;
    return;
  }
  if (c.resp == RespState::kDone) {
    BeginClose(c);
    return;
  }
  Inc(stats.upstream_failures);
  FailWithLocal(c, 502, "esper proxy: upstream closed the connection before answering\n");
}

std::string FaultProxy::Impl::InjectedError(const Conn& c, bool keep_alive) const {
  int status = opts.error_status == ErrorStatus::k500 ? 500 : 503;
  std::string body, type = "text/plain", extra;
  std::string request_id = fmt::format("ESPERPROXY{:08X}{:08X}", c.id, c.next_request - 1);
  if (opts.error_status == ErrorStatus::kSlowDown) {
    type = "application/xml";
    body = fmt::format(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message>"
        "<Resource>{}</Resource><RequestId>{}</RequestId></Error>",
        XmlEscape(c.request.target), request_id);
    extra = fmt::format("x-amz-request-id: {}\r\n", request_id);
  } else {
    body = fmt::format("{} {} (injected by esper proxy)\n", status, StatusReason(status));
  }
  if (opts.retry_after) extra += fmt::format("Retry-After: {}\r\n", opts.retry_after->count());
  return fmt::format(
      "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: {}\r\n"
      "X-Esper-Fault: error\r\n{}\r\n{}",
      status, StatusReason(status), type, body.size(), keep_alive ? "keep-alive" : "close", extra,
      body);
}

void FaultProxy::Impl::ProcessHttp(Conn& c) {
  for (int i = 0; i < 1024 && !c.dead && !c.closing; ++i) {
    bool progress = StepRequest(c);
    if (c.dead || c.closing) return;
    progress |= StepResponse(c);
    if (c.dead || c.closing) return;
    if (c.resp == RespState::kDone && (c.req == ReqState::kAwaitResponse || c.close_after)) {
      EndExchange(c);
      progress = true;
    }
    if (!progress) return;
  }
}

// Request side. Returns true on progress.
bool FaultProxy::Impl::StepRequest(Conn& c) {
  switch (c.req) {
    case ReqState::kHead: {
      size_t end = detail::FindHeadEnd(c.c_in.view());
      if (end == std::string_view::npos) {
        if (c.c_in.size() > kMaxHead) {
          Inc(stats.protocol_errors);
          FailWithLocal(c, 431, "esper proxy: request head larger than 64 KiB\n");
          return true;
        }
        if (c.c_eof) {
          // The client closed between requests (or mid-head): nothing to answer.
          BeginClose(c);
          return true;
        }
        return false;
      }
      auto head = detail::ParseRequestHead(c.c_in.view().substr(0, end));
      if (!head) {
        Inc(stats.protocol_errors);
        FailWithLocal(c, 400, fmt::format("esper proxy: {}\n", head.error().message()));
        return true;
      }
      Inc(stats.requests);
      c.request = std::move(*head);
      c.head_len = end;
      RefreshFaults();
      c.decision = detail::Decide(c.rng, opts);
      uint64_t index = c.next_request++;
      RecordDecision(c, index);
      c.resp_started = false;
      c.resp_body_sent = 0;
      c.truncate_at = std::numeric_limits<uint64_t>::max();
      if (opts.latency.count() > 0 && c.decision.kind != FaultKind::kStall) {
        Inc(stats.delayed);
        c.req = ReqState::kDelay;
        SetTimer(c, SteadyClock::now() + opts.latency);
        return true;
      }
      Act(c);
      return true;
    }
    case ReqState::kDelay:
      return false;
    case ReqState::kForwardBody:
    case ReqState::kDiscardBody: {
      if (c.c_in.empty()) {
        if (c.c_eof) {
          BeginClose(c);  // the client gave up in the middle of its body
          return true;
        }
        return false;
      }
      bool discard = c.req == ReqState::kDiscardBody;
      size_t room = discard ? c.c_in.size()
                            : (c.u_out.size() < kBufferCap ? kBufferCap - c.u_out.size() : 0);
      if (room == 0) return false;
      std::string_view v = c.c_in.view().substr(0, room);
      auto n = c.req_body.Feed(v);
      if (!n) {
        Inc(stats.protocol_errors);
        FailWithLocal(c, 400, fmt::format("esper proxy: {}\n", n.error().message()));
        return true;
      }
      if (discard) {
        c.c_in.consume(*n);
      } else {
        c.u_out.MoveFrom(c.c_in, *n);
      }
      if (c.req_body.done()) c.req = ReqState::kAwaitResponse;
      return *n > 0 || c.req == ReqState::kAwaitResponse;
    }
    case ReqState::kAwaitResponse:
      return false;
    case ReqState::kStall:
      c.c_in.clear();
      if (c.c_eof) Destroy(c);
      return false;
    case ReqState::kTunnel: {
      if (c.c_in.empty()) return false;
      size_t room = c.u_out.size() < kBufferCap ? kBufferCap - c.u_out.size() : 0;
      size_t n = std::min(room, c.c_in.size());
      c.u_out.MoveFrom(c.c_in, n);
      return n > 0;
    }
  }
  return false;
}

// Acts on the decision for the request whose head is at the front of c_in.
void FaultProxy::Impl::Act(Conn& c) {
  const detail::RequestHead& r = c.request;
  switch (c.decision.kind) {
    case FaultKind::kReset:
      ResetClient(c);
      return;
    case FaultKind::kStall:
      c.c_in.clear();
      if (c.ufd >= 0) {
        CloseSocket(c.ufd, c.u_events, false);
        c.u_in.clear();
        c.u_out.clear();
      }
      c.req = ReqState::kStall;
      c.resp = RespState::kIdle;
      return;
    case FaultKind::kError: {
      bool has_body = r.body.kind != detail::BodyFraming::Kind::kNone;
      bool keep_alive = r.keep_alive && !(r.expect_continue && has_body);
      c.c_out.append(InjectedError(c, keep_alive));
      c.resp_started = true;
      c.c_in.consume(c.head_len);
      c.req_body = detail::BodyScanner(r.body);
      c.req = c.req_body.done() ? ReqState::kAwaitResponse : ReqState::kDiscardBody;
      c.resp = RespState::kDone;
      c.close_after = !keep_alive;
      return;
    }
    case FaultKind::kNone:
    case FaultKind::kResetAfterUpstream:
    case FaultKind::kTruncate:
      break;
  }
  if (c.ufd < 0) {
    if (!StartConnect(c)) {
      Inc(stats.upstream_failures);
      FailWithLocal(c, 502, fmt::format("esper proxy: cannot connect to upstream {}\n", opts.upstream));
      return;
    }
  }
  c.u_out.append(c.c_in.view().substr(0, c.head_len));
  c.c_in.consume(c.head_len);
  c.req_body = detail::BodyScanner(r.body);
  c.req = c.req_body.done() ? ReqState::kAwaitResponse : ReqState::kForwardBody;
  c.resp = RespState::kHead;
  c.close_after = !r.keep_alive;
}

// Response side. Returns true on progress.
bool FaultProxy::Impl::StepResponse(Conn& c) {
  switch (c.resp) {
    case RespState::kIdle:
      if (c.ufd >= 0 && (c.u_eof || !c.u_in.empty())) {
        // Upstream closed an idle keep-alive connection (or sent bytes nobody asked for):
        // drop it; the next request opens a new one.
        if (!c.u_in.empty()) Inc(stats.protocol_errors);
        CloseSocket(c.ufd, c.u_events, false);
        c.u_in.clear();
        c.u_out.clear();
        c.u_eof = false;
        return true;
      }
      return false;
    case RespState::kHead: {
      size_t end = detail::FindHeadEnd(c.u_in.view());
      if (end == std::string_view::npos) {
        if (c.u_in.size() > kMaxHead) {
          Inc(stats.protocol_errors);
          FailWithLocal(c, 502, "esper proxy: upstream response head larger than 64 KiB\n");
          return true;
        }
        if (c.u_eof) {
          if (c.decision.kind == FaultKind::kResetAfterUpstream) {
            ResetClient(c);
            return true;
          }
          Inc(stats.upstream_failures);
          FailWithLocal(c, 502, "esper proxy: upstream closed the connection before answering\n");
          return true;
        }
        return false;
      }
      if (c.decision.kind == FaultKind::kResetAfterUpstream) {
        ResetClient(c);  // upstream has the request and is answering; the client never learns
        return true;
      }
      auto head = detail::ParseResponseHead(c.u_in.view().substr(0, end));
      if (!head) {
        Inc(stats.protocol_errors);
        FailWithLocal(c, 502, fmt::format("esper proxy: bad upstream response: {}\n",
                                          head.error().message()));
        return true;
      }
      if (c.c_out.size() >= kBufferCap) return false;  // backpressure; retry when drained
      if (head->status == 101) {
        c.c_out.append(c.u_in.view().substr(0, end));
        c.u_in.consume(end);
        c.resp_started = true;
        c.req = ReqState::kTunnel;
        c.resp = RespState::kTunnel;
        return true;
      }
      if (head->status < 200) {  // 100 Continue, 103 Early Hints: forward, the final one follows
        c.c_out.append(c.u_in.view().substr(0, end));
        c.u_in.consume(end);
        c.resp_started = true;
        return true;
      }
      detail::BodyFraming framing = detail::ResponseBodyFraming(*head, c.request.method);
      c.resp_body = detail::BodyScanner(framing);
      if (!head->keep_alive || framing.kind == detail::BodyFraming::Kind::kUntilClose) {
        c.close_after = true;
      }
      if (c.decision.kind == FaultKind::kTruncate) {
        if (framing.kind == detail::BodyFraming::Kind::kNone) {
          // No body to cut: cut the head itself.
          size_t keep = static_cast<size_t>(c.decision.variant * static_cast<double>(end));
          c.c_out.append(c.u_in.view().substr(0, std::min(keep, end - 1)));
          c.resp_started = true;
          BeginClose(c);
          return true;
        }
        uint64_t window = framing.kind == detail::BodyFraming::Kind::kLength ? framing.length
                                                                             : kUnknownLengthWindow;
        c.truncate_at = static_cast<uint64_t>(c.decision.variant * static_cast<double>(window));
      }
      c.c_out.append(c.u_in.view().substr(0, end));
      c.u_in.consume(end);
      c.resp_started = true;
      c.resp = c.resp_body.done() ? RespState::kDone : RespState::kBody;
      return true;
    }
    case RespState::kBody: {
      size_t room = c.c_out.size() < kBufferCap ? kBufferCap - c.c_out.size() : 0;
      if (!c.u_in.empty() && room > 0) {
        std::string_view v = c.u_in.view().substr(0, room);
        auto n = c.resp_body.Feed(v);
        if (!n) {
          Inc(stats.protocol_errors);
          c.c_out.append(v);  // forward what we have; the client sees the same breakage
          BeginClose(c);
          return true;
        }
        size_t take = *n;
        if (c.decision.kind == FaultKind::kTruncate) {
          uint64_t allowed = c.truncate_at - c.resp_body_sent;
          bool cut = take > allowed || (c.resp_body.done() && take > 0);
          if (cut) {
            size_t keep = static_cast<size_t>(std::min<uint64_t>(allowed, take));
            if (c.resp_body.done() && keep == take) keep = take - 1;  // always lose a byte
            c.c_out.append(v.substr(0, keep));
            BeginClose(c);
            return true;
          }
        }
        c.c_out.MoveFrom(c.u_in, take);
        c.resp_body_sent += take;
        if (c.resp_body.done()) c.resp = RespState::kDone;
        return take > 0 || c.resp == RespState::kDone;
      }
      if (c.u_in.empty() && c.u_eof) {
        if (c.resp_body.kind() == detail::BodyFraming::Kind::kUntilClose &&
            c.decision.kind != FaultKind::kTruncate) {
          c.resp = RespState::kDone;
          c.close_after = true;
          return true;
        }
        // Upstream ended early (or a truncation with until-close body shorter than the cut):
        // the client gets what came, then FIN.
        BeginClose(c);
        return true;
      }
      return false;
    }
    case RespState::kDone:
      return false;
    case RespState::kTunnel: {
      size_t room = c.c_out.size() < kBufferCap ? kBufferCap - c.c_out.size() : 0;
      size_t n = std::min(room, c.u_in.size());
      if (n > 0) {
        c.c_out.MoveFrom(c.u_in, n);
      }
      if ((c.u_eof && c.u_in.empty()) || (c.c_eof && c.c_in.empty())) {
        BeginClose(c);
        return true;
      }
      return n > 0;
    }
  }
  return false;
}

void FaultProxy::Impl::EndExchange(Conn& c) {
  if (c.close_after) {
    BeginClose(c);
    return;
  }
  c.req = ReqState::kHead;
  c.resp = RespState::kIdle;
  c.decision = {};
  c.resp_started = false;
}

// ==================================================================== tcp

void FaultProxy::Impl::ProcessTcp(Conn& c) {
  switch (c.decision.kind) {
    case FaultKind::kReset:
    case FaultKind::kResetAfterUpstream:
      if (!c.c_in.empty() || !c.u_in.empty() || c.c_eof || c.u_eof) ResetClient(c);
      return;
    case FaultKind::kStall:
      c.c_in.clear();
      if (c.c_eof) Destroy(c);
      return;
    case FaultKind::kTruncate:
      if (!c.u_in.empty()) {
        size_t keep = static_cast<size_t>(c.decision.variant * static_cast<double>(c.u_in.size()));
        c.c_out.append(c.u_in.view().substr(0, keep));
        BeginClose(c);
        return;
      }
      break;
    case FaultKind::kNone:
    case FaultKind::kError:
      break;
  }
  TimePoint now = SteadyClock::now();
  bool delay = opts.latency.count() > 0;
  // Moves src → (delay queue →) dst, keeping the total below the cap.
  auto pipe = [&](Buffer& src, std::deque<Conn::Chunk>& q, size_t& q_bytes, Buffer& dst) {
    size_t used = dst.size() + q_bytes;
    if (!src.empty() && used < kBufferCap) {
      size_t n = std::min(src.size(), kBufferCap - used);
      if (delay) {
        q.push_back({now + opts.latency, std::string(src.view().substr(0, n))});
        q_bytes += n;
        Inc(stats.delayed);
        src.consume(n);
      } else {
        dst.MoveFrom(src, n);
      }
    }
    while (!q.empty() && q.front().release <= now) {
      dst.append(q.front().bytes);
      q_bytes -= q.front().bytes.size();
      q.pop_front();
    }
  };
  if (c.ufd >= 0) pipe(c.c_in, c.delayed_up, c.delayed_up_bytes, c.u_out);
  pipe(c.u_in, c.delayed_down, c.delayed_down_bytes, c.c_out);

  // Propagate half-closes once everything before them is delivered.
  if (c.c_eof && !c.up_fin && c.ufd >= 0 && !c.u_connecting && c.c_in.empty() &&
      c.delayed_up.empty() && c.u_out.empty()) {
    ::shutdown(c.ufd, SHUT_WR);
    c.up_fin = true;
  }
  if (c.u_eof && !c.down_fin && c.u_in.empty() && c.delayed_down.empty() && c.c_out.empty()) {
    ::shutdown(c.cfd, SHUT_WR);
    c.down_fin = true;
  }
  if (c.up_fin && c.down_fin) {
    Destroy(c);
    return;
  }
  std::optional<TimePoint> next;
  if (!c.delayed_up.empty()) next = c.delayed_up.front().release;
  if (!c.delayed_down.empty() && (!next || c.delayed_down.front().release < *next)) {
    next = c.delayed_down.front().release;
  }
  if (next != c.timer) SetTimer(c, next);
}

// ==================================================================== public

FaultProxy::FaultProxy(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
FaultProxy::~FaultProxy() { Stop(); }

namespace {

// Everything Create() checks except the endpoints.
Status ValidateFaults(const Options& options) {
  struct Rate {
    const char* name;
    double value;
  };
  double sum = 0;
  for (Rate r : {Rate{"reset_rate", options.reset_rate}, Rate{"stall_rate", options.stall_rate},
                 Rate{"error_rate", options.error_rate},
                 Rate{"truncate_rate", options.truncate_rate}}) {
    if (!(r.value >= 0.0 && r.value <= 1.0)) {  // also rejects NaN
      return Error::InvalidArgument(fmt::format("{} = {} is not in [0, 1]", r.name, r.value));
    }
    sum += r.value;
  }
  if (sum > 1.0 + 1e-9) {
    return Error::InvalidArgument(fmt::format(
        "the fault rates add up to {} > 1 (each request gets at most one fault)", sum));
  }
  if (options.mode == Mode::kTcp && options.error_rate > 0) {
    return Error::InvalidArgument("error_rate needs mode http (tcp mode cannot answer HTTP errors)");
  }
  if (options.latency.count() < 0 || options.latency > std::chrono::hours(1)) {
    return Error::InvalidArgument(
        fmt::format("latency {} ms is not in [0, 3600000]", options.latency.count()));
  }
  if (options.retry_after && (options.retry_after->count() < 0 ||
                              options.retry_after->count() > 86400)) {
    return Error::InvalidArgument(
        fmt::format("retry_after {} s is not in [0, 86400]", options.retry_after->count()));
  }
  return OkStatus();
}

}  // namespace

Result<std::unique_ptr<FaultProxy>> FaultProxy::Create(Options options) {
  ESPER_ASSIGN_OR_RETURN(Endpoint listen_ep, ParseEndpoint(options.listen).map_error([](Error e) {
    return e.Wrap("listen");
  }));
  if (options.upstream.empty()) {
    return Error::InvalidArgument("upstream is required (\"host:port\")");
  }
  ESPER_ASSIGN_OR_RETURN(Endpoint upstream_ep, ParseEndpoint(options.upstream).map_error([](Error e) {
    return e.Wrap("upstream");
  }));
  if (upstream_ep.port == 0) return Error::InvalidArgument("upstream port must not be 0");
  ESPER_RETURN_IF_ERROR(ValidateFaults(options));
  if (options.max_connections < 1 || options.max_connections > 100000) {
    return Error::InvalidArgument(
        fmt::format("max_connections {} is not in [1, 100000]", options.max_connections));
  }
  auto impl = std::make_unique<Impl>(std::move(options));
  impl->listen_ep = std::move(listen_ep);
  impl->upstream_ep = std::move(upstream_ep);
  return std::unique_ptr<FaultProxy>(new FaultProxy(std::move(impl)));
}

Status FaultProxy::SetFaults(const Options& faults) {
  Options next;
  {
    std::lock_guard lock(impl_->faults_mu);
    next = impl_->published;
  }
  Impl::CopyFaults(faults, next);
  ESPER_RETURN_IF_ERROR(ValidateFaults(next));
  {
    std::lock_guard lock(impl_->faults_mu);
    Impl::CopyFaults(next, impl_->published);
  }
  impl_->faults_dirty.store(true, std::memory_order_release);
  return OkStatus();
}

Status FaultProxy::Start() { return impl_->Start(); }
void FaultProxy::Stop() { impl_->Stop(); }
uint16_t FaultProxy::port() const noexcept { return impl_->bound_port.load(std::memory_order_acquire); }

std::string FaultProxy::address() const {
  const std::string& h = impl_->listen_ep.host;
  if (h.find(':') != std::string::npos) return fmt::format("[{}]:{}", h, port());
  return fmt::format("{}:{}", h, port());
}

Statistics FaultProxy::statistics() const {
  const auto& s = impl_->stats;
  auto get = [](const std::atomic<uint64_t>& a) { return a.load(std::memory_order_relaxed); };
  Statistics r;
  r.connections = get(s.connections);
  r.active_connections = get(s.active);
  r.rejected_connections = get(s.rejected);
  r.requests = get(s.requests);
  r.passed = get(s.passed);
  r.resets = get(s.resets);
  r.stalls = get(s.stalls);
  r.errors = get(s.errors);
  r.truncations = get(s.truncations);
  r.delayed = get(s.delayed);
  r.upstream_failures = get(s.upstream_failures);
  r.protocol_errors = get(s.protocol_errors);
  r.bytes_to_upstream = get(s.bytes_to_upstream);
  r.bytes_to_client = get(s.bytes_to_client);
  return r;
}

std::vector<FaultRecord> FaultProxy::FaultLog() const {
  std::lock_guard lock(impl_->log_mu);
  return impl_->log;
}

Options FaultProxy::options() const {
  std::lock_guard lock(impl_->faults_mu);
  return impl_->published;
}

}  // namespace esper::proxy
