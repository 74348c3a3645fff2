#include "headers.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "esper/core/ascii.h"
#include "esper/core/redact.h"

namespace esper::http::detail {

bool IsValidHeaderName(std::string_view name) {
  if (name.empty()) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return IsAsciiAlnum(c) || std::strchr("!#$%&'*+-.^_`|~", c) != nullptr;
  });
}

bool IsValidHeaderValue(std::string_view v) {
  // A plain loop: find_first_of calls memchr once per character of the value.
  return std::none_of(v.begin(), v.end(), [](char c) { return c == '\r' || c == '\n' || c == '\0'; });
}

Status ValidateHeaders(const Headers& headers, std::string_view method, std::string_view redacted_url) {
  for (const auto& [k, v] : headers) {
    if (!IsValidHeaderName(k)) {
      // A mistyped header ("Authorization Bearer X: …") holds its value in the name: not echoed.
      return Error::InvalidArgument(
          fmt::format("{} {}: invalid header name '{}'", method, redacted_url, RedactAfterKey(k)));
    }
    if (!IsValidHeaderValue(v)) {
      return Error::InvalidArgument(fmt::format(
          "{} {}: the value of header '{}' contains CR, LF or NUL", method, redacted_url, k));
    }
  }
  return OkStatus();
}

bool AppendHeaderLine(curl_slist*& list, const std::string& line) {
  curl_slist* n = curl_slist_append(list, line.c_str());
  if (!n) curl_slist_free_all(list);
  list = n;
  return n != nullptr;
}

bool AppendHeader(curl_slist*& list, std::string_view name, std::string_view value) {
  return AppendHeaderLine(list, value.empty() ? fmt::format("{};", name) : fmt::format("{}: {}", name, value));
}

bool AppendBodyLines(curl_slist*& list, bool has_content_type) {
  return AppendHeaderLine(list, "Expect:") && (has_content_type || AppendHeaderLine(list, "Content-Type:"));
}

bool BuildHeaderList(const Headers& sent, bool has_body, curl_slist*& out) {
  curl_slist* list = nullptr;
  bool ok = true;
  for (const auto& [k, v] : sent) ok = ok && AppendHeader(list, k, v);
  if (has_body) ok = ok && AppendBodyLines(list, FindHeader(sent, "Content-Type").has_value());
  out = list;
  return ok;
}

}  // namespace esper::http::detail
