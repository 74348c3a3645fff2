// esper/http/request.h — what to send: method, URL, query, headers, body, where the response
// body goes, and the per-call options (timeouts, retries, tracing).
//
// A Request is a plain value you fill in with designated initializers or the helpers below and
// hand to esper::http::Client (client.h). Bodies come from memory, a file or a read callback
// (Body); response bodies go to memory (the default), a file or a write callback (Sink). Both
// directions stream: a multi-GB object never has to fit in memory.
//
// Example:
//   using namespace esper::http;
//   Request put{.method = Method::kPut, .url = "/bucket/key",
//               .headers = {{"Content-Type", "application/octet-stream"}},
//               .body = Body::FromFile("/data/model.bin"),
//               .options = {.timeout = std::chrono::minutes(5)}};
//   Request get = Request::Get("/bucket/key");
//   get.sink = Sink::ToFile("/tmp/model.bin");
//   get.query = {{"versionId", "3/L4kqtJl"}};        // sent as ?versionId=3%2FL4kqtJl
//
// Thread safety: a value type. The callbacks inside a Body or Sink are called on the client's
// event-loop thread, one at a time, never concurrently with each other for the same request.
//
// Retries and bodies: a request is retried only if its body can be replayed (memory and file
// bodies always; a stream body only if it has a rewind function) and, for a stream Sink, only if
// no byte has been delivered to it yet or it has a rewind function. Bodies of error responses (status >= 400) are never
// passed to a file or stream sink: they are kept in Response::body (capped at 64 KiB) so the error
// can say what the server said. (A 2xx that a ResponseClassifier retries has reached the sink: a
// file sink starts over, a stream sink that received bytes ends the retries.)
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "esper/core/clock.h"
#include "esper/core/result.h"
#include "esper/http/url.h"
#include "esper/resilience/deadline.h"

namespace esper::http {

enum class Method { kGet, kHead, kPost, kPut, kPatch, kDelete, kOptions };

/// "GET", "HEAD", …
std::string_view MethodName(Method m) noexcept;
/// Parses "get"/"GET" etc. Errors: InvalidArgument.
Result<Method> ParseMethod(std::string_view name);
/// RFC 9110 idempotent methods: GET, HEAD, PUT, DELETE, OPTIONS. These are retried by default.
bool IsIdempotent(Method m) noexcept;

/// Header fields in order. Names are compared case-insensitively; values are sent verbatim.
using Headers = std::vector<std::pair<std::string, std::string>>;

/// The first value of header `name` (case-insensitive), or nullopt.
std::optional<std::string_view> FindHeader(const Headers& headers, std::string_view name);
/// Sets header `name` to `value`: the first field of that name (case-insensitive) takes the value,
/// any further ones are removed; appended when there is none.
void SetHeader(Headers& headers, std::string_view name, std::string value);

/// Where a request body comes from.
class Body {
 public:
  /// Fills `buf` with up to `cap` bytes and returns how many; 0 means the end of the body.
  /// An error aborts the request with that error (not retried).
  using ReadFn = std::function<Result<size_t>(char* buf, size_t cap)>;
  /// Restarts a stream body from its first byte (makes a stream body retryable).
  using RewindFn = std::function<Status()>;

  enum class Kind { kNone, kMemory, kFile, kStream };

  /// No body (Content-Length is not sent for GET/HEAD/DELETE; "0" for POST/PUT/PATCH).
  Body() = default;
  /// A body held in memory (shared, so retries do not copy it).
  static Body FromString(std::string data);
  /// A body already shared (never null; one buffer sent by several requests is not copied).
  static Body FromShared(std::shared_ptr<const std::string> data);
  /// A body read from `path` when the request starts; its size (stat) is sent as Content-Length.
  /// Errors (at send time): NotFound / PermissionDenied from opening the file; InvalidArgument
  /// when it is not a regular file (a pipe, FIFO or device: read those with FromStream, as any
  /// file whose size is not its length, like those in /proc).
  static Body FromFile(std::string path);
  /// A body produced by `read`. With `size` the request carries Content-Length and the stream
  /// must produce exactly that many bytes; without it the body is sent chunked.
  static Body FromStream(ReadFn read, std::optional<uint64_t> size = std::nullopt,
                         RewindFn rewind = nullptr);

  Kind kind() const noexcept { return kind_; }
  /// Whether the body can be sent again for a retry.
  bool replayable() const noexcept { return kind_ != Kind::kStream || rewind_ != nullptr; }

  // Accessors used by the client.
  const std::shared_ptr<const std::string>& data() const noexcept { return data_; }
  const std::string& path() const noexcept { return path_; }
  const ReadFn& read_fn() const noexcept { return read_; }
  const RewindFn& rewind_fn() const noexcept { return rewind_; }
  std::optional<uint64_t> stream_size() const noexcept { return size_; }

