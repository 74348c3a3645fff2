// Ports on 127.0.0.1 for tests and the bench: a free one to hand a server that cannot bind port 0
// itself (nginx, s3rver, a child `esper`), a bounded wait for something to listen on it, and a
// raw request/response exchange with it.
//
//   const int port = esper::testing::FreePort();
//   ... start the server on 127.0.0.1:port ...
//   ASSERT_TRUE(esper::testing::WaitForPort(port));
//
// A server that can bind 127.0.0.1:0 and report its port should (HttpTestServer does): a port
// found free here can be taken by another test before the server binds it.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

namespace esper::testing {

/// A TCP port on 127.0.0.1 that was free a moment ago (the kernel's choice), or 0 on failure.
int FreePort();
/// `n` distinct free ports, found together (the kernel may hand the same port to two FreePort()
/// calls in a row); empty when there are not that many.
std::vector<int> FreePorts(size_t n);

/// Whether something accepts TCP connections on 127.0.0.1:`port` within `timeout` (polled).
[[nodiscard]] bool WaitForPort(int port, std::chrono::milliseconds timeout = std::chrono::seconds(10));

/// A raw exchange with a server on 127.0.0.1:`port`: connects, sends `request` as it is (framing
/// is the caller's: a test of a server's parsing writes the bytes it means), half-closes when
/// `half_close`, and reads until the server closes or is silent for 10 s. Everything the server
/// sent; "" when the connection or the send failed.
std::string Exchange(int port, const std::string& request, bool half_close = false);

}  // namespace esper::testing
