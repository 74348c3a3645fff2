// esper/s3/credentials.h — AWS credentials: the value the signer (sigv4.h) signs with.
//
// Thread safety: a value type. Secrets: the secret key and the session token are esper::Secret.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "esper/core/secret.h"

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

}  // namespace esper::s3
