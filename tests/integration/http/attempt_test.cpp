// The caller's per-attempt decisions (request.h): a response classifier that says what each
// response means, and a hook that rewrites each attempt's headers just before it is sent —
// against a real server on 127.0.0.1 that records what every attempt carried.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <strings.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <string>
#include <vector>

#include "client_helpers.h"
#include "esper/http/client.h"
#include "testing/http_server.h"

namespace esper::http {
namespace {

using namespace std::chrono_literals;
using testing::HttpTestServer;
using testing::Reply;
using testing::ServerRequest;

// Records every request; answers the n-th (0-based) with replies[n], or the last one.
struct RecordingServer {
  explicit RecordingServer(std::vector<Reply> replies)
      : server([this, replies](const ServerRequest& r) {
          std::lock_guard lock(mu);
          seen.push_back(r);
          return replies[std::min(seen.size(), replies.size()) - 1];
        }) {}
  std::vector<ServerRequest> Seen() {
    std::lock_guard lock(mu);
    return seen;
  }
  std::mutex mu;
  std::vector<ServerRequest> seen;
  HttpTestServer server;
};

std::vector<std::string> AllValues(const ServerRequest& r, std::string_view name) {
  std::vector<std::string> out;
  for (const auto& [k, v] : r.headers) {
    if (k.size() == name.size() && strncasecmp(k.c_str(), name.data(), name.size()) == 0) out.push_back(v);
  }
  return out;
}

TEST(HttpClassifier, A500IsRetriedOnlyWhenTheClassifierSaysSo) {
  RecordingServer s({Reply{.status = 500, .body = "boom"}, Reply{.status = 500}, Reply{.body = "ok"}});
  ASSERT_TRUE(s.server.Start());
  auto client = MakeClient(FastRetries());

  // The default: a 500 is final.
  auto plain = client->Get(s.server.Url("/x"));
  ASSERT_FALSE(plain);
  EXPECT_EQ(plain.error().code(), ErrorCode::kInternal);
  EXPECT_EQ(s.Seen().size(), 1u);

  // A classifier that retries 500s (and leaves everything else to the default).
  std::vector<int> classified;
  CallOptions co;
  co.classify = [&](const AttemptResponse& a) {
    classified.push_back(a.response.status);
    if (a.response.status == 500) return ResponseVerdict::Retry(Error::Internal("500, try again"));
    return DefaultClassifier(a);
  };
  auto retried = client->Get(s.server.Url("/x"), co);
  ASSERT_TRUE(retried) << retried.error();
  EXPECT_EQ(retried->body, "ok");
  EXPECT_EQ(retried->attempts, 2);
  EXPECT_EQ(s.Seen().size(), 3u);
  EXPECT_EQ(classified, (std::vector<int>{500, 200}));  // every response, successes included

  // And one that calls a 503 (retried by default) final.
  RecordingServer busy({Reply{.status = 503}, Reply{.body = "ok"}});
  ASSERT_TRUE(busy.server.Start());
  co.classify = [](const AttemptResponse& a) {
    if (a.response.status == 503) return ResponseVerdict::Fail(Error::Unavailable("503 is final here"));
    return DefaultClassifier(a);
  };
  auto failed = client->Get(busy.server.Url("/x"), co);
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().message(), "503 is final here");
  EXPECT_FALSE(failed.error().retryable());
  EXPECT_EQ(busy.Seen().size(), 1u);
}

TEST(HttpClassifier, ItsErrorReachesTheCallerWithEveryField) {
  RecordingServer s({Reply{.status = 403,
                           .headers = {{"X-Server-Request-Id", "RID-42"}},
                           .body = "<Error><Code>AccessDenied</Code></Error>"}});
  ASSERT_TRUE(s.server.Start());
  auto client = MakeClient(FastRetries());
  CallOptions co;
  co.classify = [](const AttemptResponse& a) {
    EXPECT_EQ(a.method, Method::kGet);
    EXPECT_NE(a.response.url.find("/secret"), std::string::npos);
    Error e = Error::PermissionDenied(fmt::format("GET {}: AccessDenied: {}", a.response.url, a.response.body));
    e.WithServiceCode("AccessDenied").WithRequestId(std::string(a.response.Header("X-Server-Request-Id").value_or("")));
    return ResponseVerdict::Fail(std::move(e));
  };
  auto r = client->Get(s.server.Url("/secret"), co);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kPermissionDenied);
  EXPECT_EQ(r.error().service_code(), "AccessDenied");
  EXPECT_EQ(r.error().request_id(), "RID-42");
  EXPECT_EQ(r.error().http_status(), 403);  // filled in from the response
  EXPECT_EQ(r.error().message(),
            "GET " + s.server.Url("/secret") + ": AccessDenied: <Error><Code>AccessDenied</Code></Error>");
  EXPECT_EQ(client->get_stats().begin()->second.status_counts[403], 1u);

