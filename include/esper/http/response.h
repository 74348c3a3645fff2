// esper/http/response.h — what came back: status, headers, body and how it went.
//
// A Response is returned for every completed exchange with status < 400, and for any status when
// CallOptions::accept_http_errors is set. Transport failures (DNS, connect, TLS, reset, timeouts)
// are never a Response: they are an esper::Error (see client.h for the mapping).
//
// Thread safety: a value type.
//
// Example:
//   auto r = client->Send(esper::http::Request::Get("/healthz"));
//   if (r && r->ok()) fmt::print("{} after {} attempt(s)\n", r->body, r->attempts);
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "esper/core/error.h"
#include "esper/http/request.h"

namespace esper::http {

struct Response {
  /// HTTP status of the final attempt (e.g. 200).
  int status = 0;
  /// "1.1" or "2".
  std::string http_version{};
  /// Response header fields of the final attempt, in order, names as received.
  Headers headers{};
  /// The body when the sink was memory; for a file or stream sink it is empty, except for error
  /// responses (status >= 400), whose body is kept here (first 64 KiB).
  std::string body{};
  /// The URL of the final attempt, credentials redacted (RedactUrl).
  std::string url{};
  /// How many attempts were made (1 = no retry).
  int attempts = 0;
  /// How many times the request went out, all attempts: more than `attempts` when libcurl sent
  /// it again by itself — it does so, for any method, when a reused keep-alive connection dies
  /// before any byte of the answer, so a server may have acted on a POST twice although
  /// attempts is 1. A caller whose request is not idempotent checks sends > 1.
  int sends = 0;
  /// From submission to completion, including backoff waits.
  std::chrono::nanoseconds elapsed{0};
  /// Body bytes received (all attempts) and sent (final attempt).
  uint64_t bytes_received = 0;
  uint64_t bytes_sent = 0;

  bool ok() const noexcept { return status >= 200 && status < 300; }
  /// First value of a response header (case-insensitive), or nullopt.
  std::optional<std::string_view> Header(std::string_view name) const { return FindHeader(headers, name); }
  /// OkStatus() for 2xx/3xx; otherwise Error::FromHttpStatus with method-less context
  /// "HTTP <status> from <url>: <start of body>".
  Status ToStatus() const;
};

}  // namespace esper::http
