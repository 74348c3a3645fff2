// esper::http::Client against a real HTTP/1.1 server on loopback: verbs, headers, query
// encoding, concurrency, pool limits, timeouts, errors, statistics, proxy environment.
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <future>
#include <latch>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "testing/http_server.h"
#include "testing/process.h"
#include "client_helpers.h"
#include "esper/http/client.h"

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

// Echo server: reports what it received.
Reply Echo(const ServerRequest& r) {
  Reply rep;
  rep.body = r.method + " " + r.target + "\n" + r.body;
  for (const auto& [k, v] : r.headers) rep.headers.emplace_back("X-Echo-" + k, v);
  return rep;
}

TEST(HttpClient, EveryVerbReachesTheServer) {
  HttpTestServer server(Echo);
  ASSERT_TRUE(server.Start());
  auto client = MakeClient({.base_url = server.Url("/api")});
  ASSERT_TRUE(client);

  auto get = client->Get("items");
  ASSERT_TRUE(get) << get.error();
  EXPECT_EQ(get->status, 200);
  EXPECT_EQ(get->body, "GET /api/items\n");
  EXPECT_EQ(get->http_version, "1.1");
  EXPECT_EQ(get->attempts, 1);
  EXPECT_EQ(get->url, server.Url("/api/items"));  // the URL sent, base and path joined

  auto post = client->Post("/items", Body::FromString("{\"a\":1}"), "application/json");
  ASSERT_TRUE(post) << post.error();
  EXPECT_EQ(post->body, "POST /api/items\n{\"a\":1}");
  EXPECT_EQ(post->Header("x-echo-content-type"), "application/json");
  EXPECT_EQ(post->Header("X-Echo-Content-Length"), "7");
  EXPECT_FALSE(post->Header("X-Echo-Expect"));  // no 100-continue round trip

  auto put = client->Put("/items/1", Body::FromString("v"));
  ASSERT_TRUE(put);
  EXPECT_EQ(put->body, "PUT /api/items/1\nv");
  EXPECT_FALSE(put->Header("X-Echo-Content-Type"));  // none made up

  auto patch = client->Patch("/items/1", Body::FromString("p"), "text/plain");
  ASSERT_TRUE(patch);
  EXPECT_EQ(patch->body, "PATCH /api/items/1\np");

  auto del = client->Delete("/items/1");
  ASSERT_TRUE(del);
  EXPECT_EQ(del->body, "DELETE /api/items/1\n");

  auto head = client->Head("/items/1");
  ASSERT_TRUE(head) << head.error();
  EXPECT_EQ(head->status, 200);
  EXPECT_TRUE(head->body.empty());
  EXPECT_TRUE(head->Header("Content-Length"));

  auto opt = client->Send(Request{.method = Method::kOptions, .url = "/x"});
  ASSERT_TRUE(opt);
  EXPECT_EQ(opt->body, "OPTIONS /api/x\n");

  auto empty_post = client->Post("/e", Body());
  ASSERT_TRUE(empty_post);
  EXPECT_EQ(empty_post->Header("X-Echo-Content-Length"), "0");
}