  // accept_http_errors still hands back the response of a final status >= 400.
  co.accept_http_errors = true;
  auto accepted = client->Get(s.server.Url("/secret"), co);
  ASSERT_TRUE(accepted) << accepted.error();
  EXPECT_EQ(accepted->status, 403);
}

TEST(HttpClassifier, SeesEachAttemptsHeadersAndCanFailA200) {
  // A 200 whose body is an error (S3's CompleteMultipartUpload does this), then a real success.
  RecordingServer s({Reply{.headers = {{"X-Attempt", "1"}}, .body = "<Error>InternalError</Error>"},
                     Reply{.headers = {{"X-Attempt", "2"}}, .body = "<Done/>"}});
  ASSERT_TRUE(s.server.Start());
  auto client = MakeClient(FastRetries());
  std::vector<std::string> attempts_seen;
  CallOptions co;
  co.classify = [&](const AttemptResponse& a) {
    attempts_seen.push_back(fmt::format("{}:{}", a.attempt, a.response.Header("X-Attempt").value_or("?")));
    if (a.response.body.find("<Error>") != std::string::npos) {
      return ResponseVerdict::Retry(Error::Internal("error inside a 200"));
    }
    return DefaultClassifier(a);
  };
  auto r = client->Get(s.server.Url("/x"), co);
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->body, "<Done/>");  // the memory body is the last attempt's alone
  EXPECT_EQ(attempts_seen, (std::vector<std::string>{"1:1", "2:2"}));
}

// The backoff is 20 s (no jitter); with a deadline of 10 s it alone can never retry.
ClientOptions SlowBackoff() {
  ClientOptions o = FastRetries();
  o.retry.base_delay = 20s;
  o.retry.max_delay = 20s;
  o.retry.jitter = resilience::Jitter::kNone;
  return o;
}

TEST(HttpClassifier, ItsRetryAfterIsHonoured) {
  // Only the classifier's Retry-After can make the retry happen — at once (zero) or after 300 ms.
  for (auto hint : {Clock::Duration(0ms), Clock::Duration(300ms)}) {
    std::vector<std::chrono::steady_clock::time_point> at;
    std::mutex mu;
    HttpTestServer server([&](const ServerRequest&) {
      std::lock_guard lock(mu);
      at.push_back(std::chrono::steady_clock::now());
      return at.size() == 1 ? Reply{.status = 418} : Reply{.body = "ok"};
    });
    ASSERT_TRUE(server.Start());
    auto client = MakeClient(SlowBackoff());
    CallOptions co{.overall_timeout = 10s};
    co.classify = [hint](const AttemptResponse& a) {
      if (a.response.status == 418) return ResponseVerdict::Retry(Error::Unavailable("teapot"), hint);
      return DefaultClassifier(a);
    };
    auto r = client->Get(server.Url("/x"), co);
    ASSERT_TRUE(r) << r.error();
    std::lock_guard lock(mu);
    ASSERT_EQ(at.size(), 2u);
    EXPECT_GE(at[1] - at[0], hint);
  }
  // Without the hint the same request stops at once: the backoff would cross the deadline.
  HttpTestServer teapot([](const ServerRequest&) { return Reply{.status = 418}; });
  ASSERT_TRUE(teapot.Start());
  auto client = MakeClient(SlowBackoff());
  CallOptions co{.overall_timeout = 10s};
  co.classify = [](const AttemptResponse&) { return ResponseVerdict::Retry(Error::Unavailable("teapot")); };
  auto r = client->Get(teapot.Url("/x"), co);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kDeadlineExceeded) << r.error();
}

