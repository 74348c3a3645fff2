// esper/s3/credentials.h — AWS credentials and where they come from: the provider chain in
// AWS's order, and a cache that refreshes expiring credentials without stalling requests.
//
// Providers (each one a CredentialsProvider; Fetch() blocks — file I/O, a process, HTTP):
//   StaticCredentials        explicit keys
//   EnvironmentCredentials   AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN
//   ProfileCredentials       aws_access_key_id / aws_secret_access_key / aws_session_token of the
//                            profile (settings.h: AWS_PROFILE, AWS_SHARED_CREDENTIALS_FILE,
//                            AWS_CONFIG_FILE, [profile x])
//   ProcessCredentials       the profile's credential_process (run with /bin/sh -c; its stdout is
//                            the JSON documented by AWS, Version 1; stderr passes through)
//   WebIdentityCredentials   AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN (or the profile's
//                            web_identity_token_file + role_arn), AWS_ROLE_SESSION_NAME; STS
//                            AssumeRoleWithWebIdentity at AWS_ENDPOINT_URL_STS (default
//                            https://sts.<region>.amazonaws.com)
//   ContainerCredentials     AWS_CONTAINER_CREDENTIALS_FULL_URI (http only to a loopback or the
//                            ECS/EKS link-local hosts, else https) or _RELATIVE_URI on
//                            169.254.170.2; Authorization from AWS_CONTAINER_AUTHORIZATION_TOKEN
//                            or the file AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE
//   ImdsCredentials          IMDSv2: PUT /latest/api/token, then GET the role and its
//                            credentials, at AWS_EC2_METADATA_SERVICE_ENDPOINT (default
//                            http://169.254.169.254); off when AWS_EC2_METADATA_DISABLED=true
// DefaultChain() puts them in that order. A provider that is not configured (its variables
// unset) returns NotFound and the chain moves on; one that is configured and fails stops the
// chain with its error (as the AWS SDKs do: a broken credential_process must not silently fall
// through to other credentials). When none is configured the error lists what each said.
//
// Constructing a provider or a chain reads nothing and touches no network: every lookup happens
// in Fetch(). The HTTP providers use an esper::http::Client of their own, created at their first
// Fetch (its one loop thread lives as long as the provider).
//
// CredentialsCache is what an S3Store holds. It hands out the current credentials from a lock-
// protected copy (TryGet: no I/O, no waiting), refreshes them `refresh_before` (5 minutes) ahead
// of their expiry on its own refresh thread — one refresh at a time, while the current, still
// valid credentials keep being handed out — and makes only a caller that has no valid
// credentials wait (GetAsync's callback runs when the refresh completes). So a request about to be
// sent from the http loop thread calls TryGet(), and on nullopt parks itself with GetAsync() and
// resumes from the callback; the loop never blocks (aws-sdk-cpp #1569, #3305 are what happens
// otherwise). A failed refresh while the credentials are still valid is retried after
// `retry_interval`; the valid credentials keep working meanwhile.
//
// Example:
//   auto cache = esper::s3::CredentialsCache::Create(esper::s3::DefaultChain({}));
//   if (auto c = cache->TryGet()) Sign(*c);                    // fast path, any thread
//   else cache->GetAsync([](esper::Result<esper::s3::Credentials> c) { /* sign and send */ });
//   esper::Result<esper::s3::Credentials> c = cache->Get();     // blocking, not on a loop thread
//
// Secrets: the secret key and the session token are esper::Secret. No error message, log line
// or exception carries one; errors name the source ("credential_process (profile dev): exited
// with status 1", "web identity: STS AccessDenied …", "IMDS at http://127.0.0.1:9: …").
// Thread safety: providers' Fetch may be called from any thread, one call at a time per provider
// (the cache guarantees that); CredentialsCache's methods from any thread at once.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "esper/core/result.h"
#include "esper/core/secret.h"
#include "esper/s3/settings.h"

