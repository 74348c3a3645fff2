// esper/http/client.h — an asynchronous HTTP client: one libcurl-multi event loop, many requests.
//
// A Client owns ONE event-loop thread driving a curl multi handle. Any number of threads submit
// requests (SendAsync); the loop runs them concurrently over a connection pool (keep-alive,
// HTTP/2 multiplexing over TLS when the server offers it, total and per-host connection limits —
// requests beyond a limit wait in the pool's queue, they do not fail), retries what is safe to
// retry with a RetryPolicy and a per-host RetryBudget (backoff waits are timers on the loop, no
// thread sleeps), guards each host with a CircuitBreaker, and delivers each result once.
// Thousands of requests can be in flight on one loop; see docs/http.md for measured figures.
//
// Example:
//   using namespace std::chrono_literals;
//   auto client = esper::http::Client::Create({.base_url = "http://127.0.0.1:8080",
//                                              .request_timeout = 5s});
//   if (!client) return client.error();
//   // Blocking:
//   esper::Result<esper::http::Response> r = (*client)->Get("/healthz");
//   // Future:
//   auto fut = (*client)->SendAsync(esper::http::Request::Get("/items"));
//   // Callback (runs on the loop thread — keep it short, never block in it):
//   (void)(*client)->SendAsync(esper::http::Request::Get("/a"),
//                              [](esper::Result<esper::http::Response> r) { ... });
//
// Threads: every public method may be called from any thread at once. Callbacks, Body read
// functions and Sink write functions run on the loop thread, one at a time; they must not block
// and must not call the blocking methods (Send, Get, …, HealthCheck) of the same client — those
// return FailedPrecondition when called from the loop thread instead of deadlocking. Submitting
// more requests (SendAsync) from a callback is fine.
//
// Proxies: the environment's http_proxy, https_proxy / HTTPS_PROXY, all_proxy / ALL_PROXY and
// no_proxy / NO_PROXY are honoured with curl's rules (HTTP_PROXY in upper case is ignored), read
// once by Create(): a later setenv() affects clients created after it, not this one.
//
// Cancellation: a request stops when its CallOptions::cancel token is stopped (one
// std::stop_source can stop a group), and CancelAll() stops everything in flight; a running
// attempt is aborted, a backoff wait ends, and the callback gets Cancelled.
//
// Ownership and shutdown: the destructor stops accepting requests, fails every request still
// queued or in flight with Cancelled (their callbacks run, on the loop thread, before the
// destructor returns) and joins the loop thread. Do not destroy a Client from its own callback.
// After fork(), the child has no loop thread: its calls on an inherited Client fail at once with
// FailedPrecondition (naming fork()), and destroying that copy joins and closes nothing (the
// connections are the parent's). Create a Client in the child.
//
// Errors (never exceptions). Transport failures are mapped from CURLcode in one place and say
// what failed and where: "GET http://h:80/x: connect to h port 80 failed: Connection refused",
// DNS ("could not resolve host h"), TLS (handshake / certificate verification), which timeout
// ("connect timeout 2 s", "no response within the per-try timeout 5 s", "stalled: fewer than
// 1 bytes/s for 30 s", "overall deadline"), resets and truncated bodies. What a response means
// is the request's ResponseClassifier's call (request.h); by default a status >= 400 is an Error
// from Error::FromHttpStatus (unless CallOptions::accept_http_errors). Retries stop with
// the policy's reason ("gave up after 3 attempts: …", "retry budget exhausted …"). URLs in
// messages are redacted (RedactUrl) and an Authorization header is never printed, including in
// the debug log.
//
// Buffers: requests in flight are bounded by Options::max_in_flight (SendAsync returns
// ResourceExhausted beyond it); memory response bodies by max_response_bytes.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <string_view>

#include "esper/core/clock.h"
#include "esper/core/result.h"
#include "esper/http/request.h"
#include "esper/http/response.h"
#include "esper/http/stats.h"
#include "esper/metrics/registry.h"
#include "esper/resilience/circuit_breaker.h"
#include "esper/resilience/retry_budget.h"
#include "esper/resilience/retry_policy.h"

