// The test server's framing and its handling of a client that half-closes, seen on a raw socket.
#include "testing/http_server.h"

#include <gtest/gtest.h>

#include <string>

#include "testing/net.h"

namespace esper::testing {
namespace {

class BasicRoutesTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(server_.Start()); }
  HttpTestServer server_{BasicRoutes};
};

TEST_F(BasicRoutesTest, ContentLengthBodyAndHeadWithoutIt) {
  const std::string get = Exchange(server_.port(), "GET /bytes?n=777 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
  EXPECT_NE(get.find("\r\nContent-Length: 777\r\n"), std::string::npos) << get;
  EXPECT_NE(get.find("\r\nConnection: close\r\n"), std::string::npos) << "the server closes, and says so";
  EXPECT_EQ(get.substr(get.find("\r\n\r\n") + 4), PatternBytes(777));
  const std::string head = Exchange(server_.port(), "HEAD /bytes?n=777 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
  EXPECT_NE(head.find("\r\nContent-Length: 777\r\n"), std::string::npos) << head;
  EXPECT_EQ(head.size(), head.find("\r\n\r\n") + 4) << "no body after a HEAD's head";
}

TEST_F(BasicRoutesTest, NoContentHasNoFramingHeader) {
  const std::string r = Exchange(server_.port(), "GET /nocontent HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(r.rfind("HTTP/1.1 204 ", 0), 0u) << r;
  EXPECT_EQ(r.find("Content-Length"), std::string::npos) << r;
  EXPECT_EQ(r.find("Transfer-Encoding"), std::string::npos) << r;
}

TEST_F(BasicRoutesTest, ChunkedInPiecesOfAThousand) {
  const std::string r = Exchange(server_.port(), "GET /chunked?n=2500 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
  EXPECT_NE(r.find("\r\nTransfer-Encoding: chunked\r\n"), std::string::npos) << r;
  const std::string body = r.substr(r.find("\r\n\r\n") + 4);
  const std::string p = PatternBytes(2500);
  EXPECT_EQ(body, "3e8\r\n" + p.substr(0, 1000) + "\r\n3e8\r\n" + p.substr(1000, 1000) + "\r\n1f4\r\n" +
                      p.substr(2000) + "\r\n0\r\n\r\n");
}

TEST_F(BasicRoutesTest, UntilCloseBodyHasNoLengthAndEndsWithTheConnection) {
  const std::string r = Exchange(server_.port(), "GET /close?n=5000 HTTP/1.1\r\nHost: t\r\n\r\n");
  EXPECT_EQ(r.find("Content-Length"), std::string::npos) << r.substr(0, 200);
  EXPECT_NE(r.find("\r\nConnection: close\r\n"), std::string::npos);
  EXPECT_EQ(r.substr(r.find("\r\n\r\n") + 4), PatternBytes(5000));
}

TEST_F(BasicRoutesTest, DiePromisesTwiceWhatItSends) {
  const std::string r = Exchange(server_.port(), "GET /die?n=3000 HTTP/1.1\r\nHost: t\r\n\r\n");
  EXPECT_NE(r.find("\r\nContent-Length: 6000\r\n"), std::string::npos) << r.substr(0, 200);
  EXPECT_EQ(r.substr(r.find("\r\n\r\n") + 4), PatternBytes(3000));
}

TEST_F(BasicRoutesTest, EchoAndNotFound) {
  const std::string echo = Exchange(server_.port(), "PUT /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nConnection: close\r\n\r\nping");
  EXPECT_EQ(echo.substr(echo.find("\r\n\r\n") + 4), "ping");
  const std::string missing = Exchange(server_.port(), "GET /nowhere HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(missing.rfind("HTTP/1.1 404 ", 0), 0u) << missing;
}

// A client that sends its requests and shuts down its side at once (the requests and the FIN
// often arrive in one read) still gets every answer, then the close.
TEST_F(BasicRoutesTest, AHalfClosedClientGetsItsAnswers) {
  for (int i = 0; i < 20; ++i) {
    const std::string r = Exchange(server_.port(),
                                   "GET /hello HTTP/1.1\r\nHost: t\r\n\r\nGET /bytes?n=3 HTTP/1.1\r\nHost: t\r\n\r\n",
                                   /*half_close=*/true);
    ASSERT_NE(r.find("hello"), std::string::npos) << "round " << i << ": " << r;
    EXPECT_NE(r.find(PatternBytes(3), r.find("hello")), std::string::npos) << "round " << i;
  }
  EXPECT_EQ(server_.requests(), 40u);
}

}  // namespace
}  // namespace esper::testing
