// Retries, the retry budget, Retry-After, deadlines and the per-host circuit breaker, against a
// real server that fails on purpose (503s, resets, truncated bodies).
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>

#include "testing/http_server.h"
#include "client_helpers.h"
#include "esper/http/client.h"

namespace esper::http {
namespace {

using namespace std::chrono_literals;
using testing::HttpTestServer;
using testing::Reply;
using testing::ServerRequest;

// Fails the first `failures` requests with `fail`, then answers 200 "ok".
struct FlakyServer {
  explicit FlakyServer(int failures, Reply fail)
      : server([this, failures, fail](const ServerRequest&) {
          return seen.fetch_add(1) < failures ? fail : Reply{.body = "ok"};
        }) {}
  std::atomic<int> seen{0};
  HttpTestServer server;
};

TEST(HttpRetry, RetriesTransientStatusesThenSucceeds) {
  for (int status : {429, 502, 503, 504}) {
    FlakyServer f(2, Reply{.status = status});
    ASSERT_TRUE(f.server.Start());
    auto client = MakeClient(FastRetries());
    auto r = client->Get(f.server.Url("/x"));
    ASSERT_TRUE(r) << status << ": " << r.error();
    EXPECT_EQ(r->body, "ok");
    EXPECT_EQ(r->attempts, 3);
    EXPECT_EQ(f.seen.load(), 3);
    auto s = client->GetStats().begin()->second;
    EXPECT_EQ(s.retries, 2u);
    EXPECT_EQ(s.attempts, 3u);
  }
}

TEST(HttpRetry, DoesNotRetryWhatItShouldNot) {
  // 500 (a bug, not a blip) and 4xx: one attempt.
  for (int status : {500, 400, 404, 409}) {
    FlakyServer f(100, Reply{.status = status});
    ASSERT_TRUE(f.server.Start());
    auto client = MakeClient(FastRetries());
    auto r = client->Get(f.server.Url("/x"));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().http_status(), status);
    EXPECT_EQ(f.seen.load(), 1) << status;
  }
  // POST and PATCH are not idempotent: one attempt even on 503…
  for (Method m : {Method::kPost, Method::kPatch}) {
    FlakyServer f(100, Reply{.status = 503});
    ASSERT_TRUE(f.server.Start());
    auto client = MakeClient(FastRetries());
    auto r = client->Send(Request{.method = m, .url = f.server.Url("/x"), .body = Body::FromString("b")});
    ASSERT_FALSE(r);
    EXPECT_EQ(f.seen.load(), 1);
  }
  // …unless the caller says it is safe.
  FlakyServer f(2, Reply{.status = 503});
  ASSERT_TRUE(f.server.Start());
  auto client = MakeClient(FastRetries());
  auto r = client->Send(Request{.method = Method::kPost, .url = f.server.Url("/x"),
                                .body = Body::FromString("b"), .options = {.retry_safe = true}});
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(f.seen.load(), 3);
}

TEST(HttpRetry, GivesUpAfterMaxAttemptsWithTheReason) {
  FlakyServer f(100, Reply{.status = 503, .body = "busy"});
  ASSERT_TRUE(f.server.Start());
  auto client = MakeClient(FastRetries(3));
  auto r = client->Get(f.server.Url("/x"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kUnavailable);
  EXPECT_EQ(r.error().http_status(), 503);
  EXPECT_NE(r.error().message().find("3 attempts"), std::string::npos) << r.error();
  EXPECT_EQ(f.seen.load(), 3);
  // Per-call override.
  f.seen = 0;
  auto once = client->Get(f.server.Url("/x"), {.max_attempts = 1});
  ASSERT_FALSE(once);
  EXPECT_EQ(f.seen.load(), 1);
  // accept_http_errors: the last 503 comes back as a Response after the retries.
  f.seen = 0;
  auto resp = client->Get(f.server.Url("/x"), {.accept_http_errors = true});
  ASSERT_TRUE(resp);
  EXPECT_EQ(resp->status, 503);
  EXPECT_EQ(resp->attempts, 3);
  EXPECT_EQ(resp->body, "busy");
}

TEST(HttpRetry, RetriesResetsAndTruncatedBodies) {
  const std::string body(200000, 'q');
  for (auto action : {Reply::Action::kReset, Reply::Action::kClose, Reply::Action::kTruncate}) {
    std::atomic<int> seen{0};
    HttpTestServer server([&](const ServerRequest&) {
      Reply r{.body = body};
      if (seen.fetch_add(1) == 0) r.action = action;
      return r;
    });
    ASSERT_TRUE(server.Start());
    auto client = MakeClient(FastRetries());
    auto r = client->Get(server.Url("/x"));
    ASSERT_TRUE(r) << static_cast<int>(action) << ": " << r.error();
    EXPECT_EQ(r->body, body);  // byte-exact, nothing of the failed attempt left in it
    EXPECT_EQ(r->attempts, 2);
  }
}

// libcurl sends a request again, by itself, when the connection it reused dies before any byte
// of the answer (curl's "Connection died, retrying a fresh connect") — a POST too, and whatever
// our retry policy says. The server acted twice, and Response::sends says so: a caller whose
// request is not idempotent (S3's CreateMultipartUpload) learns that it may have acted twice.
TEST(HttpRetry, ARequestLibcurlSentAgainOnAFreshConnectionIsCountedInSends) {
  std::atomic<int> posts{0};
  HttpTestServer server([&](const ServerRequest& req) {
    if (req.method != "POST") return Reply{.body = "warm"};
    ++posts;
    // The first POST, on the connection the GET left open: acted on, then the connection dies.
    return req.request_on_connection == 2 ? Reply{.action = Reply::Action::kReset} : Reply{.body = "made"};
  });
  ASSERT_TRUE(server.Start());
  auto client = MakeClient(FastRetries(1));
  auto warm = client->Get(server.Url("/warm"));
  ASSERT_TRUE(warm) << warm.error();
  EXPECT_EQ(warm->sends, 1);
  auto r = client->Post(server.Url("/make"), Body::FromString("x"));
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->body, "made");
  EXPECT_EQ(r->attempts, 1);  // our policy did not retry: max_attempts 1
  EXPECT_EQ(posts.load(), 2);  // the server saw it twice
  EXPECT_EQ(r->sends, 2);
}

TEST(HttpRetry, TruncationWithoutRetriesSaysTruncated) {
  HttpTestServer server([](const ServerRequest&) {
    return Reply{.body = std::string(10000, 'x'), .action = Reply::Action::kTruncate};
  });
  ASSERT_TRUE(server.Start());
  auto client = MakeClient(FastRetries(1));
  auto r = client->Get(server.Url("/t"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kUnavailable);
  EXPECT_NE(r.error().message().find("truncated"), std::string::npos) << r.error();
}

TEST(HttpRetry, HonoursRetryAfter) {
  std::mutex mu;
  std::vector<std::chrono::steady_clock::time_point> seen;
  HttpTestServer server([&](const ServerRequest&) {
    std::lock_guard lock(mu);
    seen.push_back(std::chrono::steady_clock::now());
    if (seen.size() == 1) return Reply{.status = 503, .headers = {{"Retry-After", "1"}}};
    return Reply{.body = "ok"};
  });
  ASSERT_TRUE(server.Start());
  auto client = MakeClient(FastRetries());  // backoff alone would be <= 5 ms
  auto r = client->Get(server.Url("/x"));
  ASSERT_TRUE(r) << r.error();
  std::lock_guard lock(mu);
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_GE(seen[1] - seen[0], 900ms);  // waited for the server's hint, not the backoff
}

TEST(HttpRetry, RetryAfterBeyondTheDeadlineStopsAtOnce) {
  std::atomic<int> seen{0};
  HttpTestServer server([&](const ServerRequest&) {
    seen.fetch_add(1);
    return Reply{.status = 503, .headers = {{"Retry-After", "20"}}};
  });
  ASSERT_TRUE(server.Start());
  auto o = FastRetries();
  o.retry.max_retry_after = 30s;
  auto client = MakeClient(o);
  auto t0 = std::chrono::steady_clock::now();
  auto r = client->Get(server.Url("/x"), {.overall_timeout = 2s});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kDeadlineExceeded);
  EXPECT_EQ(seen.load(), 1);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 15s);  // did not sleep 20 s
}

