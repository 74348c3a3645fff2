// esper/log/detail/site.h — a logging call site's static metadata (made by the ESPER_LOG_*
// macros; a record carries only its address) and the site's kv() key slots.
// Internal to the inlined call (namespace esper::log::detail), not part of the public API.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "esper/log/detail/kv.h"

namespace esper::log::detail {

struct DecodeSink;
using DecodeFn = void (*)(const char* args, const char* format, DecodeSink& out);

// A call site's static metadata (made by the logging macros): records carry only its address.
struct alignas(8) Site {
  const char* format;
  const char* file;
  uint32_t line;
  bool named = false;  // the format uses named placeholders: "{layer_id}"
  DecodeFn decode;     // decodes and formats this call's argument types (DecoderFor)
  // The site's kv() keys, one slot per kv() argument (null for a site without kv()): set by the
  // site's first call, so records whose keys match leave them out (RecordHeader flag
  // kRecordKeysInSite) and a kv() field costs the queue only its value.
  std::atomic<const char*>* keys = nullptr;
};

/// KeysInSite's rare path: some slot differs from `keys` (an empty slot is filled with its key).
/// Keys are compared by address.
[[gnu::noinline]] inline bool KeysInSiteSlow(std::atomic<const char*>* slots, const char* const* keys, size_t n) {
  bool same = true;
  for (size_t j = 0; j < n; ++j) {
    // An empty slot takes this call's key; a filled one never changes.
    const char* kept = slots[j].load(std::memory_order_acquire);
    if (kept == nullptr && slots[j].compare_exchange_strong(kept, keys[j], std::memory_order_acq_rel)) {
      kept = keys[j];
    }
    same = same && kept == keys[j];
  }
  return same;
}

/// Whether this call's kv() keys are the ones its site keeps; the site's first call (or the
/// first to reach an empty slot) stores its own. Keys are compared by address: the usual call
/// costs one load and compare per key. False, at compile time, for a call without kv().
template <class... A>
[[gnu::always_inline]] inline bool KeysInSite([[maybe_unused]] std::atomic<const char*>* slots,
                                              [[maybe_unused]] const A&... args) {
  if constexpr (!(IsKV<A>::value || ...)) {
    return false;
  } else {
    if (slots == nullptr) return false;  // a Site made by hand, without slots (the macros always give them)
    // Relaxed is enough: a filled slot never changes, the backend reads it after acquiring this
    // call's record (so it sees at least what was read here), and a key is a string literal, with
    // nothing behind it to publish. Straight-line code: the differences OR-ed, one branch.
    size_t j = 0;
    uintptr_t diff = 0;
    auto compare = [&](const auto& a) {
      if constexpr (IsKV<std::decay_t<decltype(a)>>::value) {
        diff |= reinterpret_cast<uintptr_t>(slots[j].load(std::memory_order_relaxed)) ^
                reinterpret_cast<uintptr_t>(a.key);
        ++j;
      }
    };
    (compare(args), ...);
    if (diff == 0) [[likely]] return true;
    const char* keys[sizeof...(A)];
    size_t n = 0;
    auto collect = [&](const auto& a) {
      if constexpr (IsKV<std::decay_t<decltype(a)>>::value) keys[n++] = a.key;
    };
    (collect(args), ...);
    return KeysInSiteSlow(slots, keys, n);
  }
}

}  // namespace esper::log::detail
