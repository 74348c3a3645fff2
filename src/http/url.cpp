#include "esper/http/url.h"

#include <curl/curl.h>
#include <fmt/format.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <string>

#include "esper/core/ascii.h"

namespace esper::http {
namespace {

bool IsUnreserved(unsigned char c) {
  return IsAsciiAlnum(static_cast<char>(c)) || c == '-' || c == '.' || c == '_' || c == '~';
}

struct UrlDeleter {
  void operator()(CURLU* u) const { curl_url_cleanup(u); }
};
struct CurlStr {
  char* p = nullptr;
  ~CurlStr() { curl_free(p); }
};

}  // namespace

std::string EncodeQueryComponent(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size() + s.size() / 4);
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (IsUnreserved(c)) {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xF]);
    }
  }
  return out;
}

std::string DecodeQueryComponent(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      int hi = HexDigitValue(s[i + 1]), lo = HexDigitValue(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

std::string AppendQuery(std::string url, const QueryParams& params) {
  if (params.empty()) return url;
  // A fragment, if any, stays at the end.
  std::string fragment;
  if (size_t hash = url.find('#'); hash != std::string::npos) {
    fragment = url.substr(hash);
    url.resize(hash);
  }
  char sep = url.find('?') == std::string::npos ? '?' : '&';
  if (!url.empty() && (url.back() == '?' || url.back() == '&')) sep = '\0';
  for (const auto& [k, v] : params) {
    if (sep) url.push_back(sep);
    url += EncodeQueryComponent(k);
    url.push_back('=');
    url += EncodeQueryComponent(v);
    sep = '&';
  }
  return url + fragment;
}

Result<std::string> ResolveUrl(std::string_view base, std::string_view url) {
  if (url.find("://") != std::string_view::npos) return std::string(url);
  if (base.empty()) {
    return Error::InvalidArgument(fmt::format(
        "URL '{}' is relative and the client has no base_url", RedactUrl(url)));
  }
  if (base.find("://") == std::string_view::npos) {
    return Error::InvalidArgument(fmt::format("base_url '{}' is not absolute (scheme://host)", RedactUrl(base)));
  }
  std::string out(base);
  if (url.empty()) return out;
  bool base_slash = !out.empty() && out.back() == '/';
  bool url_slash = url.front() == '/';
  if (url.front() == '?') {
    out.append(url);
  } else if (base_slash && url_slash) {
    out.append(url.substr(1));
  } else if (!base_slash && !url_slash) {
    out.push_back('/');
    out.append(url);
  } else {
    out.append(url);
  }
  return out;
}

namespace detail {

std::optional<std::string> HostKeyFast(std::string_view url) {
  std::string_view scheme;
  size_t i;
  if (url.size() >= 7 && EqualsIgnoreCase(url.substr(0, 7), "http://")) {
    scheme = "http";
    i = 7;
  } else if (url.size() >= 8 && EqualsIgnoreCase(url.substr(0, 8), "https://")) {
    scheme = "https";
    i = 8;
  } else {
    return std::nullopt;
  }
  // curl rejects spaces and control characters; leave those (and non-ASCII) to it.
  size_t end = url.size();
  for (size_t k = 0; k < url.size(); ++k) {
    auto c = static_cast<unsigned char>(url[k]);
    if (c <= 0x20 || c >= 0x7F) return std::nullopt;
    if (k >= i && end == url.size() && (c == '/' || c == '?' || c == '#')) end = k;
  }
  std::string_view authority = url.substr(i, end - i);
  size_t colon = authority.find(':');
  std::string_view host = authority.substr(0, colon);
  // A plain name (letters, digits, '-', '.'): no userinfo, IPv6, %-escapes or '_'.
  if (host.empty() || host.front() == '.' || host.back() == '.') return std::nullopt;
  for (char c : host)
    if (!IsAsciiAlnum(c) && c != '-' && c != '.') return std::nullopt;
  // curl rewrites numeric hosts ("127.1", "0x7f.1", "2130706433") as dotted quads: unless the host
  // is already a canonical dotted quad, a last label starting with a digit goes to curl.
  std::string_view last = host.substr(host.rfind('.') + 1);
  if (IsAsciiDigit(last.front())) {
    int parts = 0;
    for (size_t p = 0; p <= host.size();) {
      size_t q = std::min(host.find('.', p), host.size());
      std::string_view part = host.substr(p, q - p);
      if (part.empty() || part.size() > 3 || (part.size() > 1 && part[0] == '0')) return std::nullopt;
      int v = 0;
      for (char c : part) {
        if (!IsAsciiDigit(c)) return std::nullopt;
        v = v * 10 + (c - '0');
      }
      if (v > 255) return std::nullopt;
      ++parts;
      p = q + 1;
    }
    if (parts != 4) return std::nullopt;
  }
  unsigned port = scheme == "http" ? 80 : 443;
  if (colon != std::string_view::npos) {
    std::string_view digits = authority.substr(colon + 1);
    if (digits.empty() || digits.size() > 5) return std::nullopt;
    port = 0;
    for (char c : digits) {
      if (!IsAsciiDigit(c)) return std::nullopt;
      port = port * 10 + static_cast<unsigned>(c - '0');
    }
    if (port == 0 || port > 65535) return std::nullopt;
  }
  fmt::format_int port_text(port);
  std::string key;
  key.reserve(scheme.size() + 3 + host.size() + 1 + port_text.size());
  key.append(scheme).append("://");
  size_t h = key.size();
  key.append(host).push_back(':');
  for (size_t k = h; k < key.size(); ++k) key[k] = AsciiLower(key[k]);
  key.append(port_text.data(), port_text.size());
  return key;
}

Result<std::string> HostKeyByCurl(std::string_view url) {
  std::unique_ptr<CURLU, UrlDeleter> u(curl_url());
  if (!u) return Error::ResourceExhausted("curl_url: out of memory");
  std::string s(url);
  CURLUcode rc = curl_url_set(u.get(), CURLUPART_URL, s.c_str(), 0);
  if (rc != CURLUE_OK) {
    return Error::InvalidArgument(
        fmt::format("malformed URL '{}': {}", RedactUrl(url), curl_url_strerror(rc)));
  }
  CurlStr scheme, host, port;
  if (curl_url_get(u.get(), CURLUPART_SCHEME, &scheme.p, 0) != CURLUE_OK ||
      curl_url_get(u.get(), CURLUPART_HOST, &host.p, 0) != CURLUE_OK) {
    return Error::InvalidArgument(fmt::format("URL '{}' has no host", RedactUrl(url)));
  }
  std::string sch(scheme.p);
  std::transform(sch.begin(), sch.end(), sch.begin(), AsciiLower);
  if (sch != "http" && sch != "https") {
    return Error::InvalidArgument(
        fmt::format("URL '{}': scheme '{}' is not supported (http or https)", RedactUrl(url), sch));
  }
  if (curl_url_get(u.get(), CURLUPART_PORT, &port.p, CURLU_DEFAULT_PORT) != CURLUE_OK) {
    return Error::InvalidArgument(fmt::format("URL '{}' has no port", RedactUrl(url)));
  }
  std::string h(host.p);
  std::transform(h.begin(), h.end(), h.begin(), AsciiLower);
  // curl rewrites a numeric IPv4 host ("1", "0x7f.1") as a dotted quad before it decodes
  // %-escapes, so "http://%31/" keeps "1" where "http://1/" gets "0.0.0.1" — and both connect
  // to 0.0.0.1. One host must have one key (pool, statistics, breaker): parse the decoded host
  // once more (the same handle: scheme and port are already read) when it could be such a number.
  auto numeric = [](char c) { return IsAsciiDigit(c) || (c >= 'a' && c <= 'f') || c == 'x' || c == '.'; };
  if (!h.empty() && std::all_of(h.begin(), h.end(), numeric)) {
    CurlStr normal;
    if (curl_url_set(u.get(), CURLUPART_URL, ("http://" + h + "/").c_str(), 0) == CURLUE_OK &&
        curl_url_get(u.get(), CURLUPART_HOST, &normal.p, 0) == CURLUE_OK) {
      h = normal.p;
    }
  }
  return fmt::format("{}://{}:{}", sch, h, port.p);
}

}  // namespace detail

Result<std::string> HostKey(std::string_view url) {
  // curl's URL parser costs about a tenth of a small request's CPU; most URLs are simple.
  if (auto key = detail::HostKeyFast(url)) return *std::move(key);
  return detail::HostKeyByCurl(url);
}

}  // namespace esper::http