TEST(HttpClient, ReusedHandlesCarryNothingOverFromTheLastRequest) {
  // A pooled curl handle is reused without a reset when the next request has the same shape
  // (method, body kind, scheme), and with one otherwise. Requests here run one at a time, so each
  // reuses the previous one's handle: pairs of one shape, then a change of shape, with headers,
  // bodies and URLs varied so nothing stale can pass unseen.
  HttpTestServer server(Echo);
  ASSERT_TRUE(server.Start());
  auto client = MakeClient({.base_url = server.Url("/r")});
  ASSERT_TRUE(client);
  for (int i = 0; i < 3; ++i) {
    const std::string n = std::to_string(i);
    auto post = client->Post("/p" + n, Body::FromString("body" + n), "text/x-" + n);
    ASSERT_TRUE(post) << post.error();
    EXPECT_EQ(post->body, "POST /r/p" + n + "\nbody" + n);
    EXPECT_EQ(post->Header("X-Echo-Content-Type"), "text/x-" + n);
    auto post2 = client->Post("/q" + n, Body::FromString("other"));  // same shape, no content type
    ASSERT_TRUE(post2) << post2.error();
    EXPECT_EQ(post2->body, "POST /r/q" + n + "\nother");
    EXPECT_FALSE(post2->Header("X-Echo-Content-Type"));
    Request get = Request::Get("/g" + n);
    get.headers.emplace_back("X-Once", n);
    auto g = client->Send(std::move(get));
    ASSERT_TRUE(g) << g.error();
    EXPECT_EQ(g->body, "GET /r/g" + n + "\n");  // no stale POST body or method
    EXPECT_EQ(g->Header("X-Echo-X-Once"), n);
    auto g2 = client->Get("/h" + n);  // same shape, without the header
    ASSERT_TRUE(g2);
    EXPECT_EQ(g2->body, "GET /r/h" + n + "\n");
    EXPECT_FALSE(g2->Header("X-Echo-X-Once"));
    auto head = client->Head("/h" + n);
    ASSERT_TRUE(head);
    EXPECT_TRUE(head->body.empty());
    auto again = client->Get("/i" + n);
    ASSERT_TRUE(again);
    EXPECT_EQ(again->body, "GET /r/i" + n + "\n");  // a GET after a HEAD has its body again
    auto del = client->Delete("/d" + n);
    ASSERT_TRUE(del);
    EXPECT_EQ(del->body, "DELETE /r/d" + n + "\n");
    auto after = client->Get("/j" + n);
    ASSERT_TRUE(after);
    EXPECT_EQ(after->body, "GET /r/j" + n + "\n");  // not a stale custom method
    // Two stream bodies in a row (one shape): the read callback is set once per handle, the
    // size and the source for each transfer.
    for (const std::string& text : {"stream-a" + n, "a longer stream, b" + n}) {
      size_t off = 0;
      auto body = Body::FromStream(
          [&](char* buf, size_t cap) -> Result<size_t> {
            const size_t k = std::min(cap, text.size() - off);
            std::memcpy(buf, text.data() + off, k);
            off += k;
            return k;
          },
          text.size());
      auto put = client->Put("/s" + n, std::move(body));
      ASSERT_TRUE(put) << put.error();
      EXPECT_EQ(put->body, "PUT /r/s" + n + "\n" + text);
    }
  }
}

TEST(HttpClient, AReusedHandleGoesWhereEachRequestSays) {
  // A pooled handle keeps the parsed URL of its last request and parses again only when the next
  // URL differs: repeats, a change of path, of query, of host and back must each reach the right
  // server with the right target.
  HttpTestServer a([](const ServerRequest& r) { return Reply{.body = "a " + r.target}; });
  HttpTestServer b([](const ServerRequest& r) { return Reply{.body = "b " + r.target}; });
  ASSERT_TRUE(a.Start());
  ASSERT_TRUE(b.Start());
  auto client = MakeClient();
  ASSERT_TRUE(client);
  const std::vector<std::pair<std::string, std::string>> steps = {
      {a.Url("/x"), "a /x"},          {a.Url("/x"), "a /x"},     {a.Url("/x?k=1"), "a /x?k=1"},
      {a.Url("/x?k=1"), "a /x?k=1"},  {b.Url("/x"), "b /x"},     {a.Url("/x"), "a /x"},
      {a.Url("/y/../z"), "a /z"},     {a.Url("/z"), "a /z"},
  };
  for (const auto& [url, want] : steps) {
    auto r = client->Get(url);
    ASSERT_TRUE(r) << url << ": " << r.error();
    EXPECT_EQ(r->body, want) << url;
    EXPECT_EQ(r->url, url);
  }
  EXPECT_EQ(a.requests(), 7u);
  EXPECT_EQ(b.requests(), 1u);
}

TEST(HttpClient, RedirectsAreFollowedOnlyWhenAskedAndNeverCarryAuthorizationToAnotherHost) {
  HttpTestServer b([](const ServerRequest& r) {
    const bool auth = !r.Header("Authorization").empty();
    return Reply{.body = std::string(auth ? "b with" : "b without") + " authorization " + r.target};
  });
  ASSERT_TRUE(b.Start());
  const std::string b_url = b.Url("/landed");
  HttpTestServer a([&](const ServerRequest& r) {
    if (r.target == "/old") return Reply{.status = 302, .headers = {{"Location", "/new"}}};
    if (r.target == "/loop") return Reply{.status = 302, .headers = {{"Location", "/loop"}}};
    if (r.target == "/away") return Reply{.status = 307, .headers = {{"Location", b_url}}};
    return Reply{.body = "a " + r.target};
  });
  ASSERT_TRUE(a.Start());

  auto plain = MakeClient();
  ASSERT_TRUE(plain);
  auto r = plain->Get(a.Url("/old"));
  ASSERT_TRUE(r) << r.error();  // a 3xx is a response, not an error
  EXPECT_EQ(r->status, 302);
  EXPECT_EQ(r->Header("Location"), "/new");

  auto follow = MakeClient({.follow_redirects = true, .max_redirects = 3});
  ASSERT_TRUE(follow);
  for (int i = 0; i < 2; ++i) {  // the second reuses the handle: it starts again at /old
    auto f = follow->Get(a.Url("/old"));
    ASSERT_TRUE(f) << f.error();
    EXPECT_EQ(f->status, 200);
    EXPECT_EQ(f->body, "a /new");
  }
  EXPECT_EQ(a.requests(), 5u);  // /old once unfollowed, then /old + /new twice
  auto loop = follow->Get(a.Url("/loop"));
  ASSERT_FALSE(loop);
  EXPECT_FALSE(loop.error().retryable()) << loop.error();
  EXPECT_NE(loop.error().message().find("too many redirects"), std::string::npos) << loop.error();
  Request away = Request::Get(a.Url("/away"));
  away.headers.emplace_back("Authorization", "Bearer s3cr3t");
  auto moved = follow->Send(std::move(away));
  ASSERT_TRUE(moved) << moved.error();
  EXPECT_EQ(moved->body, "b without authorization /landed");
}

