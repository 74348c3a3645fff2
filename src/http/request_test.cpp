#include "esper/http/request.h"

#include <gtest/gtest.h>

#include "esper/http/response.h"

namespace esper::http {
namespace {

TEST(Method, NamesParseAndIdempotency) {
  for (Method m : {Method::kGet, Method::kHead, Method::kPost, Method::kPut, Method::kPatch, Method::kDelete,
                   Method::kOptions}) {
    auto parsed = ParseMethod(MethodName(m));
    ASSERT_TRUE(parsed);
    EXPECT_EQ(*parsed, m);
  }
  EXPECT_EQ(*ParseMethod("delete"), Method::kDelete);
  EXPECT_FALSE(ParseMethod("FETCH"));
  EXPECT_TRUE(IsIdempotent(Method::kGet));
  EXPECT_TRUE(IsIdempotent(Method::kPut));
  EXPECT_TRUE(IsIdempotent(Method::kDelete));
  EXPECT_FALSE(IsIdempotent(Method::kPost));
  EXPECT_FALSE(IsIdempotent(Method::kPatch));
}

TEST(Traceparent, Validation) {
  EXPECT_TRUE(IsValidTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
  EXPECT_FALSE(IsValidTraceparent("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"));  // upper case
  EXPECT_FALSE(IsValidTraceparent("00-00000000000000000000000000000000-00f067aa0ba902b7-01"));  // zero trace
  EXPECT_FALSE(IsValidTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01"));  // zero span
  EXPECT_FALSE(IsValidTraceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));  // version
  EXPECT_FALSE(IsValidTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7"));
  EXPECT_FALSE(IsValidTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\nX: y"));
  EXPECT_FALSE(IsValidTraceparent(""));
}

TEST(Headers, FindIsCaseInsensitive) {
  Headers h{{"Content-Type", "a"}, {"X-Thing", "b"}, {"content-type", "c"}};
  EXPECT_EQ(FindHeader(h, "CONTENT-TYPE"), "a");
  EXPECT_EQ(FindHeader(h, "x-thing"), "b");
  EXPECT_FALSE(FindHeader(h, "missing"));
}

TEST(Body, KindsAndReplayability) {
  EXPECT_EQ(Body().kind(), Body::Kind::kNone);
  Body mem = Body::FromString("abc");
  EXPECT_EQ(mem.kind(), Body::Kind::kMemory);
  EXPECT_EQ(*mem.data(), "abc");
  EXPECT_TRUE(mem.replayable());
  EXPECT_TRUE(Body::FromFile("/x").replayable());
  auto read = [](char*, size_t) -> Result<size_t> { return size_t{0}; };
  EXPECT_FALSE(Body::FromStream(read).replayable());
  EXPECT_TRUE(Body::FromStream(read, 10, [] { return OkStatus(); }).replayable());
}

TEST(Response, ToStatusMapsHttpErrors) {
  Response ok{.status = 204};
  EXPECT_TRUE(ok.ToStatus());
  Response nf{.status = 404, .body = "no such\nkey", .url = "http://h/x"};
  auto s = nf.ToStatus();
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(s.error().http_status(), 404);
  EXPECT_EQ(s.error().message(), "HTTP 404 from http://h/x: no such key");
  Response busy{.status = 503, .url = "http://h/x"};
  EXPECT_TRUE(busy.ToStatus().error().retryable());
}

}  // namespace
}  // namespace esper::http
