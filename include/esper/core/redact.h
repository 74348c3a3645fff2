// esper/core/redact.h — the one rule for what is a secret, for the whole library.
//
// Secrets (keys, tokens, passwords, Authorization, signatures) never reach a log line, an error
// message, a config dump or CLI output. Every part decides what is secret with these functions,
// so a name is treated the same by the config loader, the http client's verbose log, `esper http
// -v`, `esper config` and S3:
//
//  * A key name (a config key or dotted path, a log field key, a header or query parameter name)
//    is split into words — at every byte that is not an ASCII letter or digit, at camelCase
//    humps ("apiKey", "AWSAccessKey" -> aws access key) and between letters and digits — and
//    compared word by word, ignoring case. It names a secret when a word is one of
//      password passwords passwd passphrase secret secrets token signature credential credentials
//      authorization cookie cookies apikey privatekey
//    or ends in password, passwd, secret or token ("dbpassword", "accesstoken"), or when "key"
//    follows api, private, signing or encryption ("x-api-key", "private_key", "privateKey",
//    "signingKey"). Words, not substrings: "tokenizer_path", "max_tokens", "keyboard",
//    "passthrough" and "access_key_id" are not secret. `IsSecretKey`.
//  * A header's value is secret when its name is a secret key name (Authorization,
//    Proxy-Authorization, Cookie, Set-Cookie, X-Amz-Security-Token, X-Api-Key, X-Auth-Token, …)
//    or it is one of the SSE-C key headers (X-Amz-Server-Side-Encryption-Customer-Key and its
//    copy-source twin). `IsSecretHeader`, `RedactHeaderValue`.
//  * A query parameter's value is secret when its (percent-decoded) name is a secret key name
//    (X-Amz-Signature, X-Amz-Credential, X-Amz-Security-Token, Signature, token, access_token,
//    password, api_key, …) or is "sig" (Azure SAS). `IsSecretQueryParam`, `RedactQuery`.
//  * A URL's user-info is secret: "user:password@" becomes "user:***@", and a lone "name@" becomes
//    "***@" (a token or, in redis://, the password). `RedactUrl` also redacts the query.
//
// Redacted text is always "***" (kRedacted, as esper::Secret prints), never a shortened or
// hashed form: nothing about the secret, not even its length, is shown.
//
// Thread safety: pure functions. Cost: IsSecretKey reads the name once, no allocation.
//
// Example:
//   fmt::print("> {}: {}\n", name, esper::RedactHeaderValue(name, value));
//   fmt::print("GET {}\n", esper::RedactUrl("https://u:pw@h/k?X-Amz-Signature=ab"));
//                                           // "https://u:***@h/k?X-Amz-Signature=***"
//   if (esper::IsSecretKey("training.wandb_api_key")) ...   // true
#pragma once

#include <string>
#include <string_view>

namespace esper {

/// What every redacted value is replaced with (the same text as Secret::kRedacted).
inline constexpr std::string_view kRedacted = "***";

/// True when a value under the key `name` is a secret (see the file comment). `name` may be a
/// dotted path ("database.password"): any of its words can make it secret.
bool IsSecretKey(std::string_view name);

/// True when the value of the HTTP header `name` is a credential.
bool IsSecretHeader(std::string_view name);

/// True when the value of the query parameter `name` (as written in the URL, %XX allowed) is a
/// credential.
bool IsSecretQueryParam(std::string_view name);

/// The header value as it may be shown: "***" when the header is secret, else `value` itself.
std::string_view RedactHeaderValue(std::string_view name, std::string_view value);

/// A query string (without the '?': "a=1&token=t") with every secret parameter's value replaced:
/// "a=1&token=***". A value ends at '&', '#' or a space (a query inside a log line:
/// "GET /k?sig=abc HTTP/1.1" keeps " HTTP/1.1").
std::string RedactQuery(std::string_view query);

/// `url` with its user-info and secret query values replaced (see the file comment). Never fails;
/// text that is not a URL has any "user:password@" before its first '/' redacted all the same.
/// The authority starts after "scheme:" and the one to three slashes curl accepts there.
std::string RedactUrl(std::string_view url);

/// True when RedactUrl(url) differs from `url`: the URL carries a credential.
bool UrlHasCredentials(std::string_view url);

/// What may be echoed of a malformed "key=value" or "Name: value" argument (a `--set` without
/// '=', an `-H` without ':'): its leading name (letters, digits, '_', '-', '.', '[', ']') and the
/// separator after it, the rest as "***" — "database.password:***", "Authorization ***". The
/// value of a mistyped argument may be a secret, so it is never shown.
std::string RedactAfterKey(std::string_view argument);

}  // namespace esper