TEST(HttpClient, QueryParametersAreRfc3986Encoded) {
  HttpTestServer server(Echo);
  ASSERT_TRUE(server.Start());
  auto client = MakeClient();
  Request r = Request::Get(server.Url("/q"));
  r.query = {{"prefix", "a b/c+d"}, {"marker", "ü~._-"}, {"empty", ""}, {"k", "="}};
  auto resp = client->Send(std::move(r));
  ASSERT_TRUE(resp) << resp.error();
  EXPECT_EQ(resp->body, "GET /q?prefix=a%20b%2Fc%2Bd&marker=%C3%BC~._-&empty=&k=%3D\n");
}

TEST(HttpClient, HeadersDefaultsOverridesAndTraceparent) {
  HttpTestServer server(Echo);
  ASSERT_TRUE(server.Start());
  auto client = MakeClient({.default_headers = {{"X-Service", "tamiyo"}, {"X-Env", "test"}},
                            .user_agent = "esper-test/1"});
  Request r = Request::Get(server.Url("/h"));
  r.headers = {{"X-Env", "override"}, {"X-Empty", ""}};
  r.options.traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  r.options.tracestate = "esper=1";
  auto resp = client->Send(std::move(r));
  ASSERT_TRUE(resp) << resp.error();
  EXPECT_EQ(resp->Header("X-Echo-X-Service"), "tamiyo");
  EXPECT_EQ(resp->Header("X-Echo-X-Env"), "override");
  EXPECT_EQ(resp->Header("X-Echo-X-Empty"), "");
  EXPECT_EQ(resp->Header("X-Echo-User-Agent"), "esper-test/1");
  EXPECT_EQ(resp->Header("X-Echo-traceparent"), "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  EXPECT_EQ(resp->Header("X-Echo-tracestate"), "esper=1");

  // No traceparent when the caller has none; a request without headers of its own (the client's
  // shared header list) still carries the defaults and the User-Agent.
  auto plain = client->Get(server.Url("/h"));
  ASSERT_TRUE(plain);
  EXPECT_FALSE(plain->Header("X-Echo-traceparent"));
  EXPECT_EQ(plain->Header("X-Echo-X-Service"), "tamiyo");
  EXPECT_EQ(plain->Header("X-Echo-X-Env"), "test");
  EXPECT_EQ(plain->Header("X-Echo-User-Agent"), "esper-test/1");

  // A request's own User-Agent replaces the client's: sent once.
  Request ua = Request::Get(server.Url("/h"));
  ua.headers = {{"User-Agent", "custom/2"}};
  auto custom = client->Send(std::move(ua));
  ASSERT_TRUE(custom) << custom.error();
  int seen = 0;
  for (const auto& [k, v] : custom->headers) {
    if (k == "X-Echo-User-Agent") {
      ++seen;
      EXPECT_EQ(v, "custom/2");
    }
  }
  EXPECT_EQ(seen, 1);
}

// Sets (or, with nullptr, unsets) an environment variable for one scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    value ? setenv(name, value, 1) : unsetenv(name);
  }
  ~ScopedEnv() { old_ ? setenv(name_, old_->c_str(), 1) : unsetenv(name_); }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

