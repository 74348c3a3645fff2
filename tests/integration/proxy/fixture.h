// Test helper: a real upstream server (the test server with BasicRoutes) plus a FaultProxy in
// front of it, and where a test puts a proxy's request log.
#pragma once

#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>

#include "esper/proxy/fault_proxy.h"
#include "test_client.h"
#include "testing/http_server.h"

namespace esper::testing {

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
inline constexpr bool kSanitized = true;
#else
inline constexpr bool kSanitized = false;
#endif

/// The test server with BasicRoutes, started (a failure to start fails the test).
class Upstream : public HttpTestServer {
 public:
  Upstream() : HttpTestServer(BasicRoutes) {
    Status st = Start();
    EXPECT_TRUE(st.has_value()) << (st ? "" : st.error().ToString());
  }
};

/// Starts a proxy in front of `upstream` with `options` (upstream filled in). Fails the test on error.
inline std::unique_ptr<proxy::FaultProxy> StartProxy(const HttpTestServer& upstream,
                                                    proxy::Options options) {
  options.upstream = upstream.address();
  auto p = proxy::FaultProxy::Create(std::move(options));
  EXPECT_TRUE(p.has_value()) << (p ? "" : p.error().ToString());
  if (!p) return nullptr;
  auto st = (*p)->Start();
  EXPECT_TRUE(st.has_value()) << (st ? "" : st.error().ToString());
  if (!st) return nullptr;
  EXPECT_NE((*p)->port(), 0);
  return std::move(*p);
}

/// A fresh file name for a request log under the build tree (removed if a previous run left it).
inline std::string LogPath(const std::string& name) {
  std::string dir = std::string(ESPER_BINARY_DIR) + "/test-tmp/proxy";
  std::filesystem::create_directories(dir);
  std::string path = dir + "/" + name + "-" + std::to_string(::getpid()) + ".log";
  std::filesystem::remove(path);
  return path;
}

}  // namespace esper::testing
