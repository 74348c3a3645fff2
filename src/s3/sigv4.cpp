#include "esper/s3/sigv4.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <algorithm>
#include <array>
#include <ctime>
#include <vector>

#include "esper/core/ascii.h"
#include "esper/http/url.h"
#include "esper/s3/checksum.h"
#include "esper/s3/uri.h"
#include "s3/sigv4_internal.h"
#include "s3/url_parts.h"

namespace esper::s3 {
namespace {


constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";

// HMAC-SHA256 through OpenSSL 3's EVP_MAC, fetched once. The one-shot HMAC() fetches the MAC and
// its digest again on every call, which was half of what signing a small request cost. Each
// thread keeps a context keyed with the last key it used: the day's signing key, so every
// signature after the first re-initialises the context without setting the key again.
std::string Hmac(std::string_view key, std::string_view data) {
  static EVP_MAC* const mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  struct Keyed {
    EVP_MAC_CTX* ctx = nullptr;
    Secret key;  // wiped when the thread ends
    ~Keyed() { EVP_MAC_CTX_free(ctx); }
  };
  thread_local Keyed keyed;
  if (keyed.ctx == nullptr) keyed.ctx = EVP_MAC_CTX_new(mac);
  const auto* k = reinterpret_cast<const unsigned char*>(key.data());
  if (keyed.key.reveal() == key && !key.empty()) {
    EVP_MAC_init(keyed.ctx, nullptr, 0, nullptr);  // the same key: start over
  } else {
    char digest[] = "SHA256";
    const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("digest", digest, 0), OSSL_PARAM_construct_end()};
    EVP_MAC_init(keyed.ctx, k, key.size(), params);
    keyed.key = Secret(std::string(key));
  }
  EVP_MAC_update(keyed.ctx, reinterpret_cast<const unsigned char*>(data.data()), data.size());
  std::array<unsigned char, EVP_MAX_MD_SIZE> out{};
  size_t len = 0;
  EVP_MAC_final(keyed.ctx, out.data(), &len, out.size());
  return std::string(reinterpret_cast<const char*>(out.data()), len);
}

// Trim, and make every run of spaces, tabs and line breaks one space (SigV4's "Trimall").
void AppendTrimmed(std::string& out, std::string_view v) {
  auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  bool pending_space = false, any = false;
  for (char c : v) {
    if (is_space(c)) {
      pending_space = any;
      continue;
    }
    if (pending_space) out.push_back(' ');
    pending_space = false;
    any = true;
    out.push_back(c);
  }
}

// RFC 3986 section 5.2.4 plus empty segments dropped; a path whose last segment is "", "." or
// ".." keeps a trailing slash.
std::string NormalizePath(std::string_view path) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i <= path.size()) {
    size_t j = std::min(path.find('/', i), path.size());
    const std::string_view seg = path.substr(i, j - i);
    if (seg == "..") {
      if (!out.empty()) out.pop_back();
    } else if (!seg.empty() && seg != ".") {
      out.push_back(seg);
    }
    i = j + 1;
  }
  const std::string_view last = path.substr(path.rfind('/') == std::string_view::npos ? 0 : path.rfind('/') + 1);
  std::string r = "/";
  for (size_t k = 0; k < out.size(); ++k) {
    if (k) r.push_back('/');
    r.append(out[k]);
  }
  if (!out.empty() && (last.empty() || last == "." || last == "..")) r.push_back('/');
  return r;
}

// A header the transport or a proxy may add or change: never signed.
bool IsUnsignable(std::string_view name) {
  static constexpr std::string_view kSkip[] = {"authorization", "user-agent",  "expect",
                                               "connection",    "transfer-encoding", "te",
                                               "upgrade",       "keep-alive",  "proxy-authorization",
                                               "x-amzn-trace-id"};
  return std::any_of(std::begin(kSkip), std::end(kSkip), [&](std::string_view s) { return EqualsIgnoreCase(s, name); });
}

