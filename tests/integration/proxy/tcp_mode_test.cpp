// FaultProxy in tcp mode: opaque bytes, one fault decision per connection.
#include <gtest/gtest.h>

#include <sys/socket.h>

#include <chrono>
#include <thread>

#include "fixture.h"
#include "testing/net.h"
#include "testing/wait.h"

namespace esper::testing {
namespace {

using namespace std::chrono_literals;
using proxy::FaultKind;
using proxy::Mode;
using RS = RawConnection::ReadStatus;

TEST(FaultProxyTcp, PassThroughIsByteExactBothWays) {
  Upstream upstream;
  auto proxy = StartProxy(upstream, {.mode = Mode::kTcp});
  ASSERT_TRUE(proxy);
  RawConnection c(proxy->port());
  const size_t n = kSanitized ? 2u << 20 : 6u << 20;
  std::string body = PatternBytes(n, 3);
  std::thread writer([&] { EXPECT_TRUE(c.Send(Request("PUT", "/echo", body))); });
  auto r = c.ReadResponse("PUT", 30s);
  writer.join();
  ASSERT_TRUE(r.complete);
  EXPECT_TRUE(r.body == body);
  ASSERT_TRUE(c.Send(Get("/chunked?n=300000")));
  r = c.ReadResponse();
  ASSERT_TRUE(r.complete);
  EXPECT_TRUE(r.body == PatternBytes(300000));
  auto s = proxy->statistics();
  EXPECT_EQ(s.requests, 1u);  // one decision for the connection
  EXPECT_EQ(s.passed, 1u);
  EXPECT_EQ(upstream.requests(), 2u);
}

TEST(FaultProxyTcp, HalfCloseIsPropagated) {
  Upstream upstream;
  auto proxy = StartProxy(upstream, {.mode = Mode::kTcp});
  ASSERT_TRUE(proxy);
  RawConnection c(proxy->port());
  ASSERT_TRUE(c.Send(Get("/hello")));
  ASSERT_EQ(::shutdown(c.fd(), SHUT_WR), 0);  // we are done sending
  std::string got;
  EXPECT_EQ(c.ReadToEnd(got, 10s), RS::kEof);  // the response, then upstream's close
  EXPECT_NE(got.find("hello"), std::string::npos);
  EXPECT_TRUE(WaitUntil([&] { return proxy->statistics().active_connections == 0; }));
  EXPECT_EQ(proxy->statistics().active_connections, 0u);
}

TEST(FaultProxyTcp, ResetOnFirstBytes) {
  Upstream upstream;
  auto proxy = StartProxy(upstream, {.mode = Mode::kTcp, .reset_rate = 1.0});
  ASSERT_TRUE(proxy);
  RawConnection c(proxy->port());
  ASSERT_TRUE(c.Send(Get("/hello")));
  std::string got;
  EXPECT_EQ(c.ReadToEnd(got, 10s), RS::kReset);
  EXPECT_EQ(c.last_errno(), ECONNRESET);
  EXPECT_EQ(upstream.requests(), 0u);
  EXPECT_EQ(proxy->statistics().resets, 1u);
}

TEST(FaultProxyTcp, StallNeverConnectsUpstream) {
  Upstream upstream;
  auto proxy = StartProxy(upstream, {.mode = Mode::kTcp, .stall_rate = 1.0});
  ASSERT_TRUE(proxy);
  RawConnection c(proxy->port());
  ASSERT_TRUE(c.Send(Get("/hello")));
  std::string got;
  EXPECT_EQ(c.ReadSome(got, 300ms), RS::kTimeout);
  EXPECT_EQ(upstream.connections_accepted(), 0u);
  proxy->Stop();
  RS end = c.ReadToEnd(got, 10s);
  EXPECT_TRUE(end == RS::kEof || end == RS::kReset);
}

TEST(FaultProxyTcp, TruncateCutsTheFirstUpstreamBytes) {
  Upstream upstream;
  auto proxy = StartProxy(upstream, {.mode = Mode::kTcp, .truncate_rate = 1.0, .seed = 2});
  ASSERT_TRUE(proxy);
  RawConnection c(proxy->port());
  ASSERT_TRUE(c.Send(Get("/bytes?n=100000")));
  auto r = c.ReadResponse();
  EXPECT_FALSE(r.complete);
  EXPECT_EQ(r.end, RS::kEof);
  EXPECT_EQ(proxy->statistics().truncations, 1u);
}

TEST(FaultProxyTcp, LatencyHoldsEveryChunkBothWays) {
  Upstream upstream;
  auto proxy = StartProxy(upstream, {.mode = Mode::kTcp, .latency = 100ms});
  ASSERT_TRUE(proxy);
  RawConnection c(proxy->port());
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(c.Send(Get("/hello")));
  auto r = c.ReadResponse();
  ASSERT_TRUE(r.complete);
  EXPECT_EQ(r.body, "hello");
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 200ms);  // request + response, lower bound only
  EXPECT_GE(proxy->statistics().delayed, 2u);
}

TEST(FaultProxyTcp, SameSeedSameDecisionsPerConnection) {
  auto run = [](uint64_t seed) {
    Upstream upstream;
    auto proxy = StartProxy(upstream, {.mode = Mode::kTcp, .reset_rate = 0.3,
                                       .truncate_rate = 0.3, .seed = seed});
    std::string seen;
    for (int i = 0; i < 24; ++i) {
      RawConnection c(proxy->port());
      if (!c.Send(Get("/bytes?n=1000"))) {
        seen += 'W';
        continue;
      }
      auto r = c.ReadResponse();
      seen += r.complete ? '.' : r.end == RS::kReset ? 'R' : r.end == RS::kEof ? 'T' : '?';
    }
    return std::make_pair(seen, proxy->FaultLog());
  };
  auto a = run(77), b = run(77);
  EXPECT_EQ(a.first, b.first);
  EXPECT_EQ(a.second, b.second);
  ASSERT_EQ(a.second.size(), 24u);
  for (size_t i = 0; i < a.second.size(); ++i) {
    char want = a.second[i].fault == FaultKind::kNone    ? '.'
                : a.second[i].fault == FaultKind::kReset ? 'R'
                                                         : 'T';
    EXPECT_EQ(a.first[i], want) << i;
  }
}

TEST(FaultProxyTcp, UnreachableUpstreamResetsTheClient) {
  const int dead_port = FreePort();
  ASSERT_NE(dead_port, 0);
  auto p = proxy::FaultProxy::Create(
      {.upstream = "127.0.0.1:" + std::to_string(dead_port), .mode = Mode::kTcp});
  ASSERT_TRUE(p);
  ASSERT_TRUE((*p)->Start());
  RawConnection c((*p)->port());
  std::string got;
  (void)c.Send(Get("/"));
  RS end = c.ReadToEnd(got, 10s);
  EXPECT_TRUE(end == RS::kReset || end == RS::kEof);
  EXPECT_TRUE(got.empty());
  EXPECT_TRUE(WaitUntil([&] { return (*p)->statistics().upstream_failures != 0; }));
  EXPECT_EQ((*p)->statistics().upstream_failures, 1u);
}

}  // namespace
}  // namespace esper::testing
