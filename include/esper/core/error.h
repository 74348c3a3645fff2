// esper/core/error.h — the one error type of every public esper API.
//
// Every fallible esper function returns `esper::Result<T>` (see result.h), whose error side is an
// `esper::Error`. An Error carries a canonical `ErrorCode` (abseil's set, whose retry meaning is
// written below), a human message, and, when the failure came from a remote service, the HTTP
// status, the service's own error code (e.g. S3 "SlowDown") and the request id.
//
// The retryable bit is what the resilience layer keys on (never the message text). Each factory
// below sets it from the code's documented meaning; a caller that knows better may override it
// with `WithRetryable()`.
//
// Thread safety: Error is a value type; distinct objects may be used from distinct threads.
//
// Example:
//   esper::Result<int> ParsePort(std::string_view s) {
//     int port = 0;
//     if (!absl_like_parse(s, &port))
//       return esper::Error::InvalidArgument(fmt::format("port '{}' is not a number", s));
//     return port;
//   }
//   auto port = ParsePort("80x");
//   if (!port) fmt::print(stderr, "{}\n", port.error());   // "InvalidArgument: port '80x' …"
#pragma once

#include <fmt/format.h>

#include <ostream>
#include <string>
#include <string_view>

namespace esper {

/// Canonical error codes (the gRPC / abseil set). The comment on each says whether to retry.
enum class ErrorCode : int {
  kOk = 0,                  // not an error; never stored in an Error returned by esper
  kCancelled = 1,           // the caller cancelled. Do not retry.
  kUnknown = 2,             // unclassified. Do not retry unless the retryable bit says so.
  kInvalidArgument = 3,     // bad input, independent of system state. Do not retry.
  kDeadlineExceeded = 4,    // a timeout or deadline passed. Retry only within a larger deadline.
  kNotFound = 5,            // the entity does not exist. Do not retry.
  kAlreadyExists = 6,       // the entity exists already. Do not retry.
  kPermissionDenied = 7,    // authenticated but not allowed. Do not retry.
  kResourceExhausted = 8,   // quota, throttling (HTTP 429, S3 SlowDown), disk full. Retry with backoff.
  kFailedPrecondition = 9,  // system not in the state required. Fix the state, then retry.
  kAborted = 10,            // concurrency conflict. Retry the whole read-modify-write.
  kOutOfRange = 11,         // past the end (e.g. a byte range). Do not retry.
  kUnimplemented = 12,      // not supported. Do not retry.
  kInternal = 13,           // an invariant broke (a bug). Do not retry.
  kUnavailable = 14,        // transient: connection refused/reset, HTTP 502/503/504. Retry with backoff.
  kDataLoss = 15,           // unrecoverable corruption (checksum mismatch). Do not retry.
  kUnauthenticated = 16,    // missing or wrong credentials. Do not retry.
};

/// The name of a code, e.g. "Unavailable".
std::string_view ErrorCodeName(ErrorCode code) noexcept;

/// Whether the code's documented meaning is "retry with backoff" (Unavailable, ResourceExhausted,
/// Aborted, DeadlineExceeded).
bool IsRetryableByDefault(ErrorCode code) noexcept;

/// An error: code + message + what the remote side said. Cheap to move, copyable.
class Error {
 public:
  /// Makes an error with the code's default retryable bit.
  Error(ErrorCode code, std::string message);

  // Factories, one per code; the retryable bit follows IsRetryableByDefault().
  static Error Cancelled(std::string msg) { return {ErrorCode::kCancelled, std::move(msg)}; }
  static Error Unknown(std::string msg) { return {ErrorCode::kUnknown, std::move(msg)}; }
  static Error InvalidArgument(std::string msg) { return {ErrorCode::kInvalidArgument, std::move(msg)}; }
  static Error DeadlineExceeded(std::string msg) { return {ErrorCode::kDeadlineExceeded, std::move(msg)}; }
  static Error NotFound(std::string msg) { return {ErrorCode::kNotFound, std::move(msg)}; }
  static Error AlreadyExists(std::string msg) { return {ErrorCode::kAlreadyExists, std::move(msg)}; }
  static Error PermissionDenied(std::string msg) { return {ErrorCode::kPermissionDenied, std::move(msg)}; }
  static Error ResourceExhausted(std::string msg) { return {ErrorCode::kResourceExhausted, std::move(msg)}; }
  static Error FailedPrecondition(std::string msg) { return {ErrorCode::kFailedPrecondition, std::move(msg)}; }
  static Error Aborted(std::string msg) { return {ErrorCode::kAborted, std::move(msg)}; }
  static Error OutOfRange(std::string msg) { return {ErrorCode::kOutOfRange, std::move(msg)}; }
  static Error Unimplemented(std::string msg) { return {ErrorCode::kUnimplemented, std::move(msg)}; }
  static Error Internal(std::string msg) { return {ErrorCode::kInternal, std::move(msg)}; }
  static Error Unavailable(std::string msg) { return {ErrorCode::kUnavailable, std::move(msg)}; }
  static Error DataLoss(std::string msg) { return {ErrorCode::kDataLoss, std::move(msg)}; }
  static Error Unauthenticated(std::string msg) { return {ErrorCode::kUnauthenticated, std::move(msg)}; }

