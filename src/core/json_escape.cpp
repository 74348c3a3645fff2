#include "esper/core/json_escape.h"

#include <array>
#include <cstring>

#include "core/swar.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace esper {
namespace {

using detail::AnyByteBelow;
using detail::AnyByteIs;
using detail::kSwarHighs;

constexpr char kHex[] = "0123456789abcdef";
constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// (fmt 9's buffer::append copies through a generic loop; resize + memcpy is several times faster
// for the short pieces a log line is made of.)
inline void Put(fmt::memory_buffer& out, std::string_view s) {
  size_t n = out.size();
  out.resize(n + s.size());
  if (!s.empty()) std::memcpy(out.data() + n, s.data(), s.size());
}
inline void Put(std::string& out, std::string_view s) { out.append(s); }

// 1 for bytes that end a plain run: control characters, '"', '\\', >= 0x80 (DEL is plain).
constexpr auto kSpecial = [] {
  std::array<uint8_t, 256> t{};
  for (int c = 0; c < 256; ++c) t[static_cast<size_t>(c)] = (c < 0x20 || c == '"' || c == '\\' || c >= 0x80) ? 1 : 0;
  return t;
}();

// Length of a valid UTF-8 sequence starting at s[i] (2..4), or 0 when invalid.
size_t Utf8SeqLen(const unsigned char* s, size_t i, size_t n) {
  unsigned char c = s[i];
  size_t len;
  uint32_t min;
  if (c >= 0xC2 && c <= 0xDF) { len = 2; min = 0x80; }
  else if (c >= 0xE0 && c <= 0xEF) { len = 3; min = 0x800; }
  else if (c >= 0xF0 && c <= 0xF4) { len = 4; min = 0x10000; }
  else return 0;
  if (i + len > n) return 0;
  uint32_t cp = c & (len == 2 ? 0x1F : len == 3 ? 0x0F : 0x07);
  for (size_t k = 1; k < len; ++k) {
    if ((s[i + k] & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (s[i + k] & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return len;
}

template <class Out>
void AppendEscaped(std::string_view sv, Out& out) {
  const auto* s = reinterpret_cast<const unsigned char*>(sv.data());
  size_t n = sv.size();
  size_t run = 0;  // start of the pending run of plain bytes
  auto flush = [&](size_t i) {
    if (i > run) Put(out, sv.substr(run, i - run));
  };
  for (size_t i = 0; i < n;) {
#if defined(__SSE2__)
    // Skip plain bytes 16 at a time: a signed byte < 0x20 is a control character or >= 0x80.
    while (i + 16 <= n) {
      __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + i));
      __m128i hit = _mm_or_si128(_mm_cmplt_epi8(x, _mm_set1_epi8(0x20)),
                                 _mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('"')),
                                              _mm_cmpeq_epi8(x, _mm_set1_epi8('\\'))));
      auto mask = static_cast<unsigned>(_mm_movemask_epi8(hit));
      if (mask != 0) {
        i += static_cast<size_t>(__builtin_ctz(mask));
        break;
      }
      i += 16;
    }
#endif
    // Skip 8 plain bytes at a time (SWAR): no byte < 0x20, == '"', == '\\' or >= 0x80.
    while (i + 8 <= n) {
      uint64_t x;
      std::memcpy(&x, s + i, 8);
      if ((AnyByteBelow(x, 0x20) | AnyByteIs(x, '"') | AnyByteIs(x, '\\') | x) & kSwarHighs) break;
      i += 8;
    }
    if (i >= n) break;
    unsigned char c = s[i];
    if (!kSpecial[c]) { ++i; continue; }
    if (c >= 0x80) {
      size_t len = Utf8SeqLen(s, i, n);
      if (len) { i += len; continue; }
      flush(i);
      Put(out, kReplacement);
      run = ++i;
      continue;
    }
    flush(i);
    switch (c) {
      case '"': Put(out, std::string_view("\\\"")); break;
      case '\\': Put(out, std::string_view("\\\\")); break;
      case '\n': Put(out, std::string_view("\\n")); break;
      case '\r': Put(out, std::string_view("\\r")); break;
      case '\t': Put(out, std::string_view("\\t")); break;
      case '\b': Put(out, std::string_view("\\b")); break;
      case '\f': Put(out, std::string_view("\\f")); break;
      default: {
        const char u[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xF]};
        Put(out, std::string_view(u, 6));
      }
    }
    run = ++i;
  }
  flush(n);
}

}  // namespace

void AppendJsonEscaped(std::string_view s, fmt::memory_buffer& out) { AppendEscaped(s, out); }
void AppendJsonEscaped(std::string_view s, std::string& out) { AppendEscaped(s, out); }

std::string JsonQuote(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  out.push_back('"');
  AppendEscaped(s, out);
  out.push_back('"');
  return out;
}

}  // namespace esper
