// Cancellation: a CallOptions::cancel token stops one request or a group, Client::CancelAll stops
// everything in flight — attempts waiting on a silent server, backoff waits, queued requests —
// against a real server on 127.0.0.1. Every wait below is bounded by a watchdog far longer than
// the work needs (the requests themselves would take minutes to end on their own).
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <stop_token>
#include <string>
#include <vector>

#include "client_helpers.h"
#include "esper/http/client.h"
#include "testing/http_server.h"
#include "testing/wait.h"

namespace esper::http {
namespace {

using namespace std::chrono_literals;
using testing::HttpTestServer;
using testing::Reply;
using testing::ServerRequest;
using testing::WaitUntil;

constexpr auto kWatchdog = 10s;

// /silent never answers, /retry answers 503 with a long Retry-After, anything else 200 "ok".
struct Server {
  Server()
      : server([this](const ServerRequest& r) {
          if (r.path == "/silent") {
            silent.fetch_add(1);
            return Reply{.action = Reply::Action::kSilent};
          }
          if (r.path == "/retry") {
            retry.fetch_add(1);
            return Reply{.status = 503, .headers = {{"Retry-After", "60"}}, .body = "busy"};
          }
          return Reply{.body = "ok"};
        }) {}
  std::atomic<int> silent{0};
  std::atomic<int> retry{0};
  HttpTestServer server;
};

// A client whose requests would wait minutes on their own.
std::unique_ptr<Client> PatientClient() {
  ClientOptions o;
  o.request_timeout = 10min;
  o.retry.max_attempts = 3;
  o.retry.max_retry_after = 10min;
  o.breaker_per_host = false;
  return MakeClient(std::move(o));
}

// The /retry request's first answer has been read (its body counted): it waits 60 s to retry.
bool InBackoff(const Client& client) {
  auto stats = client.get_stats();
  return !stats.empty() && stats.begin()->second.bytes_in >= 4;
}

Result<Response> Get(std::future<Result<Response>>& f) {
  if (f.wait_for(kWatchdog) != std::future_status::ready) {
    return Error::DeadlineExceeded("the watchdog fired: the request was not cancelled");
  }
  return f.get();
}

TEST(HttpCancel, ATokenStopsOneRequestWaitingOnASilentServer) {
  Server s;
  ASSERT_TRUE(s.server.Start());
  auto client = PatientClient();
  std::stop_source stop;
  Request req = Request::Get(s.server.Url("/silent"));
  req.options.cancel = stop.get_token();
  auto silent = client->SendAsync(std::move(req));
  auto other = client->SendAsync(Request::Get(s.server.Url("/silent")));  // no token
  ASSERT_TRUE(WaitUntil([&] { return s.silent.load() == 2; }));

  stop.request_stop();
  auto r = Get(silent);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kCancelled) << r.error();
  EXPECT_NE(r.error().message().find(fmt::format("GET {}: cancelled", s.server.Url("/silent"))), std::string::npos)
      << r.error();
  EXPECT_EQ(other.wait_for(0s), std::future_status::timeout);  // the one without the token waits on
  EXPECT_EQ(client->in_flight(), 1);
  auto ok = client->Get(s.server.Url("/fine"));  // the client goes on serving
  ASSERT_TRUE(ok) << ok.error();
  EXPECT_EQ(client->get_stats().begin()->second.errors, 1u);
}

TEST(HttpCancel, OneSourceStopsAGroupAndNothingElse) {
  Server s;
  ASSERT_TRUE(s.server.Start());
  auto client = PatientClient();
  std::stop_source upload;  // e.g. every part of one multipart upload
  std::vector<std::future<Result<Response>>> parts;
  for (int i = 0; i < 3; ++i) {
    Request part = Request::Put(s.server.Url("/silent"), Body::FromString(std::string(1000, 'x')));
    part.query = {{"partNumber", std::to_string(i + 1)}};
    part.options.cancel = upload.get_token();
    parts.push_back(client->SendAsync(std::move(part)));
  }
  Request waiting = Request::Get(s.server.Url("/retry"));  // in a 60 s backoff wait
  waiting.options.cancel = upload.get_token();
  parts.push_back(client->SendAsync(std::move(waiting)));
  ASSERT_TRUE(WaitUntil([&] { return s.silent.load() == 3 && InBackoff(*client); }));

  upload.request_stop();
  for (auto& f : parts) {
    auto r = Get(f);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), ErrorCode::kCancelled) << r.error();
  }
  EXPECT_EQ(s.retry.load(), 1);  // the backoff ended without another attempt
  EXPECT_EQ(client->in_flight(), 0);
  auto ok = client->Get(s.server.Url("/after"));
  ASSERT_TRUE(ok) << ok.error();
}