namespace esper::http {

struct ClientOptions {
  /// Prefix of relative request URLs ("http://host:port/api"). Empty: every URL must be absolute.
  std::string base_url{};
  /// Sent with every request (a request's own header of the same name replaces it).
  Headers default_headers{};
  /// User-Agent header; empty sends none. Name your service here ("tamiyo/1.4"). libcurl formats
  /// every header line anew for each request (docs/http.md measures what that costs), so a client
  /// that must be as lean as possible can leave it empty.
  std::string user_agent = "esper-http/0.1";

  /// TCP + TLS connection establishment limit. > 0.
  std::chrono::milliseconds connect_timeout = std::chrono::seconds(10);
  /// Limit of one attempt (includes waiting for a pooled connection). > 0.
  std::chrono::milliseconds request_timeout = std::chrono::seconds(30);
  /// Overall limit of a request across its retries. 0 = none (then each attempt is still bounded
  /// by request_timeout and the retry policy's max_attempts).
  std::chrono::milliseconds overall_timeout = std::chrono::milliseconds(0);
  /// Stall detection: an attempt fails if it moves fewer than `stall_bytes_per_second` bytes/s
  /// for `stall_time` (CURLOPT_LOW_SPEED_LIMIT/TIME). stall_time 0 disables; whole seconds.
  std::chrono::seconds stall_time = std::chrono::seconds(30);
  int64_t stall_bytes_per_second = 1;

  /// Connection pool: at most this many connections in total (CURLMOPT_MAX_TOTAL_CONNECTIONS),
  /// the seed's max_connections. 0 = unlimited. Requests beyond it wait for a free connection.
  int max_connections = 100;
  /// At most this many connections per host (CURLMOPT_MAX_HOST_CONNECTIONS). 0 = unlimited.
  /// Requests beyond it wait (queue), they do not fail.
  int max_connections_per_host = 0;
  /// Idle connections kept for reuse (CURLMOPT_MAXCONNECTS). 0 = 4 × max_connections (curl's rule).
  int max_idle_connections = 0;
  /// Reuse connections (HTTP keep-alive) and send TCP keep-alive probes. false: one connection
  /// per request (CURLOPT_FORBID_REUSE).
  bool keep_alive = true;
  /// Negotiate HTTP/2 over TLS (ALPN) and multiplex streams on one connection; plain http://
  /// stays HTTP/1.1 unless http2_cleartext is set.
  bool http2 = true;
  /// Speak HTTP/2 to plain http:// URLs too, with prior knowledge (h2c, RFC 9113 §3.3): no
  /// Upgrade round trip, streams multiplexed on one connection. Only for servers known to accept
  /// it (gRPC-style backends, nginx `listen … http2;` without ssl); a server that speaks only
  /// HTTP/1.1 fails the request with a transport error. https:// is unaffected (ALPN decides).
  /// Requires http2. With libcurl older than 8.0.0 (Debian 12 ships 7.88.1), which fails any
  /// request that reuses an h2c connection (curl issue #10634), each http:// request gets a
  /// connection of its own: correct, but neither reused nor multiplexed.
  bool http2_cleartext = false;
  /// Verify the server's TLS certificate and host name. Turning it off is for tests only.
  bool verify_tls = true;
  /// CA bundle (PEM file) to verify with. Empty: the system default.
  std::string ca_bundle{};
  /// Follow 3xx redirects (up to max_redirects). Off by default: an Authorization header must not
  /// follow a redirect to another host, and S3/API clients handle 3xx themselves.
  bool follow_redirects = false;
  int max_redirects = 5;

  /// Retries: attempts, backoff, jitter, Retry-After (resilience/retry_policy.h). Only GET, HEAD,
  /// PUT, DELETE, OPTIONS (or requests marked CallOptions::retry_safe) are retried, and only on
  /// connection failures, resets, truncated responses, timeouts and the responses the request's
  /// classifier retries (DefaultClassifier: HTTP 429, 502, 503 and 504). NOTE: libcurl itself
  /// sends a request again, whatever its method, when the keep-alive connection it reused dies
  /// before any byte of the answer; no policy sees that, Response::sends counts it.
  /// per_try_timeout is ignored here: request_timeout / CallOptions::timeout is the per-try limit.
  resilience::RetryOptions retry{};
  /// One retry budget per host (resilience/retry_budget.h): retries can never multiply load.
  resilience::RetryBudgetOptions retry_budget{};
  /// A circuit breaker per host (resilience/circuit_breaker.h). A failure is a transport error
  /// or HTTP 5xx/429; an open breaker fails requests at once with Unavailable.
  bool breaker_per_host = true;
  resilience::CircuitBreakerOptions breaker{};

