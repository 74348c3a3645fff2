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

TEST(Headers, SetHeaderReplacesTheFirstDropsTheRestOrAppends) {
  Headers h{{"A", "1"}, {"x-sig", "old"}, {"B", "2"}, {"X-Sig", "older"}};
  SetHeader(h, "X-SIG", "new");
  EXPECT_EQ(h, (Headers{{"A", "1"}, {"x-sig", "new"}, {"B", "2"}}));
  SetHeader(h, "C", "3");
  EXPECT_EQ(h.back(), (std::pair<std::string, std::string>{"C", "3"}));
}

TEST(DefaultClassifier, KeepsTheClientsRules) {
  auto classify = [](Response r, Method m = Method::kGet) {
    r.url = "http://h/x";
    return DefaultClassifier(AttemptResponse{.attempt = 1, .method = m, .response = r});
  };
  EXPECT_FALSE(classify(Response{.status = 200}).error);
  EXPECT_FALSE(classify(Response{.status = 304}).error);
  for (int retried : {429, 502, 503, 504}) {
    auto v = classify(Response{.status = retried, .headers = {{"Retry-After", "7"}}});
    ASSERT_TRUE(v.error);
    EXPECT_TRUE(v.error->retryable()) << retried;
    EXPECT_EQ(v.retry_after, Clock::Duration(std::chrono::seconds(7)));
  }
  for (int final : {400, 403, 404, 500, 501}) {
    auto v = classify(Response{.status = final});
    ASSERT_TRUE(v.error);
    EXPECT_FALSE(v.error->retryable()) << final;
    EXPECT_EQ(v.error->http_status(), final);
    EXPECT_FALSE(v.retry_after);
  }
  auto v = classify(Response{.status = 500, .headers = {{"x-request-id", "r-1"}}, .body = "oops"}, Method::kPut);
  EXPECT_EQ(v.error->code(), ErrorCode::kInternal);
  EXPECT_EQ(v.error->message(), "PUT: HTTP 500 from http://h/x: oops");
  EXPECT_EQ(v.error->request_id(), "r-1");
}

TEST(ResponseVerdict, RetryAndFailSetTheRetryableBit) {
  EXPECT_TRUE(ResponseVerdict::Retry(Error::Internal("x")).error->retryable());
  EXPECT_FALSE(ResponseVerdict::Fail(Error::Unavailable("x")).error->retryable());
  EXPECT_EQ(ResponseVerdict::Retry(Error::Internal("x"), Clock::Duration::zero()).retry_after, Clock::Duration::zero());
}

}  // namespace
}  // namespace esper::http
