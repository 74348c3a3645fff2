#include "testing/nginx.h"

#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "testing/net.h"

namespace esper::testing {
namespace {

// GET `path` from 127.0.0.1:port with Connection: close; everything nginx sent.
std::string Get(int port, const std::string& path) {
  return Exchange(port, "GET " + path + " HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
}

class NginxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (Nginx::FindBinary().empty()) GTEST_SKIP() << "nginx is not installed";
  }
};

TEST_F(NginxTest, ServesTheRootOnEveryListenUntilStopped) {
  Nginx nginx;
  std::ofstream(nginx.root() + "/file.txt") << "from nginx";
  ASSERT_TRUE(nginx.Start({.listen = {"", ""}, .server_directives = "    add_header X-Test yes;"}));
  for (size_t i = 0; i < 2; ++i) {
    const std::string r = Get(nginx.port(i), "/file.txt");
    EXPECT_EQ(r.rfind("HTTP/1.1 200", 0), 0u) << r;
    EXPECT_NE(r.find("X-Test: yes"), std::string::npos) << r;
    EXPECT_EQ(r.substr(r.find("\r\n\r\n") + 4), "from nginx");
  }
  EXPECT_NE(nginx.port(0), nginx.port(1));
  EXPECT_EQ(nginx.Url("/file.txt", 1), "http://127.0.0.1:" + std::to_string(nginx.port(1)) + "/file.txt");
  const int port = nginx.port(0);
  nginx.Stop();
  EXPECT_FALSE(WaitForPort(port, std::chrono::milliseconds(0)));
}

TEST_F(NginxTest, ABadConfigurationIsAnErrorWithNginxsWords) {
  Nginx nginx;
  Status st = nginx.Start({.server_directives = "    no_such_directive on;"});
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message().find("no_such_directive"), std::string::npos) << st.error();
}

TEST_F(NginxTest, SelfSignedTlsMakesACertificateForLoopback) {
  Nginx nginx;
  ASSERT_TRUE(nginx.Start({.listen = {"ssl"}, .self_signed_tls = true}));
  EXPECT_EQ(nginx.Url("/x"), "https://127.0.0.1:" + std::to_string(nginx.port()) + "/x");
  std::ifstream cert(nginx.ca_file());
  std::string first;
  std::getline(cert, first);
  EXPECT_EQ(first, "-----BEGIN CERTIFICATE-----");
}

}  // namespace
}  // namespace esper::testing
