// esper/s3/errors.h — S3's errors as esper::Error: the XML error body, and the one function
// that maps an S3 error code and HTTP status to a canonical code and a retry decision.
//
// Mapping (MapS3Error): the S3 code's canonical code comes from the one table every store keeps,
// esper/storage/errors.h (NoSuchKey → NotFound, PreconditionFailed → FailedPrecondition,
// AccessDenied / SignatureDoesNotMatch → PermissionDenied, SlowDown / InternalError /
// ServiceUnavailable / RequestTimeout / throttling → Unavailable, …), and the retryable bit is
// that code's (Unavailable: retry). A code the table does not know, or none (a HEAD's error has
// no body), is decided by the status: 304 → FailedPrecondition, 405 → Unimplemented, otherwise
// Error::FromHttpStatus (429 ResourceExhausted and 500/502/503/504 retryable). The never-retry
// list — NoSuchBucket, NoSuchKey, AccessDenied, InvalidAccessKeyId, SignatureDoesNotMatch,
// ExpiredToken — is never retryable, whatever the status. (RequestTimeTooSkewed is
// PermissionDenied here; the S3Store corrects its clock offset from the response's Date and
// retries once before reporting it.)
//
// The Error keeps the S3 code (service_code), the request id (x-amz-request-id, or the body's
// RequestId), the HTTP status and a message "S3 <Code> (HTTP <status>) <context>: <Message>".
// Bodies are attacker-controlled text, so the message takes at most 512 bytes of S3's Message;
// S3 puts no secret in an error (SignatureDoesNotMatch's StringToSign and CanonicalRequest are
// not copied into the message either).
//
// Errors inside a 200: CopyObject and CompleteMultipartUpload can answer 200 and then fail,
// with an <Error> body. ErrorFromResponse reports those too (IsErrorBody).
//
// Example:
//   auto r = client->Send(req);                         // CallOptions::accept_http_errors = true
//   if (r && (r->status >= 300 || IsErrorBody(r->body)))
//     return esper::s3::ErrorFromResponse(*r, "PUT s3://bucket/key");
//
// Thread safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "esper/core/error.h"
#include "esper/http/response.h"

namespace esper::s3 {

/// An S3 <Error> document's fields (those present; the rest empty).
struct S3ErrorBody {
  std::string code{};
  std::string message{};
  std::string request_id{};
  std::string host_id{};
  std::string resource{};
  std::string bucket_name{};
  std::string key{};
};

/// Parses an <Error> document. nullopt when `xml` is not one (empty, HTML, another document).
std::optional<S3ErrorBody> ParseErrorBody(std::string_view xml);

/// Whether `body` is an S3 <Error> document (cheap prefix check, then a parse).
bool IsErrorBody(std::string_view body);

/// The one mapping from an S3 error to esper::Error (see the file comment). `context` says what
/// was being done ("GET s3://bucket/key"); `code` may be empty (HEAD errors have no body).
Error MapS3Error(int http_status, std::string_view code, std::string_view message, std::string_view request_id,
                 std::string_view context);

/// The Error of a failed response: its <Error> body if any, its x-amz-request-id header, its
/// status. For a 200 with an <Error> body (CopyObject, CompleteMultipartUpload) the status
/// passed to MapS3Error is 200, so only the code decides (InternalError is retryable).
Error ErrorFromResponse(const http::Response& response, std::string_view context);

}  // namespace esper::s3