TEST(HttpClient, ProxyEnvironmentIsHonouredWithCurlsRulesAndReadAtCreate) {
  std::mutex mu;
  std::vector<std::string> proxied;  // request targets the proxy saw
  HttpTestServer proxy([&](const ServerRequest& r) {
    std::lock_guard lock(mu);
    proxied.push_back(r.target);
    return Reply{.body = "via proxy"};
  });
  ASSERT_TRUE(proxy.Start());
  HttpTestServer direct([](const ServerRequest&) { return Reply{.body = "direct"}; });
  ASSERT_TRUE(direct.Start());
  ScopedEnv e1("http_proxy", nullptr), e2("HTTP_PROXY", nullptr), e3("https_proxy", nullptr),
      e4("HTTPS_PROXY", nullptr), e5("all_proxy", nullptr), e6("ALL_PROXY", nullptr), e7("no_proxy", nullptr),
      e8("NO_PROXY", nullptr);
  const std::string proxy_url = proxy.Url("");

  {  // Upper-case HTTP_PROXY is ignored for http:// (as curl does: "httpoxy").
    ScopedEnv upper("HTTP_PROXY", proxy_url.c_str());
    auto client = MakeClient();
    auto r = client->Get(direct.Url("/a"));
    ASSERT_TRUE(r) << r.error();
    EXPECT_EQ(r->body, "direct");
  }
  {
    ScopedEnv lower("http_proxy", proxy_url.c_str());
    auto client = MakeClient();
    // The proxy gets the absolute URL; the origin's name is never resolved here.
    auto r = client->Get("http://origin.invalid/x?y=1");
    ASSERT_TRUE(r) << r.error();
    EXPECT_EQ(r->body, "via proxy");
    {
      std::lock_guard lock(mu);
      EXPECT_EQ(proxied, std::vector<std::string>{"http://origin.invalid/x?y=1"});
    }
    // no_proxy set after Create does not change this client ...
    ScopedEnv np("no_proxy", "127.0.0.1");
    auto still = client->Get(direct.Url("/b"));
    ASSERT_TRUE(still) << still.error();
    EXPECT_EQ(still->body, "via proxy");
    // ... a client created now goes direct to hosts in no_proxy, and through the proxy to others.
    auto fresh = MakeClient();
    auto d = fresh->Get(direct.Url("/c"));
    ASSERT_TRUE(d) << d.error();
    EXPECT_EQ(d->body, "direct");
    auto p = fresh->Get("http://origin.invalid/z");
    ASSERT_TRUE(p) << p.error();
    EXPECT_EQ(p->body, "via proxy");
  }
  {  // all_proxy is the fallback.
    ScopedEnv all("ALL_PROXY", proxy_url.c_str());
    auto client = MakeClient();
    auto r = client->Get("http://origin.invalid/all");
    ASSERT_TRUE(r) << r.error();
    EXPECT_EQ(r->body, "via proxy");
  }
}

TEST(HttpClient, BadRequestsAreRejectedAtSubmission) {
  auto client = MakeClient();
  auto bad_tp = client->Send(Request{.url = "http://127.0.0.1:1/", .options = {.traceparent = "00-zz"}});
  ASSERT_FALSE(bad_tp);
  EXPECT_EQ(bad_tp.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(bad_tp.error().message().find("traceparent"), std::string::npos);

  Request inject = Request::Get("http://127.0.0.1:1/");
  inject.headers = {{"X-A", "v\r\nX-Evil: 1"}};
  auto r = client->Send(std::move(inject));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);

  auto rel = client->Get("/relative");
  ASSERT_FALSE(rel);
  EXPECT_NE(rel.error().message().find("base_url"), std::string::npos);

  auto ftp = client->Get("ftp://127.0.0.1/x");
  ASSERT_FALSE(ftp);
  EXPECT_EQ(ftp.error().code(), ErrorCode::kInvalidArgument);

  // The async form returns the error and never calls the callback.
  bool called = false;
  Status s = client->SendAsync(Request::Get("nope"), [&](Result<Response>) { called = true; });
  EXPECT_FALSE(s);
  EXPECT_FALSE(called);
}

TEST(HttpClient, OptionsAreValidated) {
  auto bad = [](ClientOptions o) {
    auto c = Client::Create(std::move(o));
    EXPECT_FALSE(c);
    return c ? std::string() : c.error().message();
  };
  EXPECT_NE(bad({.connect_timeout = 0ms}).find("connect_timeout"), std::string::npos);
  EXPECT_NE(bad({.request_timeout = -1ms}).find("request_timeout"), std::string::npos);
  EXPECT_NE(bad({.max_connections = -1}).find("max_connections"), std::string::npos);
  EXPECT_NE(bad({.base_url = "gopher://x"}).find("base_url"), std::string::npos);
  EXPECT_NE(bad({.ca_bundle = "/nonexistent/ca.pem"}).find("ca_bundle"), std::string::npos);
  EXPECT_NE(bad({.max_in_flight = 0}).find("max_in_flight"), std::string::npos);
  EXPECT_NE(bad({.http2 = false, .http2_cleartext = true}).find("http2_cleartext"), std::string::npos);
  ClientOptions retry;
  retry.retry.max_attempts = 0;
  EXPECT_NE(bad(retry).find("retry"), std::string::npos);
}