 private:
  Kind kind_ = Kind::kNone;
  std::shared_ptr<const std::string> data_{};
  std::string path_{};
  ReadFn read_{};
  RewindFn rewind_{};
  std::optional<uint64_t> size_;
};

/// Where a (successful) response body goes.
class Sink {
 public:
  /// Receives the next chunk of the body. An error aborts the request with that error.
  using WriteFn = std::function<Status(std::string_view chunk)>;
  /// Makes the receiver start over (discarding what it got): a stream sink with one can be
  /// retried after it received bytes. An error ends the request with that error.
  using RewindFn = std::function<Status()>;

  enum class Kind { kMemory, kFile, kStream };

  /// Response::body (the default), bounded by ClientOptions::max_response_bytes.
  static Sink ToMemory() { return Sink(); }
  /// Written to `path` (created or truncated; truncated again before a retry). Response::body
  /// stays empty.
  static Sink ToFile(std::string path);
  /// Handed to `write` chunk by chunk as it arrives. Response::body stays empty. Without
  /// `rewind` a request is not retried once `write` received a byte; with it, `rewind` is called
  /// (on the loop thread) before the attempt that follows one that delivered bytes.
  static Sink ToStream(WriteFn write, RewindFn rewind = nullptr);

  Kind kind() const noexcept { return kind_; }
  const std::string& path() const noexcept { return path_; }
  const WriteFn& write_fn() const noexcept { return write_; }
  const RewindFn& rewind_fn() const noexcept { return rewind_; }

 private:
  Kind kind_ = Kind::kMemory;
  std::string path_{};
  WriteFn write_{};
  RewindFn rewind_{};
};

struct Response;

// ---- Per-attempt decisions: a caller that knows its service (S3 signs every attempt and reads
// its XML error bodies) decides what the generic client cannot. Both run on the client's loop
// thread, one at a time per request; they must be quick and must not block (no network, no disk:
// fetch credentials elsewhere and hand them in). They may share state with each other through
// what they capture — that is how "retry once more after correcting something" is written:
//
//   // A server that rejects a request stamped with a skewed clock, and says so in its body
//   // (Now, FormatDate and ParseDate are the caller's own).
//   auto skew = std::make_shared<std::atomic<int64_t>>(0);          // seconds, server - ours
//   req.options.before_attempt = [skew](http::AttemptRequest& a) -> esper::Status {
//     http::SetHeader(a.headers, "X-Date", FormatDate(Now() + skew->load()));   // sign here
//     return esper::OkStatus();
//   };
//   req.options.classify = [skew](const http::AttemptResponse& r) {
//     if (r.response.status == 403 && r.response.body.find("Skewed") != std::string::npos &&
//         r.attempt == 1) {
//       if (auto date = r.response.Header("Date")) skew->store(ParseDate(*date) - Now());
//       return http::ResponseVerdict::Retry(esper::Error::PermissionDenied("clock skew"), 0s);
//     }
//     return http::DefaultClassifier(r);
//   };

/// One attempt about to be sent, as an AttemptHook sees it.
struct AttemptRequest {
  /// 1 for the first attempt, 2 for the first retry, …
  int attempt = 1;
  Method method = Method::kGet;
  /// The final URL with its query, exactly as sent (not redacted: a signer signs it). Never
  /// print it; use RedactUrl.
  std::string_view url{};
  /// The header fields this attempt sends: ClientOptions::default_headers the request does not
  /// override, Request::headers, traceparent / tracestate, User-Agent — rebuilt from those for
  /// every attempt, so a hook sets a value afresh each time rather than stacking them. The hook
  /// may add, change or remove fields; they are validated again (no CR, LF or NUL). curl adds
  /// Host, Content-Length / Transfer-Encoding itself.
  Headers headers{};
};

/// Runs on the loop thread just before each attempt is sent — the first and every retry, after
/// the backoff wait and the circuit breaker, before the attempt's connection is chosen. An error
/// ends the request with that error as it is (not retried).
using AttemptHook = std::function<Status(AttemptRequest& attempt)>;

/// One attempt's HTTP response, as a ResponseClassifier sees it.
struct AttemptResponse {
  /// 1 for the first attempt, 2 for the first retry, …
  int attempt = 1;
  Method method = Method::kGet;
  /// This attempt's response: status, http_version, headers, url (redacted) and body — all of
  /// it for a memory sink; for a file or stream sink, the body of a status >= 400 (its first
  /// 64 KiB), else empty (it went to the sink).
  const Response& response;
};

/// What to do with one attempt's response.
struct ResponseVerdict {
  /// Empty: a success — the response is the request's result. Set: the attempt failed with this
  /// error. It is retried when its retryable() bit is set and the retry policy, the retry budget,
  /// the deadline, the method (idempotent or CallOptions::retry_safe) and the body (replayable)
  /// all allow it; otherwise it is the request's result (a status >= 400 with
  /// CallOptions::accept_http_errors: the Response instead). Its message should name the method
  /// and the redacted URL; an http_status of 0 is set to the response's status.
  std::optional<Error> error{};
  /// Replaces the backoff before the retry (as a server's Retry-After does), capped at
  /// RetryOptions::max_retry_after; zero retries at once.
  std::optional<Clock::Duration> retry_after{};

