// TLS verification, the CA bundle option, HTTP/2 multiplexing over TLS and cleartext HTTP/2
// (h2c, prior knowledge), against nginx started on loopback with a throw-away self-signed
// certificate (skipped when nginx or openssl is not installed; a failure when nginx does not start).
#include <unistd.h>

#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <set>
#include <thread>

#include <curl/curl.h>

#include "esper/http/client.h"
#include "testing/nginx.h"

namespace esper::http {
namespace {

using namespace std::chrono_literals;

// nginx (testing/nginx.h) with three listens: TLS + HTTP/2, cleartext HTTP/2 only (prior
// knowledge), cleartext HTTP/1.1 only.
class TlsNginx : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (esper::testing::Nginx::FindBinary().empty() || access("/usr/bin/openssl", X_OK) != 0) return;
    installed_ = true;
    nginx_ = std::make_unique<esper::testing::Nginx>();
    std::ofstream(nginx_->root() + "/hello.txt") << "hello over tls";
    Status st = nginx_->Start({.listen = {"ssl http2", "http2", ""},
                               .self_signed_tls = true,
                               .server_directives = "    add_header X-Conn $connection always;\n"
                                                    "    location = /method { return 200 \"$request_method $content_length\"; }"});
    if (!st) start_error_ = st.error().ToString();
  }
  static void TearDownTestSuite() { nginx_.reset(); }
  void SetUp() override {
    if (!installed_) GTEST_SKIP() << "nginx or openssl is not installed";
    ASSERT_TRUE(start_error_.empty()) << start_error_;
  }
  static std::string Url(const std::string& path) { return nginx_->Url(path, 0); }
  static std::string Ca() { return nginx_->ca_file(); }
  static std::string H2cUrl(const std::string& path) { return nginx_->Url(path, 1); }
  static std::string H1Url(const std::string& path) { return nginx_->Url(path, 2); }

  static inline std::unique_ptr<esper::testing::Nginx> nginx_;
  static inline bool installed_ = false;
  static inline std::string start_error_;
};

// Sends 30 GETs of hello.txt at once; each must succeed over HTTP/2. Returns how many TCP
// connections carried them (nginx's $connection, echoed in X-Conn).
size_t ConcurrentHttp2Connections(Client& client, const std::string& url) {
  std::vector<std::future<Result<Response>>> fs;
  for (int i = 0; i < 30; ++i) fs.push_back(client.SendAsync(Request::Get(url)));
  std::set<std::string> connections;
  for (auto& f : fs) {
    auto r = f.get();
    EXPECT_TRUE(r) << r.error();
    if (!r) continue;
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "hello over tls");
    EXPECT_EQ(r->http_version, "2");
    connections.insert(std::string(r->Header("X-Conn").value_or("?")));
  }
  return connections.size();
}

TEST_F(TlsNginx, VerificationIsOnByDefault) {
  auto client = Client::Create({});
  ASSERT_TRUE(client);
  auto r = (*client)->Get(Url("/hello.txt"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kUnauthenticated) << r.error();
  EXPECT_NE(r.error().message().find("TLS"), std::string::npos) << r.error();
  EXPECT_FALSE(r.error().retryable());
}

TEST_F(TlsNginx, CaBundleMakesItTrustedAndHttp2IsNegotiated) {
  auto client = Client::Create({.ca_bundle = Ca()});
  ASSERT_TRUE(client) << client.error();
  auto r = (*client)->Get(Url("/hello.txt"));
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->body, "hello over tls");
  EXPECT_EQ(r->http_version, "2");

  auto h1 = Client::Create({.http2 = false, .ca_bundle = Ca()});
  ASSERT_TRUE(h1);
  auto r1 = (*h1)->Get(Url("/hello.txt"));
  ASSERT_TRUE(r1) << r1.error();
  EXPECT_EQ(r1->http_version, "1.1");
}

TEST_F(TlsNginx, VerifyOffIsPossibleForTests) {
  auto client = Client::Create({.verify_tls = false});
  ASSERT_TRUE(client);
  auto r = (*client)->Get(Url("/hello.txt"));
  ASSERT_TRUE(r) << r.error();
}

TEST_F(TlsNginx, Http2MultiplexesConcurrentRequestsOnOneConnection) {
  // No per-host cap: over HTTP/1.1 the 30 concurrent requests take several connections (the
  // control below), so one connection here means they went as streams of one.
  auto client = Client::Create({.ca_bundle = Ca()});
  ASSERT_TRUE(client);
  EXPECT_EQ(ConcurrentHttp2Connections(**client, Url("/hello.txt")), 1u);  // all 30 streams on one

  auto h1 = Client::Create({.http2 = false, .ca_bundle = Ca()});
  ASSERT_TRUE(h1);
  std::vector<std::future<Result<Response>>> fs;
  for (int i = 0; i < 30; ++i) fs.push_back((*h1)->SendAsync(Request::Get(Url("/hello.txt"))));
  std::set<std::string> connections;
  for (auto& f : fs) {
    auto r = f.get();
    ASSERT_TRUE(r) << r.error();
    EXPECT_EQ(r->http_version, "1.1");
    connections.insert(std::string(r->Header("X-Conn").value_or("?")));
  }
  EXPECT_GT(connections.size(), 1u);
}

TEST_F(TlsNginx, CleartextHttp2WithPriorKnowledgeMultiplexes) {
  auto client = Client::Create({.max_connections_per_host = 1, .http2_cleartext = true});
  ASSERT_TRUE(client) << client.error();
  const size_t connections = ConcurrentHttp2Connections(**client, H2cUrl("/hello.txt"));
  if (curl_version_info(CURLVERSION_NOW)->version_num >= 0x080000) {
    EXPECT_EQ(connections, 1u);  // all 30 streams on one TCP connection
  } else {
    // libcurl 7.88 cannot reuse h2c connections (curl #10634): the client opens one per request.
    EXPECT_EQ(connections, 30u);
  }

  // A body goes up as DATA frames.
  auto post = (*client)->Post(H2cUrl("/method"), Body::FromString("payload"));
  ASSERT_TRUE(post) << post.error();
  EXPECT_EQ(post->body, "POST 7");
  EXPECT_EQ(post->http_version, "2");
}

TEST_F(TlsNginx, WithoutCleartextOptionPlainHttpStaysHttp11) {
  // The default client speaks HTTP/1.1 to http://; h2c is opt-in because an HTTP/1.1-only
  // server cannot understand the HTTP/2 preface.
  auto client = Client::Create({});
  ASSERT_TRUE(client);
  auto r = (*client)->Get(H1Url("/hello.txt"));
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->http_version, "1.1");

  auto h2c = Client::Create({.http2_cleartext = true, .retry = {.max_attempts = 1}});
  ASSERT_TRUE(h2c);
  auto bad = (*h2c)->Get(H1Url("/hello.txt"));
  ASSERT_FALSE(bad) << "an HTTP/1.1-only server answered an HTTP/2 preface";
  EXPECT_NE(bad.error().message().find("127.0.0.1"), std::string::npos) << bad.error();
}

}  // namespace
}  // namespace esper::http
