// esper/log/detail/codec.h — the argument codecs of a logging call: for each argument type, its
// encoded size and its encoding into the queue (on the calling thread) and its decoding (on the
// backend). Numbers are copied as binary; strings as length + bytes; std::vector of those as
// count + elements; kv() fields as their value (and their key's address when the site does not
// keep it); any other type {fmt} can format is formatted on the caller and queued as a string.
// Internal to the inlined call (namespace esper::log::detail), not part of the public API.
#pragma once

#include <fmt/format.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "esper/log/detail/kv.h"

namespace esper::log::detail {

template <class V>
struct DecodedKV {
  std::string_view key;
  V value;
};

// ---- argument codecs: Size (caller), Encode (caller), Decode (backend) ----
inline constexpr size_t kMaxArgs = 24;

struct EncodeState {
  EncodeState(size_t max, bool keys) : max_string(max), keys_in_site(keys) {}
  size_t max_string;
  bool keys_in_site;  // the call's kv() keys are the site's: the record leaves them out (KeysInSite)
  fmt::memory_buffer* tmp = nullptr;
  uint32_t spans[kMaxArgs][2];
  unsigned sized = 0, encoded = 0;
  bool truncated = false;
};
inline thread_local fmt::memory_buffer tls_fallback_buffer;

/// A string in a record: u32 length, then the bytes (every codec that queues text).
inline void EncodeString(char*& w, const char* data, uint32_t len) {
  std::memcpy(w, &len, sizeof len);
  std::memcpy(w + sizeof len, data, len);
  w += sizeof len + len;
}
inline std::string_view DecodeString(const char*& r) {
  uint32_t len;
  std::memcpy(&len, r, sizeof len);
  std::string_view sv(r + sizeof len, len);
  r += sizeof len + len;
  return sv;
}

template <class T, class = void>
struct Codec {  // fallback: format on the caller thread into text
  using Decoded = std::string_view;
  static constexpr bool kFallback = true;
  static size_t Size(const T& v, EncodeState& s) {
    if (!s.tmp) {
      s.tmp = &tls_fallback_buffer;
      s.tmp->clear();
    }
    size_t start = s.tmp->size();
    fmt::format_to(fmt::appender(*s.tmp), "{}", v);
    size_t len = s.tmp->size() - start;
    if (len > s.max_string) { len = s.max_string; s.truncated = true; }
    s.spans[s.sized][0] = static_cast<uint32_t>(start);
    s.spans[s.sized][1] = static_cast<uint32_t>(len);
    ++s.sized;
    return sizeof(uint32_t) + len;
  }
  static void Encode(char*& w, const T&, EncodeState& s) {
    const uint32_t start = s.spans[s.encoded][0], len = s.spans[s.encoded][1];
    ++s.encoded;
    EncodeString(w, s.tmp->data() + start, len);
  }
  static std::string_view Decode(const char*& r) { return DecodeString(r); }
};

template <class T>
struct Codec<T, std::enable_if_t<std::is_arithmetic_v<T>>> {
  using Decoded = T;
  static constexpr bool kFallback = false;
  static size_t Size(const T&, EncodeState&) { return sizeof(T); }
  static void Encode(char*& w, const T& v, EncodeState&) {
    std::memcpy(w, &v, sizeof v);
    w += sizeof v;
  }
  static T Decode(const char*& r) {
    T v;
    std::memcpy(&v, r, sizeof v);
    r += sizeof v;
    return v;
  }
};

struct StringCodecBase {
  using Decoded = std::string_view;
  static constexpr bool kFallback = false;
  static size_t SizeOf(std::string_view v, EncodeState& s) {
    size_t len = v.size();
    if (len > s.max_string) { len = s.max_string; s.truncated = true; }
    return sizeof(uint32_t) + len;
  }
  static void EncodeSv(char*& w, std::string_view v, EncodeState& s) {
    EncodeString(w, v.data(), static_cast<uint32_t>(v.size() > s.max_string ? s.max_string : v.size()));
  }
  static std::string_view Decode(const char*& r) { return DecodeString(r); }
};
template <>
struct Codec<std::string_view> : StringCodecBase {
  static size_t Size(std::string_view v, EncodeState& s) { return SizeOf(v, s); }
  static void Encode(char*& w, std::string_view v, EncodeState& s) { EncodeSv(w, v, s); }
};
template <>
struct Codec<std::string> : StringCodecBase {
  static size_t Size(const std::string& v, EncodeState& s) { return SizeOf(v, s); }
  static void Encode(char*& w, const std::string& v, EncodeState& s) { EncodeSv(w, v, s); }
};
template <>
struct Codec<const char*> : StringCodecBase {
  static std::string_view Sv(const char* v) { return v ? std::string_view(v) : std::string_view("(null)"); }
  static size_t Size(const char* v, EncodeState& s) { return SizeOf(Sv(v), s); }
  static void Encode(char*& w, const char* v, EncodeState& s) { EncodeSv(w, Sv(v), s); }
};
template <>
struct Codec<char*> : Codec<const char*> {};

/// Backend view of a binary-encoded std::vector<E>: a forward range decoding elements on the fly,
/// so {fmt} prints it exactly as it prints the vector ([1, 2], ["a", "b"]).
template <class E>
class EncodedSeq {
 public:
  class iterator {
   public:
    using value_type = typename Codec<E>::Decoded;
    using difference_type = std::ptrdiff_t;
    using reference = value_type;
    using pointer = void;
    using iterator_category = std::forward_iterator_tag;
    iterator() = default;
    iterator(const char* p, uint32_t i) : p_(p), i_(i) {}
    value_type operator*() const {
      const char* q = p_;
      return Codec<E>::Decode(q);
    }
    iterator& operator++() {
      Codec<E>::Decode(p_);
      ++i_;
      return *this;
    }
    iterator operator++(int) {
      iterator t = *this;
      ++*this;
      return t;
    }
    bool operator==(const iterator& o) const { return i_ == o.i_; }