void EraseHeader(http::Headers& h, std::string_view name) {
  std::erase_if(h, [&](const auto& kv) { return EqualsIgnoreCase(kv.first, name); });
}

Status CheckInputs(const Credentials& c, const SigningOptions& o) {
  if (c.access_key_id.empty()) return Error::InvalidArgument("SigV4: the credentials have no access key id");
  if (c.secret_access_key.empty())
    return Error::InvalidArgument("SigV4: the credentials (" + c.access_key_id + ") have no secret access key");
  if (o.region.empty()) return Error::InvalidArgument("SigV4: no region to sign for");
  if (o.service.empty()) return Error::InvalidArgument("SigV4: no service to sign for");
  return OkStatus();
}

// What a request's URL contributes: the Host header value, the path as sent, and its query
// parameters (the URL's own, decoded, then request.query).
struct Target {
  detail::UrlParts url;
  http::QueryParams query;
};

Result<Target> ResolveTarget(std::string_view url, const http::QueryParams& extra_query) {
  ESPER_ASSIGN_OR_RETURN(detail::UrlParts parts, detail::SplitUrl(url));
  Target t{.url = std::move(parts)};
  if (!t.url.query.empty()) t.query = detail::ParseQueryString(t.url.query);
  t.query.insert(t.query.end(), extra_query.begin(), extra_query.end());
  return t;
}
Result<Target> ResolveTarget(const http::Request& request) { return ResolveTarget(request.url, request.query); }

// The canonical request of `parts`; with `signable_only`, the header fields IsUnsignable names
// are left out (SignRequest: no copy of the fields to sign).
CanonicalRequest Canonical(const CanonicalParts& parts, std::string_view payload_hash, PathRules rules,
                           bool signable_only);

}  // namespace

std::string CanonicalUri(std::string_view path, PathRules rules) {
  std::string p = rules.normalize ? NormalizePath(path) : std::string(path.empty() ? "/" : path);
  // Encoding a path is encoding a key: everything but the unreserved set and '/'.
  return rules.encode ? EncodeKey(p) : p;
}

std::string CanonicalQuery(const http::QueryParams& query) {
  std::vector<std::pair<std::string, std::string>> enc;
  enc.reserve(query.size());
  for (const auto& [k, v] : query) enc.emplace_back(http::EncodeQueryComponent(k), http::EncodeQueryComponent(v));
  std::sort(enc.begin(), enc.end());
  std::string out;
  for (const auto& [k, v] : enc) {
    if (!out.empty()) out.push_back('&');
    out.append(k).push_back('=');
    out.append(v);
  }
  return out;
}

CanonicalRequest BuildCanonicalRequest(const CanonicalParts& parts, std::string_view payload_hash, PathRules rules) {
  return Canonical(parts, payload_hash, rules, false);
}

namespace {

CanonicalRequest Canonical(const CanonicalParts& parts, std::string_view payload_hash, PathRules rules,
                           bool signable_only) {
  // Lower-cased names, sorted stably so repeated headers keep their order.
  std::vector<std::pair<std::string, std::string_view>> headers;
  if (parts.headers) {
    headers.reserve(parts.headers->size());
    for (const auto& [k, v] : *parts.headers) {
      if (!signable_only || !IsUnsignable(k)) headers.emplace_back(AsciiLowerCopy(k), v);
    }
  }
  std::stable_sort(headers.begin(), headers.end(), [](const auto& a, const auto& b) { return a.first < b.first; });

  CanonicalRequest cr;
  std::string& t = cr.text;
  t.reserve(256);
  t.append(parts.method).push_back('\n');
  t.append(CanonicalUri(parts.path, rules)).push_back('\n');
  t.append(parts.query ? CanonicalQuery(*parts.query) : std::string()).push_back('\n');
  for (size_t i = 0; i < headers.size(); ++i) {
    const bool repeat = i > 0 && headers[i].first == headers[i - 1].first;
    if (repeat) {
      t.push_back(',');
    } else {
      if (i > 0) t.push_back('\n');
      t.append(headers[i].first).push_back(':');
      if (!cr.signed_headers.empty()) cr.signed_headers.push_back(';');
      cr.signed_headers.append(headers[i].first);
    }
    AppendTrimmed(t, headers[i].second);
  }
  if (!headers.empty()) t.push_back('\n');
  t.push_back('\n');
  t.append(cr.signed_headers).push_back('\n');
  t.append(payload_hash);
  return cr;
}

// AmzDate for the signatures of one second: formatted once per second per thread.
const std::string& AmzDateCached(std::chrono::system_clock::time_point t) {
  thread_local std::time_t last_secs = -1;
  thread_local std::string last;
  const std::time_t secs = std::chrono::system_clock::to_time_t(t);
  if (secs != last_secs) {
    last = AmzDate(t);
    last_secs = secs;
  }
  return last;
}

}  // namespace

