// libFuzzer target: the http part's URL functions on arbitrary bytes, checked against each other
// and against curl's own parser (the one that sends the request):
// - HostKey's hand-written fast path, whenever it answers, agrees with curl's parse
//   (detail::HostKeyByCurl) — a disagreement would pool, count and break a request under the
//   wrong host;
// - a host key names http or https, and appending query parameters never changes it, nor does
//   curl's own rewrite of the URL (what it sends): one host, one key;
// - RedactUrl leaves curl no password (nor a lone user-info) to find but "***", and is idempotent;
// - EncodeQueryComponent / DecodeQueryComponent round-trip every byte string.
// Any broken property aborts, so libFuzzer reports it with the input.
//   build/fuzz/bin/http_url_fuzz -max_total_time=60
#include <curl/curl.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "esper/http/url.h"

namespace {

void Check(bool ok, const char* what, const std::string& input) {
  if (ok) return;
  std::fprintf(stderr, "broken: %s\ninput: '%s'\n", what, input.c_str());
  std::abort();
}

struct UrlDeleter {
  void operator()(CURLU* u) const { curl_url_cleanup(u); }
};

// `part` of `url` as curl's parser gives it ("" when curl cannot parse the URL or has no such
// part): CURLUPART_URL is the URL as curl rewrites it (what it connects to).
std::string CurlPart(const std::string& url, CURLUPart part) {
  std::unique_ptr<CURLU, UrlDeleter> u(curl_url());
  if (!u || curl_url_set(u.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) return "";
  char* p = nullptr;
  if (curl_url_get(u.get(), part, &p, 0) != CURLUE_OK || p == nullptr) return "";
  std::string out(p);
  curl_free(p);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace http = esper::http;
  const std::string in(reinterpret_cast<const char*>(data), size);
  Check(http::DecodeQueryComponent(http::EncodeQueryComponent(in)) == in, "query component round trip", in);
  if (in.find('\0') != std::string::npos) return 0;  // a C string ends there for curl

  if (auto fast = http::detail::HostKeyFast(in)) {
    auto by_curl = http::detail::HostKeyByCurl(in);
    Check(by_curl.has_value(), "HostKeyFast accepted a URL curl rejects", in);
    Check(*by_curl == *fast, "HostKeyFast and curl disagree on the host key", in);
  }
  if (auto key = http::HostKey(in)) {
    Check(key->rfind("http://", 0) == 0 || key->rfind("https://", 0) == 0, "host key scheme", in);
    auto with_query = http::HostKey(http::AppendQuery(in, {{in.substr(0, 16), in.substr(size / 2)}}));
    Check(with_query && *with_query == *key, "appending a query changes the host key", in);
    const std::string normal = CurlPart(in, CURLUPART_URL);
    auto normal_key = http::HostKey(normal);
    Check(!normal.empty() && normal_key && *normal_key == *key, "curl's rewrite of the URL changes the host key", in);
  }

  const std::string red = http::RedactUrl(in);
  Check(http::RedactUrl(red) == red, "RedactUrl is idempotent", in);
  const std::string pw = CurlPart(red, CURLUPART_PASSWORD);
  Check(pw.empty() || pw == "***", "RedactUrl left a password curl finds", in);
  const std::string user = CurlPart(red, CURLUPART_USER);
  Check(!pw.empty() || user.empty() || user == "***", "RedactUrl left a lone user-info (a token) curl finds", in);
  return 0;
}
