// esper/log/detail/decode.h — the backend's decoder of one call site's records, generated at
// compile time for the call's argument types (the site carries its address): it decodes the
// arguments, formats the message and collects the fields.
// Internal (namespace esper::log::detail), not part of the public API.
#pragma once

#include <fmt/format.h>

#include <atomic>
#include <cstddef>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "esper/log/detail/codec.h"
#include "esper/log/detail/field_value.h"
#include "esper/log/detail/kv.h"
#include "esper/log/detail/site.h"
#include "esper/log/record.h"

namespace esper::log::detail {

/// Backend-side buffers one record is decoded into.
struct DecodeSink {
  fmt::memory_buffer message;
  fmt::memory_buffer scratch;
  struct Pending {
    std::string_view key;
    std::string_view direct;  // when not in scratch
    size_t off, len;
    FieldKind kind;
    bool in_scratch;
  };
  std::vector<Pending> pending;
  const std::string_view* names = nullptr;  // the call site's placeholder names, when named
  const std::atomic<const char*>* site_keys = nullptr;  // the record's kv() keys, when kept by the site

  void Clear() { message.clear(); scratch.clear(); pending.clear(); }
  void AddString(std::string_view k, std::string_view v) {
    pending.push_back({k, v, 0, 0, FieldKind::kString, false});
  }
  template <class T>
  void AddValue(std::string_view k, const T& v) {
    if constexpr (std::is_same_v<T, bool>) {
      pending.push_back({k, v ? "true" : "false", 0, 0, FieldKind::kBool, false});
    } else if constexpr (std::is_convertible_v<const T&, std::string_view>) {
      AddString(k, std::string_view(v));
    } else {
      size_t off = scratch.size();
      FieldKind kind = AppendFieldValue(v, scratch);
      pending.push_back({k, {}, off, scratch.size() - off, kind, true});
    }
  }
};

/// Writes argument I of a decoded tuple as a plain `{}` would.
using ArgWriter = void (*)(fmt::memory_buffer& out, const void* tuple);
template <size_t I, class Tuple>
void WriteArg(fmt::memory_buffer& out, const void* tuple) {
  const auto& v = std::get<I>(*static_cast<const Tuple*>(tuple));
  AppendPlain(v, out);
}
/// The backend's fast path for format strings made of text, `{{`, `}}` and plain `{}` only (the
/// common case): no run-time parse by fmt. Returns false, having written a partial message, when
/// the string has anything else (specs, indices); the caller then clears it and uses fmt.
bool FormatPlain(fmt::memory_buffer& out, const char* format, const ArgWriter* writers, size_t n,
                 const void* tuple);

template <class Tuple, size_t... I>
void FormatMessage(DecodeSink& out, const char* format, Tuple& vals, std::index_sequence<I...>) {
  static constexpr ArgWriter kWriters[] = {&WriteArg<I, Tuple>..., nullptr};
  if (FormatPlain(out.message, format, kWriters, sizeof...(I), &vals)) return;
  out.message.clear();
  fmt::vformat_to(fmt::appender(out.message), fmt::string_view(format),
                  fmt::make_format_args(std::get<I>(vals)...));
}
template <class Tuple, size_t... I>
void AddNamedFields(DecodeSink& out, Tuple& vals, std::index_sequence<I...>) {
  (out.AddValue(out.names[I], std::get<I>(vals)), ...);
}
template <size_t P, class Tuple, size_t... I>
void AddFields(DecodeSink& out, Tuple& vals, std::index_sequence<I...>) {
  (out.AddValue(std::get<P + I>(vals).key, std::get<P + I>(vals).value), ...);
}

// Argument I of a record; kv() arguments (I >= P) take their key from the site when it keeps them.
template <class A, size_t I, size_t P>
typename Codec<A>::Decoded DecodeAt(const char*& r, [[maybe_unused]] const DecodeSink& out) {
  if constexpr (IsKV<A>::value) {
    return Codec<A>::Decode(r, out.site_keys ? out.site_keys[I - P].load(std::memory_order_relaxed) : nullptr);
  } else {
    return Codec<A>::Decode(r);
  }
}

template <class... A, size_t... I>
void DecodeArgsImpl([[maybe_unused]] const char* r, const char* format, DecodeSink& out, std::index_sequence<I...>) {
  constexpr size_t P = PositionalCount<A...>();
  // Braced initialisation: decoded left to right, as encoded.
  std::tuple<typename Codec<A>::Decoded...> vals{DecodeAt<A, I, P>(r, out)...};
  FormatMessage(out, format, vals, std::make_index_sequence<P>{});
  if (out.names) AddNamedFields(out, vals, std::make_index_sequence<P>{});
  AddFields<P>(out, vals, std::make_index_sequence<sizeof...(A) - P>{});
}

template <class... A>
void DecodeArgs(const char* r, const char* format, DecodeSink& out) {
  DecodeArgsImpl<A...>(r, format, out, std::index_sequence_for<A...>{});
}

/// The decoder for a call's argument types, named unevaluated by the logging macros
/// (`decltype(DecoderFor(args...))::fn`) so the call site's Site carries it, not every record.
template <class... A>
struct Decoder {
  static constexpr DecodeFn fn = &DecodeArgs<std::decay_t<A>...>;
  static constexpr size_t kKv = sizeof...(A) - PositionalCount<std::decay_t<A>...>();  // kv() arguments
};
template <class... A>
Decoder<A...> DecoderFor(const A&...);  // declared only

}  // namespace esper::log::detail
