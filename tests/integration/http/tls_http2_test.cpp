// TLS verification, the CA bundle option, HTTP/2 multiplexing over TLS and cleartext HTTP/2
// (h2c, prior knowledge), against nginx started on loopback with a throw-away self-signed
// certificate (skipped when nginx or openssl is missing).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include <curl/curl.h>

#include "esper/http/client.h"
#include "testing/net.h"

namespace esper::http {
namespace {

using namespace std::chrono_literals;

using esper::testing::FreePort;

class TlsNginx : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (access("/usr/sbin/nginx", X_OK) != 0 || access("/usr/bin/openssl", X_OK) != 0) return;
    char tmpl[] = "/tmp/esper_http_tls_XXXXXX";
    dir_ = mkdtemp(tmpl);
    std::filesystem::permissions(dir_, std::filesystem::perms::all);
    std::filesystem::create_directories(dir_ + "/www");
    std::ofstream(dir_ + "/www/hello.txt") << "hello over tls";
    const std::string cmd =
        "/usr/bin/openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 "
        "-addext subjectAltName=IP:127.0.0.1 -keyout " + dir_ + "/key.pem -out " + dir_ +
        "/cert.pem >/dev/null 2>&1";
    if (std::system(cmd.c_str()) != 0) return;
    port_ = FreePort();
    h2c_port_ = FreePort();
    h1_port_ = FreePort();
    std::ofstream(dir_ + "/nginx.conf") << "worker_processes 1;\ndaemon off;\npid " << dir_
                                        << "/nginx.pid;\nerror_log " << dir_ << "/error.log;\n"
                                        << "events { worker_connections 1024; }\nhttp {\n access_log off;\n"
                                        << " client_body_temp_path " << dir_ << "/b;\n proxy_temp_path " << dir_
                                        << "/p;\n fastcgi_temp_path " << dir_ << "/f;\n uwsgi_temp_path " << dir_
                                        << "/u;\n scgi_temp_path " << dir_ << "/s;\n server {\n  listen 127.0.0.1:"
                                        << port_ << " ssl http2;\n  listen 127.0.0.1:" << h2c_port_
                                        << " http2;\n  listen 127.0.0.1:" << h1_port_
                                        << ";\n  ssl_certificate " << dir_
                                        << "/cert.pem;\n  ssl_certificate_key " << dir_ << "/key.pem;\n  root "
                                        << dir_ << "/www;\n  add_header X-Conn $connection always;\n"
                                        << "  location = /method { return 200 \"$request_method $content_length\"; }\n"
                                        << " }\n}\n";
    pid_ = fork();
    if (pid_ == 0) {
      std::string err = dir_ + "/error.log";
      execl("/usr/sbin/nginx", "nginx", "-p", dir_.c_str(), "-e", err.c_str(), "-c",
            (dir_ + "/nginx.conf").c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    ready_ = esper::testing::WaitForPort(port_, 5s);
  }
  static void TearDownTestSuite() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }
  void SetUp() override {
    if (!ready_) GTEST_SKIP() << "nginx/openssl not available or nginx did not start";
  }
  static std::string Url(const std::string& path) { return "https://127.0.0.1:" + std::to_string(port_) + path; }
  static std::string Ca() { return dir_ + "/cert.pem"; }
  static std::string H2cUrl(const std::string& path) {
    return "http://127.0.0.1:" + std::to_string(h2c_port_) + path;
  }
  static std::string H1Url(const std::string& path) {
    return "http://127.0.0.1:" + std::to_string(h1_port_) + path;
  }

  static inline std::string dir_;
  static inline int port_ = 0;
  static inline int h2c_port_ = 0;  // cleartext HTTP/2 only (prior knowledge)
  static inline int h1_port_ = 0;   // cleartext HTTP/1.1 only
  static inline pid_t pid_ = 0;
  static inline bool ready_ = false;
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