std::string AmzDate(std::chrono::system_clock::time_point t) {
  const std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[20];
  const size_t n = std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return std::string(buf, n);
}

std::string CredentialScope(std::string_view amz_date, std::string_view region, std::string_view service) {
  std::string s(amz_date.substr(0, 8));
  s.append("/").append(region).append("/").append(service).append("/aws4_request");
  return s;
}

std::string StringToSign(std::string_view amz_date, std::string_view scope, std::string_view canonical_request) {
  std::string s(kAlgorithm);
  s.append("\n").append(amz_date).append("\n").append(scope).append("\n").append(Sha256Hex(canonical_request));
  return s;
}

Secret DeriveSigningKey(const Secret& secret_access_key, std::string_view amz_date, std::string_view region,
                        std::string_view service) {
  Secret k(Hmac("AWS4" + secret_access_key.reveal(), amz_date.substr(0, 8)));
  k = Secret(Hmac(k.reveal(), region));
  k = Secret(Hmac(k.reveal(), service));
  return Secret(Hmac(k.reveal(), "aws4_request"));
}

std::string Signature(const Secret& signing_key, std::string_view string_to_sign) {
  return Hex(Hmac(signing_key.reveal(), string_to_sign));
}

namespace {

// The signing key changes once a day per secret, region and service; deriving it is four HMACs,
// the larger part of signing a small request. Each thread keeps the last one it derived.
Secret CachedSigningKey(const Secret& secret, std::string_view amz_date, std::string_view region,
                        std::string_view service) {
  struct Entry {
    Secret secret, key;
    std::string date, region, service;
  };
  thread_local Entry last;
  const std::string_view date = amz_date.substr(0, 8);
  if (last.key.empty() || last.date != date || last.region != region || last.service != service ||
      !(last.secret == secret)) {
    last = Entry{secret, DeriveSigningKey(secret, amz_date, region, service), std::string(date), std::string(region),
                 std::string(service)};
  }
  return last.key;
}

}  // namespace

Status SignRequest(http::Request& request, const Credentials& credentials, const SigningOptions& options,
                   std::chrono::system_clock::time_point now, std::string_view payload_hash) {
  return detail::SignHeaders(request.method, request.url, request.query, request.headers, credentials, options, now,
                             payload_hash);
}