TEST(HttpClient, ManyThreadsCallbacksAndFutures) {
  HttpTestServer server(Echo);
  ASSERT_TRUE(server.Start());
  auto client = MakeClient({.base_url = server.Url()});
  const int kThreads = 6;
  const int kPerThread = 150 / kScale;
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      std::vector<std::future<Result<Response>>> futures;
      std::latch done(kPerThread);
      for (int j = 0; j < kPerThread; ++j) {
        std::string path = "/t" + std::to_string(i) + "/" + std::to_string(j);
        futures.push_back(client->SendAsync(Request::Get(path)));
        Status s = client->SendAsync(Request::Get(path), [&, path](Result<Response> r) {
          if (r && r->body == "GET " + path + "\n") ok.fetch_add(1);
          done.count_down();
        });
        EXPECT_TRUE(s);
      }
      for (int j = 0; j < kPerThread; ++j) {
        auto r = futures[static_cast<size_t>(j)].get();
        if (r && r->body == "GET /t" + std::to_string(i) + "/" + std::to_string(j) + "\n") ok.fetch_add(1);
      }
      done.wait();
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 2 * kThreads * kPerThread);
  EXPECT_EQ(client->in_flight(), 0);
  auto stats = client->GetStats();
  ASSERT_EQ(stats.size(), 1u);
  const HostStats& h = stats.begin()->second;
  EXPECT_EQ(h.requests, static_cast<uint64_t>(2 * kThreads * kPerThread));
  EXPECT_EQ(h.completed, h.requests);
  EXPECT_EQ(h.status_counts.at(200), h.requests);
  EXPECT_EQ(h.latency.count(), h.requests);
  EXPECT_GT(h.latency.Percentile(99).count(), 0);  // recorded (percentile order: stats_test.cpp)
}

TEST(HttpClient, ThousandsInFlightOnOneLoop) {
  // The server holds every response 1 s, so all requests are in flight at once (submitting them
  // takes far less, even under a sanitizer).
  HttpTestServer server([](const ServerRequest& r) {
    return Reply{.body = r.path, .delay = 1s};
  });
  ASSERT_TRUE(server.Start());
  const int kN = 2000 / kScale;
  auto client = MakeClient({.max_connections = 0});
  std::atomic<int> ok{0};
  std::latch done(kN);
  for (int i = 0; i < kN; ++i) {
    std::string path = "/r" + std::to_string(i);
    ASSERT_TRUE(client->SendAsync(Request::Get(server.Url(path)), [&, path](Result<Response> r) {
      if (r && r->body == path) ok.fetch_add(1);
      done.count_down();
    }));
  }
  int peak = client->in_flight();
  EXPECT_GE(peak, kN / 2);  // submission is not throttled by completions
  done.wait();
  EXPECT_EQ(ok.load(), kN);
  EXPECT_GE(server.max_open_connections(), kN / 4);  // they really were concurrent
}

TEST(HttpClient, PerHostLimitQueuesRatherThanFails) {
  HttpTestServer server([](const ServerRequest&) { return Reply{.body = "ok", .delay = 30ms}; });
  ASSERT_TRUE(server.Start());
  auto client = MakeClient({.max_connections_per_host = 2});
  std::vector<std::future<Result<Response>>> fs;
  for (int i = 0; i < 24; ++i) fs.push_back(client->SendAsync(Request::Get(server.Url("/x"))));
  for (auto& f : fs) {
    auto r = f.get();
    ASSERT_TRUE(r) << r.error();
    EXPECT_EQ(r->body, "ok");
  }
  EXPECT_EQ(server.max_pending_replies(), 2);  // exactly the limit: used fully, never exceeded
  EXPECT_EQ(server.requests(), 24u);
}

TEST(HttpClient, TotalLimitQueuesRatherThanFails) {
  // One server under two host names (127.0.0.1 and localhost): two pools, one total limit.
  HttpTestServer server([](const ServerRequest&) { return Reply{.body = "ok", .delay = 20ms}; });
  ASSERT_TRUE(server.Start());
  auto client = MakeClient({.max_connections = 3});
  std::vector<std::future<Result<Response>>> fs;
  const std::string other = "http://localhost:" + std::to_string(server.port()) + "/";
  for (int i = 0; i < 15; ++i) {
    fs.push_back(client->SendAsync(Request::Get(server.Url("/"))));
    fs.push_back(client->SendAsync(Request::Get(other)));
  }
  for (auto& f : fs) {
    auto r = f.get();
    ASSERT_TRUE(r) << r.error();
  }
  EXPECT_EQ(client->GetStats().size(), 2u);
  EXPECT_LE(server.max_pending_replies(), 3);
}

TEST(HttpClient, KeepAliveReusesOneConnection) {
  HttpTestServer server(Echo);
  ASSERT_TRUE(server.Start());
  auto client = MakeClient();
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(client->Get(server.Url("/k")));
  EXPECT_EQ(server.connections_accepted(), 1u);

  auto no_reuse = MakeClient({.keep_alive = false});
  HttpTestServer server2(Echo);
  ASSERT_TRUE(server2.Start());
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(no_reuse->Get(server2.Url("/k")));
  EXPECT_EQ(server2.connections_accepted(), 3u);
}

