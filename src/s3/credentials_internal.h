// Helpers shared by the credential providers' sources. Internal.
#pragma once

#include <string>

#include "esper/s3/credentials.h"

namespace esper::s3::detail {

/// The options' environment, or the process's.
Environment EnvOf(const ProviderOptions& o);
/// The error of a provider whose source is not configured (NotFound: the chain moves on).
Error NotConfigured(std::string what);

}  // namespace esper::s3::detail
