// esper/proxy/fault_proxy.h — a TCP/HTTP proxy that injects faults reproducibly from a seed.
//
// Put a FaultProxy between a client and a real server to see how the client behaves when the
// network or the server misbehaves: connections reset (RST), requests that are never answered
// (stalls), added latency, injected 500 / 503 / S3 "SlowDown" errors (optionally with
// Retry-After), and responses cut off in the middle of the body (truncation).
//
// Two modes:
//  - Mode::kHttp (default): HTTP/1.1-aware. The proxy parses the framing of every request
//    (Content-Length, chunked) and of every response (Content-Length, chunked, until-close,
//    HEAD / 1xx / 204 / 304 without body), so each request on a keep-alive connection gets its
//    own fault decision. Faults:
//      reset          the client connection is closed with RST before the request reaches
//                     upstream (FaultKind::kReset), or after upstream has received the request
//                     and started answering (kResetAfterUpstream: the side effect happened, the
//                     client never learns it). One seeded draw picks which, 50/50.
//      stall          the proxy keeps reading (and discarding) the client's bytes and never
//                     answers, until the client gives up or the proxy stops. Upstream is not
//                     contacted.
//      error          the proxy answers `error_status` itself without contacting upstream:
//                     500 or 503 with a short text body, or kSlowDown = 503 with the S3 XML
//                     body <Error><Code>SlowDown</Code>…</Error>. Content-Length is always set;
//                     Retry-After when `retry_after` is set; "Connection: keep-alive" unless the
//                     client asked to close (or sent Expect: 100-continue with a body), in which
//                     case "Connection: close" and the connection is closed after the answer.
//                     The request body, if any, is read and discarded.
//                     Every injected answer carries "X-Esper-Fault: error".
//      truncate       the request is forwarded; the response headers and a seeded part of the
//                     body (fewer bytes than the framing promises — at least one byte is always
//                     missing) are forwarded, then the client connection is closed (FIN).
//      corrupt        the request is forwarded, and one byte of a body is flipped (XOR 0xFF) on
//                     the way: of the request body when it has a Content-Length > 0, else of the
//                     response body when it has one; at a seeded offset in [0, Content-Length).
//                     Chunked and until-close bodies are not touched (with neither side
//                     corruptible the exchange is forwarded unchanged; the log says
//                     "corrupted=-"). Framing and
//                     heads are never changed, so the exchange itself stays well-formed: only an
//                     end-to-end check (Content-MD5, an ETag compared with the body's MD5) can
//                     see it.
//      latency        every request waits `latency` before it is forwarded (or answered).
//    Only cleartext HTTP/1.x is understood (a "101 Switching Protocols" turns the connection into
//    a plain tunnel); for TLS or HTTP/2 use Mode::kTcp.
//  - Mode::kTcp: a byte pipe; one fault decision per connection. reset: RST as soon as the
//    first bytes arrive from either side (nothing is forwarded); stall: accept, read, never
//    forward or answer; truncate: a seeded prefix of the first bytes upstream sends is
//    forwarded, then the client connection is closed (FIN); latency: every chunk, both
//    directions, is held `latency` before it is forwarded (order is kept).
//
// Reproducibility. Every decision comes from a splitmix64 generator. Connection number n (0, 1,
// 2, … in accept order) gets its own generator seeded from (seed, n); each request on it (each
// connection, in tcp mode) draws exactly two numbers, in arrival order: the first picks the
// fault by cumulative ranges [reset | stall | error | truncate | corrupt | none], the second
// picks the variant (reset before/after, where the truncation cuts, which byte is flipped). So the same seed and the same
// request sequence on a connection give the same faults, whatever the timing. Concurrent
// connections may be accepted in a different order from run to run; a test that wants a fully
// fixed sequence uses one connection at a time. FaultLog() records every decision.
//
// Request log (http mode, `request_log`): a witness that is not the client. One line per request
// the proxy decided on, written (and flushed) when its exchange ends — answered, reset, cut, or
// the connection closed under it — in logfmt:
//   conn=3 req=0 method=POST target=/b/k?uploads status=200 upstream=200 req_bytes=0
//   resp_bytes=236 fault=none upload_id=2f0c…
// status: what the client received (the status line of the answer it got, injected or
// forwarded; "-" when none reached it whole); upstream: what the server answered ("-" when it was
// not asked or did not answer); req_bytes / resp_bytes: body bytes forwarded each way (wire bytes:
// chunk framing counts); fault: FaultKindName; corrupted=request:N|response:N|- for corrupt;
// upload_id: the <UploadId> of an S3 response body (CreateMultipartUpload, also when the client
// never saw it because the answer was reset or cut) — so a test can reconcile every multipart
// upload the server created with its completion or abort. Query parameters that carry secrets
// (X-Amz-Signature, …) are written as "***" (esper/core/redact.h).
//
// Threads. One owned event-loop thread (epoll, non-blocking sockets) serves every connection, so
// hundreds of concurrent connections cost no threads. Start() spawns it, Stop() (or the
// destructor) closes every connection and joins it. All public methods are safe to call from any
// thread; Start()/Stop() are serialised internally. Blocking: Start() resolves the host names
// (getaddrinfo may wait on DNS; use numeric addresses to avoid it) and Stop() waits for the thread
// to join (promptly: it closes every connection, whatever the clients are doing); nothing else
// blocks. SetFaults() changes the fault settings of a running proxy.
//
// Memory. Each connection buffers at most ~256 KiB per direction (reading stops until the other
// side drains — backpressure); request and response heads are limited to 64 KiB (a larger
// request head is answered 431 and closed). The fault log keeps at most `fault_log_capacity`
// records. Connections beyond `max_connections` are accepted and reset at once (counted in
// Statistics::rejected_connections).
//
// Errors. Create() rejects bad options (InvalidArgument). Start() fails with the errno mapping
// if the listen address cannot be bound or the request log cannot be created, or NotFound if a host name does not resolve. Upstream
// failures at run time are not errors of the proxy: in http mode the client gets
// "502 Bad Gateway" (counted in upstream_failures), in tcp mode a reset.
//
// Example:
//   auto proxy = esper::proxy::FaultProxy::Create({
//       .upstream = "127.0.0.1:9000",
//       .error_rate = 0.2, .error_status = esper::proxy::ErrorStatus::kSlowDown,
//       .retry_after = std::chrono::seconds(1),
//       .seed = 42});
//   if (!proxy) return proxy.error();
//   if (auto st = (*proxy)->Start(); !st) return st.error();
//   std::string url = fmt::format("http://127.0.0.1:{}/bucket/key", (*proxy)->port());
//   ... run the client against url ...
//   auto stats = (*proxy)->statistics();   // stats.errors == how many SlowDowns were sent
//   (*proxy)->Stop();
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "esper/core/result.h"
#include "esper/metrics/registry.h"