   private:
    const char* p_ = nullptr;
    uint32_t i_ = 0;
  };
  EncodedSeq(const char* data, uint32_t count) : data_(data), count_(count) {}
  iterator begin() const { return iterator(data_, 0); }
  iterator end() const { return iterator(nullptr, count_); }
  size_t size() const { return count_; }

 private:
  const char* data_;
  uint32_t count_;
};

// std::vector of arithmetic or string elements: copied as binary (count + elements) and
// formatted on the backend. Other element types use the caller-side fallback.
template <class E>
struct Codec<std::vector<E>, std::enable_if_t<!Codec<E>::kFallback && !std::is_same_v<E, bool>>> {
  using Decoded = EncodedSeq<E>;
  static constexpr bool kFallback = false;
  static size_t Size(const std::vector<E>& v, EncodeState& s) {
    size_t n = sizeof(uint32_t);
    if constexpr (std::is_arithmetic_v<E>) {
      n += v.size() * sizeof(E);
    } else {
      for (const auto& e : v) n += Codec<E>::Size(e, s);
    }
    return n;
  }
  static void Encode(char*& w, const std::vector<E>& v, EncodeState& s) {
    auto count = static_cast<uint32_t>(v.size());
    std::memcpy(w, &count, sizeof count);
    w += sizeof count;
    if constexpr (std::is_arithmetic_v<E>) {
      if (count) std::memcpy(w, v.data(), v.size() * sizeof(E));
      w += v.size() * sizeof(E);
    } else {
      for (const auto& e : v) Codec<E>::Encode(w, e, s);
    }
  }
  static Decoded Decode(const char*& r) {
    uint32_t count;
    std::memcpy(&count, r, sizeof count);
    r += sizeof count;
    Decoded d(r, count);
    for (uint32_t i = 0; i < count; ++i) Codec<E>::Decode(r);  // skip to the next argument
    return d;
  }
};

template <class T>
struct Codec<KV<T>> {
  using Inner = Codec<std::decay_t<T>>;
  using Decoded = DecodedKV<typename Inner::Decoded>;
  static constexpr bool kFallback = Inner::kFallback;
  // At most the key's address is queued (8 bytes): kv() takes string literals, which are
  // NUL-terminated and live as long as the program; the backend measures them. When the call's
  // keys are the ones its site keeps (the usual case: the same literals every call) not even that.
  static size_t Size(const KV<T>& v, EncodeState& s) {
    return (s.keys_in_site ? 0 : sizeof(const char*)) + Inner::Size(v.value, s);
  }
  static void Encode(char*& w, const KV<T>& v, EncodeState& s) {
    if (!s.keys_in_site) {
      std::memcpy(w, &v.key, sizeof v.key);
      w += sizeof v.key;
    }
    Inner::Encode(w, v.value, s);
  }
  /// `site_key`: the key kept by the call site, or null when the record carries it.
  static Decoded Decode(const char*& r, const char* site_key) {
    const char* key = site_key;
    if (!key) {
      std::memcpy(&key, r, sizeof key);
      r += sizeof key;
    }
    return Decoded{std::string_view(key), Inner::Decode(r)};
  }
};

}  // namespace esper::log::detail
