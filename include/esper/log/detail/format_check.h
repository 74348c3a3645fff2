// esper/log/detail/format_check.h — the compile-time check of a logging call's format string
// against its positional arguments: {fmt}'s own syntax and spec checks, or named placeholders
// ("loaded {layer} in {ms:.1f} ms", each also logged as a field). A call whose format does not
// fit its arguments fails to compile, and the error names the rule (tests LogFormatCheck.*).
// Also the parser of named formats, which the backend uses to build a site's positional twin.
// Internal to the inlined call (namespace esper::log::detail), not part of the public API.
#pragma once

#include <fmt/format.h>

#include <cstddef>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

#include "esper/log/detail/kv.h"

namespace esper::log::detail {

// ---- named placeholders: "loaded {layer} in {ms:.1f} ms" ----
constexpr bool IsNameStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
constexpr bool IsNameChar(char c) { return IsNameStart(c) || (c >= '0' && c <= '9') || c == '.'; }
/// True when a placeholder of `format` starts with a name: the whole string is then in named form.
constexpr bool HasNamedPlaceholders(std::string_view format) {
  for (size_t i = 0; i + 1 < format.size(); ++i) {
    if (format[i] != '{') continue;
    if (format[i + 1] == '{') {
      ++i;
    } else if (IsNameStart(format[i + 1])) {
      return true;
    }
  }
  return false;
}
/// Calls `field(name, spec)` for each placeholder of a named format, and `lit(text)` for the text
/// between them ("{{" and "}}" stay escaped). Returns false when the string is not well formed.
template <class Lit, class Field>
constexpr bool ForEachNamed(std::string_view f, Lit&& lit, Field&& field) {
  size_t i = 0, start = 0;
  while (i < f.size()) {
    if ((f[i] == '{' || f[i] == '}') && i + 1 < f.size() && f[i + 1] == f[i]) {
      i += 2;
      continue;
    }
    if (f[i] != '{') {
      ++i;
      continue;
    }
    lit(f.substr(start, i - start));
    size_t j = i + 1;
    if (j >= f.size() || !IsNameStart(f[j])) return false;
    while (j < f.size() && IsNameChar(f[j])) ++j;
    std::string_view name = f.substr(i + 1, j - i - 1);
    size_t close = f.find('}', j);
    if (close == std::string_view::npos || (f[j] != '}' && f[j] != ':')) return false;
    field(name, f.substr(j, close - j));  // spec with its ':' (or empty)
    i = start = close + 1;
  }
  lit(f.substr(start));
  return true;
}
// Not constexpr: reaching one while checking a format at compile time is the compile error,
// and its name is the message.
inline void named_placeholder_format_is_malformed_or_mixes_in_positional_ones() {}
inline void named_placeholders_must_all_be_named_and_match_the_argument_count() {}
inline void named_placeholder_format_is_too_long() {}

/// fmt's own compile-time check (fmt 9's checker; called directly because clang 14 cannot call
/// fmt's consteval constructor from inside another consteval function).
template <class... P>
constexpr void CheckFmt(std::string_view s) {
  using Checker = fmt::detail::format_string_checker<char, fmt::detail::error_handler, fmt::remove_cvref_t<P>...>;
  const fmt::string_view fs(s.data(), s.size());
  fmt::detail::parse_format_string<true>(fs, Checker(fs, {}));
}

/// The format string of a logging call, checked at compile time against its positional
/// arguments P...: either fmt's syntax, or every placeholder named ("{layer}", "{ms:.1f}") —
/// one per argument, in order, each then also logged as a field of that name.
template <class... P>
struct CheckedFormat {
  template <class S, class = std::enable_if_t<std::is_convertible_v<const S&, std::string_view>>>
  consteval CheckedFormat(const S& s) {  // NOLINT(google-explicit-constructor): as fmt's
    const std::string_view f(s);
    if (!HasNamedPlaceholders(f)) {
      CheckFmt<P...>(f);
      return;
    }
    // Check the positional twin ("{name:spec}" -> "{:spec}") with fmt, so specs meet their types.
    char buf[1024] = {};
    size_t n = 0, count = 0;
    auto put = [&](std::string_view t) {
      if (n + t.size() > sizeof buf) named_placeholder_format_is_too_long();
      for (char c : t) buf[n++] = c;
    };
    bool ok = ForEachNamed(f, put, [&](std::string_view, std::string_view spec) {
      ++count;
      put("{");
      put(spec);
      put("}");
    });
    if (!ok) named_placeholder_format_is_malformed_or_mixes_in_positional_ones();
    if (count != sizeof...(P)) named_placeholders_must_all_be_named_and_match_the_argument_count();
    CheckFmt<P...>(std::string_view(buf, n));
  }
};

template <class Tuple, class Seq> struct FmtOfImpl;
template <class Tuple, size_t... I>
struct FmtOfImpl<Tuple, std::index_sequence<I...>> {
  using type = CheckedFormat<std::tuple_element_t<I, Tuple>...>;
};
/// The compile-time-checked format string for the positional arguments of A...
template <class... A>
using FmtFor = typename FmtOfImpl<std::tuple<A...>, std::make_index_sequence<PositionalCount<A...>()>>::type;

}  // namespace esper::log::detail