TEST(HttpClient, SilentServerCannotHangACall) {
  HttpTestServer server([](const ServerRequest&) { return Reply{.action = Reply::Action::kSilent}; });
  ASSERT_TRUE(server.Start());
  auto client = MakeClient({.request_timeout = 300ms});
  auto t0 = std::chrono::steady_clock::now();
  auto r = client->Get(server.Url("/silent"), {.max_attempts = 1});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kDeadlineExceeded);
  EXPECT_NE(r.error().message().find("per-try timeout 300 ms"), std::string::npos) << r.error();
  EXPECT_NE(r.error().message().find(server.Url("/silent")), std::string::npos);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 20s);  // returned at all: it did not hang
}

TEST(HttpClient, StalledBodyIsDetected) {
  HttpTestServer server([](const ServerRequest&) {
    return Reply{.body = std::string(100000, 'x'), .action = Reply::Action::kStallMidBody};
  });
  ASSERT_TRUE(server.Start());
  auto client = MakeClient({.request_timeout = 20s, .stall_time = 1s});
  auto r = client->Get(server.Url("/stall"), {.max_attempts = 1});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kDeadlineExceeded);
  EXPECT_NE(r.error().message().find("stalled"), std::string::npos) << r.error();
}

TEST(HttpClient, ConnectionRefusedNamesHostAndPort) {
  int port;
  {
    HttpTestServer gone(Echo);
    ASSERT_TRUE(gone.Start());
    port = gone.port();
  }
  auto client = MakeClient();
  auto r = client->Get("http://127.0.0.1:" + std::to_string(port) + "/x", {.max_attempts = 1});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kUnavailable);
  EXPECT_TRUE(r.error().retryable());
  EXPECT_NE(r.error().message().find("connect to 127.0.0.1 port " + std::to_string(port) + " failed"),
            std::string::npos)
      << r.error();
}

TEST(HttpClient, UnresolvableHostSaysDns) {
  auto client = MakeClient({.connect_timeout = 3s, .request_timeout = 5s});
  auto r = client->Get("http://no-such-host.invalid/x");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("no-such-host.invalid"), std::string::npos) << r.error();
  // .invalid never resolves (RFC 6761); a machine without a resolver times out instead, which
  // says nothing about the DNS error: skipped visibly, not passed.
  if (r.error().code() != ErrorCode::kUnavailable)
    GTEST_SKIP() << "the resolver did not answer, so the DNS error was not seen: " << r.error();
  EXPECT_NE(r.error().message().find("DNS"), std::string::npos) << r.error();
  EXPECT_FALSE(r.error().retryable());
}

TEST(HttpClient, HttpErrorsBecomeErrorsUnlessAccepted) {
  HttpTestServer server([](const ServerRequest& r) {
    if (r.path == "/missing") return Reply{.status = 404, .body = "<Error>NoSuchKey</Error>"};
    return Reply{.status = 400, .headers = {{"X-Request-Id", "REQ123"}}, .body = "bad"};
  });
  ASSERT_TRUE(server.Start());
  auto client = MakeClient();
  auto nf = client->Get(server.Url("/missing"));
  ASSERT_FALSE(nf);
  EXPECT_EQ(nf.error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(nf.error().http_status(), 404);
  EXPECT_NE(nf.error().message().find("GET: HTTP 404 from " + server.Url("/missing") + ": <Error>NoSuchKey"),
            std::string::npos)
      << nf.error();
  auto bad = client->Get(server.Url("/bad"));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().request_id(), "REQ123");

  auto accepted = client->Get(server.Url("/missing"), {.accept_http_errors = true});
  ASSERT_TRUE(accepted);
  EXPECT_EQ(accepted->status, 404);
  EXPECT_EQ(accepted->body, "<Error>NoSuchKey</Error>");
  EXPECT_EQ(accepted->url, server.Url("/missing"));
  auto stats = client->GetStats().begin()->second;
  EXPECT_EQ(stats.status_counts[404], 2u);
  EXPECT_EQ(stats.errors, 2u);
}

TEST(HttpClient, MemoryBodyLimit) {
  HttpTestServer server([](const ServerRequest&) { return Reply{.body = std::string(5000, 'z')}; });
  ASSERT_TRUE(server.Start());
  auto client = MakeClient({.max_response_bytes = 1000});
  auto r = client->Get(server.Url("/big"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kResourceExhausted);
  EXPECT_NE(r.error().message().find("max_response_bytes"), std::string::npos);
  EXPECT_EQ(server.requests(), 1u);  // our limit: not retried
}

TEST(HttpClient, BlockingCallFromTheLoopThreadFailsInsteadOfDeadlocking) {
  HttpTestServer server(Echo);
  ASSERT_TRUE(server.Start());
  auto client = MakeClient();
  std::promise<Result<Response>> inner;
  ASSERT_TRUE(client->SendAsync(Request::Get(server.Url("/a")), [&](Result<Response>) {
    inner.set_value(client->Get(server.Url("/b")));
  }));
  auto r = inner.get_future().get();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kFailedPrecondition);
}

