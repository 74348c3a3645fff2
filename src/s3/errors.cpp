#include "esper/s3/errors.h"

#include <pugixml.hpp>

#include <algorithm>
#include <array>

namespace esper::s3 {
namespace {

constexpr size_t kMaxMessage = 512;

bool In(std::string_view code, std::initializer_list<std::string_view> set) {
  return std::find(set.begin(), set.end(), code) != set.end();
}

std::string Child(const pugi::xml_node& n, const char* name) { return n.child(name).text().as_string(); }

std::string_view SkipProlog(std::string_view s) {
  // Whitespace, a BOM, an XML declaration: what may precede the root element.
  while (!s.empty() && (s[0] == ' ' || s[0] == '\n' || s[0] == '\r' || s[0] == '\t')) s.remove_prefix(1);
  if (s.starts_with("\xEF\xBB\xBF")) s.remove_prefix(3);
  if (s.starts_with("<?xml")) {
    const size_t end = s.find("?>");
    s.remove_prefix(end == std::string_view::npos ? s.size() : end + 2);
  }
  while (!s.empty() && (s[0] == ' ' || s[0] == '\n' || s[0] == '\r' || s[0] == '\t')) s.remove_prefix(1);
  return s;
}

}  // namespace

std::optional<S3ErrorBody> ParseErrorBody(std::string_view xml) {
  pugi::xml_document doc;
  if (!doc.load_buffer(xml.data(), xml.size(), pugi::parse_default, pugi::encoding_utf8)) return std::nullopt;
  const pugi::xml_node e = doc.child("Error");
  if (!e) return std::nullopt;
  return S3ErrorBody{.code = Child(e, "Code"),
                     .message = Child(e, "Message"),
                     .request_id = Child(e, "RequestId"),
                     .host_id = Child(e, "HostId"),
                     .resource = Child(e, "Resource"),
                     .bucket_name = Child(e, "BucketName"),
                     .key = Child(e, "Key")};
}

bool IsErrorBody(std::string_view body) {
  return SkipProlog(body).starts_with("<Error") && ParseErrorBody(body).has_value();
}

Error MapS3Error(int status, std::string_view code, std::string_view message, std::string_view request_id,
                 std::string_view context) {
  ErrorCode ec;
  std::optional<bool> retry;  // nullopt: the code's default
  if (In(code, {"NoSuchBucket", "NoSuchKey", "NoSuchUpload", "NoSuchVersion", "NoSuchLifecycleConfiguration"})) {
    ec = ErrorCode::kNotFound;
    retry = false;
  } else if (In(code, {"AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "AllAccessDisabled",
                       "AccountProblem", "InvalidObjectState"})) {
    ec = ErrorCode::kPermissionDenied;
    retry = false;
  } else if (In(code, {"ExpiredToken", "InvalidToken", "TokenRefreshRequired"})) {
    ec = ErrorCode::kUnauthenticated;
    retry = false;
  } else if (In(code, {"SlowDown", "Throttling", "ThrottlingException", "RequestThrottled",
                       "RequestThrottledException", "TooManyRequestsException",
                       "ProvisionedThroughputExceededException", "RequestLimitExceeded", "BandwidthLimitExceeded",
                       "LimitExceededException", "EC2ThrottledException", "TransactionInProgressException"}) ||
             status == 429) {
    ec = ErrorCode::kResourceExhausted;
    retry = true;
  } else if (In(code, {"InternalError", "ServiceUnavailable", "RequestTimeout", "RequestTimeoutException",
                       "PriorRequestNotComplete", "RequestTimeTooSkewed"}) ||
             status == 500 || status == 502 || status == 503 || status == 504) {
    ec = ErrorCode::kUnavailable;
    retry = true;
  } else if (In(code, {"BadDigest", "XAmzContentSHA256Mismatch"})) {
    ec = ErrorCode::kDataLoss;
    retry = true;
  } else if (In(code, {"PreconditionFailed", "NotModified"}) || status == 412 || status == 304) {
    ec = ErrorCode::kFailedPrecondition;
  } else if (In(code, {"BucketAlreadyExists", "BucketAlreadyOwnedByYou"})) {
    ec = ErrorCode::kAlreadyExists;
  } else if (In(code, {"BucketNotEmpty", "OperationAborted"})) {
    ec = ErrorCode::kAborted;
    retry = false;
  } else if (code == "ConditionalRequestConflict") {
    ec = ErrorCode::kAborted;
    retry = true;
  } else if (code == "InvalidRange" || status == 416) {
    ec = ErrorCode::kOutOfRange;
  } else if (In(code, {"NotImplemented", "MethodNotAllowed"}) || status == 501 || status == 405) {
    ec = ErrorCode::kUnimplemented;
  } else {
    Error e = Error::FromHttpStatus(status, "");
    ec = status >= 300 ? e.code() : ErrorCode::kUnknown;
    retry = status >= 300 ? std::optional<bool>(e.retryable()) : std::optional<bool>(false);
  }

  std::string msg = "S3 ";
  msg.append(code.empty() ? "error" : code);
  msg.append(" (HTTP ").append(std::to_string(status)).append(")");
  if (!context.empty()) msg.append(" ").append(context);
  if (!message.empty()) msg.append(": ").append(message.substr(0, kMaxMessage));
  Error e(ec, std::move(msg));
  if (retry) e.WithRetryable(*retry);
  e.WithHttpStatus(status).WithServiceCode(std::string(code)).WithRequestId(std::string(request_id));
  return e;
}

Error ErrorFromResponse(const http::Response& response, std::string_view context) {
  const std::optional<S3ErrorBody> body = ParseErrorBody(response.body);
  std::string request_id(response.Header("x-amz-request-id").value_or(""));
  if (request_id.empty() && body) request_id = body->request_id;
  if (!body) return MapS3Error(response.status, "", "", request_id, context);
  return MapS3Error(response.status, body->code, body->message, request_id, context);
}

}  // namespace esper::s3
