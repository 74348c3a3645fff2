// esper/log/detail/kv.h — a kv("key", value) argument of a logging call, and the rule that
// kv() arguments follow the positional ones (PositionalCount, KvAreTrailing).
// Internal to the inlined call (namespace esper::log::detail); the public kv() is in logger.h.
#pragma once

#include <cstddef>
#include <type_traits>

namespace esper::log::detail {

// A structured field: what kv() returns.
template <class T>
struct KV {
  const char* key;  // a string literal
  // Numbers by value, so the compiler can keep them in registers (a reference makes the caller
  // store each one and the call read it back); anything else by reference, never copied.
  std::conditional_t<std::is_arithmetic_v<T> || std::is_enum_v<T>, T, const T&> value;
};
template <class T> struct IsKV : std::false_type {};
template <class T> struct IsKV<KV<T>> : std::true_type {};

template <class... A>
constexpr size_t PositionalCount() {
  constexpr bool kv[] = {IsKV<A>::value..., false};
  size_t n = 0;
  while (n < sizeof...(A) && !kv[n]) ++n;
  return n;
}
template <class... A>
constexpr bool KvAreTrailing() {
  constexpr bool kv[] = {IsKV<A>::value..., false};
  for (size_t i = PositionalCount<A...>(); i < sizeof...(A); ++i)
    if (!kv[i]) return false;
  return true;
}

}  // namespace esper::log::detail
