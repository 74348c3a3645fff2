// libcurl alone: the http suite's reference loops written directly on a curl multi handle, with
// none of esper::http::Client around them — what a client written on this libcurl the usual way
// starts from. The rows against them show what our layer costs; the rows of libcurl alone
// against wrk, what libcurl itself costs.
#pragma once

#include <chrono>
#include <string>

#include "esper/core/result.h"
#include "throughput.h"

namespace esper::bench {

/// N GETs of `url` kept in flight for `duration` after a short warm-up: one multi handle driven
/// by epoll + curl_multi_socket_action (as our loop is), one reused easy handle per slot
/// re-added when it completes, the body appended to a string, the URL given as text with
/// CURLOPT_URL. Every response must be a 200 of 1,024 bytes. CPU is the whole process's.
Result<Throughput> LibcurlAloneRequestsPerSecond(const std::string& url, int n, std::chrono::milliseconds duration);

/// `n` GETs of `url` held in flight on one multi handle (one easy handle and one connection each,
/// driven by curl_multi_perform/poll) for up to `hold`: the peak RSS delta per request, in KiB.
/// Measured in a forked child, so neither this nor the caller's own measurement inherits the
/// other's freed heap pages; the server must hold the responses longer than `hold`.
Result<double> LibcurlAloneMemoryPerRequest(const std::string& url, int n, std::chrono::milliseconds hold);

}  // namespace esper::bench
