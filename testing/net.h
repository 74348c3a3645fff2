// Ports on 127.0.0.1 for tests and the bench: a free one to hand a server that cannot bind port 0
// itself (nginx, s3rver, a child `esper`), and a bounded wait for something to listen on it.
//
//   const int port = esper::testing::FreePort();
//   ... start the server on 127.0.0.1:port ...
//   ASSERT_TRUE(esper::testing::WaitForPort(port));
//
// A server that can bind 127.0.0.1:0 and report its port should (HttpTestServer does): a port
// found free here can be taken by another test before the server binds it.
#pragma once

#include <chrono>

namespace esper::testing {

/// A TCP port on 127.0.0.1 that was free a moment ago (the kernel's choice), or 0 on failure.
int FreePort();

/// Whether something accepts TCP connections on 127.0.0.1:`port` within `timeout` (polled).
[[nodiscard]] bool WaitForPort(int port, std::chrono::milliseconds timeout = std::chrono::seconds(10));

}  // namespace esper::testing
