// The client through esper::proxy::FaultProxy (seeded resets, stalls, 503/SlowDown with
// Retry-After, truncated bodies) in front of the real loopback server.
#include <gtest/gtest.h>

#include <atomic>
#include <random>

#include "testing/http_server.h"
#include "client_helpers.h"
#include "esper/http/client.h"
#include "esper/proxy/fault_proxy.h"

namespace esper::http {
namespace {

using namespace std::chrono_literals;
using testing::HttpTestServer;
using testing::Reply;
using testing::ServerRequest;

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
constexpr int kScale = 4;
#else
constexpr int kScale = 1;
#endif

std::string Payload(size_t n) {
  std::mt19937 rng(7);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>('a' + rng() % 26);
  return s;
}

struct Rig {
  explicit Rig(proxy::Options po, std::string body = Payload(64 * 1024))
      : payload(std::move(body)), server([this](const ServerRequest& r) {
          upstream_requests.fetch_add(1);
          if (r.method == "POST") return Reply{.status = 201, .body = r.body};
          return Reply{.body = payload};
        }) {
    EXPECT_TRUE(server.Start());
    po.upstream = "127.0.0.1:" + std::to_string(server.port());
    auto p = proxy::FaultProxy::Create(std::move(po));
    EXPECT_TRUE(p) << p.error();
    fault_proxy = std::move(*p);
    EXPECT_TRUE(fault_proxy->Start());
  }
  std::string Url(std::string_view path) const {
    return "http://" + fault_proxy->address() + std::string(path);
  }
  std::string payload;
  std::atomic<int> upstream_requests{0};
  HttpTestServer server;
  std::unique_ptr<proxy::FaultProxy> fault_proxy;
};

ClientOptions Resilient() {
  ClientOptions o;
  o.request_timeout = 2s;
  o.retry.max_attempts = 8;
  o.retry.base_delay = 1ms;
  o.retry.max_delay = 10ms;
  o.retry_budget.capacity = 100000;
  o.breaker_per_host = false;
  return o;
}

TEST(HttpThroughFaultProxy, IdempotentRequestsSurviveResetsErrorsAndTruncation) {
  Rig rig({.reset_rate = 0.15, .error_rate = 0.15, .truncate_rate = 0.15, .seed = 42});
  auto client = MakeClient(Resilient());
  const int kN = 200 / kScale;
  std::vector<std::future<Result<Response>>> fs;
  for (int i = 0; i < kN; ++i) fs.push_back(client->SendAsync(Request::Get(rig.Url("/obj"))));
  int ok = 0;
  for (auto& f : fs) {
    auto r = f.get();
    ASSERT_TRUE(r) << r.error();
    EXPECT_TRUE(r->body == rig.payload);  // byte-exact: no truncated body ever returned
    ++ok;
  }
  EXPECT_EQ(ok, kN);
  auto ps = rig.fault_proxy->statistics();
  const uint64_t faults = ps.resets + ps.errors + ps.truncations;
  EXPECT_GT(faults, 0u);
  auto cs = client->GetStats().begin()->second;
  EXPECT_GT(cs.retries, 0u);
  // Each retry answers one injected fault (libcurl may itself resend once on a stale reused
  // connection, which hides a reset from us, so <=).
  EXPECT_LE(cs.retries, faults);
  EXPECT_EQ(cs.completed, static_cast<uint64_t>(kN));
}

TEST(HttpThroughFaultProxy, PostIsNotRetriedOnInjectedErrors) {
  Rig rig({.error_rate = 0.5, .seed = 7});
  auto client = MakeClient(Resilient());
  int failed = 0;
  const int kN = 40;
  for (int i = 0; i < kN; ++i) {
    auto r = client->Post(rig.Url("/p"), Body::FromString("x"));
    if (!r) {
      EXPECT_EQ(r.error().http_status(), 503);
      ++failed;
    }
  }
  auto ps = rig.fault_proxy->statistics();
  EXPECT_GT(failed, 0);
  EXPECT_EQ(static_cast<uint64_t>(failed), ps.errors);  // one injected 503 = one failed POST
  EXPECT_EQ(client->GetStats().begin()->second.retries, 0u);
  EXPECT_EQ(rig.upstream_requests.load(), kN - failed);
}

TEST(HttpThroughFaultProxy, StallsHitThePerTryTimeoutAndDeadline) {
  Rig rig({.stall_rate = 1.0, .seed = 1});
  auto o = Resilient();
  o.request_timeout = 300ms;
  o.retry.max_attempts = 2;
  auto client = MakeClient(o);
  auto r = client->Get(rig.Url("/s"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kDeadlineExceeded);
  EXPECT_NE(r.error().message().find("per-try timeout"), std::string::npos) << r.error();
  EXPECT_EQ(rig.fault_proxy->statistics().stalls, 2u);

  auto d = client->Get(rig.Url("/s"), {.timeout = 10s, .overall_timeout = 400ms});
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().code(), ErrorCode::kDeadlineExceeded);
  EXPECT_NE(d.error().message().find("deadline"), std::string::npos) << d.error();
}

TEST(HttpThroughFaultProxy, SlowDownWithRetryAfterIsHonoured) {
  Rig rig({.error_rate = 1.0, .error_status = proxy::ErrorStatus::kSlowDown, .retry_after = 1s, .seed = 3});
  auto o = Resilient();
  o.retry.max_attempts = 2;
  auto client = MakeClient(o);
  auto t0 = std::chrono::steady_clock::now();
  auto r = client->Get(rig.Url("/slow"));
  auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().http_status(), 503);
  EXPECT_NE(r.error().message().find("SlowDown"), std::string::npos) << r.error();  // the body snippet
  EXPECT_EQ(rig.fault_proxy->statistics().errors, 2u);
  EXPECT_GE(took, 900ms);  // waited for Retry-After between the two attempts
}

TEST(HttpThroughFaultProxy, BudgetCapsRetriesDuringAnOutage) {
  Rig rig({.error_rate = 1.0, .seed = 5});
  auto o = Resilient();
  o.retry_budget.capacity = 20;  // four retries at 5 tokens each
  auto client = MakeClient(o);
  const int kN = 10;
  for (int i = 0; i < kN; ++i) ASSERT_FALSE(client->Get(rig.Url("/x")));
  EXPECT_EQ(rig.fault_proxy->statistics().requests, static_cast<uint64_t>(kN + 4));
  EXPECT_EQ(client->GetStats().begin()->second.retries, 4u);
}

TEST(HttpThroughFaultProxy, BreakerOpensDuringAnOutageProbesOnScheduleAndRecovers) {
  FakeClock clock;
  auto rig = std::make_unique<Rig>(proxy::Options{.reset_rate = 1.0, .seed = 9});
  ClientOptions o;
  o.retry.max_attempts = 1;
  o.breaker.failure_threshold = 5;
  o.breaker.open_duration = 20s;
  o.clock = &clock;
  auto client = MakeClient(o);
  for (int i = 0; i < 8; ++i) ASSERT_FALSE(client->Get(rig->Url("/x")));
  EXPECT_EQ(rig->fault_proxy->statistics().resets, 5u);  // the last 3 never left the client
  auto s = client->GetStats().begin()->second;
  EXPECT_EQ(s.breaker_state, "open");
  EXPECT_EQ(s.breaker_rejections, 3u);
  // Still inside open_duration: rejected, nothing reaches the proxy.
  clock.Advance(19s);
  ASSERT_FALSE(client->Get(rig->Url("/x")));
  EXPECT_EQ(rig->fault_proxy->statistics().requests, 5u);
  // After it: one probe goes through, fails (the outage goes on), and the breaker re-opens.
  clock.Advance(1s);
  EXPECT_EQ(client->GetStats().begin()->second.breaker_state, "half_open");
  auto probe = client->Get(rig->Url("/x"));
  ASSERT_FALSE(probe);
  EXPECT_EQ(rig->fault_proxy->statistics().requests, 6u);
  EXPECT_EQ(client->GetStats().begin()->second.breaker_state, "open");
  // The outage ends; after the next open_duration the probe succeeds and the breaker closes.
  ASSERT_TRUE(rig->fault_proxy->SetFaults(proxy::Options{}));
  clock.Advance(20s);
  auto healed = client->Get(rig->Url("/x"));
  ASSERT_TRUE(healed) << healed.error();
  EXPECT_TRUE(healed->body == rig->payload);
  EXPECT_EQ(client->GetStats().begin()->second.breaker_state, "closed");
  ASSERT_TRUE(client->Get(rig->Url("/x")));
}

TEST(HttpThroughFaultProxy, LatencyBeyondThePerTryTimeout) {
  Rig rig({.latency = 400ms, .seed = 2});
  auto o = Resilient();
  o.request_timeout = 100ms;
  o.retry.max_attempts = 1;
  auto client = MakeClient(o);
  auto r = client->Get(rig.Url("/x"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kDeadlineExceeded);
  auto ok = client->Get(rig.Url("/x"), {.timeout = 5s});
  ASSERT_TRUE(ok) << ok.error();
  EXPECT_TRUE(ok->body == rig.payload);
}

// A response without a body (here a HEAD's) cut inside its head: libcurl alone would report the
// status line as a complete 200; the client calls it truncated, and retries it.
TEST(HttpThroughFaultProxy, AResponseCutInsideItsHeadIsTruncatedNotA200) {
  Rig rig({.truncate_rate = 1.0, .seed = 5});
  ClientOptions once = Resilient();
  once.retry.max_attempts = 1;
  auto client = MakeClient(once);
  int inside_head = 0;
  for (int i = 0; i < 20; ++i) {  // each cut at a seeded place in the head
    auto r = client->Head(rig.Url("/hello"));
    ASSERT_FALSE(r) << "attempt " << i << ": status " << r->status;
    EXPECT_EQ(r.error().code(), ErrorCode::kUnavailable) << r.error();
    // Cut before the status line ended, curl itself says "empty reply"; after it, we say so.
    if (r.error().message().find("closed inside the response head") != std::string::npos) ++inside_head;
  }
  EXPECT_EQ(rig.fault_proxy->statistics().truncations, 20u);
  EXPECT_GT(inside_head, 5) << "cuts after the status line, which libcurl alone reports as a 200";
  // Retried like any truncated answer: heal the proxy after the first cut.
  auto retrying = MakeClient(Resilient());
  ASSERT_TRUE(rig.fault_proxy->SetFaults({.truncate_rate = 0.5}));
  for (int i = 0; i < 10; ++i) {
    auto r = retrying->Head(rig.Url("/hello"));
    ASSERT_TRUE(r) << r.error();
    EXPECT_EQ(r->status, 200);
    EXPECT_TRUE(r->Header("Content-Length").has_value()) << "a whole head";
  }
}

}  // namespace
}  // namespace esper::http
