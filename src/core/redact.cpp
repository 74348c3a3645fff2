#include "esper/core/redact.h"

#include <algorithm>
#include <array>

#include "esper/core/ascii.h"

namespace esper {
namespace {

constexpr std::array<std::string_view, 15> kSecretWords = {
    "password", "passwords",  "passwd",      "passphrase",    "secret", "secrets", "token",     "signature",
    "credential", "credentials", "authorization", "cookie", "cookies", "apikey", "privatekey"};
// A word ending in one of these is secret too ("dbpassword", "accesstoken", "clientsecret").
constexpr std::array<std::string_view, 4> kSecretSuffixes = {"password", "passwd", "secret", "token"};
// "<word> key" is secret for these words ("api_key", "x-api-key", "privateKey").
constexpr std::array<std::string_view, 4> kKeyQualifiers = {"api", "private", "signing", "encryption"};
// Headers whose names do not say what they hold: the SSE-C keys.
constexpr std::array<std::string_view, 2> kSecretHeaders = {
    "x-amz-server-side-encryption-customer-key", "x-amz-copy-source-server-side-encryption-customer-key"};

bool OneOf(std::string_view word, const auto& list) {
  return std::any_of(list.begin(), list.end(), [&](std::string_view w) { return EqualsIgnoreCase(word, w); });
}
bool EndsInOneOf(std::string_view word, const auto& list) {
  return std::any_of(list.begin(), list.end(), [&](std::string_view w) {
    return word.size() > w.size() && EqualsIgnoreCase(word.substr(word.size() - w.size()), w);
  });
}

// Calls fn(word) for each word of `name` (see the file comment of redact.h) until it returns true.
template <class Fn>
bool AnyWord(std::string_view name, Fn fn) {
  const size_t n = name.size();
  size_t i = 0;
  while (i < n) {
    if (!IsAsciiAlnum(name[i])) {
      ++i;
      continue;
    }
    const size_t start = i;
    if (IsAsciiDigit(name[i])) {
      while (i < n && IsAsciiDigit(name[i])) ++i;
    } else if (IsAsciiUpper(name[i]) && i + 1 < n && IsAsciiUpper(name[i + 1])) {
      // An acronym: "AWSAccess" is "AWS" + "Access", "API" and "PASSWORD" are one word each.
      while (i < n && IsAsciiUpper(name[i])) ++i;
      if (i < n && IsAsciiLower(name[i])) --i;  // that capital starts the next word (the run is >= 2)
    } else {
      ++i;  // "apiKey": a capital starts a word, lower-case letters continue it
      while (i < n && IsAsciiLower(name[i])) ++i;
    }
    if (fn(name.substr(start, i - start))) return true;
  }
  return false;
}

}  // namespace

bool IsSecretKey(std::string_view name) {
  bool after_qualifier = false;
  return AnyWord(name, [&](std::string_view w) {
    if (OneOf(w, kSecretWords) || EndsInOneOf(w, kSecretSuffixes)) return true;
    if (after_qualifier && EqualsIgnoreCase(w, "key")) return true;
    after_qualifier = OneOf(w, kKeyQualifiers);
    return false;
  });
}

bool IsSecretHeader(std::string_view name) { return IsSecretKey(name) || OneOf(name, kSecretHeaders); }

bool IsSecretQueryParam(std::string_view name) {
  std::string decoded;  // %XX decoded, only where one was written: the common case copies nothing
  if (name.find('%') != std::string_view::npos) {
    for (size_t i = 0; i < name.size(); ++i) {
      int hi = name[i] == '%' && i + 2 < name.size() ? HexDigitValue(name[i + 1]) : -1;
      int lo = hi >= 0 ? HexDigitValue(name[i + 2]) : -1;
      if (lo >= 0) {
        decoded.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
      } else {
        decoded.push_back(name[i]);
      }
    }
    name = decoded;
  }
  return IsSecretKey(name) || EqualsIgnoreCase(name, "sig");
}

std::string_view RedactHeaderValue(std::string_view name, std::string_view value) {
  return IsSecretHeader(name) ? kRedacted : value;
}

std::string RedactQuery(std::string_view query) {
  std::string out;
  out.reserve(query.size());
  std::string_view fragment;
  if (size_t hash = query.find('#'); hash != std::string_view::npos) {
    fragment = query.substr(hash);
    query = query.substr(0, hash);
  }
  while (true) {
    size_t amp = query.find('&');
    std::string_view param = query.substr(0, amp);
    size_t eq = param.find('=');
    if (eq != std::string_view::npos && IsSecretQueryParam(param.substr(0, eq))) {
      out.append(param.substr(0, eq + 1));
      out.append(kRedacted);
      // A log line ("GET /k?sig=… HTTP/1.1"): the value ends at a space.
      if (size_t sp = param.find(' ', eq); sp != std::string_view::npos) out.append(param.substr(sp));
    } else {
      out.append(param);
    }
    if (amp == std::string_view::npos) break;
    out.push_back('&');
    query.remove_prefix(amp + 1);
  }
  out.append(fragment);
  return out;
}

std::string RedactUrl(std::string_view url) {
  // Nothing to hide without user-info or a query: the common case, one copy.
  // (A plain loop: find_first_of calls memchr once per character.)
  if (std::none_of(url.begin(), url.end(), [](char c) { return c == '@' || c == '?'; })) return std::string(url);
  std::string out;
  out.reserve(url.size());
  // The authority starts after "scheme:" and all the slashes that follow it (curl takes one to
  // three: "http:/u:p@h/" has a password too); without "scheme:/" the string's start is taken for
  // it, which, for a "scheme:" with no slash, hides the whole "scheme:user:password".
  size_t auth_start = 0;
  if (!url.empty() && IsAsciiAlpha(url[0])) {
    size_t k = 1;
    while (k < url.size() && (IsAsciiAlnum(url[k]) || url[k] == '+' || url[k] == '-' || url[k] == '.')) ++k;
    if (k + 1 < url.size() && url[k] == ':' && url[k + 1] == '/') {
      auth_start = k + 1;
      while (auth_start < url.size() && url[auth_start] == '/') ++auth_start;
    }
  }
  size_t auth_end = url.find_first_of("/?#", auth_start);
  if (auth_end == std::string_view::npos) auth_end = url.size();
  std::string_view authority = url.substr(auth_start, auth_end - auth_start);
  size_t at = authority.rfind('@');
  out.append(url.substr(0, auth_start));
  if (at != std::string_view::npos) {
    std::string_view userinfo = authority.substr(0, at);
    size_t colon = userinfo.find(':');
    // "user:password@" keeps the user; a lone "name@" may be a token (https://TOKEN@host) or a
    // redis password (redis://PASSWORD@host): all of it goes.
    if (colon != std::string_view::npos) out.append(userinfo.substr(0, colon)).push_back(':');
    out.append(kRedacted);
    out.append(authority.substr(at));
  } else {
    out.append(authority);
  }
  std::string_view rest = url.substr(auth_end);
  size_t q = rest.find('?');
  size_t hash = rest.find('#');
  if (q == std::string_view::npos || (hash != std::string_view::npos && hash < q)) {
    out.append(rest);
    return out;
  }
  out.append(rest.substr(0, q + 1));
  out.append(RedactQuery(rest.substr(q + 1)));
  return out;
}

bool UrlHasCredentials(std::string_view url) { return RedactUrl(url) != url; }

std::string RedactAfterKey(std::string_view argument) {
  size_t i = 0;
  while (i < argument.size() && (IsAsciiAlnum(argument[i]) || argument[i] == '_' || argument[i] == '-' ||
                                 argument[i] == '.' || argument[i] == '[' || argument[i] == ']')) {
    ++i;
  }
  if (i == argument.size()) return std::string(argument);
  std::string out(argument.substr(0, i));
  char sep = argument[i];
  if (sep == ':' || sep == '=' || sep == ' ' || sep == '\t') {
    out.push_back(sep);
    if (i + 1 == argument.size()) return out;
  }
  out.append(kRedacted);
  return out;
}

}  // namespace esper
