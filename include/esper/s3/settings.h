// esper/s3/settings.h — where S3 settings come from: the endpoint, the region and the profile,
// resolved in AWS's order from explicit values, environment variables and the shared files.
//
//   endpoint: explicit > AWS_ENDPOINT_URL_S3 > AWS_ENDPOINT_URL > S3_ENDPOINT_URL (the seed's)
//             > the profile's endpoint_url > none (AWS's regional endpoint, uri.h)
//   region:   explicit > AWS_REGION > AWS_DEFAULT_REGION > the profile's region > us-east-1
//   profile:  explicit > AWS_PROFILE > "default", read from AWS_CONFIG_FILE (~/.aws/config,
//             sections "[default]" and "[profile NAME]") and AWS_SHARED_CREDENTIALS_FILE
//             (~/.aws/credentials, sections "[NAME]"); the credentials file wins for a key
//             both files set.
// An empty variable counts as unset. Every lookup goes through an `Environment`, so tests (and
// services with their own configuration) pass a map instead of touching the process environment.
//
// Example:
//   auto env = esper::s3::ProcessEnvironment();
//   auto region = esper::s3::ResolveRegion("", "", env);          // e.g. "eu-west-1" from AWS_REGION
//   auto endpoint = esper::s3::ResolveEndpoint("", "", env);      // e.g. "http://127.0.0.1:9000"
//
// Thread safety: the functions are safe from any thread; ProcessEnvironment() reads getenv(),
// which is safe as long as nothing calls setenv() at the same time.
// Blocking: reading the profile files is file I/O (small files, read once per call).
// Errors: InvalidArgument for a profile that is named explicitly or by AWS_PROFILE and is in
// neither file, and for a malformed file (file:line); a missing file is not an error.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "esper/core/result.h"

namespace esper::s3 {

/// Reads one variable; nullopt when it is unset (an empty value is treated as unset).
using Environment = std::function<std::optional<std::string>(std::string_view name)>;

/// getenv().
Environment ProcessEnvironment();
/// A fixed map (tests, or settings from a service's own configuration).
Environment MapEnvironment(std::map<std::string, std::string, std::less<>> values);

/// One profile's settings, merged from the config and credentials files. Keys are lower-case.
struct Profile {
  std::string name{};
  std::map<std::string, std::string, std::less<>> values{};
  /// Where each file was looked for (for error messages): "~/.aws/config" expanded.
  std::string config_file{};
  std::string credentials_file{};
  /// Whether either file had a section for this profile.
  bool found = false;

  /// The value of `key`, or nullopt.
  std::optional<std::string> Get(std::string_view key) const;
};

/// The active profile's name: `explicit_name`, else AWS_PROFILE, else "default".
std::string ProfileName(std::string_view explicit_name, const Environment& env);

/// Loads profile `name` (ProfileName's result) from the shared files. A profile absent from both
/// files is an error only if it was chosen (explicit or AWS_PROFILE), not for "default".
Result<Profile> LoadProfile(std::string_view explicit_name, const Environment& env);

/// The S3 endpoint URL in AWS's order (see the file comment); "" means AWS itself.
Result<std::string> ResolveEndpoint(std::string_view explicit_url, std::string_view explicit_profile,
                                    const Environment& env);
/// The region in AWS's order (see the file comment).
Result<std::string> ResolveRegion(std::string_view explicit_region, std::string_view explicit_profile,
                                  const Environment& env);

}  // namespace esper::s3