namespace esper::proxy {

/// How the proxy understands the bytes it forwards.
enum class Mode {
  kHttp,  // HTTP/1.1 requests and responses: one fault decision per request
  kTcp,   // opaque bytes: one fault decision per connection
};

/// What an injected error answer looks like.
enum class ErrorStatus {
  k500,       // 500 Internal Server Error, text body
  k503,       // 503 Service Unavailable, text body
  kSlowDown,  // 503 with the S3 XML error body, Code SlowDown
};

/// One fault decision (see the file comment for what each does).
enum class FaultKind {
  kNone,                // forwarded untouched (latency, if set, still applies)
  kReset,               // RST before anything reaches upstream
  kResetAfterUpstream,  // http: RST after upstream received the request and began answering
  kStall,               // never answered
  kError,               // answered by the proxy with the error status
  kTruncate,            // response cut short, then FIN
  kCorrupt,             // http: one byte of the request or response body flipped
};

/// "none", "reset", "reset-after-upstream", "stall", "error", "truncate", "corrupt".
std::string_view FaultKindName(FaultKind kind) noexcept;

/// Parses "500", "503" or "SlowDown" (case-insensitive). InvalidArgument otherwise.
Result<ErrorStatus> ParseErrorStatus(std::string_view text);

/// Parses "http" or "tcp". InvalidArgument otherwise.
Result<Mode> ParseMode(std::string_view text);

/// A parsed "host:port" ("127.0.0.1:8080", "localhost:0", "[::1]:9000").
struct Endpoint {
  std::string host;
  uint16_t port = 0;
};
/// Parses "host:port"; the host must be non-empty and the port a number in [0, 65535].
Result<Endpoint> ParseEndpoint(std::string_view text);

struct Options {
  /// Where to listen, "host:port". Port 0 lets the kernel choose; read it with port().
  std::string listen = "127.0.0.1:0";
  /// Where to forward, "host:port". Required; the port must not be 0.
  std::string upstream{};
  /// HTTP-aware (per-request faults) or plain TCP (per-connection faults).
  Mode mode = Mode::kHttp;

  // Fault rates, each a probability in [0, 1]; their sum must not exceed 1 (the faults are
  // exclusive: one draw picks at most one). The fields are in the order of the CLI flags.

