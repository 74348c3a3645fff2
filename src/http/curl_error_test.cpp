#include "curl_error.h"

#include <gtest/gtest.h>

namespace esper::http::detail {
namespace {

using std::chrono::milliseconds;

CurlFailureContext Ctx() {
  return CurlFailureContext{.method = "GET", .url = "http://h:81/x", .host = "h", .port = 81,
                            .connect_timeout = milliseconds(2000), .attempt_timeout = milliseconds(5000),
                            .stall_time = std::chrono::seconds(30), .stall_bytes_per_second = 1};
}

TEST(MapCurlError, NamesWhatFailedAndWhere) {
  auto dns = MapCurlError(CURLE_COULDNT_RESOLVE_HOST, Ctx());
  EXPECT_EQ(dns.code(), ErrorCode::kUnavailable);
  EXPECT_FALSE(dns.retryable());
  EXPECT_NE(dns.message().find("GET http://h:81/x: DNS: could not resolve host 'h'"), std::string::npos);

  auto conn = MapCurlError(CURLE_COULDNT_CONNECT, Ctx());
  EXPECT_EQ(conn.code(), ErrorCode::kUnavailable);
  EXPECT_TRUE(conn.retryable());
  EXPECT_NE(conn.message().find("connect to h port 81 failed"), std::string::npos);

  auto tls = MapCurlError(CURLE_PEER_FAILED_VERIFICATION, Ctx());
  EXPECT_EQ(tls.code(), ErrorCode::kUnauthenticated);
  EXPECT_NE(tls.message().find("TLS"), std::string::npos);

  auto reset = MapCurlError(CURLE_RECV_ERROR, Ctx());
  EXPECT_TRUE(reset.retryable());
  EXPECT_NE(reset.message().find("reset"), std::string::npos);

  auto trunc = MapCurlError(CURLE_PARTIAL_FILE, Ctx());
  EXPECT_TRUE(trunc.retryable());
  EXPECT_NE(trunc.message().find("truncated"), std::string::npos);

  EXPECT_EQ(MapCurlError(CURLE_URL_MALFORMAT, Ctx()).code(), ErrorCode::kInvalidArgument);
}

TEST(MapCurlError, SaysWhichTimeout) {
  auto c = Ctx();
  c.connected = false;
  c.elapsed = milliseconds(2001);
  auto connect = MapCurlError(CURLE_OPERATION_TIMEDOUT, c);
  EXPECT_EQ(connect.code(), ErrorCode::kDeadlineExceeded);
  EXPECT_NE(connect.message().find("connect timeout"), std::string::npos) << connect.message();

  c = Ctx();
  c.connected = true;
  c.elapsed = milliseconds(5000);
  auto per_try = MapCurlError(CURLE_OPERATION_TIMEDOUT, c);
  EXPECT_NE(per_try.message().find("per-try timeout 5 s"), std::string::npos) << per_try.message();

  c.curl_message = "Operation too slow. Less than 1 bytes/sec transferred the last 30 seconds";
  c.elapsed = milliseconds(3000);
  auto stall = MapCurlError(CURLE_OPERATION_TIMEDOUT, c);
  EXPECT_NE(stall.message().find("stalled"), std::string::npos) << stall.message();

  c = Ctx();
  c.connected = true;
  c.attempt_limited_by_deadline = true;
  c.elapsed = milliseconds(700);
  auto overall = MapCurlError(CURLE_OPERATION_TIMEDOUT, c);
  EXPECT_NE(overall.message().find("overall deadline"), std::string::npos) << overall.message();
}

}  // namespace
}  // namespace esper::http::detail