TEST(HttpRetry, OverallDeadlineHoldsAcrossRetries) {
  std::atomic<int> seen{0};
  HttpTestServer server([&](const ServerRequest&) {
    seen.fetch_add(1);
    return Reply{.action = Reply::Action::kSilent};
  });
  ASSERT_TRUE(server.Start());
  auto o = FastRetries(100);
  o.request_timeout = 200ms;
  auto client = MakeClient(o);
  auto t0 = std::chrono::steady_clock::now();
  // Room for several 200 ms tries even under a sanitizer on a busy machine.
  auto r = client->Get(server.Url("/x"), {.overall_timeout = 2s});
  auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kDeadlineExceeded) << r.error();
  EXPECT_GE(seen.load(), 2);   // it did retry the per-try timeouts…
  EXPECT_LT(seen.load(), 100);  // …but stopped at the deadline
  EXPECT_LT(took, 10s);
  // A caller's Deadline works the same way.
  seen = 0;
  auto r2 = client->Get(server.Url("/x"), {.deadline = resilience::Deadline::After(500ms)});
  ASSERT_FALSE(r2);
  EXPECT_EQ(r2.error().code(), ErrorCode::kDeadlineExceeded);
}

TEST(HttpRetry, BudgetStopsRetriesAcrossRequests) {
  std::atomic<int> seen{0};
  HttpTestServer server([&](const ServerRequest&) {
    seen.fetch_add(1);
    return Reply{.status = 503};
  });
  ASSERT_TRUE(server.Start());
  auto o = FastRetries(5);
  o.retry_budget.capacity = 10;  // two retries' worth (5 tokens each)
  o.retry_budget.retry_cost = 5;
  auto client = MakeClient(o);
  const int kRequests = 6;
  std::string last_error;
  for (int i = 0; i < kRequests; ++i) {
    auto r = client->Get(server.Url("/x"));
    ASSERT_FALSE(r);
    last_error = r.error().message();
  }
  EXPECT_EQ(seen.load(), kRequests + 2);  // every request once, plus what the budget allowed
  EXPECT_NE(last_error.find("budget"), std::string::npos) << last_error;
  auto s = client->get_stats().begin()->second;
  EXPECT_EQ(s.retries, 2u);
  EXPECT_GE(s.retries_denied, static_cast<uint64_t>(kRequests - 1));
}

