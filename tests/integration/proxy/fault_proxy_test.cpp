// FaultProxy in http mode against a real HTTP/1.1 server on loopback; every fault is observed by
// a real client socket.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "testing/net.h"
#include "testing/threads.h"
#include "testing/wait.h"
#include "fixture.h"

namespace esper::testing {
namespace {

using namespace std::chrono_literals;
using proxy::FaultKind;
using proxy::FaultProxy;
using proxy::Options;
using RS = RawConnection::ReadStatus;

TEST(FaultProxyHttp, PassThroughKeepAliveIsByteExact) {
  Upstream upstream;
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

  auto s = proxy->get_stats();
  EXPECT_EQ(s.requests, 6u);
  EXPECT_EQ(s.passed, 6u);
  EXPECT_EQ(s.resets + s.stalls + s.errors + s.truncations, 0u);
  EXPECT_EQ(s.connections, 1u);
  EXPECT_EQ(upstream.connections_accepted(), 1u);  // one keep-alive upstream connection for all six
  EXPECT_EQ(upstream.requests(), 6u);
}

TEST(FaultProxyHttp, PipelinedRequestsAreAnsweredInOrder) {
  Upstream upstream;
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
  Upstream upstream;
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
  Upstream upstream;
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
  Upstream upstream;
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


TEST(FaultProxyHttp, ExpectContinueInterimResponseIsForwarded) {
  Upstream upstream;
  auto proxy = StartProxy(upstream, {});
  ASSERT_TRUE(proxy);
  RawConnection c(proxy->port());
  ASSERT_TRUE(c.Send("PUT /echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n"));
  auto interim = c.ReadResponse("PUT");
  ASSERT_TRUE(interim.complete);
  EXPECT_EQ(interim.status, 100);
  ASSERT_TRUE(c.Send("world"));
  auto r = c.ReadResponse("PUT");
  ASSERT_TRUE(r.complete);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "world");
  EXPECT_EQ(proxy->statistics().requests, 1u);
}

TEST(FaultProxyHttp, ManyConcurrentConnectionsShareOneLoopThread) {
  Upstream upstream;
  auto before = ThreadCount();
  auto proxy = StartProxy(upstream, {});
  ASSERT_TRUE(proxy);
  EXPECT_EQ(ThreadCount(), before + 1);  // the proxy owns exactly one thread
  const int kClients = kSanitized ? 16 : 48, kRequests = 20;
  std::vector<std::thread> clients;
  std::atomic<int> ok{0}, connected{0};
  std::atomic<bool> go{false};
  for (int t = 0; t < kClients; ++t) {
    clients.emplace_back([&, t] {
      RawConnection c(proxy->port());
      connected.fetch_add(1);
      while (!go) std::this_thread::yield();
      for (int i = 0; i < kRequests; ++i) {
        size_t n = static_cast<size_t>((t * 7919 + i * 104729) % 70000);
        if (!c.Send(Get("/bytes?n=" + std::to_string(n)))) return;
        auto r = c.ReadResponse();
        if (r.complete && r.body == PatternBytes(n)) ok.fetch_add(1);
      }
    });
  }
  // Every client connection open (and accepted): still one proxy thread, not one per connection.
  EXPECT_TRUE(WaitUntil([&] {
    return connected >= kClients && proxy->statistics().active_connections >= static_cast<uint64_t>(kClients);
  }, 30s));
  EXPECT_EQ(proxy->statistics().active_connections, static_cast<uint64_t>(kClients));
  EXPECT_EQ(testing::TasksNamed("esper-proxy").size(), 1u);
  // And no unnamed helper either: beyond the clients, one thread (the upstream server's one
  // thread was running before `before` was counted; polled, as a joined client thread can stay
  // in /proc for a moment).
  auto extra = [&] { return ThreadCount() - before - kClients; };
  EXPECT_TRUE(WaitUntil([&] { return extra() == 1; }, 30s));
  EXPECT_EQ(extra(), 1);
  go = true;
  for (auto& th : clients) th.join();
  EXPECT_EQ(ok.load(), kClients * kRequests);
  EXPECT_EQ(proxy->statistics().requests, static_cast<uint64_t>(kClients * kRequests));
  EXPECT_EQ(proxy->statistics().connections, static_cast<uint64_t>(kClients));
}

// ---------------------------------------------------------------------------- faults

TEST(FaultProxyHttp, ResetIsSeenAsEconnresetAndLoggedBeforeOrAfterUpstream) {
  Upstream upstream;
  auto proxy = StartProxy(upstream, {.reset_rate = 1.0, .seed = 3});
  ASSERT_TRUE(proxy);
  const int kConns = 16;
  for (int i = 0; i < kConns; ++i) {
    RawConnection c(proxy->port());
    ASSERT_TRUE(c.Send(Get("/hello")));
    std::string got;
    EXPECT_EQ(c.ReadToEnd(got, 10s), RS::kReset) << "connection " << i;
    EXPECT_EQ(c.last_errno(), ECONNRESET);
    EXPECT_TRUE(got.empty());
  }
  auto log = proxy->FaultLog();
  ASSERT_EQ(log.size(), static_cast<size_t>(kConns));
  int after = 0;
  for (int i = 0; i < kConns; ++i) {
    EXPECT_EQ(log[i].connection, static_cast<uint64_t>(i));
    EXPECT_EQ(log[i].request, 0u);
    ASSERT_TRUE(log[i].fault == FaultKind::kReset || log[i].fault == FaultKind::kResetAfterUpstream);
    after += log[i].fault == FaultKind::kResetAfterUpstream;
  }
  EXPECT_GT(after, 0);  // seed 3 gives both kinds in 16 draws
  EXPECT_LT(after, kConns);
  // Exactly the "after upstream" resets reached the server.
  EXPECT_EQ(upstream.requests(), static_cast<uint64_t>(after));
  auto s = proxy->statistics();
  EXPECT_EQ(s.resets, static_cast<uint64_t>(kConns));
  EXPECT_EQ(s.passed, 0u);
}

TEST(FaultProxyHttp, StallNeverAnswersAndStopReleasesTheClient) {
  Upstream upstream;
  auto proxy = StartProxy(upstream, {.stall_rate = 1.0});
  ASSERT_TRUE(proxy);
  RawConnection c(proxy->port());
  ASSERT_TRUE(c.Send(Request("POST", "/echo", std::string(100000, 'x'))));
  std::string got;
  EXPECT_EQ(c.ReadSome(got, 300ms), RS::kTimeout);  // silence, not EOF
  // The proxy keeps reading (the client is not blocked on a full window).
  ASSERT_TRUE(c.Send(Get("/hello")));
  EXPECT_EQ(c.ReadSome(got, 200ms), RS::kTimeout);
  EXPECT_TRUE(got.empty());
  // The stall is decided when the loop reads the request: waited for, not assumed after the pauses.
  EXPECT_TRUE(WaitUntil([&] { return proxy->statistics().stalls != 0; }));
  EXPECT_EQ(proxy->statistics().stalls, 1u);
  EXPECT_EQ(proxy->statistics().active_connections, 1u);
  EXPECT_EQ(upstream.requests(), 0u);

  auto t0 = std::chrono::steady_clock::now();
  proxy->Stop();
  (void)t0;  // no upper bound asserted: only that Stop returns and the client is released
  RS end = c.ReadToEnd(got, 10s);
  EXPECT_TRUE(end == RS::kEof || end == RS::kReset);
  EXPECT_TRUE(got.empty());
}

TEST(FaultProxyHttp, Injected503CarriesRetryAfterAndKeepsTheConnection) {
  Upstream upstream;
  auto proxy = StartProxy(upstream, {.error_rate = 1.0,
                                     .error_status = proxy::ErrorStatus::k503,
                                     .retry_after = std::chrono::seconds(2)});
  ASSERT_TRUE(proxy);
  RawConnection c(proxy->port());
  // A request with a body (discarded), then another on the same connection.
  ASSERT_TRUE(c.Send(Request("PUT", "/echo", PatternBytes(300000))));
  auto r = c.ReadResponse();
  ASSERT_TRUE(r.complete);
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.Header("Retry-After"), "2");
  EXPECT_EQ(r.Header("Connection"), "keep-alive");
  EXPECT_EQ(r.Header("X-Esper-Fault"), "error");
  EXPECT_EQ(r.Header("Content-Length"), std::to_string(r.body.size()));
  EXPECT_NE(r.body.find("503"), std::string::npos);