  /// Maps an errno value (from a failed system call) to an Error in one place:
  /// ENOENT → NotFound, EACCES/EPERM → PermissionDenied, ENOSPC/EDQUOT/EMFILE → ResourceExhausted,
  /// ECONNREFUSED/ECONNRESET/EPIPE/EAGAIN → Unavailable, ETIMEDOUT → DeadlineExceeded, …
  /// `what` says what was being done ("open /var/log/x.log"); the strerror text is appended.
  static Error FromErrno(int errnum, std::string_view what);

  /// Maps an HTTP status to the canonical code in one place (400 InvalidArgument, 401
  /// Unauthenticated, 403 PermissionDenied, 404 NotFound, 409 Aborted, 412 FailedPrecondition,
  /// 416 OutOfRange, 429 ResourceExhausted, 500 Internal (retryable), 501 Unimplemented,
  /// 502/503/504 Unavailable, other 5xx Unavailable, other 4xx FailedPrecondition).
  static Error FromHttpStatus(int status, std::string message);

  ErrorCode code() const noexcept { return code_; }
  const std::string& message() const noexcept { return message_; }
  bool retryable() const noexcept { return retryable_; }
  /// HTTP status of the response that failed, or 0 if there was none.
  int http_status() const noexcept { return http_status_; }
  /// The remote service's own error code (S3 "SlowDown", "NoSuchKey"), or empty.
  const std::string& service_code() const noexcept { return service_code_; }
  /// The remote request id (S3 x-amz-request-id), or empty.
  const std::string& request_id() const noexcept { return request_id_; }

  // Fluent setters; they return a copy so they chain on temporaries.
  Error& WithRetryable(bool r) & noexcept { retryable_ = r; return *this; }
  Error&& WithRetryable(bool r) && noexcept { retryable_ = r; return std::move(*this); }
  Error& WithHttpStatus(int s) & noexcept { http_status_ = s; return *this; }
  Error&& WithHttpStatus(int s) && noexcept { http_status_ = s; return std::move(*this); }
  Error& WithServiceCode(std::string c) & { service_code_ = std::move(c); return *this; }
  Error&& WithServiceCode(std::string c) && { service_code_ = std::move(c); return std::move(*this); }
  Error& WithRequestId(std::string id) & { request_id_ = std::move(id); return *this; }
  Error&& WithRequestId(std::string id) && { request_id_ = std::move(id); return std::move(*this); }

  /// Prefixes the message with context: "open config: " + message. Code and bits are kept.
  Error& Wrap(std::string_view context) &;
  Error&& Wrap(std::string_view context) &&;

  /// "Unavailable: connect to 127.0.0.1:9 refused [http 503, SlowDown, request-id abc]".
  std::string ToString() const;

  friend bool operator==(const Error& a, const Error& b) = default;

 private:
  ErrorCode code_;
  bool retryable_;
  int http_status_ = 0;
  std::string message_;
  std::string service_code_;
  std::string request_id_;
};

/// Streams ToString(); also lets GoogleTest print an Error in a failure message.
inline std::ostream& operator<<(std::ostream& os, const Error& e) { return os << e.ToString(); }

}  // namespace esper

template <>
struct fmt::formatter<esper::Error> : fmt::formatter<std::string_view> {
  template <typename Ctx>
  auto format(const esper::Error& e, Ctx& ctx) const {
    return fmt::formatter<std::string_view>::format(e.ToString(), ctx);
  }
};
template <>
struct fmt::formatter<esper::ErrorCode> : fmt::formatter<std::string_view> {
  template <typename Ctx>
  auto format(esper::ErrorCode c, Ctx& ctx) const {
    return fmt::formatter<std::string_view>::format(esper::ErrorCodeName(c), ctx);
  }
};
