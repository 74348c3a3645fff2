// esper/log/detail/slow_path_arg.h — how the inlined logging call hands its arguments to its
// out-of-line slow path (Logger::LogSlow).
// Internal to the inlined call (namespace esper::log::detail), not part of the public API.
#pragma once

#include <type_traits>

#include "esper/log/detail/kv.h"

namespace esper::log::detail {

/// What the inlined logging call hands its out-of-line slow path: a copy of a number, pointer or
/// kv() number, made there; anything else by reference. Were the arguments themselves handed
/// over, their addresses would escape and the fast path would have to store each one (kv() keys
/// included) on every call. (Taken by value, a kv() int is packed into a register on every call
/// instead: worse.)
template <class T>
inline constexpr bool kSmallArg = std::is_arithmetic_v<T> || std::is_enum_v<T> || std::is_pointer_v<T>;
template <class T>
inline constexpr bool kSmallArg<KV<T>> = std::is_arithmetic_v<T> || std::is_enum_v<T>;
template <class T>
[[gnu::always_inline]] inline decltype(auto) SlowPathArg(const T& v) {
  if constexpr (kSmallArg<T>) {
    return T(v);
  } else {
    return (v);
  }
}

}  // namespace esper::log::detail