  ASSERT_TRUE(c.Send(Get("/hello")));
  r = c.ReadResponse();
  ASSERT_TRUE(r.complete);
  EXPECT_EQ(r.status, 503);

  EXPECT_EQ(upstream.requests(), 0u);  // upstream never contacted
  EXPECT_EQ(upstream.connections_accepted(), 0u);
  auto s = proxy->statistics();
  EXPECT_EQ(s.errors, 2u);
  EXPECT_EQ(s.requests, 2u);
}

TEST(FaultProxyHttp, InjectedErrorAfterExpectContinueClosesTheConnection) {
  Upstream upstream;
  auto proxy = StartProxy(upstream, {.error_rate = 1.0});
  ASSERT_TRUE(proxy);
  RawConnection c(proxy->port());
  ASSERT_TRUE(c.Send("PUT /echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n"));
  auto r = c.ReadResponse("PUT");
  ASSERT_TRUE(r.complete);
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.Header("Connection"), "close");  // the body was never sent: do not wait for it
  std::string rest;
  EXPECT_EQ(c.ReadToEnd(rest, 5s), RS::kEof);
}

TEST(FaultProxyHttp, Injected500WithoutRetryAfter) {
  Upstream upstream;
  auto proxy = StartProxy(upstream, {.error_rate = 1.0, .error_status = proxy::ErrorStatus::k500});
  ASSERT_TRUE(proxy);
  RawConnection c(proxy->port());
  ASSERT_TRUE(c.Send(Get("/hello")));
  auto r = c.ReadResponse();
  ASSERT_TRUE(r.complete);
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.Header("Retry-After"), "");
}