  /// Memory response bodies larger than this fail with ResourceExhausted. > 0.
  uint64_t max_response_bytes = uint64_t{256} << 20;
  /// Requests accepted and not yet completed, at most. > 0.
  int max_in_flight = 100000;
  /// When set, receives libcurl's verbose transfer log line by line (on the loop thread), with
  /// Authorization / Proxy-Authorization / Cookie values and URL credentials redacted.
  std::function<void(std::string_view line)> debug_log{};
  /// Time source for deadlines, backoff timers and breakers. Must outlive the client.
  /// (Curl's own timeouts always use real time.)
  Clock* clock = &SystemClock();
  /// Where the client publishes its per-host statistics (docs/http.md, Metrics: the same numbers
  /// as get_stats()); nullptr publishes nothing. Must outlive the client.
  metrics::Registry* metrics = &metrics::DefaultRegistry();
};

/// The result of Client::HealthCheck.
struct HealthReport {
  int status = 0;                         // HTTP status of the probe
  std::chrono::nanoseconds latency{0};    // probe round trip
  std::string breaker_state{};              // of the probed host
};

class Client {
 public:
  using Callback = std::function<void(Result<Response>)>;

  /// Validates `options` (InvalidArgument naming the field) and starts the loop thread.
  static Result<std::unique_ptr<Client>> Create(ClientOptions options = {});
  /// Validation alone.
  static Status Validate(const ClientOptions& options);

  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  /// Submits `request`; `done` runs exactly once, on the loop thread, with the result. Returns an
  /// error — and then `done` is never called — when the request is invalid (bad URL, method,
  /// header or traceparent: InvalidArgument), max_in_flight is reached (ResourceExhausted) or the
  /// client is shutting down (Cancelled).
  Status SendAsync(Request request, Callback done);
  /// The same with a future (already satisfied when the submission itself failed).
  std::future<Result<Response>> SendAsync(Request request);
  /// Blocking: submits and waits. FailedPrecondition when called on the loop thread.
  Result<Response> Send(Request request);

  // Blocking conveniences.
  Result<Response> Get(std::string url, CallOptions options = {});
  Result<Response> Head(std::string url, CallOptions options = {});
  Result<Response> Delete(std::string url, CallOptions options = {});
  Result<Response> Post(std::string url, Body body, std::string content_type = "", CallOptions options = {});
  Result<Response> Put(std::string url, Body body, std::string content_type = "", CallOptions options = {});
  Result<Response> Patch(std::string url, Body body, std::string content_type = "", CallOptions options = {});

  /// Cancels every request submitted before this call and not yet completed — queued, running or
  /// waiting to retry: each callback gets Cancelled, on the loop thread, soon after (this call does
  /// not wait). Later requests are not affected. Any thread, callbacks included. To cancel one
  /// request or a group, give them a CallOptions::cancel token.
  void CancelAll();

  /// Per-host statistics snapshot. get_stats() is the seed's name (the library's one spelling);
  /// GetStats() is the same call.
  ClientStats get_stats() const;
  ClientStats GetStats() const { return get_stats(); }
  /// GET `url` (absolute or relative to base_url) once, without retries, within `timeout`:
  /// a report when the answer is 2xx, else the error (status, transport failure or open breaker).
  Result<HealthReport> HealthCheck(std::string url,
                                   std::chrono::milliseconds timeout = std::chrono::seconds(5));
  /// Requests accepted and not yet completed.
  int in_flight() const;
  /// Whether the calling thread is this client's loop thread (where callbacks run): a caller
  /// built on the client (an object store) answers "is this one of my callback threads?" with it.
  bool IsLoopThread() const noexcept;
  /// Runs `task` on the loop thread soon — never inside this call — in the order posted, like a
  /// callback (short, never blocking). For work that must run where the callbacks run: ending an
  /// operation that never reached the network, the next step of one made of several requests.
  /// A task posted before the destructor begins runs before it returns. Cancelled (and `task` is
  /// dropped) when the client is shutting down; FailedPrecondition in a fork() child.
  Status Post(std::function<void()> task);
  const ClientOptions& options() const;

  class Impl;

 private:
  explicit Client(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_{};
  metrics::Collector metrics_{};  // declared last: removed before impl_ goes
};

}  // namespace esper::http