TEST(HttpBreaker, OpensRejectsAndRecoversOnSchedule) {
  FakeClock clock;
  std::atomic<bool> healthy{false};
  std::atomic<int> seen{0};
  HttpTestServer server([&](const ServerRequest&) {
    seen.fetch_add(1);
    return healthy ? Reply{.body = "ok"} : Reply{.status = 503};
  });
  ASSERT_TRUE(server.Start());
  ClientOptions o;
  o.retry.max_attempts = 1;
  o.breaker_per_host = true;
  o.breaker.failure_threshold = 3;
  o.breaker.open_duration = 30s;
  o.clock = &clock;
  auto client = MakeClient(o);
  for (int i = 0; i < 3; ++i) {
    auto r = client->Get(server.Url("/x"));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().http_status(), 503);
  }
  EXPECT_EQ(client->GetStats().begin()->second.breaker_state, "open");
  // Open: rejected at once, the server is not touched.
  auto rejected = client->Get(server.Url("/x"));
  ASSERT_FALSE(rejected);
  EXPECT_EQ(rejected.error().code(), ErrorCode::kUnavailable);
  EXPECT_NE(rejected.error().message().find("circuit breaker"), std::string::npos) << rejected.error();
  EXPECT_NE(rejected.error().message().find(server.Url("/x")), std::string::npos) << rejected.error();
  EXPECT_EQ(seen.load(), 3);
  EXPECT_EQ(client->GetStats().begin()->second.breaker_rejections, 1u);
  // Half-open after open_duration: one probe goes through; it succeeds and the breaker closes.
  healthy = true;
  clock.Advance(30s);
  EXPECT_EQ(client->GetStats().begin()->second.breaker_state, "half_open");
  auto probe = client->Get(server.Url("/x"));
  ASSERT_TRUE(probe) << probe.error();
  EXPECT_EQ(seen.load(), 4);
  EXPECT_EQ(client->GetStats().begin()->second.breaker_state, "closed");
  ASSERT_TRUE(client->Get(server.Url("/x")));
}

TEST(HttpBreaker, FailedProbeReopens) {
  FakeClock clock;
  HttpTestServer server([&](const ServerRequest&) { return Reply{.status = 502}; });
  ASSERT_TRUE(server.Start());
  ClientOptions o;
  o.retry.max_attempts = 1;
  o.breaker.failure_threshold = 2;
  o.breaker.open_duration = 10s;
  o.clock = &clock;
  auto client = MakeClient(o);
  for (int i = 0; i < 2; ++i) ASSERT_FALSE(client->Get(server.Url("/")));
  EXPECT_EQ(client->GetStats().begin()->second.breaker_state, "open");
  clock.Advance(10s);
  auto probe = client->Get(server.Url("/"));
  ASSERT_FALSE(probe);
  EXPECT_EQ(probe.error().http_status(), 502);
  EXPECT_EQ(client->GetStats().begin()->second.breaker_state, "open");
  EXPECT_EQ(server.requests(), 3u);
}

TEST(HttpBreaker, OneBreakerPerHost) {
  FakeClock clock;
  HttpTestServer bad([](const ServerRequest&) { return Reply{.status = 503}; });
  HttpTestServer good([](const ServerRequest&) { return Reply{.body = "ok"}; });
  ASSERT_TRUE(bad.Start());
  ASSERT_TRUE(good.Start());
  ClientOptions o;
  o.retry.max_attempts = 1;
  o.breaker.failure_threshold = 2;
  o.clock = &clock;
  auto client = MakeClient(o);
  for (int i = 0; i < 3; ++i) (void)client->Get(bad.Url("/"));
  EXPECT_EQ(bad.requests(), 2u);  // the third was rejected by the open breaker
  auto r = client->Get(good.Url("/"));
  ASSERT_TRUE(r) << r.error();
  auto stats = client->GetStats();
  EXPECT_EQ(stats.at("http://127.0.0.1:" + std::to_string(bad.port())).breaker_state, "open");
  EXPECT_EQ(stats.at("http://127.0.0.1:" + std::to_string(good.port())).breaker_state, "closed");
}

TEST(HttpBreaker, ClientErrorsDoNotTripIt) {
  HttpTestServer server([](const ServerRequest&) { return Reply{.status = 404}; });
  ASSERT_TRUE(server.Start());
  ClientOptions o;
  o.breaker.failure_threshold = 2;
  auto client = MakeClient(o);
  for (int i = 0; i < 5; ++i) ASSERT_FALSE(client->Get(server.Url("/")));
  EXPECT_EQ(server.requests(), 5u);
  EXPECT_EQ(client->GetStats().begin()->second.breaker_state, "closed");
}

}  // namespace
}  // namespace esper::http