TEST(HttpAttemptHook, RewritesAHeaderThatTheServerSeesAfreshOnEveryAttempt) {
  RecordingServer s({Reply{.status = 503}, Reply{.status = 502}, Reply{.body = "ok"}});
  ASSERT_TRUE(s.server.Start());
  auto client = MakeClient(FastRetries());
  std::vector<std::string> urls;
  int signatures = 0;
  Request req = Request::Put("/obj", Body::FromString("payload"));
  req.url = s.server.Url("/obj");
  req.query = {{"partNumber", "7"}};
  req.headers = {{"X-Signature", "stale"}, {"X-Keep", "1"}};
  req.options.before_attempt = [&](AttemptRequest& a) -> Status {
    urls.push_back(fmt::format("{} {} {}", a.attempt, MethodName(a.method), a.url));
    // The fields start from the request's own each time: exactly one stale signature to replace.
    EXPECT_EQ(FindHeader(a.headers, "X-Signature"), "stale");
    EXPECT_TRUE(FindHeader(a.headers, "User-Agent"));  // what the client adds is visible too
    SetHeader(a.headers, "X-Signature", fmt::format("sig-{}-{}", a.attempt, ++signatures));
    a.headers.emplace_back("X-Appended", "once");
    return OkStatus();
  };
  auto r = client->Send(std::move(req));
  ASSERT_TRUE(r) << r.error();
  auto seen = s.Seen();
  ASSERT_EQ(seen.size(), 3u);
  for (size_t i = 0; i < seen.size(); ++i) {
    EXPECT_EQ(AllValues(seen[i], "X-Signature"), std::vector<std::string>{fmt::format("sig-{}-{}", i + 1, i + 1)});
    EXPECT_EQ(AllValues(seen[i], "X-Appended"), std::vector<std::string>{"once"});
    EXPECT_EQ(seen[i].Header("X-Keep"), "1");
    EXPECT_EQ(seen[i].body, "payload");
    EXPECT_EQ(seen[i].query, "partNumber=7");
  }
  const std::string url = s.server.Url("/obj") + "?partNumber=7";
  EXPECT_EQ(urls, (std::vector<std::string>{"1 PUT " + url, "2 PUT " + url, "3 PUT " + url}));
}

TEST(HttpAttemptHook, MayFailTheRequest) {
  RecordingServer s({Reply{.status = 503}, Reply{.body = "ok"}});
  ASSERT_TRUE(s.server.Start());
  auto client = MakeClient(FastRetries());
  CallOptions co;
  co.before_attempt = [](AttemptRequest& a) -> Status {
    if (a.attempt == 2) return Error::Unauthenticated("the credentials expired before the retry");
    return OkStatus();
  };
  auto r = client->Get(s.server.Url("/x"), co);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kUnauthenticated);
  EXPECT_EQ(r.error().message(), "the credentials expired before the retry");
  EXPECT_EQ(s.Seen().size(), 1u);

  // A header it leaves with CR/LF is refused, and nothing is sent.
  co.before_attempt = [](AttemptRequest& a) -> Status {
    a.headers.emplace_back("X-Evil", "a\r\nInjected: yes");
    return OkStatus();
  };
  auto evil = client->Get(s.server.Url("/y"), co);
  ASSERT_FALSE(evil);
  EXPECT_EQ(evil.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(evil.error().message().find("after the attempt hook"), std::string::npos) << evil.error();
  EXPECT_EQ(s.Seen().size(), 1u);
}

