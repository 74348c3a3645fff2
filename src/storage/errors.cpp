// The one table from S3 error codes to canonical codes (errors.h).
#include "esper/storage/errors.h"

#include <array>
#include <utility>

namespace esper::storage {

std::optional<ErrorCode> CanonicalCodeForServiceCode(std::string_view service_code) noexcept {
  using E = ErrorCode;
  static constexpr std::array<std::pair<std::string_view, ErrorCode>, 38> kTable = {{
      {"NoSuchBucket", E::kNotFound},
      {"NoSuchKey", E::kNotFound},
      {"NoSuchUpload", E::kNotFound},
      {"PreconditionFailed", E::kFailedPrecondition},
      {"ConditionalRequestConflict", E::kAborted},
      {"BucketNotEmpty", E::kFailedPrecondition},
      {"BucketAlreadyOwnedByYou", E::kAlreadyExists},
      {"BucketAlreadyExists", E::kAlreadyExists},
      {"InvalidRange", E::kOutOfRange},
      {"InvalidBucketName", E::kInvalidArgument},
      {"KeyTooLongError", E::kInvalidArgument},
      {"MetadataTooLarge", E::kInvalidArgument},
      {"InvalidArgument", E::kInvalidArgument},
      {"InvalidRequest", E::kInvalidArgument},
      {"IncompleteBody", E::kInvalidArgument},
      {"EntityTooLarge", E::kInvalidArgument},
      {"EntityTooSmall", E::kInvalidArgument},
      {"InvalidDigest", E::kInvalidArgument},
      {"BadDigest", E::kDataLoss},
      {"XAmzContentSHA256Mismatch", E::kDataLoss},
      {"MalformedXML", E::kInvalidArgument},
      {"InvalidPart", E::kInvalidArgument},
      {"InvalidPartOrder", E::kInvalidArgument},
      {"AccessDenied", E::kPermissionDenied},
      {"InvalidAccessKeyId", E::kPermissionDenied},
      {"SignatureDoesNotMatch", E::kPermissionDenied},
      {"ExpiredToken", E::kPermissionDenied},
      {"InvalidToken", E::kPermissionDenied},
      {"AccountProblem", E::kPermissionDenied},
      {"RequestTimeTooSkewed", E::kPermissionDenied},
      {"SlowDown", E::kUnavailable},
      {"ServiceUnavailable", E::kUnavailable},
      {"InternalError", E::kUnavailable},
      {"RequestTimeout", E::kUnavailable},
      {"Throttling", E::kUnavailable},
      {"ThrottlingException", E::kUnavailable},
      {"RequestLimitExceeded", E::kUnavailable},
      {"NotImplemented", E::kUnimplemented},
  }};
  for (const auto& [code, canonical] : kTable) {
    if (code == service_code) return canonical;
  }
  return std::nullopt;
}

Error ServiceError(std::string_view service_code, std::string message) {
  const ErrorCode code = CanonicalCodeForServiceCode(service_code).value_or(ErrorCode::kUnknown);
  return Error(code, std::move(message)).WithServiceCode(std::string(service_code));
}

}  // namespace esper::storage