TEST(HttpClient, SubmittingFromACallbackWorks) {
  HttpTestServer server(Echo);
  ASSERT_TRUE(server.Start());
  auto client = MakeClient();
  std::promise<std::string> second;
  ASSERT_TRUE(client->SendAsync(Request::Get(server.Url("/first")), [&](Result<Response> r) {
    ASSERT_TRUE(r);
    Status s = client->SendAsync(Request::Get(server.Url("/second")), [&](Result<Response> r2) {
      second.set_value(r2 ? r2->body : r2.error().ToString());
    });
    ASSERT_TRUE(s);
  }));
  EXPECT_EQ(second.get_future().get(), "GET /second\n");
}

TEST(HttpClient, IsLoopThreadAnswersOnTheLoopOnly) {
  HttpTestServer server(Echo);
  ASSERT_TRUE(server.Start());
  auto client = MakeClient();
  EXPECT_FALSE(client->IsLoopThread());
  std::promise<bool> inside;
  ASSERT_TRUE(client->SendAsync(Request::Get(server.Url("/a")),
                                [&](Result<Response>) { inside.set_value(client->IsLoopThread()); }));
  EXPECT_TRUE(inside.get_future().get());
  auto other = MakeClient();
  std::promise<bool> foreign;
  ASSERT_TRUE(client->SendAsync(Request::Get(server.Url("/b")),
                                [&](Result<Response>) { foreign.set_value(other->IsLoopThread()); }));
  EXPECT_FALSE(foreign.get_future().get()) << "another client's loop is not this one's";
}

TEST(HttpClient, PostedTasksRunOnTheLoopInOrderNeverInsidePost) {
  auto client = MakeClient();
  std::mutex mu;
  std::vector<int> order;
  std::atomic<int> off_loop{0};
  constexpr int kTasks = 1000;
  for (int i = 0; i < kTasks; ++i) {
    ASSERT_TRUE(client->Post([&, i] {
      if (!client->IsLoopThread()) ++off_loop;
      std::lock_guard lock(mu);
      order.push_back(i);
    }));
  }
  // A task may post more (from the loop thread itself): it runs later, not inside that Post.
  std::promise<std::string> chained;
  ASSERT_TRUE(client->Post([&] {
    auto inside_post = std::make_shared<bool>(true);
    EXPECT_TRUE(client->Post([&chained, inside_post] { chained.set_value(*inside_post ? "inside Post" : "later"); }));
    *inside_post = false;
  }));
  EXPECT_EQ(chained.get_future().get(), "later");
  std::lock_guard lock(mu);
  ASSERT_EQ(order.size(), static_cast<size_t>(kTasks));
  for (int i = 0; i < kTasks; ++i) EXPECT_EQ(order[static_cast<size_t>(i)], i);
  EXPECT_EQ(off_loop.load(), 0);
  EXPECT_FALSE(client->Post(nullptr));
}

TEST(HttpClient, TasksPostedBeforeDestructionRunBeforeItReturns) {
  std::atomic<int> ran{0};
  {
    auto client = MakeClient();
    for (int i = 0; i < 500; ++i) ASSERT_TRUE(client->Post([&] { ++ran; }));
  }
  EXPECT_EQ(ran.load(), 500);
}

TEST(HttpClient, PathAsIsKeepsDotSegmentsThatCurlWouldRemove) {
  HttpTestServer server(Echo);
  ASSERT_TRUE(server.Start());
  auto client = MakeClient();
  const std::string url = server.Url("/bucket/a/../b/./c/..");
  auto plain = client->Get(url);
  ASSERT_TRUE(plain) << plain.error();
  EXPECT_EQ(plain->body, "GET /bucket/b/\n") << "libcurl's RFC 3986 normalisation, by default";
  Request as_is = Request::Get(url);
  as_is.options.path_as_is = true;
  as_is.query = {{"x", "1"}};
  auto kept = client->Send(std::move(as_is));
  ASSERT_TRUE(kept) << kept.error();
  EXPECT_EQ(kept->body, "GET /bucket/a/../b/./c/..?x=1\n");
  // A pooled handle that last parsed the same URL the other way parses it again.
  auto again = client->Get(url);
  ASSERT_TRUE(again) << again.error();
  EXPECT_EQ(again->body, "GET /bucket/b/\n");
  Request dots = Request::Get(server.Url("/bucket/.."));
  dots.options.path_as_is = true;
  auto dd = client->Send(std::move(dots));
  ASSERT_TRUE(dd) << dd.error();
  EXPECT_EQ(dd->body, "GET /bucket/..\n");
}