Status detail::SignHeaders(http::Method method, std::string_view url, const http::QueryParams& extra_query,
                           http::Headers& h, const Credentials& credentials, const SigningOptions& options,
                           std::chrono::system_clock::time_point now, std::string_view payload_hash) {
  ESPER_RETURN_IF_ERROR(CheckInputs(credentials, options));
  ESPER_ASSIGN_OR_RETURN(Target target, ResolveTarget(url, extra_query));
  const std::string& amz_date = AmzDateCached(now);
  const bool token = !credentials.session_token.empty();

  for (std::string_view name : {"Authorization", "Host", "X-Amz-Date", "X-Amz-Security-Token"}) EraseHeader(h, name);
  if (options.content_sha256_header) EraseHeader(h, "X-Amz-Content-Sha256");
  h.emplace_back("Host", target.url.host_header);
  h.emplace_back("X-Amz-Date", amz_date);
  if (options.content_sha256_header) h.emplace_back("X-Amz-Content-Sha256", std::string(payload_hash));
  if (token && options.sign_session_token) h.emplace_back("X-Amz-Security-Token", credentials.session_token.reveal());

  const CanonicalRequest cr = Canonical(
      {.method = http::MethodName(method), .path = target.url.path, .query = &target.query, .headers = &h},
      payload_hash, options.path, /*signable_only=*/true);
  const std::string scope = CredentialScope(amz_date, options.region, options.service);
  const std::string signature =
      Signature(CachedSigningKey(credentials.secret_access_key, amz_date, options.region, options.service),
                StringToSign(amz_date, scope, cr.text));

  std::string auth(kAlgorithm);
  auth.append(" Credential=").append(credentials.access_key_id).append("/").append(scope);
  auth.append(", SignedHeaders=").append(cr.signed_headers);
  auth.append(", Signature=").append(signature);
  h.emplace_back("Authorization", std::move(auth));
  if (token && !options.sign_session_token) h.emplace_back("X-Amz-Security-Token", credentials.session_token.reveal());
  return OkStatus();
}

Result<std::string> Presign(const http::Request& request, const Credentials& credentials,
                            const SigningOptions& options, std::chrono::system_clock::time_point now,
                            std::chrono::seconds expires, std::string_view payload_hash) {
  ESPER_RETURN_IF_ERROR(CheckInputs(credentials, options));
  if (expires < std::chrono::seconds(1) || expires > kMaxPresignExpiry)
    return Error::InvalidArgument("presign: the expiry must be between 1 second and 7 days (604800 s), not " +
                                  std::to_string(expires.count()) + " s");
  ESPER_ASSIGN_OR_RETURN(Target target, ResolveTarget(request));
  const std::string amz_date = AmzDate(now);
  const std::string scope = CredentialScope(amz_date, options.region, options.service);

  http::Headers to_sign{{"Host", target.url.host_header}};
  for (const auto& kv : request.headers)
    if (!IsUnsignable(kv.first) && !EqualsIgnoreCase(kv.first, "Host")) to_sign.push_back(kv);
  // The SignedHeaders value is needed in the query before the canonical request is built.
  const std::string signed_headers = BuildCanonicalRequest({.headers = &to_sign}, "").signed_headers;

  http::QueryParams& q = target.query;
  q.emplace_back("X-Amz-Algorithm", std::string(kAlgorithm));
  q.emplace_back("X-Amz-Credential", credentials.access_key_id + "/" + scope);
  q.emplace_back("X-Amz-Date", amz_date);
  q.emplace_back("X-Amz-Expires", std::to_string(expires.count()));
  q.emplace_back("X-Amz-SignedHeaders", signed_headers);
  const bool token = !credentials.session_token.empty();
  if (token && options.sign_session_token) q.emplace_back("X-Amz-Security-Token", credentials.session_token.reveal());

  const CanonicalRequest cr = BuildCanonicalRequest(
      {.method = http::MethodName(request.method), .path = target.url.path, .query = &q, .headers = &to_sign},
      payload_hash, options.path);
  const std::string signature =
      Signature(CachedSigningKey(credentials.secret_access_key, amz_date, options.region, options.service),
                StringToSign(amz_date, scope, cr.text));

  std::string url = target.url.scheme_authority;
  url.append(target.url.path.empty() ? "/" : target.url.path);
  url.push_back('?');
  url.append(CanonicalQuery(q));
  if (token && !options.sign_session_token)
    url.append("&X-Amz-Security-Token=").append(http::EncodeQueryComponent(credentials.session_token.reveal()));
  url.append("&X-Amz-Signature=").append(signature);
  return url;
}

}  // namespace esper::s3
