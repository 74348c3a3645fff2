// FaultProxy in http mode against a real HTTP/1.1 server on loopback; every fault is observed by
// a real client socket.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "fixture.h"

namespace esper::testing {
namespace {

using namespace std::chrono_literals;
using proxy::FaultKind;
using proxy::FaultProxy;
using proxy::Options;
using RS = RawConnection::ReadStatus;

TEST(FaultProxyHttp, PassThroughKeepAliveIsByteExact) {
  TestHttpServer upstream;
  auto proxy = StartProxy(upstream, {});
  ASSERT_TRUE(proxy);
  RawConnection c(proxy->port());
  ASSERT_TRUE(c.ok());

  ASSERT_TRUE(c.Send(Get("/hello")));
  auto r = c.ReadResponse();
  ASSERT_TRUE(r.complete);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "hello");

  ASSERT_TRUE(c.Send(Get("/chunked?n=12345")));
  r = c.ReadResponse();
  ASSERT_TRUE(r.complete);
  EXPECT_EQ(r.body, PatternBytes(12345));

  ASSERT_TRUE(c.Send("HEAD /bytes?n=777 HTTP/1.1\r\nHost: t\r\n\r\n"));
  r = c.ReadResponse("HEAD");
  ASSERT_TRUE(r.complete);
  EXPECT_EQ(r.Header("Content-Length"), "777");
  EXPECT_TRUE(r.body.empty());

  ASSERT_TRUE(c.Send(Get("/nocontent")));
  r = c.ReadResponse();
  ASSERT_TRUE(r.complete);
  EXPECT_EQ(r.status, 204);

  ASSERT_TRUE(c.Send(Request("POST", "/echo", "ping")));
  r = c.ReadResponse();
  ASSERT_TRUE(r.complete);
  EXPECT_EQ(r.body, "ping");

  // Chunked request body.
  ASSERT_TRUE(c.Send("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                     "3\r\nabc\r\n4;ext=1\r\ndefg\r\n0\r\nX-Trailer: 1\r\n\r\n"));
  r = c.ReadResponse();
  ASSERT_TRUE(r.complete);
  EXPECT_EQ(r.body, "abcdefg");

  // Nothing extra came after the responses: the proxy forwarded exactly one response each.
  std::string extra;
  EXPECT_EQ(c.ReadSome(extra, 100ms), RS::kTimeout);

  auto s = proxy->statistics();
  EXPECT_EQ(s.requests, 6u);
  EXPECT_EQ(s.passed, 6u);
  EXPECT_EQ(s.resets + s.stalls + s.errors + s.truncations, 0u);
  EXPECT_EQ(s.connections, 1u);
  EXPECT_EQ(upstream.connections(), 1);  // one keep-alive upstream connection for all six
  EXPECT_EQ(upstream.requests(), 6);
}

TEST(FaultProxyHttp, PipelinedRequestsAreAnsweredInOrder) {
  TestHttpServer upstream;
  auto proxy = StartProxy(upstream, {});
  ASSERT_TRUE(proxy);
  RawConnection c(proxy->port());
  ASSERT_TRUE(c.Send(Get("/bytes?n=10") + Request("PUT", "/echo", "two") + Get("/hello")));
  auto a = c.ReadResponse();
  auto b = c.ReadResponse();
  auto d = c.ReadResponse();
  ASSERT_TRUE(a.complete && b.complete && d.complete);
  EXPECT_EQ(a.body, PatternBytes(10));
  EXPECT_EQ(b.body, "two");
  EXPECT_EQ(d.body, "hello");
}

TEST(FaultProxyHttp, LargeBodiesBothWaysAreByteExact) {
  TestHttpServer upstream;
  auto proxy = StartProxy(upstream, {});
  ASSERT_TRUE(proxy);
  const size_t n = kSanitized ? 3u << 20 : 8u << 20;
  RawConnection c(proxy->port());
  std::string body = PatternBytes(n, 7);
  // Send from a second thread: the echo comes back while we still write.
  std::thread writer([&] { EXPECT_TRUE(c.Send(Request("PUT", "/echo", body))); });
  auto r = c.ReadResponse("PUT", 30s);
  writer.join();
  ASSERT_TRUE(r.complete);
  EXPECT_EQ(r.body.size(), n);
  EXPECT_TRUE(r.body == body);

  ASSERT_TRUE(c.Send(Get("/bytes?n=" + std::to_string(n))));
  r = c.ReadResponse("GET", 30s);
  ASSERT_TRUE(r.complete);
  EXPECT_TRUE(r.body == PatternBytes(n));

  ASSERT_TRUE(c.Send(Get("/chunked?n=" + std::to_string(n))));
  r = c.ReadResponse("GET", 30s);
  ASSERT_TRUE(r.complete);
  EXPECT_TRUE(r.body == PatternBytes(n));
  auto s = proxy->statistics();
  EXPECT_GE(s.bytes_to_upstream, n);
  EXPECT_GE(s.bytes_to_client, 3 * n);
}

TEST(FaultProxyHttp, UntilCloseResponseIsForwardedThenClosed) {
  TestHttpServer upstream;
  auto proxy = StartProxy(upstream, {});
  ASSERT_TRUE(proxy);
  RawConnection c(proxy->port());
  ASSERT_TRUE(c.Send(Get("/close?n=50000")));
  auto r = c.ReadResponse();
  EXPECT_TRUE(r.complete);
  EXPECT_EQ(r.end, RS::kEof);
  EXPECT_TRUE(r.body == PatternBytes(50000));
}

TEST(FaultProxyHttp, ConnectionCloseRequestIsHonoured) {
  TestHttpServer upstream;
  auto proxy = StartProxy(upstream, {});
  ASSERT_TRUE(proxy);
  RawConnection c(proxy->port());
  ASSERT_TRUE(c.Send(Get("/hello", /*close=*/true)));
  auto r = c.ReadResponse();
  ASSERT_TRUE(r.complete);
  EXPECT_EQ(r.body, "hello");
  std::string rest;
  EXPECT_EQ(c.ReadToEnd(rest, 5s), RS::kEof);
  EXPECT_TRUE(rest.empty());
}

}  // namespace
}  // namespace esper::testing
