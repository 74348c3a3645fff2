// The fault proxy's corrupt fault and its request log, against a real upstream on 127.0.0.1:
// exactly one byte flipped where the log says, framing untouched, and one log line per request
// with what the client and the server saw.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "fixture.h"
#include "testing/request_log.h"

namespace esper::testing {
namespace {

using namespace std::chrono_literals;
using proxy::FaultKind;

// Offsets where a and b (same size) differ.
std::vector<size_t> Differences(const std::string& a, const std::string& b) {
  std::vector<size_t> at;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
    if (a[i] != b[i]) at.push_back(i);
  }
  return at;
}

TEST(FaultProxyCorrupt, FlipsExactlyOneByteOfTheRequestBodyWhereTheLogSays) {
  std::mutex mu;
  std::vector<std::string> received;  // each request body as the server got it
  HttpTestServer upstream([&](const ServerRequest& req) {
    std::lock_guard lock(mu);
    received.push_back(req.body);
    return Reply{.body = req.body};
  });
  ASSERT_TRUE(upstream.Start());
  std::string log = LogPath("corrupt-request");
  auto proxy = StartProxy(upstream, {.corrupt_rate = 1.0, .seed = 3, .request_log = log});
  ASSERT_TRUE(proxy);
  const std::string body = PatternBytes(100000, 5);
  RawConnection c(proxy->port());
  std::vector<size_t> flipped;
  for (size_t i = 0; i < 4; ++i) {  // keep-alive: each request gets its own decision and offset
    ASSERT_TRUE(c.Send(Request("PUT", "/echo", body)));
    auto r = c.ReadResponse("PUT", 30s);
    ASSERT_TRUE(r.complete);  // the framing is untouched
    EXPECT_EQ(r.status, 200);
    ASSERT_EQ(r.body.size(), body.size());
    auto diff = Differences(r.body, body);  // upstream echoed what it received
    ASSERT_EQ(diff.size(), 1u);
    EXPECT_EQ(static_cast<unsigned char>(r.body[diff[0]]),
              static_cast<unsigned char>(~body[diff[0]]));
    flipped.push_back(diff[0]);
    std::string got;
    {
      std::lock_guard lock(mu);
      ASSERT_EQ(received.size(), i + 1);
      got = received.back();
    }
    // The request was corrupted on its way to the server (one byte, the same one), and the
    // response carried the server's bytes back untouched.
    ASSERT_EQ(got.size(), body.size());
    EXPECT_EQ(Differences(got, body), diff);
    EXPECT_EQ(r.body, got);
  }
  proxy->Stop();
  EXPECT_EQ(proxy->statistics().corruptions, 4u);
  auto lines = ReadRequestLog(log);
  ASSERT_EQ(lines.size(), 4u);
  for (size_t i = 0; i < lines.size(); ++i) {
    EXPECT_EQ(lines[i]["fault"], "corrupt");
    EXPECT_EQ(lines[i]["corrupted"], "request:" + std::to_string(flipped[i]));
    EXPECT_EQ(lines[i]["req_bytes"], "100000");
    EXPECT_EQ(lines[i]["resp_bytes"], "100000");
    EXPECT_EQ(lines[i]["req"], std::to_string(i));
  }
}

TEST(FaultProxyCorrupt, FlipsOneByteOfTheResponseBodyWhenTheRequestHasNone) {
  Upstream upstream;
  std::string log = LogPath("corrupt-response");
  auto proxy = StartProxy(upstream, {.corrupt_rate = 1.0, .seed = 8, .request_log = log});
  ASSERT_TRUE(proxy);
  RawConnection c(proxy->port());
  ASSERT_TRUE(c.Send(Get("/bytes?n=70000")));
  auto r = c.ReadResponse("GET", 30s);
  ASSERT_TRUE(r.complete);
  auto diff = Differences(r.body, PatternBytes(70000));
  ASSERT_EQ(diff.size(), 1u);
  // A chunked body is not touched (its framing would break first); the log says so.
  ASSERT_TRUE(c.Send(Get("/chunked?n=70000")));
  r = c.ReadResponse("GET", 30s);
  ASSERT_TRUE(r.complete);
  EXPECT_EQ(r.body, PatternBytes(70000));
  // A body of 5 bytes is flipped like any other.
  ASSERT_TRUE(c.Send(Get("/hello")));
  r = c.ReadResponse();
  ASSERT_TRUE(r.complete);
  EXPECT_NE(r.body, "hello");
  proxy->Stop();
  auto lines = ReadRequestLog(log);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0]["corrupted"], "response:" + std::to_string(diff[0]));
  EXPECT_EQ(lines[0]["req_bytes"], "0");
  EXPECT_EQ(lines[1]["corrupted"], "-");
  EXPECT_EQ(lines[2]["corrupted"].rfind("response:", 0), 0u);
}

