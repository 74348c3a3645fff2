#include "esper/core/error.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <sstream>

#include "esper/core/result.h"

namespace esper {
namespace {

TEST(ErrorTest, FactoriesSetCodeAndDefaultRetryBit) {
  EXPECT_TRUE(Error::Unavailable("x").retryable());
  EXPECT_TRUE(Error::ResourceExhausted("x").retryable());
  EXPECT_TRUE(Error::DeadlineExceeded("x").retryable());
  EXPECT_FALSE(Error::InvalidArgument("x").retryable());
  EXPECT_FALSE(Error::NotFound("x").retryable());
  EXPECT_FALSE(Error::Unauthenticated("x").retryable());
  EXPECT_EQ(Error::NotFound("x").code(), ErrorCode::kNotFound);
  EXPECT_FALSE(Error::Unavailable("x").WithRetryable(false).retryable());
}

TEST(ErrorTest, ToStringShowsRemoteDetails) {
  EXPECT_EQ(Error::NotFound("no such key").ToString(), "NotFound: no such key");
  Error e = Error::FromHttpStatus(503, "PUT /b/k")
                .WithServiceCode("SlowDown")
                .WithRequestId("abc123");
  EXPECT_EQ(e.ToString(), "Unavailable: PUT /b/k [http 503, SlowDown, request-id abc123]");
  EXPECT_EQ(fmt::format("{}", e), e.ToString());
  std::ostringstream os;
  os << e;
  EXPECT_EQ(os.str(), e.ToString());
  EXPECT_EQ(fmt::format("{}", ErrorCode::kAborted), "Aborted");
}

TEST(ErrorTest, HttpStatusMapping) {
  struct Case {
    int status;
    ErrorCode code;
    bool retry;
  } cases[] = {
      {400, ErrorCode::kInvalidArgument, false}, {401, ErrorCode::kUnauthenticated, false},
      {403, ErrorCode::kPermissionDenied, false}, {404, ErrorCode::kNotFound, false},
      {409, ErrorCode::kAborted, false},          {416, ErrorCode::kOutOfRange, false},
      {429, ErrorCode::kResourceExhausted, true}, {500, ErrorCode::kInternal, true},
      {501, ErrorCode::kUnimplemented, false},    {502, ErrorCode::kUnavailable, true},
      {503, ErrorCode::kUnavailable, true},       {504, ErrorCode::kUnavailable, true},
      {599, ErrorCode::kUnavailable, true},       {418, ErrorCode::kFailedPrecondition, false},
  };
  for (const auto& c : cases) {
    Error e = Error::FromHttpStatus(c.status, "m");
    EXPECT_EQ(e.code(), c.code) << c.status;
    EXPECT_EQ(e.retryable(), c.retry) << c.status;
    EXPECT_EQ(e.http_status(), c.status);
  }
}

TEST(ErrorTest, ErrnoMapping) {
  Error e = Error::FromErrno(ENOENT, "open /nope");
  EXPECT_EQ(e.code(), ErrorCode::kNotFound);
  EXPECT_NE(e.message().find("open /nope: No such file or directory"), std::string::npos);
  EXPECT_EQ(Error::FromErrno(ENOSPC, "write").code(), ErrorCode::kResourceExhausted);
  EXPECT_EQ(Error::FromErrno(ECONNREFUSED, "connect").code(), ErrorCode::kUnavailable);
  EXPECT_TRUE(Error::FromErrno(ECONNRESET, "read").retryable());
  EXPECT_EQ(Error::FromErrno(EACCES, "open").code(), ErrorCode::kPermissionDenied);
}

TEST(ErrorTest, WrapKeepsCodeAndBits) {
  Error e = Error::Unavailable("refused").WithHttpStatus(503).Wrap("GET /x");
  EXPECT_EQ(e.message(), "GET /x: refused");
  EXPECT_EQ(e.code(), ErrorCode::kUnavailable);
  EXPECT_EQ(e.http_status(), 503);
  EXPECT_TRUE(e.retryable());
}

Result<int> Half(int x) {
  if (x % 2) return Error::InvalidArgument(fmt::format("{} is odd", x));
  return x / 2;
}

Result<int> Quarter(int x) {
  ESPER_ASSIGN_OR_RETURN(int h, Half(x));
  ESPER_ASSIGN_OR_RETURN(int q, Half(h));
  return q;
}

Status CheckEven(int x) {
  ESPER_RETURN_IF_ERROR(Half(x));
  return OkStatus();
}

TEST(ResultTest, ValueErrorAndMacros) {
  EXPECT_EQ(Quarter(8).value(), 2);
  auto r = Quarter(6);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "3 is odd");
  EXPECT_TRUE(CheckEven(4));
  EXPECT_FALSE(CheckEven(5));
  auto mapped = Half(4).map([](int v) { return v * 10; });
  EXPECT_EQ(*mapped, 20);
}

}  // namespace
}  // namespace esper