TEST(FaultProxyHttp, SlowDownIsS3XmlAndClosesWhenTheClientAsked) {
  Upstream upstream;
  auto proxy = StartProxy(upstream, {.error_rate = 1.0, .error_status = proxy::ErrorStatus::kSlowDown,
                                     .retry_after = std::chrono::seconds(1)});
  ASSERT_TRUE(proxy);
  RawConnection c(proxy->port());
  ASSERT_TRUE(c.Send(Get("/bucket/key?x=<&>", /*close=*/true)));
  auto r = c.ReadResponse();
  ASSERT_TRUE(r.complete);
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.Header("Content-Type"), "application/xml");
  EXPECT_EQ(r.Header("Connection"), "close");
  EXPECT_EQ(r.Header("Retry-After"), "1");
  EXPECT_FALSE(r.Header("x-amz-request-id").empty());
  EXPECT_NE(r.body.find("<Error><Code>SlowDown</Code>"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("<Message>Please reduce your request rate.</Message>"), std::string::npos);
  EXPECT_NE(r.body.find("<Resource>/bucket/key?x=&lt;&amp;&gt;</Resource>"), std::string::npos);
  EXPECT_NE(r.body.find("<RequestId>" + r.Header("x-amz-request-id") + "</RequestId>"),
            std::string::npos);
  std::string rest;
  EXPECT_EQ(c.ReadToEnd(rest, 5s), RS::kEof);
}

TEST(FaultProxyHttp, TruncateContentLengthBodyEndsEarlyWithEof) {
  Upstream upstream;
  auto proxy = StartProxy(upstream, {.truncate_rate = 1.0, .seed = 11});
  ASSERT_TRUE(proxy);
  for (int i = 0; i < 5; ++i) {
    RawConnection c(proxy->port());
    ASSERT_TRUE(c.Send(Get("/bytes?n=100000")));
    auto r = c.ReadResponse();
    EXPECT_EQ(r.status, 200);
    EXPECT_FALSE(r.complete);
    EXPECT_EQ(r.end, RS::kEof);  // a FIN, not a reset
    EXPECT_EQ(r.Header("Content-Length"), "100000");
    EXPECT_LT(r.body.size(), 100000u);
    EXPECT_EQ(r.body, PatternBytes(100000).substr(0, r.body.size()));  // a true prefix
  }
  EXPECT_EQ(proxy->statistics().truncations, 5u);
}

TEST(FaultProxyHttp, TruncateChunkedBodyLosesTheEnd) {
  Upstream upstream;
  auto proxy = StartProxy(upstream, {.truncate_rate = 1.0, .seed = 5});
  ASSERT_TRUE(proxy);
  for (size_t n : {10u, 5000u, 200000u}) {
    RawConnection c(proxy->port());
    ASSERT_TRUE(c.Send(Get("/chunked?n=" + std::to_string(n))));
    auto r = c.ReadResponse();
    EXPECT_EQ(r.status, 200);
    EXPECT_FALSE(r.complete) << n;
    EXPECT_EQ(r.end, RS::kEof);
    EXPECT_LE(r.body.size(), n);
  }
}

