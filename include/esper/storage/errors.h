// esper/storage/errors.h — the errors an ObjectStore returns, the same for every store.
//
// Every store reports failures as esper::Error with the canonical code below AND the S3 error code
// as the service code, so a caller tests `error.code()` (and, for finer cases,
// `error.service_code()`) and cannot tell the stores apart:
//
//   service code                           canonical code       when
//   NoSuchBucket                           NotFound             the bucket does not exist
//   NoSuchKey                              NotFound             the object does not exist
//   NoSuchUpload                           NotFound             (multipart, S3 only)
//   PreconditionFailed                     FailedPrecondition   If-Match failed (put, get, copy
//                                                               source) — HTTP 412
//   PreconditionFailed                     AlreadyExists        a create-only put found the key
//                                                               (S3 answers 412; the store says
//                                                               AlreadyExists so the two cases
//                                                               differ by code)
//   ConditionalRequestConflict             Aborted              S3: a concurrent conditional
//                                                               write won (HTTP 409); redo the
//                                                               read-modify-write
//   BucketNotEmpty                         FailedPrecondition   deleting a bucket with objects
//   BucketAlreadyOwnedByYou                AlreadyExists        creating a bucket you have
//   BucketAlreadyExists                    AlreadyExists        creating a bucket someone else has
//   InvalidRange                           OutOfRange           a range starting at/after the end
//                                                               (HTTP 416)
//   InvalidBucketName, KeyTooLongError,    InvalidArgument      a name or argument the store
//   MetadataTooLarge, InvalidArgument,                          refuses, before anything is sent
//   InvalidRequest, IncompleteBody,                             or written
//   EntityTooLarge, InvalidDigest
//   BadDigest,                             DataLoss             the body that arrived is not the
//   XAmzContentSHA256Mismatch              (retryable)          one its signed digest describes:
//                                                               changed on the way; the store
//                                                               still holds the bytes it hashed
//   AccessDenied, InvalidAccessKeyId,      PermissionDenied     credentials refused
//   SignatureDoesNotMatch, ExpiredToken,
//   InvalidToken, AccountProblem
//   RequestTimeTooSkewed                   PermissionDenied     (S3Store corrects the skew and
//                                                               retries once before reporting it)
//   SlowDown, ServiceUnavailable,          Unavailable          transient: retry with backoff
//   InternalError, RequestTimeout,         (retryable)
//   Throttling, ThrottlingException,
//   RequestLimitExceeded, …
//   NotImplemented                         Unimplemented
//
// Errors that are not the service's (a local file that cannot be read, ENOSPC, a connection
// reset, a timeout) have the code of their source (Error::FromErrno: ENOSPC → ResourceExhausted;
// the http client's mapping for transport failures) and no service code. A store that speaks
// HTTP also sets http_status() and request_id() (x-amz-request-id); LocalStore leaves them 0 and
// empty. Messages name the operation, bucket and key ("get s3://b/k: …"), never a credential.
//
// Thread safety: pure functions; any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "esper/core/error.h"

namespace esper::storage {

/// The canonical code for an S3 error code (the table above), or nullopt for a code the table
/// does not know (then map the HTTP status with Error::FromHttpStatus).
std::optional<ErrorCode> CanonicalCodeForServiceCode(std::string_view service_code) noexcept;

/// An Error with the code from the table above (Unknown for an unknown service code; give the
/// HTTP status to Error::FromHttpStatus yourself in that case), the service code set, the
/// retryable bit from the canonical code, and `message`.
Error ServiceError(std::string_view service_code, std::string message);

}  // namespace esper::storage
