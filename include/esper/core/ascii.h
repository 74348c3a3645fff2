// esper/core/ascii.h — locale-free ASCII classification, lower-casing and case-insensitive
// comparison.
//
// HTTP header names, URL schemes and hosts, configuration keys and command names are ASCII
// whatever the locale, and std::tolower / std::isalpha go through the C locale (and take an int
// that must not be a negative char). These take a `char`, treat every byte >= 0x80 as a non-letter
// and are constexpr, so they are also cheap enough for the http client's and the proxy's hot paths.
//
// Thread safety: pure functions.
//
// Example:
//   if (esper::EqualsIgnoreCase(name, "Content-Length")) ...
//   std::string key = esper::AsciiLowerCopy(host);   // "Example.COM" -> "example.com"
#pragma once

#include <algorithm>
#include <string>
#include <string_view>

namespace esper {

constexpr bool IsAsciiDigit(char c) { return c >= '0' && c <= '9'; }
constexpr bool IsAsciiUpper(char c) { return c >= 'A' && c <= 'Z'; }
constexpr bool IsAsciiLower(char c) { return c >= 'a' && c <= 'z'; }
constexpr bool IsAsciiAlpha(char c) { return IsAsciiUpper(c) || IsAsciiLower(c); }
constexpr bool IsAsciiAlnum(char c) { return IsAsciiDigit(c) || IsAsciiAlpha(c); }

/// The value of the hex digit `c` (0-9, a-f, A-F), or -1.
constexpr int HexDigitValue(char c) {
  return IsAsciiDigit(c) ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : (c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;
}

/// `c` lower-cased if it is an ASCII upper-case letter; every other byte unchanged.
constexpr char AsciiLower(char c) { return IsAsciiUpper(c) ? static_cast<char>(c - 'A' + 'a') : c; }
/// `c` upper-cased if it is an ASCII lower-case letter; every other byte unchanged.
constexpr char AsciiUpper(char c) { return IsAsciiLower(c) ? static_cast<char>(c - 'a' + 'A') : c; }

/// True when `a` and `b` are equal ignoring the case of ASCII letters (other bytes compare as is).
constexpr bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return AsciiLower(x) == AsciiLower(y); });
}

/// True when `s` starts with `prefix`, ignoring the case of ASCII letters.
constexpr bool StartsWithIgnoreCase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && EqualsIgnoreCase(s.substr(0, prefix.size()), prefix);
}

/// `s` with its ASCII letters lower-cased.
inline std::string AsciiLowerCopy(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = AsciiLower(c);
  return out;
}

}  // namespace esper
