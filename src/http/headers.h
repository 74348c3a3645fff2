// Private: header validation and the curl header list of a request.
#pragma once

#include <curl/curl.h>

#include <string>
#include <string_view>

#include "esper/core/result.h"
#include "esper/http/request.h"

namespace esper::http::detail {

/// RFC 9110 token characters, at least one.
bool IsValidHeaderName(std::string_view name);
/// No CR, LF or NUL (no header injection).
bool IsValidHeaderValue(std::string_view value);
/// Every name and value of `headers` valid; otherwise InvalidArgument "<method> <url>: …".
Status ValidateHeaders(const Headers& headers, std::string_view method, std::string_view redacted_url);

/// Appends `name: value` to `list` (curl: "Name;" sends an empty header, "Name:" would remove it).
/// Out of memory: frees the list, leaves it null and returns false (appending to a null list
/// after that would only start a new one; callers stop at the first false).
bool AppendHeader(curl_slist*& list, std::string_view name, std::string_view value);
/// Appends a raw line ("Expect:"), with AppendHeader's out-of-memory rule.
bool AppendHeaderLine(curl_slist*& list, const std::string& line);
/// The lines a request with a body adds after its headers: no "Expect: 100-continue" round trip,
/// and no made-up form Content-Type when it has none of its own.
bool AppendBodyLines(curl_slist*& list, bool has_content_type);

/// The header list of `sent` (every field the attempt sends, in order) for a request with or
/// without a body. `out` may be null (nothing to send). false: out of memory (nothing allocated).
bool BuildHeaderList(const Headers& sent, bool has_body, curl_slist*& out);

}  // namespace esper::http::detail
