#include "esper/s3/errors.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace esper::s3 {
namespace {

using ::testing::HasSubstr;

struct Row {
  int status;
  const char* code;
  ErrorCode expect;
  bool retryable;
};

// Issue 19's table (through storage's table of service codes): NotFound, FailedPrecondition,
// AlreadyExists, PermissionDenied, Unavailable (retryable), the never-retry list, throttling
// retryable; the status for codes the table does not know.
TEST(MapS3Error, Table) {
  const Row rows[] = {
      {404, "NoSuchKey", ErrorCode::kNotFound, false},
      {404, "NoSuchBucket", ErrorCode::kNotFound, false},
      {404, "NoSuchUpload", ErrorCode::kNotFound, false},
      {412, "PreconditionFailed", ErrorCode::kFailedPrecondition, false},
      {304, "", ErrorCode::kFailedPrecondition, false},
      {409, "BucketAlreadyExists", ErrorCode::kAlreadyExists, false},
      {409, "BucketAlreadyOwnedByYou", ErrorCode::kAlreadyExists, false},
      {409, "BucketNotEmpty", ErrorCode::kFailedPrecondition, false},
      {409, "ConditionalRequestConflict", ErrorCode::kAborted, true},
      {403, "AccessDenied", ErrorCode::kPermissionDenied, false},
      {403, "InvalidAccessKeyId", ErrorCode::kPermissionDenied, false},
      {403, "SignatureDoesNotMatch", ErrorCode::kPermissionDenied, false},
      {400, "ExpiredToken", ErrorCode::kPermissionDenied, false},
      {403, "RequestTimeTooSkewed", ErrorCode::kPermissionDenied, false},
      {500, "InternalError", ErrorCode::kUnavailable, true},
      {503, "ServiceUnavailable", ErrorCode::kUnavailable, true},
      {400, "RequestTimeout", ErrorCode::kUnavailable, true},
      {503, "SlowDown", ErrorCode::kUnavailable, true},
      {400, "Throttling", ErrorCode::kUnavailable, true},
      {400, "ThrottlingException", ErrorCode::kUnavailable, true},
      {503, "RequestLimitExceeded", ErrorCode::kUnavailable, true},
      {429, "", ErrorCode::kResourceExhausted, true},
      {400, "BadDigest", ErrorCode::kDataLoss, true},
      {400, "XAmzContentSHA256Mismatch", ErrorCode::kDataLoss, true},
      {416, "InvalidRange", ErrorCode::kOutOfRange, false},
      {501, "NotImplemented", ErrorCode::kUnimplemented, false},
      {405, "MethodNotAllowed", ErrorCode::kUnimplemented, false},
      {400, "InvalidArgument", ErrorCode::kInvalidArgument, false},
      {400, "MalformedXML", ErrorCode::kInvalidArgument, false},
      {500, "", ErrorCode::kInternal, true},
      {502, "", ErrorCode::kUnavailable, true},
      {504, "", ErrorCode::kUnavailable, true},
      {503, "SomethingNew", ErrorCode::kUnavailable, true},
      {404, "", ErrorCode::kNotFound, false},  // a HEAD has no body
      {403, "", ErrorCode::kPermissionDenied, false},
      {200, "SomethingNew", ErrorCode::kUnknown, false},  // an unknown error inside a 200
  };
  for (const Row& r : rows) {
    const Error e = MapS3Error(r.status, r.code, "msg", "REQ123", "GET s3://b/k");
    EXPECT_EQ(e.code(), r.expect) << r.status << " " << r.code;
    EXPECT_EQ(e.retryable(), r.retryable) << r.status << " " << r.code;
    EXPECT_EQ(e.http_status(), r.status);
    EXPECT_EQ(e.service_code(), r.code);
    EXPECT_EQ(e.request_id(), "REQ123");
  }
}

TEST(MapS3Error, NeverRetryListWinsOverAServerErrorStatus) {
  // Whatever status a server pairs them with, these codes are never retried.
  for (const char* code : {"NoSuchBucket", "NoSuchKey", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch",
                           "ExpiredToken"})
    EXPECT_FALSE(MapS3Error(503, code, "", "", "").retryable()) << code;
}

TEST(ErrorFromResponse, KeepsCodeMessageRequestIdAndStatus) {
  http::Response r{.status = 403,
                   .headers = {{"x-amz-request-id", "4442587FB7D0A2F9"}},
                   .body = R"(<?xml version="1.0" encoding="UTF-8"?>
<Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match the signature you provided.</Message>
<AWSAccessKeyId>AKIAIOSFODNN7EXAMPLE</AWSAccessKeyId><StringToSign>AWS4-HMAC-SHA256 secret-ish</StringToSign>
<SignatureProvided>deadbeefcafe</SignatureProvided><CanonicalRequest>GET /x</CanonicalRequest>
<RequestId>BODYID</RequestId><HostId>host</HostId></Error>)"};
  const Error e = ErrorFromResponse(r, "GET s3://bucket/key");
  EXPECT_EQ(e.code(), ErrorCode::kPermissionDenied);
  EXPECT_EQ(e.service_code(), "SignatureDoesNotMatch");
  EXPECT_EQ(e.request_id(), "4442587FB7D0A2F9");  // the header wins over the body
  EXPECT_EQ(e.http_status(), 403);
  EXPECT_EQ(e.message(),
            "S3 SignatureDoesNotMatch (HTTP 403) GET s3://bucket/key: The request signature we calculated does not "
            "match the signature you provided.");
  // What the server echoes back of the signature is not repeated.
  EXPECT_THAT(e.ToString(), ::testing::Not(HasSubstr("deadbeefcafe")));
  EXPECT_THAT(e.ToString(), ::testing::Not(HasSubstr("StringToSign")));

  http::Response head{.status = 404, .headers = {{"x-amz-request-id", "HEADID"}}};
  const Error h = ErrorFromResponse(head, "HEAD s3://bucket/key");
  EXPECT_EQ(h.code(), ErrorCode::kNotFound);
  EXPECT_EQ(h.request_id(), "HEADID");
  EXPECT_EQ(h.message(), "S3 error (HTTP 404) HEAD s3://bucket/key");

  http::Response body_id{.status = 500, .body = "<Error><Code>InternalError</Code><RequestId>R2</RequestId></Error>"};
  EXPECT_EQ(ErrorFromResponse(body_id, "").request_id(), "R2");
  // A long message from the server is cut.
  http::Response chatty{.status = 400,
                        .body = "<Error><Code>InvalidRequest</Code><Message>" + std::string(5000, 'x') + "</Message></Error>"};
  EXPECT_LT(ErrorFromResponse(chatty, "").message().size(), 600u);
}

TEST(IsErrorBody, OnlyErrorDocuments) {
  EXPECT_TRUE(IsErrorBody("<Error><Code>InternalError</Code></Error>"));
  EXPECT_TRUE(IsErrorBody("\n\n<?xml version=\"1.0\"?>\n<Error><Code>X</Code></Error>"));
  EXPECT_FALSE(IsErrorBody("<CopyObjectResult><ETag>x</ETag></CopyObjectResult>"));
  EXPECT_FALSE(IsErrorBody(""));
  EXPECT_FALSE(IsErrorBody("<Error"));  // not well-formed
}

}  // namespace
}  // namespace esper::s3