TEST(FaultProxyCorrupt, TheSameSeedFlipsTheSameBytes) {
  Upstream upstream;
  auto offsets = [&](uint64_t seed) {
    auto proxy = StartProxy(upstream, {.corrupt_rate = 0.5, .seed = seed});
    std::string seen;
    RawConnection c(proxy->port());
    for (int i = 0; i < 12; ++i) {
      EXPECT_TRUE(c.Send(Get("/bytes?n=4096")));
      auto r = c.ReadResponse();
      EXPECT_TRUE(r.complete);
      auto diff = Differences(r.body, PatternBytes(4096));
      seen += diff.empty() ? std::string(".") : std::to_string(diff[0]);
      seen += ' ';
    }
    return seen;
  };
  std::string a = offsets(77);
  EXPECT_EQ(a, offsets(77));
  EXPECT_NE(a, offsets(78));
  EXPECT_NE(a.find('.'), std::string::npos) << a;  // some passed, some were flipped
  EXPECT_NE(a.find_first_of("0123456789"), std::string::npos) << a;
}

TEST(FaultProxyRequestLog, OneLinePerRequestWithWhatTheClientAndTheServerSaw) {
  Upstream upstream;
  std::string log = LogPath("mixed");
  auto proxy = StartProxy(upstream, {.request_log = log});
  ASSERT_TRUE(proxy);
  {
    RawConnection c(proxy->port());
    ASSERT_TRUE(c.Send(Get("/bytes?n=1000")));
    ASSERT_TRUE(c.ReadResponse().complete);
    ASSERT_TRUE(c.Send(Request("PUT", "/echo", "abc")));
    ASSERT_TRUE(c.ReadResponse().complete);
    ASSERT_TRUE(c.Send(Get("/nowhere")));
    EXPECT_EQ(c.ReadResponse().status, 404);
  }
  ASSERT_TRUE(proxy->SetFaults({.error_rate = 1.0}));
  {
    RawConnection c(proxy->port());
    ASSERT_TRUE(c.Send(Get("/hello")));
    EXPECT_EQ(c.ReadResponse().status, 503);
  }
  ASSERT_TRUE(proxy->SetFaults({.reset_rate = 1.0}));
  for (int i = 0; i < 6; ++i) {  // before and after upstream, seeded 50/50
    RawConnection c(proxy->port());
    ASSERT_TRUE(c.Send(Get("/hello")));
    EXPECT_FALSE(c.ReadResponse().complete);
  }
  // A presigned URL's signature never reaches the log.
  ASSERT_TRUE(proxy->SetFaults({}));
  {
    RawConnection c(proxy->port());
    ASSERT_TRUE(c.Send(Get("/hello?X-Amz-Credential=AKIA&X-Amz-Signature=deadbeef")));
    ASSERT_TRUE(c.ReadResponse().complete);
  }
  proxy->Stop();
  auto lines = ReadRequestLog(log);
  ASSERT_EQ(lines.size(), 11u);
  EXPECT_EQ(lines[0]["method"], "GET");
  EXPECT_EQ(lines[0]["target"], "/bytes?n=1000");
  EXPECT_EQ(lines[0]["status"], "200");
  EXPECT_EQ(lines[0]["upstream"], "200");
  EXPECT_EQ(lines[0]["resp_bytes"], "1000");
  EXPECT_EQ(lines[0]["fault"], "none");
  EXPECT_EQ(lines[1]["method"], "PUT");
  EXPECT_EQ(lines[1]["req_bytes"], "3");
  EXPECT_EQ(lines[2]["status"], "404");
  EXPECT_EQ(lines[3]["fault"], "error");
  EXPECT_EQ(lines[3]["status"], "503");
  EXPECT_EQ(lines[3]["upstream"], "-");  // never asked
  int before = 0, after = 0;
  for (size_t i = 4; i < 10; ++i) {
    EXPECT_EQ(lines[i]["status"], "-") << i;
    if (lines[i]["fault"] == "reset") {
      ++before;
      EXPECT_EQ(lines[i]["upstream"], "-");
    } else {
      ++after;
      EXPECT_EQ(lines[i]["fault"], "reset-after-upstream");
      EXPECT_EQ(lines[i]["upstream"], "200");  // the server did it; the client never learnt
    }
  }
  EXPECT_EQ(before + after, 6);
  EXPECT_EQ(lines[10]["target"], "/hello?X-Amz-Credential=***&X-Amz-Signature=***");
  std::ifstream raw(log);
  std::string all((std::istreambuf_iterator<char>(raw)), std::istreambuf_iterator<char>());
  EXPECT_EQ(all.find("deadbeef"), std::string::npos);
}