  static ResponseVerdict Success() { return {}; }
  /// A failure to retry (error's retryable bit set).
  static ResponseVerdict Retry(Error error, std::optional<Clock::Duration> retry_after = std::nullopt);
  /// A failure not to retry (error's retryable bit cleared).
  static ResponseVerdict Fail(Error error);
};

/// Decides, for every attempt that got an HTTP response (not for transport failures, which the
/// client maps and retries itself), whether it is a success, a failure to retry or a final one.
using ResponseClassifier = std::function<ResponseVerdict(const AttemptResponse& attempt)>;

/// The classifier a request without one gets: status < 400 is a success; otherwise
/// Error::FromHttpStatus with "<METHOD>: HTTP <status> from <url>: <start of the body>", retried
/// for 429, 502, 503 and 504 only (a 500 is usually a bug, not a blip), with the response's
/// Retry-After (seconds or HTTP-date) and its X-Request-Id as the error's request id.
ResponseVerdict DefaultClassifier(const AttemptResponse& attempt);

/// Per-call options; each one left empty takes the client's value (ClientOptions).
struct CallOptions {
  /// Limit of one attempt (connect + send + wait + receive, including time queued for a pooled
  /// connection). Empty: ClientOptions::request_timeout.
  std::optional<std::chrono::milliseconds> timeout{};
  /// Overall limit across every attempt and backoff wait, counted from submission. No attempt
  /// starts, and no attempt runs, past it. Empty: ClientOptions::overall_timeout (0 = none).
  std::optional<std::chrono::milliseconds> overall_timeout{};
  /// An overall deadline handed down by the caller (e.g. the deadline of the operation this
  /// request is part of); the earlier of this and overall_timeout holds.
  std::optional<resilience::Deadline> deadline{};
  /// Total attempts for this request (1 = no retries). Empty: the client's retry policy.
  std::optional<int> max_attempts{};
  /// Treat the request as safe to repeat even if its method is not idempotent (e.g. a POST with
  /// an idempotency key). Default: only GET, HEAD, PUT, DELETE, OPTIONS are retried.
  bool retry_safe = false;
  /// false (default): a final status >= 400 becomes an Error (Error::FromHttpStatus, with the
  /// status, method, redacted URL and the start of the body). true: it is returned as a Response
  /// for the caller to inspect (S3 parses its XML error bodies this way).
  bool accept_http_errors = false;
  /// W3C trace context. When non-empty it must be a valid version-00 traceparent
  /// ("00-<32 hex trace id>-<16 hex span id>-<2 hex flags>") and is sent as `traceparent`;
  /// `tracestate` is sent alongside when non-empty.
  std::string traceparent{};
  std::string tracestate{};
  /// Decides what each attempt's response means (above). Empty: DefaultClassifier.
  ResponseClassifier classify{};
  /// Runs before each attempt is sent and may rewrite its headers (above). Empty: none.
  AttemptHook before_attempt{};
  /// Cancels the request when a stop is requested on it, from any thread, at any time: a running
  /// attempt is aborted, a backoff wait ends, and the callback gets Cancelled (already requested
  /// at submission: SendAsync returns Cancelled). One std::stop_source can stop many requests —
  /// every part of a multipart upload, say. Empty (the default): only Client::CancelAll and the
  /// destructor cancel it.
  std::stop_token cancel{};
  /// Send the URL's path exactly as given: libcurl otherwise removes "." and ".." segments
  /// ("/b/a/../c" becomes "/b/c"), which an object key such as "a/../c" must keep (S3).
  bool path_as_is = false;
};

struct Request {
  Method method = Method::kGet;
  /// Absolute ("https://host/path") or relative to ClientOptions::base_url ("/path").
  std::string url{};
  /// Appended to the URL, RFC 3986-encoded (url.h).
  QueryParams query{};
  /// Sent after ClientOptions::default_headers; a name given here replaces the default one.
  Headers headers{};
  Body body{};
  Sink sink{};
  CallOptions options{};

  static Request Get(std::string url) { return Request{.method = Method::kGet, .url = std::move(url)}; }
  static Request Head(std::string url) { return Request{.method = Method::kHead, .url = std::move(url)}; }
  static Request Delete(std::string url) { return Request{.method = Method::kDelete, .url = std::move(url)}; }
  static Request Post(std::string url, Body body) {
    return Request{.method = Method::kPost, .url = std::move(url), .body = std::move(body)};
  }
  static Request Put(std::string url, Body body) {
    return Request{.method = Method::kPut, .url = std::move(url), .body = std::move(body)};
  }
  static Request Patch(std::string url, Body body) {
    return Request{.method = Method::kPatch, .url = std::move(url), .body = std::move(body)};
  }
};

/// Whether `tp` is a valid W3C traceparent (version 00, lower-case hex, non-zero ids).
bool IsValidTraceparent(std::string_view tp) noexcept;

}  // namespace esper::http
