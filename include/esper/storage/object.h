// esper/storage/object.h — what an object store holds: buckets, keys, metadata, object info.
//
// The values every ObjectStore (object_store.h) takes and returns, and the rules for names that
// every store enforces the same way, so a caller cannot tell an S3Store from a LocalStore by what
// it accepts:
//
//  * Bucket names follow S3's rules: 3-63 bytes of lower-case letters, digits, '.' and '-',
//    starting and ending with a letter or digit, no "..", not an IPv4 address, not starting with
//    "xn--" or "sthree-", not ending in "-s3alias" or "--ol-s3". (InvalidArgument,
//    service code InvalidBucketName.)
//  * Keys are 1-1,024 bytes of valid UTF-8 (RFC 3629: no overlong forms, no surrogates) without
//    U+0000. Everything else is a key: any other character, "a//b", "..", ".", "/a", "a/", spaces,
//    "+ = % & ? # ! ' ( ) * ~". A key is a flat name: "/" means nothing to the store except as a
//    list delimiter, and "a" and "a/b" can both exist. (InvalidArgument; a key over 1,024 bytes
//    has service code KeyTooLongError.) NUL is refused because S3's XML cannot carry it.
//  * User metadata (Metadata) names are case-insensitive, as in S3, which lower-cases them: a
//    store returns them lower-case, and two names that differ only in case are one name
//    (InvalidArgument when both are given). A name is 1+ bytes of an HTTP token (letters, digits
//    and !#$%&'*+-.^_`|~); a value is printable US-ASCII (0x20-0x7E) without leading or trailing
//    spaces, because HTTP would strip them. Names plus values total at most 2,048 bytes
//    (S3's limit; service code MetadataTooLarge).
//  * A content type is at most 1,024 bytes of printable US-ASCII; empty means
//    "application/octet-stream", which is what a store then reports.
//
// Thread safety: values; the functions are pure and may be called from any thread.
//
// Example:
//   if (auto ok = esper::storage::ValidateKey(key); !ok) return ok.error();
//   auto md = esper::storage::NormalizeMetadata({{"Model-Version", "3"}});   // {"model-version": "3"}
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "esper/core/result.h"

namespace esper::storage {

/// Limits every store enforces (S3's, where S3 has one).
inline constexpr size_t kMaxKeyBytes = 1024;
inline constexpr size_t kMaxMetadataBytes = 2048;     // sum of names and values
inline constexpr size_t kMaxContentTypeBytes = 1024;
inline constexpr int kMaxListPageSize = 1000;          // S3's MaxKeys ceiling
inline constexpr std::string_view kDefaultContentType = "application/octet-stream";

/// User metadata: lower-case name → value (see the rules above). Ordered, so it compares and
/// prints deterministically.
using Metadata = std::map<std::string, std::string>;

/// An object's description. Which fields an operation fills is documented on the operation
/// (object_store.h); a field it does not promise may be empty / zero.
struct ObjectInfo {
  std::string key{};
  /// Size of the whole object in bytes (also for a ranged get).
  uint64_t size = 0;
  /// The entity tag, without the quotes HTTP puts around it. For an object written in one piece
  /// it is the lower-case hex MD5 of its bytes (32 characters); a multipart upload's ETag is
  /// "<hex md5 of the parts' md5s>-<parts>". Opaque otherwise: compare it, don't parse it.
  std::string etag{};
  /// When the object was last written. S3 reports whole seconds in headers and milliseconds in
  /// listings; LocalStore reports the file's time. Do not compare times across stores.
  std::chrono::system_clock::time_point last_modified{};
  std::string content_type{};
  Metadata metadata{};

  friend bool operator==(const ObjectInfo&, const ObjectInfo&) = default;
};

/// One object in one bucket (the two ends of a copy).
struct ObjectRef {
  std::string bucket{};
  std::string key{};
};

/// A bucket, as ListBuckets reports it.
struct BucketInfo {
  std::string name{};
  std::chrono::system_clock::time_point creation_date{};
};

/// OkStatus, or InvalidArgument (service code InvalidBucketName) saying which rule `name` breaks.
Status ValidateBucketName(std::string_view name);

/// OkStatus, or InvalidArgument saying why `key` is not a key (empty, too long — service code
/// KeyTooLongError —, invalid UTF-8 at byte N, NUL at byte N).
Status ValidateKey(std::string_view key);

/// `metadata` with lower-case names, or InvalidArgument naming the offending name or value
/// (service code MetadataTooLarge when the total exceeds kMaxMetadataBytes).
Result<Metadata> NormalizeMetadata(const Metadata& metadata);

/// OkStatus, or InvalidArgument when `content_type` is too long or not printable US-ASCII.
Status ValidateContentType(std::string_view content_type);

/// Whether `s` is valid UTF-8 (RFC 3629).
bool IsValidUtf8(std::string_view s) noexcept;

}  // namespace esper::storage
