// esper/s3/uri.h — S3 names and addresses: `parse_s3_uri`, bucket and key rules, how a key is
// encoded in a request path, and the URL of a bucket or object in path or virtual-hosted style.
//
// Keys are bytes (UTF-8, up to 1024). In a request path each byte outside A-Z a-z 0-9 - . _ ~
// and '/' becomes %XX (upper-case hex), exactly once: "a b+c=d%" → "a%20b%2Bc%3Dd%25", "a//b" and
// ".." segments are kept as they are. This is the path S3 canonicalises and SigV4 signs
// (sigv4.h, PathRules::S3()), so what is sent and what is signed are the same string.
// The http client must send such a path untouched: libcurl removes "." and ".." segments unless
// told not to (CURLOPT_PATH_AS_IS), which a key like "a/../b" needs.
//
// Addressing: path style ("http://127.0.0.1:9000/bucket/key") is what S3-compatible servers
// (MinIO, s3rver, fauxqs) speak and is the default when an endpoint is given; virtual-hosted
// style ("https://bucket.s3.us-east-1.amazonaws.com/key") is AWS's default, used for buckets
// that are valid DNS labels (a bucket with a dot falls back to path style over https, whose
// wildcard certificate would not match it).
//
// Example:
//   auto uri = esper::s3::parse_s3_uri("s3://models/kernels/v1.bin");   // {models, kernels/v1.bin}
//   auto addr = esper::s3::Addressing::Create({.endpoint_url = "http://127.0.0.1:4568",
//                                              .region = "us-east-1"});
//   std::string url = addr->ObjectUrl(uri->bucket, uri->key);  // http://127.0.0.1:4568/models/kernels/v1.bin
//
// Thread safety: pure functions and an immutable value type.
// Errors: InvalidArgument, saying which rule a name breaks.
#pragma once

#include <string>
#include <string_view>

#include "esper/core/result.h"

namespace esper::s3 {

/// A parsed s3:// URI.
struct S3Uri {
  std::string bucket{};
  /// Empty for "s3://bucket" and "s3://bucket/".
  std::string key{};
  friend bool operator==(const S3Uri&, const S3Uri&) = default;
};

/// Splits "s3://bucket/key" into bucket and key (the seed's parse_s3_uri). The bucket must meet
/// S3's naming rules (ValidateBucketName); everything after the first '/' is the key, verbatim
/// (no percent-decoding: "s3://b/a%20b" is the key "a%20b"). Unlike the seed, "s3://bucket"
/// (no key) is accepted, with an empty key, because listing a bucket needs it; a caller that
/// needs a key checks key.empty(). Errors: InvalidArgument ("not an s3:// URI", "no bucket", the
/// bucket rule broken, a key over 1024 bytes).
Result<S3Uri> parse_s3_uri(std::string_view uri);

/// S3's bucket naming rules (general purpose buckets): 3-63 characters of a-z 0-9 . -, beginning
/// and ending with a letter or digit, no "..", not an IPv4 address, not starting with "xn--",
/// "sthree-" or "amzn-s3-demo-", not ending with "-s3alias", "--ol-s3", ".mrap" or "--x-s3".
Status ValidateBucketName(std::string_view bucket);

/// A key S3 accepts: 1-1024 bytes. (Any bytes; UTF-8 is what S3 documents.)
Status ValidateKey(std::string_view key);

/// The key as it goes in a request path: every byte but A-Z a-z 0-9 - . _ ~ and '/' as %XX.
std::string EncodeKey(std::string_view key);

enum class AddressingStyle {
  kAuto,           // path style with a custom endpoint, virtual-hosted on AWS
  kPath,           // always "endpoint/bucket/key"
  kVirtualHosted,  // always "bucket.host/key"
};

/// Where a bucket's requests go.
class Addressing {
 public:
  struct Options {
    /// "http(s)://host[:port][/base]" of an S3-compatible server; empty: AWS's regional endpoint
    /// "https://s3.<region>.amazonaws.com". See settings.h for where it is read from.
    std::string endpoint_url{};
    /// Required (the regional endpoint and SigV4 need it).
    std::string region{};
    AddressingStyle style = AddressingStyle::kAuto;
  };

  /// Validates the endpoint (an absolute http or https URL without query or fragment) and region.
  static Result<Addressing> Create(Options options);

  /// The URL of `key` in `bucket` (key encoded with EncodeKey). An empty key gives the bucket's
  /// URL ("…/bucket" in path style, "https://bucket.host/" virtual-hosted) for ListObjects and
  /// friends; an empty bucket gives the service URL ("…/", ListBuckets).
  std::string ObjectUrl(std::string_view bucket, std::string_view key = {}) const;
  /// Whether `bucket` is addressed in path style.
  bool UsesPathStyle(std::string_view bucket) const;

  const std::string& endpoint_url() const noexcept { return endpoint_; }
  const std::string& region() const noexcept { return region_; }

 private:
  Addressing() = default;
  std::string endpoint_{};  // without a trailing '/'
  std::string scheme_{};    // "http" / "https"
  std::string host_port_{};
  std::string base_path_{};  // "" or "/base"
  std::string region_{};
  AddressingStyle style_ = AddressingStyle::kAuto;
  bool custom_ = false;
};

}  // namespace esper::s3