TEST(HttpCancel, AStopRequestedBeforeSubmissionFailsAtOnce) {
  Server s;
  ASSERT_TRUE(s.server.Start());
  auto client = PatientClient();
  std::stop_source stop;
  stop.request_stop();
  bool called = false;
  Request req = Request::Get(s.server.Url("/fine"));
  req.options.cancel = stop.get_token();
  Status st = client->SendAsync(std::move(req), [&](Result<Response>) { called = true; });
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code(), ErrorCode::kCancelled);
  EXPECT_FALSE(called);
  EXPECT_EQ(s.server.requests(), 0u);
}

TEST(HttpCancel, CancelAllStopsEverythingInFlightButNotLaterRequests) {
  Server s;
  ASSERT_TRUE(s.server.Start());
  auto client = PatientClient();
  std::vector<std::future<Result<Response>>> fs;
  for (int i = 0; i < 5; ++i) fs.push_back(client->SendAsync(Request::Get(s.server.Url("/silent"))));
  fs.push_back(client->SendAsync(Request::Get(s.server.Url("/retry"))));
  ASSERT_TRUE(WaitUntil([&] { return s.silent.load() == 5 && InBackoff(*client); }));

  client->CancelAll();
  for (auto& f : fs) {
    auto r = Get(f);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), ErrorCode::kCancelled) << r.error();
  }
  EXPECT_EQ(client->in_flight(), 0);
  auto later = client->Get(s.server.Url("/later"));
  ASSERT_TRUE(later) << later.error();
  EXPECT_EQ(later->body, "ok");
}

TEST(HttpCancel, ACallbackMayCancelOthersAndABlockingSendReturns) {
  Server s;
  ASSERT_TRUE(s.server.Start());
  auto client = PatientClient();
  std::stop_source group;
  // A blocking Send on another thread, stopped by a callback on the loop thread.
  std::promise<Result<Response>> blocked;
  std::thread sender([&] {
    Request req = Request::Get(s.server.Url("/silent"));
    req.options.cancel = group.get_token();
    blocked.set_value(client->Send(std::move(req)));
  });
  ASSERT_TRUE(WaitUntil([&] { return s.silent.load() == 1; }));
  ASSERT_TRUE(client->SendAsync(Request::Get(s.server.Url("/fine")), [&](Result<Response> r) {
    EXPECT_TRUE(r);
    group.request_stop();  // on the loop thread
  }));
  auto f = blocked.get_future();
  auto r = Get(f);
  sender.join();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kCancelled) << r.error();
}

// Stops racing completions: every callback runs exactly once, with a result or Cancelled.
TEST(HttpCancel, StopsRacingCompletionsEachEndOnce) {
  HttpTestServer server([](const ServerRequest& r) {
    return Reply{.body = "ok", .delay = std::chrono::milliseconds(r.path.size() % 3)};
  });
  ASSERT_TRUE(server.Start());
  auto client = MakeClient(FastRetries());
  constexpr int kRequests = 300;
  std::vector<std::stop_source> stops(kRequests);
  std::atomic<int> done{0}, ok{0}, cancelled{0}, other{0};
  std::vector<std::atomic<int>> calls(kRequests);
  for (int i = 0; i < kRequests; ++i) {
    Request req = Request::Get(server.Url(fmt::format("/{}", std::string_view("xxxxxx").substr(0, static_cast<size_t>(i % 7)))));
    req.options.cancel = stops[static_cast<size_t>(i)].get_token();
    ASSERT_TRUE(client->SendAsync(std::move(req), [&, i](Result<Response> r) {
      calls[static_cast<size_t>(i)].fetch_add(1);
      (r ? ok : r.error().code() == ErrorCode::kCancelled ? cancelled : other).fetch_add(1);
      done.fetch_add(1);
    }));
    if (i % 2 == 0) stops[static_cast<size_t>(i / 2)].request_stop();  // some before, some after completion
  }
  std::thread canceller([&] {
    for (int i = kRequests - 1; i >= 0; i -= 3) stops[static_cast<size_t>(i)].request_stop();
  });
  canceller.join();
  ASSERT_TRUE(WaitUntil([&] { return done.load() == kRequests; }, kWatchdog));
  for (auto& c : calls) EXPECT_EQ(c.load(), 1);
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(ok.load() + cancelled.load(), kRequests);
  EXPECT_EQ(client->in_flight(), 0);
}

}  // namespace
}  // namespace esper::http
