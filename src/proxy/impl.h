// Private: the fault proxy's state, shared by the files that run it. One epoll event loop over
// non-blocking sockets. Each client connection is a Conn with four buffers (client in/out,
// upstream in/out); events read into the in-buffers, Process*() moves bytes between them according
// to the mode's state machine and the fault decision, Flush() writes the out-buffers,
// UpdateInterest() re-arms epoll (level-triggered).
//
// lifecycle.cpp  Start, Stop, the loop (Run), Shutdown
// plumbing.cpp   accept, connect, read, write, epoll interest, timers, closing
// http_mode.cpp  the HTTP/1.1 exchange: request and response state machines, injected errors
// tcp_mode.cpp   opaque bytes, one decision per connection
// fault_proxy.cpp  the public class: Create, SetFaults, statistics, the parsers
#pragma once

#include <atomic>
#include <cstdio>
#include <chrono>
#include <cstdint>
#include <deque>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "esper/proxy/fault_proxy.h"
#include "proxy/buffer.h"
#include "proxy/fault_plan.h"
#include "proxy/http_framing.h"
#include "proxy/sockets.h"

namespace esper::proxy {

struct FaultProxy::Impl {
  using SteadyClock = std::chrono::steady_clock;
  using TimePoint = SteadyClock::time_point;
  using Buffer = detail::Buffer;

  static constexpr size_t kBufferCap = 256 * 1024;  // per buffer; reading stops above it
  static constexpr size_t kMaxHead = 64 * 1024;     // request / response head limit
  static constexpr size_t kReadChunk = 64 * 1024;
  // After our FIN, wait this long for theirs; closing, this long to drain our bytes.
  static constexpr auto kCloseGrace = std::chrono::seconds(2);
  static constexpr auto kCloseFlushLimit = std::chrono::seconds(30);
  // The truncation range when a response's length is unknown.
  static constexpr uint64_t kUnknownLengthWindow = 64 * 1024;
  static constexpr uint64_t kNever = std::numeric_limits<uint64_t>::max();
  // How much of a POST response body the request log looks into for an <UploadId>.
  static constexpr size_t kCaptureBytes = 4096;

  // epoll tags: the top two values are the listener and the wake-up eventfd; a connection's
  // sockets are (id << 1) | side.
  static constexpr uint64_t kListenTag = std::numeric_limits<uint64_t>::max();
  static constexpr uint64_t kWakeTag = kListenTag - 1;

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

    // The exchange in progress: cleared (ex = {}) when it ends, so the next one starts afresh.
    struct Exchange {
      bool open = false;              // decided and not yet in the request log
      bool resp_started = false;      // some response bytes went to the client
      uint64_t truncate_at = kNever;  // response body offset where a truncation cuts
      uint64_t req_body_sent = 0;     // request body bytes forwarded upstream
      uint64_t resp_body_sent = 0;    // response body bytes forwarded to the client
      uint64_t corrupt_req_at = kNever;   // request body offset to flip
      uint64_t corrupt_resp_at = kNever;  // response body offset to flip
      int upstream_status = 0;        // 0: upstream did not answer (a head)
      int client_status = 0;          // 0: no whole status line reached the client
      std::string resp_capture;       // the start of a POST's response body (≤ kCaptureBytes)
    } ex;

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
    to.corrupt_rate = from.corrupt_rate;
  }
  Endpoint listen_ep, upstream_ep;
  detail::Resolved upstream_addr;

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
        resets{0}, stalls{0}, errors{0}, truncations{0}, corruptions{0}, delayed{0}, upstream_failures{0},
        protocol_errors{0}, bytes_to_upstream{0}, bytes_to_client{0};
  } stats;
  mutable std::mutex log_mu;
  std::vector<FaultRecord> log;
  std::FILE* request_log = nullptr;  // opened by Start(), closed by Stop(); loop thread writes

  static void Inc(std::atomic<uint64_t>& c, uint64_t n = 1) { c.fetch_add(n, std::memory_order_relaxed); }

  // ---------------------------------------------------------------- lifecycle.cpp
  Status Start();
  void Stop();
  void Run();
  void Shutdown();

  // ---------------------------------------------------------------- plumbing.cpp
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
  void LogExchange(Conn& c);  // the request log's line for the open exchange, once

  // ---------------------------------------------------------------- http_mode.cpp
  void ProcessHttp(Conn& c);
  bool StepRequest(Conn& c);
  bool StepResponse(Conn& c);
  void Act(Conn& c);
  void EndExchange(Conn& c);
  void UpstreamBroken(Conn& c);
  void FailWithLocal(Conn& c, int status, std::string_view body);
  std::string InjectedError(const Conn& c, bool keep_alive) const;
  void CaptureResponse(Conn& c, std::string_view body_bytes);

  // ---------------------------------------------------------------- tcp_mode.cpp
  void ProcessTcp(Conn& c);
};

}  // namespace esper::proxy
