// esper/log/detail/field_value.h — a field's value as text, exactly as {fmt}'s "{}" writes it,
// and how formatters must treat it (number, bool, string). Used for kv() values and named
// arguments on the backend and for ContextLogger fields on the caller.
// Internal (namespace esper::log::detail), not part of the public API.
#pragma once

#include <fmt/format.h>

#include <string_view>
#include <type_traits>

#include "esper/log/formatter.h"
#include "esper/log/record.h"

namespace esper::log::detail {

template <class V>
inline constexpr bool kIsPlainInt = std::is_integral_v<V> && !std::is_same_v<V, bool> && !std::is_same_v<V, char> &&
                                    !std::is_same_v<V, wchar_t> && !std::is_same_v<V, char8_t> &&
                                    !std::is_same_v<V, char16_t> && !std::is_same_v<V, char32_t>;
/// Appends `v` exactly as fmt's "{}" would, with the common types on a short path.
template <class V>
void AppendPlain(const V& v, fmt::memory_buffer& out) {
  if constexpr (std::is_same_v<V, std::string_view>) {
    AppendRaw(v, out);
  } else if constexpr (kIsPlainInt<V>) {
    fmt::format_int s(v);
    AppendRaw(std::string_view(s.data(), s.size()), out);
  } else {
    fmt::format_to(fmt::appender(out), "{}", v);  // fmt's own fast path for a lone "{}"
  }
}

/// Appends a field's value as {fmt}'s "{}" would and says how formatters must treat it: numbers
/// bare (but NaN and infinities, which JSON has no number for, as strings), booleans bare,
/// everything else as a string. For kv() values, named arguments and ContextLogger fields alike.
template <class T>
FieldKind AppendFieldValue(const T& v, fmt::memory_buffer& out) {
  if constexpr (std::is_same_v<T, bool>) {
    AppendRaw(v ? "true" : "false", out);
    return FieldKind::kBool;
  } else if constexpr (std::is_same_v<T, char>) {
    out.push_back(v);
    return FieldKind::kString;
  } else if constexpr (std::is_arithmetic_v<T>) {
    AppendPlain(v, out);
    if constexpr (std::is_floating_point_v<T>)
      if (!(v == v) || v - v != 0) return FieldKind::kString;  // NaN, ±inf
    return FieldKind::kNumber;
  } else {
    AppendPlain(v, out);  // strings as they are; other types (a decoded vector) formatted
    return FieldKind::kString;
  }
}

}  // namespace esper::log::detail
