// Private: the state of one request from submission to its callback (Transfer), of one host
// (HostState) and of a pooled curl easy handle (EasyHandle).
//
// Ownership: a Transfer is created by the submitting thread, handed to the loop through the
// submission queue (mutex), and from then on touched only by the loop thread until Finish()
// deletes it after running the caller's callback.
#pragma once

#include <curl/curl.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <stop_token>
#include <string_view>

#include "esper/core/clock.h"
#include "esper/http/client.h"
#include "esper/resilience/circuit_breaker.h"
#include "esper/resilience/deadline.h"
#include "esper/resilience/retry_budget.h"
#include "esper/resilience/retry_policy.h"

namespace esper::http::detail {

/// Bodies of error responses kept beside a file or stream sink (for the error message).
inline constexpr size_t kErrorBodyCap = 64 * 1024;
/// A response's header block (all the header lines of one attempt), at most; libcurl's own limit
/// of the whole block is 300 KiB, of one line 100 KiB.
inline constexpr uint32_t kMaxResponseHeaderBytes = 256 * 1024;

// A host's finished requests by method and final status class, and its errors by code: counted
// in fixed arrays (no allocation, no map lookup per request), named only when read
// (Client::Impl::Stats fills HostStats::finished and errors_by_code from them; metrics.cpp).
struct FinishCounts {
  static constexpr size_t kMethods = static_cast<size_t>(Method::kOptions) + 1;
  static constexpr size_t kClasses = 6;  // "1xx" … "5xx", "none" (no response)
  static constexpr size_t kCodes = static_cast<size_t>(ErrorCode::kUnauthenticated) + 1;
  std::array<std::array<uint64_t, kClasses>, kMethods> finished{};
  std::array<uint64_t, kCodes> errors_by_code{};

  /// A request of `method` finished with `status` (0: none), and `error` when it failed.
  void Count(Method method, int status, const Error* error) noexcept;
  /// Adds the non-zero counts to `s` under their names.
  void AddTo(HostStats& s) const;
};

struct HostState {
  std::string key;
  // From the key, for messages and the handle's shape; set once when the host is first seen.
  std::string host_name;
  long port = 0;
  bool https = false;
  std::unique_ptr<resilience::RetryBudget> budget;
  std::unique_ptr<resilience::CircuitBreaker> breaker;  // null when breaker_per_host is off
  HostStats stats;                                      // guarded by Client::Impl::stats_mu_
  FinishCounts finish_counts;                           // guarded by Client::Impl::stats_mu_
};

// What a curl easy handle carries besides itself, allocated with it.
struct EasyExtras {
  char errbuf[CURL_ERROR_SIZE] = {};  // its CURLOPT_ERRORBUFFER
  // Its CURLOPT_CURLU: the request URL parsed by curl's own parser, and the text it was parsed
  // from. Given a parsed URL, libcurl skips parsing the text and printing it back normalised,
  // and a handle reused for the same URL skips the parse too (docs/http.md, eighth session).
  // curl copies it per transfer (a redirect changes the copy) and never changes it.
  CURLU* url = nullptr;
  std::string url_text;
  bool url_as_is = false;  // url was parsed with CURLU_PATH_AS_IS

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

struct Transfer;

// The stop callback of a request given a CallOptions::cancel token: flags the transfer and wakes
// the loop (Client::Impl::RequestCancel). Runs on whichever thread requests the stop.
struct CancelRequest {
  Transfer* t;
  void operator()() const noexcept;
};

// One request from Submit to Finish. Kept under 1,000 bytes: a larger block is a "large" chunk
// to glibc's malloc, which then consolidates its fast bins on every allocation the per-thread
// cache cannot serve (docs/http.md, seventh session); rarely used parts live behind pointers, the
// curl error buffer with the handle.
struct Transfer {
  Client::Impl* impl = nullptr;
  // What the Request said: its URL and query became `url`, its headers the header list (or
  // `headers`, when an attempt hook rewrites them per attempt), its call options the fields
  // below.
  Body body;
  Sink sink;
  Headers headers;  // only with before_attempt: the fields every attempt starts from
  ResponseClassifier classify;
  AttemptHook before_attempt;
  Client::Callback done;
  std::string url;           // final URL with the query
  std::string redacted_url;  // for messages
  std::string_view method;   // MethodName(verb)
  Method verb = Method::kGet;
  bool has_body = false;     // curl sends a body (possibly empty): Client::Impl::HasBody
  bool accept_http_errors = false;
  HostState* host = nullptr;
  std::unique_ptr<resilience::RetryPolicy> own_policy;  // when CallOptions::max_attempts overrides
  const resilience::RetryPolicy* policy = nullptr;
  std::optional<resilience::RetryState> retry;
  resilience::Deadline deadline;
  Clock::TimePoint submitted{};
  std::chrono::milliseconds per_try{0};
  curl_slist* header_list = nullptr;

  // The current attempt.
  EasyHandle handle;  // easy null between attempts
  std::optional<resilience::CircuitBreaker::Permit> permit;
  Response resp;
  std::unique_ptr<Error> callback_error;  // a Body / Sink callback failed
  std::chrono::milliseconds attempt_timeout{0};
  Clock::TimePoint attempt_start{};
  int status_seen = -1;     // status known at the first body byte
  uint32_t header_bytes = 0;  // response header bytes of this attempt (kMaxResponseHeaderBytes)
  bool in_headers = false;    // between a status line and the end of its header block
  int out_fd = -1;
  int in_fd = -1;
  bool idempotent = true;
  bool owns_header_list = true;  // false: one of the client's shared lists (see Impl::shared_headers_)
  bool divert_body = false;      // body goes to resp.body (error / retryable response), not the sink
  bool attempt_limited_by_deadline = false;
  bool stream_touched = false;  // a stream body has been read (needs a rewind to resend)
  bool sink_touched = false;    // a stream sink got bytes this attempt (needs a rewind to retry)
  bool path_as_is = false;      // CallOptions::path_as_is
  uint64_t in_size = 0;
  uint64_t in_off = 0;
  uint64_t stream_read = 0;     // bytes produced by a stream body in this attempt
  uint64_t sink_delivered = 0;  // bytes handed to a stream sink (all attempts)
  uint64_t bytes_in_total = 0;
  int sends = 0;  // times the request went out, all attempts (OnPrereq: libcurl's own resends too)

  // Cancellation: `seq` orders submissions (Client::CancelAll cancels those up to a point);
  // `on_cancel` exists while a CallOptions::cancel token can stop the request, and sets
  // `cancel_requested` (the only member another thread touches) when it does.
  // (on_cancel is declared last so that it goes first: its destructor waits for a stop callback
  // running on another thread, which still touches cancel_requested.)
  uint64_t seq = 0;
  std::atomic<bool> cancel_requested{false};
  std::unique_ptr<std::stop_callback<CancelRequest>> on_cancel;

  ~Transfer() {
    if (header_list && owns_header_list) curl_slist_free_all(header_list);
    if (out_fd >= 0) close(out_fd);
    if (in_fd >= 0) close(in_fd);
  }
};
static_assert(sizeof(Transfer) <= 1000, "see the comment above Transfer");

}  // namespace esper::http::detail
