// esper/http/url.h — URL helpers: RFC 3986 query encoding, base-URL resolution, redaction.
//
// Query parameters are percent-encoded with the RFC 3986 *unreserved* set left alone
// (A–Z a–z 0–9 - . _ ~); everything else, including space ("%20", never "+"), "/", "+", "=", "&"
// and every byte of a UTF-8 sequence, becomes %XX with upper-case hex. This is the encoding
// AWS SigV4 canonical requests require, so a signed query string and the one sent are identical.
//
// RedactUrl() is what every log line, error message and debug dump of this library prints: the
// library's one redaction rule (esper/core/redact.h): user-info and the values of
// credential-bearing query parameters (X-Amz-Signature, X-Amz-Credential, X-Amz-Security-Token,
// Signature, sig, access_token, token, password, …) become "***".
//
// Thread safety: pure functions. Errors: ResolveUrl/HostKey return InvalidArgument.
//
// Example:
//   esper::http::QueryParams q{{"prefix", "a b/c"}, {"max-keys", "10"}};
//   AppendQuery("http://h/x", q)   // "http://h/x?prefix=a%20b%2Fc&max-keys=10"
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "esper/core/redact.h"
#include "esper/core/result.h"

namespace esper::http {

/// Ordered query parameters (names may repeat; order is kept).
using QueryParams = std::vector<std::pair<std::string, std::string>>;

/// Percent-encodes `s` leaving only the RFC 3986 unreserved characters as they are.
std::string EncodeQueryComponent(std::string_view s);

/// Decodes %XX escapes (and nothing else; '+' stays '+'). Malformed escapes are kept verbatim.
std::string DecodeQueryComponent(std::string_view s);

/// Appends `params` to `url` ("?" or "&" as needed), each name and value encoded.
std::string AppendQuery(std::string url, const QueryParams& params);

/// `url` if it is absolute (has "scheme://"), else `base` + `url` joined with exactly one '/'.
/// Errors: InvalidArgument when `url` is relative and `base` is empty or not absolute.
Result<std::string> ResolveUrl(std::string_view base, std::string_view url);

/// "scheme://host:port" (port made explicit, host lower-cased) — the key of per-host pools,
/// statistics and circuit breakers. Errors: InvalidArgument for a URL curl cannot parse, or a
/// scheme other than http/https.
Result<std::string> HostKey(std::string_view url);

namespace detail {
/// HostKey's two halves, for the test that checks they agree: a hand parse of the common
/// http(s)://name-or-dotted-quad[:port]/… form (nullopt for anything else) and curl's parser.
std::optional<std::string> HostKeyFast(std::string_view url);
Result<std::string> HostKeyByCurl(std::string_view url);
}  // namespace detail

/// The URL with credentials removed: esper::RedactUrl (esper/core/redact.h), here for the callers
/// that know it as http::RedactUrl.
using esper::RedactUrl;

}  // namespace esper::http
