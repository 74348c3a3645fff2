// Private: the one place a CURLcode becomes an esper::Error.
#pragma once

#include <curl/curl.h>

#include <chrono>
#include <string>
#include <string_view>

#include "esper/core/error.h"

namespace esper::http::detail {

/// What the loop knew about the attempt when curl gave up: used to say which timeout fired and
/// where the failure happened.
struct CurlFailureContext {
  std::string_view method{};          // "GET"
  std::string_view url{};             // already redacted
  std::string_view host;            // host name (for DNS/connect messages)
  long port = 0;
  std::string_view curl_message{};    // CURLOPT_ERRORBUFFER text, may be empty
  bool connected = false;           // a connection was established for this attempt
  std::chrono::milliseconds elapsed{0};          // this attempt
  std::chrono::milliseconds connect_timeout{0};
  std::chrono::milliseconds attempt_timeout{0};  // the limit set on the attempt
  bool attempt_limited_by_deadline = false;      // the attempt's limit was the overall deadline
  std::chrono::seconds stall_time{0};
  int64_t stall_bytes_per_second = 0;
  bool in_response_headers = false;  // a status line arrived, the end of its headers had not
};

/// Maps `code` (never CURLE_OK) to an Error whose message starts with "<METHOD> <url>: " and says
/// what failed: DNS, connect, TLS, which timeout, reset/truncation, …
Error MapCurlError(CURLcode code, const CurlFailureContext& ctx);

}  // namespace esper::http::detail
