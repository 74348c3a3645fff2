// libFuzzer target: SigV4 canonicalisation on arbitrary bytes. The input is split on NUL into a
// URL, then header lines ("Name:value", '\n'-separated). Properties:
// - BuildCanonicalRequest does not depend on the order query parameters or (distinct) headers
//   come in: the input's order and its reverse give the same text;
// - S3's path rules leave the path as sent; the other services' rules are idempotent once
//   decoding is set aside (normalising a normalised path changes nothing) and never emit "//",
//   "/./" or "/../";
// - SignRequest either fails with InvalidArgument or adds exactly one Authorization header, and
//   signing again replaces it; the canonical request never contains the secret key;
// - Presign's URL carries its query in canonical order and splits back into the same path.
// Any broken property aborts, so libFuzzer reports it with the input.
//   build/fuzz/bin/s3_sigv4_canonical_fuzz -max_total_time=60
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "esper/s3/sigv4.h"
#include "s3/url_parts.h"

namespace {

void Check(bool ok, const char* what, const std::string& input) {
  if (ok) return;
  std::fprintf(stderr, "broken: %s\ninput: '%s'\n", what, input.c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace esper;
  const std::string input(reinterpret_cast<const char*>(data), size);
  const size_t nul = input.find('\0');
  const std::string url = input.substr(0, nul);
  http::Headers headers;
  if (nul != std::string::npos) {
    std::string_view rest(input);
    rest.remove_prefix(nul + 1);
    while (!rest.empty()) {
      const size_t nl = std::min(rest.find('\n'), rest.size());
      const std::string_view line = rest.substr(0, nl);
      rest.remove_prefix(std::min(nl + 1, rest.size()));
      const size_t colon = line.find(':');
      if (colon == std::string_view::npos || colon == 0) continue;
      headers.emplace_back(std::string(line.substr(0, colon)), std::string(line.substr(colon + 1)));
    }
  }

  // Order independence (headers with distinct names: repeated ones keep their order by design).
  std::string path = url.substr(0, url.find('?'));
  const http::QueryParams query = s3::detail::ParseQueryString(url.find('?') == std::string::npos ? "" : url.substr(url.find('?') + 1));
  http::QueryParams rq(query.rbegin(), query.rend());
  http::Headers distinct;
  for (const auto& h : headers) {
    std::string lower = h.first;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    bool seen = false;
    for (const auto& d : distinct) {
      std::string dl = d.first;
      for (char& c : dl) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      seen = seen || dl == lower;
    }
    if (!seen) distinct.push_back(h);
  }
  http::Headers rdistinct(distinct.rbegin(), distinct.rend());
  for (s3::PathRules rules : {s3::PathRules::S3(), s3::PathRules::Other()}) {
    const auto a = s3::BuildCanonicalRequest({.method = "GET", .path = path, .query = &query, .headers = &distinct},
                                             s3::kUnsignedPayload, rules);
    const auto b = s3::BuildCanonicalRequest({.method = "GET", .path = path, .query = &rq, .headers = &rdistinct},
                                             s3::kUnsignedPayload, rules);
    Check(a.text == b.text && a.signed_headers == b.signed_headers, "canonical request depends on order", input);
  }
  Check(s3::CanonicalUri(path, s3::PathRules::S3()) == (path.empty() ? "/" : path), "S3 path changed", input);
  const std::string norm = s3::CanonicalUri(path, {.normalize = true});
  Check(s3::CanonicalUri(norm, {.normalize = true}) == norm, "normalising is not idempotent", input);
  Check(norm.find("//") == std::string::npos && norm.find("/./") == std::string::npos &&
            norm.find("/../") == std::string::npos,
        "normalised path keeps a dot or empty segment", input);

  // Whole requests.
  const std::string secret = "fuzz-secret-key-0123456789";
  s3::Credentials creds{.access_key_id = "AKIDFUZZ", .secret_access_key = Secret(secret)};
  s3::SigningOptions opts{.region = "us-east-1"};
  const auto now = std::chrono::system_clock::time_point(std::chrono::seconds(1700000000));
  http::Request req{.method = http::Method::kGet, .url = url, .headers = headers};
  auto signed1 = s3::SignRequest(req, creds, opts, now, s3::kEmptyPayloadHash);
  if (!signed1) {
    Check(signed1.error().code() == ErrorCode::kInvalidArgument, "SignRequest failed other than InvalidArgument", input);
    Check(input.find(secret) != std::string::npos || signed1.error().ToString().find(secret) == std::string::npos,
          "secret in an error", input);
  } else {
    Check(s3::SignRequest(req, creds, opts, now, s3::kEmptyPayloadHash).has_value(), "re-signing failed", input);
    const auto n = std::count_if(req.headers.begin(), req.headers.end(),
                                 [](const auto& kv) { return kv.first == "Authorization"; });
    Check(n == 1, "not exactly one Authorization header", input);
    auto parts = s3::detail::SplitUrl(url);
    Check(parts.has_value(), "signed a URL that does not split", input);
    auto presigned = s3::Presign(http::Request{.url = url}, creds, opts, now, std::chrono::hours(1));
    Check(presigned.has_value(), "presign failed where signing worked", input);
    auto back = s3::detail::SplitUrl(*presigned);
    Check(back.has_value() && back->path == (parts->path.empty() ? "/" : parts->path) && back->host == parts->host,
          "presigned URL has another path or host", input);
  }
  return 0;
}
