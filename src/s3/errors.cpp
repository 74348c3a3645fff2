#include "esper/s3/errors.h"

#include "esper/storage/errors.h"

#include <pugixml.hpp>

#include <algorithm>
#include <array>

namespace esper::s3 {
namespace {

constexpr size_t kMaxMessage = 512;

// Issue 19's never-retry list: whatever status a server pairs them with.
constexpr std::array<std::string_view, 6> kNeverRetry = {"NoSuchBucket", "NoSuchKey", "AccessDenied",
                                                         "InvalidAccessKeyId", "SignatureDoesNotMatch",
                                                         "ExpiredToken"};

// A body that arrived other than its Content-MD5 / payload hash says was changed on the way: the
// store computed both from the bytes it still holds and sends them again, whatever the status.
constexpr std::array<std::string_view, 2> kAlwaysRetry = {"BadDigest", "XAmzContentSHA256Mismatch"};

template <size_t N>
bool In(std::string_view code, const std::array<std::string_view, N>& set) {
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
  // The service codes' table is storage's (the contract every store keeps); the status decides
  // for a code it does not know, or no code at all (a HEAD has no body).
  ErrorCode ec = ErrorCode::kUnknown;
  bool retry = false;
  if (const std::optional<ErrorCode> known = code.empty() ? std::nullopt : storage::CanonicalCodeForServiceCode(code)) {
    ec = *known;
    retry = IsRetryableByDefault(ec);
  } else if (status == 304) {
    ec = ErrorCode::kFailedPrecondition;  // NotModified: an If-None-Match GET matched
  } else if (status == 405) {
    ec = ErrorCode::kUnimplemented;  // MethodNotAllowed: the server has no such operation
  } else if (status >= 300) {
    const Error e = Error::FromHttpStatus(status, "");
    ec = e.code();
    retry = e.retryable();
  }
  if (In(code, kNeverRetry)) retry = false;
  if (In(code, kAlwaysRetry)) retry = true;

  std::string msg = "S3 ";
  msg.append(code.empty() ? "error" : code);
  msg.append(" (HTTP ").append(std::to_string(status)).append(")");
  if (!context.empty()) msg.append(" ").append(context);
  if (!message.empty()) msg.append(": ").append(message.substr(0, kMaxMessage));
  Error e(ec, std::move(msg));
  e.WithRetryable(retry).WithHttpStatus(status).WithServiceCode(std::string(code)).WithRequestId(std::string(request_id));
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
