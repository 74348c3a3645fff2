// Splitting an absolute http(s) URL into what SigV4 and S3 addressing need. Internal.
#pragma once

#include <string>
#include <string_view>

#include "esper/core/result.h"
#include "esper/http/url.h"

namespace esper::s3::detail {

struct UrlParts {
  std::string scheme{};            // "http" or "https", lower case
  std::string scheme_authority{};  // "http://host:port" (user info dropped)
  std::string host_header{};       // "host:port", the port left out when it is the scheme's default
  std::string host{};              // "host" ("[::1]" for IPv6), as written
  int port = 0;                    // explicit or the scheme's default
  std::string path{};              // as written, possibly empty
  std::string query{};             // after '?', before '#', as written
};

/// Errors: InvalidArgument when `url` is not an absolute http:// or https:// URL with a host
/// (the message shows the URL redacted).
Result<UrlParts> SplitUrl(std::string_view url);

/// "a=1&b&c=%20" → {{"a","1"},{"b",""},{"c"," "}} (percent-decoded; empty pieces skipped).
http::QueryParams ParseQueryString(std::string_view query);

}  // namespace esper::s3::detail