TEST(FaultProxyRequestLog, AnUploadIdInAResponseIsLoggedAlsoWhenTheClientNeverSawIt) {
  // An S3-like CreateMultipartUpload: the server makes the id up, so only its reply can carry it.
  std::mutex mu;
  std::vector<std::string> created;  // the ids the server handed out, in order
  HttpTestServer upstream([&](const ServerRequest& req) {
    if (req.method != "POST" || req.query != "uploads") return BasicRoutes(req);
    std::lock_guard lock(mu);
    std::string id = "server-id-" + std::to_string(created.size() + 1);
    created.push_back(id);
    return Reply{.body = "<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key><UploadId>" +
                         id + "</UploadId></InitiateMultipartUploadResult>"};
  });
  ASSERT_TRUE(upstream.Start());
  std::string log = LogPath("upload-id");
  auto proxy = StartProxy(upstream, {.request_log = log});
  ASSERT_TRUE(proxy);
  {
    RawConnection c(proxy->port());
    ASSERT_TRUE(c.Send(Request("POST", "/b/k?uploads", "")));
    ASSERT_TRUE(c.ReadResponse().complete);
  }
  // Reset after upstream answered: the id exists on the server, only the log knows it.
  ASSERT_TRUE(proxy->SetFaults({.reset_rate = 1.0}));
  int hidden = 0;
  for (int i = 0; i < 8; ++i) {
    RawConnection c(proxy->port());
    ASSERT_TRUE(c.Send(Request("POST", "/b/k?uploads", "")));
    EXPECT_FALSE(c.ReadResponse().complete);
  }
  proxy->Stop();
  std::vector<std::string> ids;
  {
    std::lock_guard lock(mu);
    ids = created;
  }
  auto lines = ReadRequestLog(log);
  ASSERT_EQ(lines.size(), 9u);
  ASSERT_FALSE(ids.empty());
  EXPECT_EQ(lines[0]["upload_id"], ids[0]);
  for (size_t i = 1; i < lines.size(); ++i) {
    if (lines[i]["fault"] == "reset-after-upstream") {
      ++hidden;
      ASSERT_LT(static_cast<size_t>(hidden), ids.size()) << i;
      EXPECT_EQ(lines[i]["upload_id"], ids[hidden]) << i;
    } else {
      EXPECT_EQ(lines[i].count("upload_id"), 0u);  // never reached the server
    }
  }
  EXPECT_GT(hidden, 0);
  EXPECT_EQ(ids.size(), static_cast<size_t>(1 + hidden));  // every id the server made is logged
}

TEST(FaultProxyRequestLog, AnUncreatableLogFailsStartAndTcpModeRefusesOne) {
  Upstream upstream;
  auto p = proxy::FaultProxy::Create({.upstream = upstream.address(),
                                      .request_log = "/nonexistent-dir/requests.log"});
  ASSERT_TRUE(p);
  auto st = (*p)->Start();
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message().find("request log"), std::string::npos) << st.error().message();
  auto tcp = proxy::FaultProxy::Create(
      {.upstream = upstream.address(), .mode = proxy::Mode::kTcp, .request_log = "x.log"});
  ASSERT_FALSE(tcp);
  EXPECT_EQ(tcp.error().code(), ErrorCode::kInvalidArgument);
  auto corrupt = proxy::FaultProxy::Create(
      {.upstream = upstream.address(), .mode = proxy::Mode::kTcp, .corrupt_rate = 0.1});
  ASSERT_FALSE(corrupt);
  EXPECT_EQ(corrupt.error().code(), ErrorCode::kInvalidArgument);
  auto too_much = proxy::FaultProxy::Create(
      {.upstream = upstream.address(), .truncate_rate = 0.6, .corrupt_rate = 0.6});
  ASSERT_FALSE(too_much);
}

}  // namespace
}  // namespace esper::testing
