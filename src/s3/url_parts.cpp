#include "s3/url_parts.h"

#include <charconv>

#include "esper/core/ascii.h"

namespace esper::s3::detail {

Result<UrlParts> SplitUrl(std::string_view url) {
  auto bad = [&](std::string_view why) {
    return Error::InvalidArgument("URL '" + http::RedactUrl(url) + "' " + std::string(why));
  };
  const size_t sep = url.find("://");
  if (sep == std::string_view::npos) return bad("is not absolute (want http:// or https://)");
  UrlParts p;
  p.scheme = AsciiLowerCopy(url.substr(0, sep));
  if (p.scheme != "http" && p.scheme != "https") return bad("has a scheme other than http or https");
  std::string_view rest = url.substr(sep + 3);
  const size_t auth_end = std::min(rest.find_first_of("/?#"), rest.size());
  std::string_view authority = rest.substr(0, auth_end);
  if (const size_t at = authority.rfind('@'); at != std::string_view::npos) authority.remove_prefix(at + 1);
  rest.remove_prefix(auth_end);

  // host, optional ":port"; an IPv6 literal is bracketed.
  std::string_view host = authority, port_text;
  const size_t close = authority.find(']');
  const size_t colon = authority.rfind(':');
  if (colon != std::string_view::npos && (close == std::string_view::npos || colon > close)) {
    host = authority.substr(0, colon);
    port_text = authority.substr(colon + 1);
  }
  if (host.empty()) return bad("has no host");
  const int default_port = p.scheme == "https" ? 443 : 80;
  p.port = default_port;
  if (!port_text.empty()) {
    auto [ptr, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), p.port);
    if (ec != std::errc() || ptr != port_text.data() + port_text.size() || p.port <= 0 || p.port > 65535)
      return bad("has an invalid port");
  }
  p.host = std::string(host);
  p.host_header = p.port == default_port ? p.host : p.host + ":" + std::to_string(p.port);
  p.scheme_authority = p.scheme + "://" + std::string(authority);

  const size_t frag = std::min(rest.find('#'), rest.size());
  rest = rest.substr(0, frag);
  const size_t q = rest.find('?');
  p.path = std::string(rest.substr(0, q));
  if (q != std::string_view::npos) p.query = std::string(rest.substr(q + 1));
  return p;
}

http::QueryParams ParseQueryString(std::string_view query) {
  http::QueryParams out;
  while (!query.empty()) {
    const size_t amp = std::min(query.find('&'), query.size());
    const std::string_view piece = query.substr(0, amp);
    query.remove_prefix(std::min(amp + 1, query.size()));
    if (piece.empty()) continue;
    const size_t eq = piece.find('=');
    if (eq == std::string_view::npos) {
      out.emplace_back(http::DecodeQueryComponent(piece), "");
    } else {
      out.emplace_back(http::DecodeQueryComponent(piece.substr(0, eq)), http::DecodeQueryComponent(piece.substr(eq + 1)));
    }
  }
  return out;
}

}  // namespace esper::s3::detail