namespace esper::s3 {

/// One set of AWS credentials. The secret key and the session token are Secrets: they format as
/// "***" and reach no log line or error message.
struct Credentials {
  std::string access_key_id{};
  Secret secret_access_key{};
  /// Temporary credentials' token (sent as X-Amz-Security-Token); empty for long-term keys.
  Secret session_token{};
  /// When temporary credentials stop working; nullopt for credentials that do not expire.
  std::optional<std::chrono::system_clock::time_point> expiration{};
  /// Which provider produced them ("environment", "profile dev (/home/u/.aws/credentials)", …),
  /// for error messages and health reports. Never contains a secret.
  std::string source{};
};

/// Wall-clock time source (credentials expire in wall-clock time). Tests inject their own.
using WallClock = std::function<std::chrono::system_clock::time_point()>;

class CredentialsProvider {
 public:
  virtual ~CredentialsProvider() = default;
  /// What this provider is, for errors ("environment", "IMDS", …).
  virtual std::string name() const = 0;
  /// Gets credentials now (may block). NotFound when this source is not configured; any other
  /// error when it is configured and failed.
  virtual Result<Credentials> Fetch() = 0;
};

using ProviderPtr = std::unique_ptr<CredentialsProvider>;

/// Options shared by the providers that read the environment and the profile files.
struct ProviderOptions {
  /// Where variables are read (settings.h); the process environment when empty.
  Environment env{};
  /// The profile; empty: AWS_PROFILE, then "default".
  std::string profile{};
  /// Limit of one HTTP exchange with STS / the container endpoint / IMDS, and of a
  /// credential_process run. > 0.
  std::chrono::milliseconds timeout = std::chrono::seconds(5);
  /// For ProviderOptions-driven defaults that need a region (the STS endpoint); empty: resolved
  /// like settings.h ResolveRegion.
  std::string region{};
};

ProviderPtr StaticCredentials(Credentials credentials);
ProviderPtr EnvironmentCredentials(ProviderOptions options = {});
ProviderPtr ProfileCredentials(ProviderOptions options = {});
ProviderPtr ProcessCredentials(ProviderOptions options = {});
ProviderPtr WebIdentityCredentials(ProviderOptions options = {});
ProviderPtr ContainerCredentials(ProviderOptions options = {});
ProviderPtr ImdsCredentials(ProviderOptions options = {});

/// Tries `providers` in order (see the file comment).
ProviderPtr ProviderChain(std::vector<ProviderPtr> providers);
/// explicit (when `explicit_credentials` has an access key) > environment > profile >
/// credential_process > web identity > container > IMDS.
ProviderPtr DefaultChain(ProviderOptions options, std::optional<Credentials> explicit_credentials = std::nullopt);

/// Caches a provider's credentials and refreshes them ahead of expiry (see the file comment).
class CredentialsCache {
 public:
  struct Options {
    /// Refresh this long before the credentials expire. >= 0.
    std::chrono::seconds refresh_before = std::chrono::minutes(5);
    /// After a failed refresh while the credentials are still valid, try again after this. > 0.
    std::chrono::seconds retry_interval = std::chrono::seconds(10);
    /// Wall clock; system_clock::now when empty.
    WallClock now{};
  };
  using Callback = std::function<void(Result<Credentials>)>;

  /// Validates the options. Starts nothing: the refresh thread starts at the first refresh.
  static Result<std::unique_ptr<CredentialsCache>> Create(ProviderPtr provider, Options options);
  static Result<std::unique_ptr<CredentialsCache>> Create(ProviderPtr provider) { return Create(std::move(provider), Options{}); }
  /// Joins the refresh thread (waiting for a refresh in progress); pending GetAsync callbacks get
  /// Cancelled.
  ~CredentialsCache();
  CredentialsCache(const CredentialsCache&) = delete;
  CredentialsCache& operator=(const CredentialsCache&) = delete;

  /// The cached credentials if they are valid now, else nullopt. Never blocks on I/O. Within
  /// refresh_before of the expiry (or with nothing cached) it starts a background refresh.
  std::optional<Credentials> TryGet();
  /// `done` gets valid credentials: at once (on this thread) when TryGet() has them, else on the
  /// refresh thread when the refresh ends (with its error if it failed).
  void GetAsync(Callback done);
  /// Blocking GetAsync.
  Result<Credentials> Get();
  /// How many times the provider has been asked (tests, stats).
  int fetches() const;

  class Impl;

 private:
  explicit CredentialsCache(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

namespace detail {
/// Parses the JSON credential document the container endpoint, IMDS and credential_process
/// return ({"AccessKeyId", "SecretAccessKey", "Token" or "SessionToken", "Expiration"}).
/// Errors (InvalidArgument) name the missing field, never a value.
Result<Credentials> ParseCredentialsJson(std::string_view json, std::string_view source);
}  // namespace detail

}  // namespace esper::s3