TEST(HttpClient, DestructionCancelsEverythingInFlight) {
  HttpTestServer server([](const ServerRequest&) { return Reply{.action = Reply::Action::kSilent}; });
  ASSERT_TRUE(server.Start());
  auto client = MakeClient();
  std::atomic<int> cancelled{0};
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(client->SendAsync(Request::Get(server.Url("/x")), [&](Result<Response> r) {
      if (!r && r.error().code() == ErrorCode::kCancelled) cancelled.fetch_add(1);
    }));
  }
  auto fut = client->SendAsync(Request::Get(server.Url("/y")));
  client.reset();
  EXPECT_EQ(cancelled.load(), 20);
  auto r = fut.get();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kCancelled);
}

TEST(HttpClient, InFlightLimitRejectsWithResourceExhausted) {
  HttpTestServer server([](const ServerRequest&) { return Reply{.action = Reply::Action::kSilent}; });
  ASSERT_TRUE(server.Start());
  auto client = MakeClient({.max_in_flight = 3});
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(client->SendAsync(Request::Get(server.Url("/")), [](Result<Response>) {}));
  Status s = client->SendAsync(Request::Get(server.Url("/")), [](Result<Response>) {});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code(), ErrorCode::kResourceExhausted);
}

TEST(HttpClient, DebugLogNeverShowsAuthorization) {
  HttpTestServer server(Echo);
  ASSERT_TRUE(server.Start());
  std::mutex mu;
  std::vector<std::string> lines;
  auto client = MakeClient({.debug_log = [&](std::string_view l) {
    std::lock_guard lock(mu);
    lines.emplace_back(l);
  }});
  Request r = Request::Get(server.Url("/private?X-Amz-Signature=deadbeef&a=1"));
  r.headers = {{"Authorization", "Bearer hunter2-secret"}};
  auto resp = client->Send(std::move(r));
  ASSERT_TRUE(resp) << resp.error();
  EXPECT_EQ(resp->Header("X-Echo-Authorization"), "Bearer hunter2-secret");  // it was sent
  EXPECT_EQ(resp->url.find("deadbeef"), std::string::npos);                   // not in the URL we report
  std::lock_guard lock(mu);
  bool saw_auth = false;
  for (const auto& l : lines) {
    EXPECT_EQ(l.find("hunter2"), std::string::npos) << l;
    EXPECT_EQ(l.find("deadbeef"), std::string::npos) << l;
    if (l.find("Authorization: ***") != std::string::npos) saw_auth = true;
  }
  EXPECT_TRUE(saw_auth);
}

TEST(HttpClient, HealthCheck) {
  HttpTestServer server([](const ServerRequest& r) {
    return r.path == "/healthz" ? Reply{.body = "ok"} : Reply{.status = 503};
  });
  ASSERT_TRUE(server.Start());
  auto client = MakeClient({.base_url = server.Url()});
  auto ok = client->HealthCheck("/healthz");
  ASSERT_TRUE(ok) << ok.error();
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(ok->breaker_state, "closed");
  auto down = client->HealthCheck("/down");
  ASSERT_FALSE(down);
  EXPECT_EQ(down.error().http_status(), 503);
  EXPECT_EQ(server.requests(), 2u);  // a health check is never retried
}

// A fork() child has none of the parent's threads, so not the client's event loop: a call there
// fails at once and says why (it used to wait forever for a loop that is not there), destroying
// the client there returns, and the parent's client carries on over its own connections.
TEST(HttpClient, AForkedChildGetsAClearErrorAndTheParentCarriesOn) {
  HttpTestServer server(Echo);
  ASSERT_TRUE(server.Start());
  auto client = MakeClient({.base_url = server.Url("/")});
  ASSERT_TRUE(client);
  ASSERT_TRUE(client->Get("before"));
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto r = client->Get("child");
    int code = 0;
    if (r) {
      code = 3;
    } else if (r.error().code() != ErrorCode::kFailedPrecondition || r.error().message().find("fork()") == std::string::npos) {
      code = 4;
    }
    client.reset();
    _exit(code);
  }
  const int code = esper::testing::WaitForChild(pid);
  EXPECT_EQ(code, 0) << "3: the child's call succeeded; 4: its error did not name fork(); -1: it hung";
  auto after = client->Get("after");
  ASSERT_TRUE(after) << after.error();
  EXPECT_EQ(after->body, "GET /after\n");
}

}  // namespace
}  // namespace esper::http