TEST(FaultProxyHttp, TruncateResponseWithoutBodyCutsTheHead) {
  Upstream upstream;
  auto proxy = StartProxy(upstream, {.truncate_rate = 1.0});
  ASSERT_TRUE(proxy);
  RawConnection c(proxy->port());
  ASSERT_TRUE(c.Send(Get("/nocontent")));
  auto r = c.ReadResponse();
  EXPECT_FALSE(r.complete);
  EXPECT_EQ(r.end, RS::kEof);
}

TEST(FaultProxyHttp, LatencyDelaysEachRequest) {
  Upstream upstream;
  auto proxy = StartProxy(upstream, {.latency = std::chrono::milliseconds(150)});
  ASSERT_TRUE(proxy);
  RawConnection c(proxy->port());
  for (int i = 0; i < 2; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    ASSERT_TRUE(c.Send(Get("/hello")));
    auto r = c.ReadResponse();
    auto elapsed = std::chrono::steady_clock::now() - t0;
    ASSERT_TRUE(r.complete);
    EXPECT_EQ(r.body, "hello");
    EXPECT_GE(elapsed, 150ms);  // lower bound only; no wall-clock upper bound
  }
  EXPECT_EQ(proxy->statistics().delayed, 2u);
}

TEST(FaultProxyHttp, LatencyAlsoDelaysInjectedErrors) {
  Upstream upstream;
  auto proxy = StartProxy(upstream, {.latency = std::chrono::milliseconds(100), .error_rate = 1.0});
  ASSERT_TRUE(proxy);
  RawConnection c(proxy->port());
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(c.Send(Get("/hello")));
  auto r = c.ReadResponse();
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 100ms);
  EXPECT_EQ(r.status, 503);
}

// Runs `requests` GETs through a fresh proxy with `seed`, reconnecting whenever a fault ends the
// connection; returns what the client observed, one letter per request, plus the fault log.
struct Trace {
  std::string observed;
  std::vector<proxy::FaultRecord> log;
};
Trace RunMixedSequence(uint64_t seed, int requests) {
  Upstream upstream;
  auto proxy = StartProxy(upstream, {.reset_rate = 0.15, .error_rate = 0.15,
                                     .error_status = proxy::ErrorStatus::kSlowDown,
                                     .truncate_rate = 0.15, .seed = seed});
  Trace t;
  if (!proxy) return t;
  auto c = std::make_unique<RawConnection>(proxy->port());
  for (int i = 0; i < requests; ++i) {
    if (!c->Send(Get("/bytes?n=20000"))) {
      t.observed += 'W';
      c = std::make_unique<RawConnection>(proxy->port());
      continue;
    }
    auto r = c->ReadResponse();
    if (r.complete && r.status == 200) {
      t.observed += '.';
    } else if (r.complete && r.status == 503) {
      t.observed += 'E';
    } else if (r.end == RS::kReset) {
      t.observed += 'R';
      c = std::make_unique<RawConnection>(proxy->port());
    } else if (r.end == RS::kEof) {
      t.observed += 'T';
      c = std::make_unique<RawConnection>(proxy->port());
    } else {
      t.observed += '?';
    }
  }
  t.log = proxy->FaultLog();
  return t;
}

TEST(FaultProxyHttp, SameSeedGivesTheSameFaultSequence) {
  const int n = kSanitized ? 40 : 80;
  Trace a = RunMixedSequence(1234, n);
  Trace b = RunMixedSequence(1234, n);
  Trace other = RunMixedSequence(99, n);
  ASSERT_EQ(a.observed.size(), static_cast<size_t>(n));
  EXPECT_EQ(a.observed, b.observed);
  EXPECT_EQ(a.log, b.log);
  EXPECT_NE(a.observed, other.observed);
  // Every kind showed up, and what the client saw matches the log.
  for (char k : {'.', 'E', 'R', 'T'}) EXPECT_NE(a.observed.find(k), std::string::npos) << k;
  ASSERT_EQ(a.log.size(), a.observed.size());
  for (size_t i = 0; i < a.log.size(); ++i) {
    char want = '?';
    switch (a.log[i].fault) {
      case FaultKind::kNone: want = '.'; break;
      case FaultKind::kError: want = 'E'; break;
      case FaultKind::kReset:
      case FaultKind::kResetAfterUpstream: want = 'R'; break;
      case FaultKind::kTruncate: want = 'T'; break;
      case FaultKind::kStall:
      case FaultKind::kCorrupt: break;
    }
    EXPECT_EQ(a.observed[i], want) << "request " << i;
  }
}

