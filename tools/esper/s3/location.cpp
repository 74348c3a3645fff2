#include "s3/location.h"

#include <fmt/format.h>

#include "cli.h"
#include "esper/core/ascii.h"
#include "esper/core/redact.h"
#include "esper/s3/uri.h"
#include "esper/storage/object.h"

namespace esper::cli::s3cmd {

std::string Location::Uri() const { return S3Uri(bucket, key); }

std::string S3Uri(std::string_view bucket, std::string_view key) {
  return key.empty() ? fmt::format("s3://{}/", bucket) : fmt::format("s3://{}/{}", bucket, key);
}

std::string AsDirectoryPrefix(std::string_view prefix) {
  if (prefix.empty() || prefix.back() == '/') return std::string(prefix);
  return std::string(prefix) + "/";
}

Result<Location> ParseLocation(std::string_view arg) {
  if (arg.empty()) return UsageError("an empty argument is neither a local path nor an s3:// URI");
  if (arg == "-") return Location{.kind = Location::Kind::kStdio, .text = "-"};
  const bool s3_scheme = arg.size() >= 3 && EqualsIgnoreCase(arg.substr(0, 3), "s3:");
  if (!s3_scheme) return Location{.kind = Location::Kind::kLocal, .path = std::string(arg), .text = std::string(arg)};
  // parse_s3_uri and the name rules never echo a credential typed into the URI ("s3://u:pw@…").
  auto uri = s3::parse_s3_uri(arg);
  if (!uri) return UsageError(uri.error().message());
  if (!uri->key.empty()) {
    if (Status k = storage::ValidateKey(uri->key); !k) {
      return UsageError(fmt::format("invalid S3 URI '{}': {}", RedactUrl(arg), k.error().message()));
    }
  }
  return Location{.kind = Location::Kind::kS3, .bucket = std::move(uri->bucket), .key = std::move(uri->key),
                  .text = std::string(arg)};
}

Result<Location> ParseS3Location(std::string_view arg, std::string_view command) {
  ESPER_ASSIGN_OR_RETURN(Location loc, ParseLocation(arg));
  if (!loc.is_s3()) {
    return UsageError(fmt::format("esper s3 {} takes an s3:// URI, not '{}'", command, RedactUrl(arg)));
  }
  return loc;
}

Result<Location> ParseS3Object(std::string_view arg, std::string_view command) {
  ESPER_ASSIGN_OR_RETURN(Location loc, ParseS3Location(arg, command));
  if (loc.key.empty()) return UsageError(fmt::format("esper s3 {} {}: give an object's key", command, loc.Uri()));
  return loc;
}

Result<Location> ParseS3Bucket(std::string_view arg, std::string_view command) {
  ESPER_ASSIGN_OR_RETURN(Location loc, ParseS3Location(arg, command));
  if (!loc.key.empty()) {
    return UsageError(fmt::format("esper s3 {} takes a bucket, s3://{}, not an object's key", command, loc.bucket));
  }
  return loc;
}

}  // namespace esper::cli::s3cmd
