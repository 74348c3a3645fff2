// What an `esper s3` argument names: an object or prefix (s3://bucket/key), a local path, or
// standard input / output ("-"). The one place where arguments are checked, so every subcommand
// refuses a bad URI the same way: a usage error (exit 2) that says what is wrong.
//
//   auto dst = ParseLocation("s3://models/v3.bin");        // kS3 {models, v3.bin}
//   auto src = ParseLocation("./v3.bin");                  // kLocal
//   auto out = ParseLocation("-");                         // kStdio
//   auto b = ParseS3Location("s3://Bad_Bucket", "ls");     // usage error naming the rule broken
#pragma once

#include <string>
#include <string_view>

#include "esper/core/result.h"

namespace esper::cli::s3cmd {

struct Location {
  enum class Kind { kS3, kLocal, kStdio };
  Kind kind = Kind::kLocal;
  std::string bucket{};  // kS3
  std::string key{};     // kS3; empty for "s3://bucket" and "s3://bucket/"
  std::string path{};    // kLocal
  std::string text{};    // the argument as given, for messages

  bool is_s3() const { return kind == Kind::kS3; }
  /// "s3://bucket/key" (or "s3://bucket/" when the key is empty).
  std::string Uri() const;
};

/// "s3://…" is an S3 location (bucket name and key checked by storage's rules), "-" is standard
/// input or output, anything else is a local path. Usage errors: an empty argument, "s3:" without
/// "//", no bucket, a bucket or key the rules refuse (the rule named).
Result<Location> ParseLocation(std::string_view arg);

/// As ParseLocation, and a usage error unless it is an s3:// location (`command` names who asks).
Result<Location> ParseS3Location(std::string_view arg, std::string_view command);

/// As ParseS3Location, and a usage error unless it names an object (a key after the bucket).
Result<Location> ParseS3Object(std::string_view arg, std::string_view command);

/// As ParseS3Location, and a usage error unless it names only a bucket (s3://bucket).
Result<Location> ParseS3Bucket(std::string_view arg, std::string_view command);

/// "s3://bucket/key" of an object.
std::string S3Uri(std::string_view bucket, std::string_view key);

/// A prefix treated as a directory, as `aws s3 … --recursive` does: "dir" → "dir/", "" stays "".
std::string AsDirectoryPrefix(std::string_view prefix);

}  // namespace esper::cli::s3cmd
