// SigV4 header signing without an http::Request to hold the URL and headers: what SignRequest
// does, for a caller (S3Store's attempt hook) that has them apart. Internal.
#pragma once

#include <chrono>
#include <string_view>

#include "esper/core/result.h"
#include "esper/http/request.h"
#include "esper/s3/credentials.h"
#include "esper/s3/sigv4.h"

namespace esper::s3::detail {

/// SignRequest for a request of `method` to `url` (its query and `extra_query`) whose header
/// fields are `headers`: the same fields set, the same errors.
Status SignHeaders(http::Method method, std::string_view url, const http::QueryParams& extra_query,
                   http::Headers& headers, const Credentials& credentials, const SigningOptions& options,
                   std::chrono::system_clock::time_point now, std::string_view payload_hash);

}  // namespace esper::s3::detail