TEST(FaultProxyHttp, SetFaultsChangesTheNextDecisionsOnALiveConnection) {
  Upstream upstream;
  auto proxy = StartProxy(upstream, {.error_rate = 1.0});
  ASSERT_TRUE(proxy);
  RawConnection c(proxy->port());
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(c.Send(Get("/hello")));
    EXPECT_EQ(c.ReadResponse().status, 503);
  }
  // A bad setting is refused and changes nothing.
  auto bad = proxy->SetFaults({.reset_rate = 0.7, .error_rate = 0.7});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), ErrorCode::kInvalidArgument);
  ASSERT_TRUE(c.Send(Get("/hello")));
  EXPECT_EQ(c.ReadResponse().status, 503);
  // Heal: the same keep-alive connection now reaches upstream.
  ASSERT_TRUE(proxy->SetFaults({}));
  EXPECT_EQ(proxy->options().error_rate, 0.0);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(c.Send(Get("/hello")));
    auto r = c.ReadResponse();
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "hello");
  }
  auto s = proxy->statistics();
  EXPECT_EQ(s.errors, 4u);
  EXPECT_EQ(s.passed, 3u);
  EXPECT_EQ(upstream.requests(), 3u);
}

// ---------------------------------------------------------------------------- lifecycle & edges

TEST(FaultProxyHttp, StopWithManyOpenConnectionsReturnsAndJoins) {
  Upstream upstream;
  auto proxy = StartProxy(upstream, {.stall_rate = 0.5, .seed = 8});
  ASSERT_TRUE(proxy);
  std::vector<std::unique_ptr<RawConnection>> conns;
  for (int i = 0; i < 60; ++i) {
    conns.push_back(std::make_unique<RawConnection>(proxy->port()));
    ASSERT_TRUE(conns.back()->ok());
    if (i % 3 == 0) {
      ASSERT_TRUE(conns.back()->Send(Get("/hello")));
    } else if (i % 3 == 1) {  // half a request
      ASSERT_TRUE(conns.back()->Send("PUT /echo HTTP/1.1\r\nContent-Length: 1000\r\n\r\nabc"));
    }
  }
  // Wait until the proxy has accepted all of them.
  EXPECT_TRUE(WaitUntil([&] { return proxy->statistics().connections >= 60; }));
  EXPECT_EQ(proxy->statistics().connections, 60u);
  proxy->Stop();
  proxy->Stop();  // idempotent
  for (auto& c : conns) {
    std::string got;
    RS end = c->ReadToEnd(got, 10s);
    EXPECT_TRUE(end == RS::kEof || end == RS::kReset);
  }
  // A stopped proxy accepts nothing.
  RawConnection late(proxy->port());
  EXPECT_FALSE(late.ok());
}

TEST(FaultProxyHttp, MaxConnectionsRejectsTheExtraOnes) {
  Upstream upstream;
  auto proxy = StartProxy(upstream, {.max_connections = 2});
  ASSERT_TRUE(proxy);
  RawConnection a(proxy->port()), b(proxy->port());
  ASSERT_TRUE(a.Send(Get("/hello")));
  ASSERT_TRUE(a.ReadResponse().complete);
  ASSERT_TRUE(b.Send(Get("/hello")));
  ASSERT_TRUE(b.ReadResponse().complete);
  RawConnection c(proxy->port());
  std::string got;
  EXPECT_EQ(c.ReadToEnd(got, 10s), RS::kReset);
  EXPECT_EQ(proxy->statistics().rejected_connections, 1u);
  EXPECT_EQ(proxy->statistics().active_connections, 2u);
}

TEST(FaultProxyHttp, UnreachableUpstreamGives502) {
  // A port that was just free: bind, read the port, close.
  const int dead_port = FreePort();
  ASSERT_NE(dead_port, 0);
  auto p = proxy::FaultProxy::Create({.upstream = "127.0.0.1:" + std::to_string(dead_port)});
  ASSERT_TRUE(p);
  ASSERT_TRUE((*p)->Start());
  RawConnection c((*p)->port());
  ASSERT_TRUE(c.Send(Get("/hello")));
  auto r = c.ReadResponse();
  ASSERT_TRUE(r.complete);
  EXPECT_EQ(r.status, 502);
  EXPECT_EQ((*p)->statistics().upstream_failures, 1u);
}