  /// Connection reset (RST).
  double reset_rate = 0;
  /// Never answer.
  double stall_rate = 0;
  /// Added before forwarding each request (http) or each chunk (tcp). 0 = none. At most 1 hour.
  std::chrono::milliseconds latency{0};
  /// http only: answer `error_status` without contacting upstream.
  double error_rate = 0;
  /// The status of injected errors.
  ErrorStatus error_status = ErrorStatus::k503;
  /// If set, injected errors carry "Retry-After: <seconds>" (0 to 86400).
  std::optional<std::chrono::seconds> retry_after{};
  /// Cut the response short.
  double truncate_rate = 0;
  /// http only: flip one byte of the request body (or, when it has none, the response body).
  double corrupt_rate = 0;
  /// Seed of the fault generator (see "Reproducibility").
  uint64_t seed = 0;
  /// Connections open at once; more are reset on accept. In [1, 100000].
  size_t max_connections = 1024;
  /// How many fault decisions FaultLog() keeps (the first ones; later ones are only counted).
  size_t fault_log_capacity = 10000;
  /// http only: the request log's file (see "Request log"), created or truncated by Start().
  /// Empty: no log. Its growth is one line (~150 bytes) per request: the caller's choice.
  std::string request_log{};
  /// Where statistics() are published as metrics (docs/proxy.md, Metrics); nullptr: nowhere.
  /// Must outlive the proxy.
  metrics::Registry* metrics = &metrics::DefaultRegistry();
};

/// Counters since Start(); a consistent-enough snapshot (each field is read atomically).
struct Statistics {
  uint64_t connections = 0;           // client connections accepted (incl. rejected ones)
  uint64_t active_connections = 0;    // client connections open now
  uint64_t rejected_connections = 0;  // reset at once because max_connections were open
  uint64_t requests = 0;              // http: request heads parsed; tcp: connections decided
  uint64_t passed = 0;                // decisions that injected nothing (FaultKind::kNone)
  uint64_t resets = 0;                // kReset + kResetAfterUpstream
  uint64_t stalls = 0;
  uint64_t errors = 0;                // injected error answers
  uint64_t truncations = 0;
  uint64_t corruptions = 0;           // corrupt decisions (a byte flipped where a body allowed)
  uint64_t delayed = 0;               // requests (http) or chunks (tcp) held for `latency`
  uint64_t upstream_failures = 0;     // upstream connect failed (answered 502 / reset)
  uint64_t protocol_errors = 0;       // malformed HTTP from client or upstream (connection closed)
  uint64_t bytes_to_upstream = 0;
  uint64_t bytes_to_client = 0;
};

/// One fault decision, for tests that assert exactly what was injected.
struct FaultRecord {
  uint64_t connection = 0;  // accept index, from 0
  uint64_t request = 0;     // index of the request on that connection, from 0 (tcp: always 0)
  FaultKind fault = FaultKind::kNone;
  friend bool operator==(const FaultRecord&, const FaultRecord&) = default;
};

class FaultProxy {
 public:
  /// Validates the options (rates in [0, 1] with sum ≤ 1, endpoints well-formed, upstream port
  /// not 0, error_rate 0 in tcp mode, limits in range). Does not touch the network.
  static Result<std::unique_ptr<FaultProxy>> Create(Options options);

  ~FaultProxy();  // Stop()s
  FaultProxy(const FaultProxy&) = delete;
  FaultProxy& operator=(const FaultProxy&) = delete;

  /// Resolves both endpoints, binds and listens, opens the request log, starts the event-loop
  /// thread. Returns once the proxy accepts connections. FailedPrecondition if already started; a stopped proxy cannot be
  /// restarted (create a new one).
  Status Start();

  /// Closes the listener and every connection (a stalled client sees its connection closed),
  /// joins the thread. Idempotent; returns promptly whatever the clients do.
  void Stop();

  /// The port the proxy listens on (the kernel's choice when the option said 0); 0 before Start().
  uint16_t port() const noexcept;
  /// "127.0.0.1:<port>" — the listen host and the actual port.
  std::string address() const;

  Statistics statistics() const;
  /// The seed's spelling of statistics().
  Statistics get_stats() const { return statistics(); }
  /// The first `fault_log_capacity` decisions, in decision order.
  std::vector<FaultRecord> FaultLog() const;

  /// Changes the fault settings while running (reset_rate, stall_rate, latency, error_rate,
  /// error_status, retry_after, truncate_rate, corrupt_rate are taken from `faults`; every other field is
  /// ignored). Validated like Create(); on error nothing changes. Applies to every decision made
  /// after it returns (requests already decided keep their fault); the seeded generators continue,
  /// so a run that calls SetFaults at the same points of its request sequence stays reproducible.
  /// Typical use: fail everything, let a circuit breaker open, then SetFaults({}) to heal.
  Status SetFaults(const Options& faults);

  /// The options in force (with the latest SetFaults applied).
  Options options() const;

 private:
  struct Impl;
  explicit FaultProxy(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  metrics::Collector metrics_;  // declared last: removed before impl_ goes
};

}  // namespace esper::proxy
