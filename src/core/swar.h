// Private: byte tests on 8 bytes at a time (SWAR), for the scanners of core and log.
#pragma once

#include <cstdint>

namespace esper::detail {

// Each is exact about *whether* some byte matches (the high bit of a byte may be wrong only after
// a true match), which is all a scan for the next special byte needs.
inline constexpr std::uint64_t kSwarOnes = 0x0101010101010101ull, kSwarHighs = 0x8080808080808080ull;

/// High bit set in some byte iff some byte of `x` equals `b`.
constexpr std::uint64_t AnyByteIs(std::uint64_t x, std::uint8_t b) {
  std::uint64_t v = x ^ (kSwarOnes * b);
  return (v - kSwarOnes) & ~v & kSwarHighs;
}
/// High bit set in some byte iff some byte of `x` is below `n` (n <= 128).
constexpr std::uint64_t AnyByteBelow(std::uint64_t x, std::uint8_t n) {
  return (x - kSwarOnes * n) & ~x & kSwarHighs;
}

}  // namespace esper::detail