// The pattern a service with clock-stamped signatures needs (S3's RequestTimeTooSkewed): the
// server rejects a stamp that differs from its clock and says what its clock reads; the
// classifier stores the offset and asks for one more attempt at once, which the hook stamps with
// the corrected time. The http client knows nothing of it.
TEST(HttpAttemptHook, WithTheClassifierCorrectsAClockSkewAndRetriesOnce) {
  constexpr int64_t kServerClock = 5000;
  constexpr int64_t kOurClock = 1000;
  std::atomic<int64_t> server_clock{kServerClock};
  std::mutex mu;
  std::vector<std::string> stamps;
  HttpTestServer server([&](const ServerRequest& r) {
    std::lock_guard lock(mu);
    stamps.push_back(r.Header("X-Stamp"));
    const std::string now = std::to_string(server_clock.load());
    if (r.Header("X-Stamp") != now) {
      return Reply{.status = 403, .headers = {{"X-Server-Clock", now}}, .body = "<Code>Skewed</Code>"};
    }
    return Reply{.body = "ok"};
  });
  ASSERT_TRUE(server.Start());
  auto client = MakeClient(FastRetries());

  auto offset = std::make_shared<std::atomic<int64_t>>(0);
  CallOptions co;
  co.before_attempt = [offset](AttemptRequest& a) -> Status {
    SetHeader(a.headers, "X-Stamp", std::to_string(kOurClock + offset->load()));
    return OkStatus();
  };
  co.classify = [offset](const AttemptResponse& a) {
    const Response& r = a.response;
    if (r.status == 403 && r.body.find("Skewed") != std::string::npos) {
      Error e = Error::PermissionDenied(fmt::format("GET {}: clock skewed", r.url));
      if (offset->load() != 0) return ResponseVerdict::Fail(std::move(e));  // corrected once already
      offset->store(std::stoll(std::string(r.Header("X-Server-Clock").value_or("0"))) - kOurClock);
      return ResponseVerdict::Retry(std::move(e), Clock::Duration::zero());
    }
    return DefaultClassifier(a);
  };
  auto r = client->Get(server.Url("/x"), co);
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->attempts, 2);
  {
    std::lock_guard lock(mu);
    EXPECT_EQ(stamps, (std::vector<std::string>{"1000", "5000"}));
    stamps.clear();
  }
  // The server's clock moves on: one more correction is refused, the error is final.
  server_clock = 9000;
  auto again = client->Get(server.Url("/x"), co);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code(), ErrorCode::kPermissionDenied);
  std::lock_guard lock(mu);
  EXPECT_EQ(stamps, (std::vector<std::string>{"5000"}));
}

// A stream body goes out again from its first byte on every attempt the classifier retries.
TEST(HttpAttemptHook, AStreamBodyIsResentFromItsStartOnEachAttempt) {
  RecordingServer s({Reply{.body = "<Error>InternalError</Error>"}, Reply{.status = 503}, Reply{.body = "ok"}});
  ASSERT_TRUE(s.server.Start());
  auto client = MakeClient(FastRetries());
  const std::string payload(300 * 1024, 'p');
  size_t pos = 0;
  int rewinds = 0;
  Request req = Request::Put(s.server.Url("/upload"), Body::FromStream(
      [&](char* buf, size_t cap) -> Result<size_t> {
        size_t n = std::min(cap, payload.size() - pos);
        std::copy_n(payload.data() + pos, n, buf);
        pos += n;
        return n;
      },
      payload.size(),
      [&]() -> Status {
        ++rewinds;
        pos = 0;
        return OkStatus();
      }));
  int hooks = 0;
  req.options.before_attempt = [&](AttemptRequest&) -> Status {
    ++hooks;
    return OkStatus();
  };
  req.options.classify = [](const AttemptResponse& a) {
    if (a.response.body.find("<Error>") != std::string::npos) return ResponseVerdict::Retry(Error::Internal("in a 200"));
    return DefaultClassifier(a);
  };
  auto r = client->Send(std::move(req));
  ASSERT_TRUE(r) << r.error();
  auto seen = s.Seen();
  ASSERT_EQ(seen.size(), 3u);
  for (const auto& got : seen) EXPECT_TRUE(got.body == payload) << got.body.size();
  EXPECT_EQ(rewinds, 2);
  EXPECT_EQ(hooks, 3);
}

}  // namespace
}  // namespace esper::http
