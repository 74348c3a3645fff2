// libFuzzer target: parse_s3_uri, bucket and key rules, key encoding and addressing on arbitrary
// bytes. Properties: parse_s3_uri succeeds only with a bucket that ValidateBucketName accepts and
// gives back "s3://" + bucket + "/" + key; EncodeKey's output is only unreserved characters, '/'
// and %XX, and decodes back to the key; a URL from Addressing splits back to the same host.
//   build/fuzz/bin/s3_uri_fuzz -max_total_time=60
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "esper/http/url.h"
#include "esper/s3/uri.h"
#include "s3/url_parts.h"

namespace {

void Check(bool ok, const char* what, const std::string& input) {
  if (ok) return;
  std::fprintf(stderr, "broken: %s\ninput: '%s'\n", what, input.c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace esper::s3;
  const std::string input(reinterpret_cast<const char*>(data), size);
  if (auto u = parse_s3_uri(input)) {
    Check(ValidateBucketName(u->bucket).has_value(), "accepted an invalid bucket", input);
    const std::string back = "s3://" + u->bucket + (u->key.empty() ? "" : "/" + u->key);
    Check(input.substr(5) == back.substr(5) || input.substr(5) == back.substr(5) + "/", "round trip", input);
  }
  const std::string enc = EncodeKey(input);
  for (size_t i = 0; i < enc.size(); ++i) {
    const char c = enc[i];
    const bool plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
                       c == '.' || c == '_' || c == '~' || c == '/';
    Check(plain || c == '%', "unexpected character in an encoded key", input);
    if (c == '%') i += 2;
  }
  Check(esper::http::DecodeQueryComponent(enc) == input, "encoded key does not decode back", input);
  auto a = Addressing::Create({.endpoint_url = "http://127.0.0.1:9000", .region = "us-east-1"});
  auto v = Addressing::Create({.region = "us-east-1"});
  const std::string bucket = input.substr(0, input.find('/'));
  for (const auto* addr : {&*a, &*v}) {
    const std::string url = addr->ObjectUrl(bucket, input);
    auto parts = esper::s3::detail::SplitUrl(url);
    if (addr->UsesPathStyle(bucket)) {
      Check(parts.has_value(), "path-style URL does not split", input);
      Check(parts->host_header == (addr == &*a ? "127.0.0.1:9000" : "s3.us-east-1.amazonaws.com"), "host changed", input);
    }
  }
  return 0;
}
