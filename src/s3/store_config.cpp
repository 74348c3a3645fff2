// FromConfig (a configuration's `s3` section as S3StoreOptions) and the seed's get_s3_client().
// s3 sits above config in the layers, so this is where the two meet; config knows nothing of s3.
#include <cstdlib>
#include <mutex>

#include "esper/config/config.h"
#include "esper/s3/s3_store.h"

namespace esper::s3 {
namespace {

// Whether `key` was set by something other than the schema's default (a file, the environment,
// an override).
bool IsSet(const config::Snapshot& c, std::string_view key) {
  auto p = c.Provenance(key);
  return p && !p->empty() && p->back().kind != config::Origin::Kind::kDefault &&
         p->back().kind != config::Origin::Kind::kNone;
}

}  // namespace

Result<S3StoreOptions> FromConfig(const config::Snapshot& c) {
  const config::S3Settings& s3 = c.s3();
  S3StoreOptions o;
  if (IsSet(c, "s3.endpoint_url")) o.endpoint_url = s3.endpoint_url;
  if (IsSet(c, "s3.region")) o.region = s3.region;
  if (IsSet(c, "s3.addressing_style")) {
    if (s3.addressing_style == "path") {
      o.addressing = AddressingStyle::kPath;
    } else if (s3.addressing_style == "virtual") {
      o.addressing = AddressingStyle::kVirtualHosted;
    } else {
      return Error::InvalidArgument("s3.addressing_style must be path or virtual, not '" + s3.addressing_style + "'");
    }
  }
  o.http.max_connections = s3.max_connections;
  if (IsSet(c, "s3.max_attempts")) o.max_attempts = s3.max_attempts;
  o.http.connect_timeout = s3.connect_timeout;
  o.request_timeout = s3.request_timeout;
  o.http.verify_tls = s3.verify_tls;
  if (!s3.access_key_id.empty()) {
    o.credentials = Credentials{.access_key_id = s3.access_key_id,
                                .secret_access_key = s3.secret_access_key,
                                .session_token = s3.session_token,
                                .source = "configuration (s3.access_key_id)"};
  }
  return o;
}

Result<std::shared_ptr<S3Store>> get_s3_client() {
  static std::mutex mu;
  static std::shared_ptr<S3Store> store;
  std::lock_guard lock(mu);
  if (store) return store;
  S3StoreOptions options;
  if (const char* path = std::getenv("ESPER_CONFIG"); path != nullptr && *path != '\0') {
    ESPER_ASSIGN_OR_RETURN(config::Config * cfg, config::get_config());
    ESPER_ASSIGN_OR_RETURN(options, FromConfig(*cfg->snapshot()));
  }
  ESPER_ASSIGN_OR_RETURN(std::unique_ptr<S3Store> made, S3Store::Create(std::move(options)));
  store = std::move(made);
  return store;
}

}  // namespace esper::s3