TEST(FaultProxyHttp, MalformedRequestGets400) {
  Upstream upstream;
  auto proxy = StartProxy(upstream, {});
  ASSERT_TRUE(proxy);
  RawConnection c(proxy->port());
  ASSERT_TRUE(c.Send("this is not http\r\n\r\n"));
  auto r = c.ReadResponse();
  ASSERT_TRUE(r.complete);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(proxy->statistics().protocol_errors, 1u);
  EXPECT_EQ(upstream.requests(), 0u);
}

TEST(FaultProxyHttp, OversizedHeadGets431) {
  Upstream upstream;
  auto proxy = StartProxy(upstream, {});
  ASSERT_TRUE(proxy);
  RawConnection c(proxy->port());
  std::string big = "GET / HTTP/1.1\r\nX-Big: " + std::string(70000, 'a');
  ASSERT_TRUE(c.Send(big));
  auto r = c.ReadResponse();
  ASSERT_TRUE(r.complete);
  EXPECT_EQ(r.status, 431);
}

TEST(FaultProxyHttp, UpstreamIdleCloseIsRecoveredByReconnecting) {
  Upstream upstream;
  auto proxy = StartProxy(upstream, {});
  ASSERT_TRUE(proxy);
  RawConnection c(proxy->port());
  // /close makes upstream close after the response; the proxy closes the client too.
  ASSERT_TRUE(c.Send(Get("/hello", /*close=*/true)));
  ASSERT_TRUE(c.ReadResponse().complete);
  RawConnection d(proxy->port());
  ASSERT_TRUE(d.Send(Get("/hello")));
  auto r = d.ReadResponse();
  ASSERT_TRUE(r.complete);
  EXPECT_EQ(r.body, "hello");
}

TEST(FaultProxyHttp, UpstreamDyingMidBodyEndsTheClientResponseWithoutHanging) {
  Upstream upstream;
  auto proxy = StartProxy(upstream, {});
  ASSERT_TRUE(proxy);
  RawConnection c(proxy->port());
  ASSERT_TRUE(c.Send(Get("/die?n=30000")));
  auto r = c.ReadResponse();
  EXPECT_EQ(r.status, 200);
  EXPECT_FALSE(r.complete);
  EXPECT_EQ(r.end, RS::kEof);
  EXPECT_TRUE(r.body == PatternBytes(30000));
}

TEST(FaultProxyHttp, ClientVanishingMidBodyReleasesTheConnection) {
  Upstream upstream;
  auto proxy = StartProxy(upstream, {});
  ASSERT_TRUE(proxy);
  {
    RawConnection c(proxy->port());
    ASSERT_TRUE(c.Send("PUT /echo HTTP/1.1\r\nContent-Length: 100000\r\n\r\n" + std::string(5000, 'x')));
    EXPECT_TRUE(WaitUntil([&] { return proxy->statistics().requests != 0; }));
  }  // closed with 95,000 body bytes never sent
  EXPECT_TRUE(WaitUntil([&] { return proxy->statistics().active_connections == 0; }));
  EXPECT_EQ(proxy->statistics().active_connections, 0u);
  // The proxy still serves.
  RawConnection d(proxy->port());
  ASSERT_TRUE(d.Send(Get("/hello")));
  EXPECT_EQ(d.ReadResponse().body, "hello");
}

TEST(FaultProxyHttp, StartTwiceAndBindConflictAreErrors) {
  Upstream upstream;
  auto proxy = StartProxy(upstream, {});
  ASSERT_TRUE(proxy);
  auto again = proxy->Start();
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code(), ErrorCode::kFailedPrecondition);

  auto second = proxy::FaultProxy::Create(
      {.listen = "127.0.0.1:" + std::to_string(proxy->port()), .upstream = upstream.address()});
  ASSERT_TRUE(second);
  auto st = (*second)->Start();
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message().find("bind"), std::string::npos) << st.error().ToString();
  EXPECT_EQ(proxy->address(), "127.0.0.1:" + std::to_string(proxy->port()));
}

}  // namespace
}  // namespace esper::testing
