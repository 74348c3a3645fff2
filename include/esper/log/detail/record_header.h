// esper/log/detail/record_header.h — the 16-byte header every queued record starts with: its
// size, level, flags and call site packed into one word, and the TSC timestamp.
// Internal to the inlined call (namespace esper::log::detail), not part of the public API.
#pragma once

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "esper/log/detail/site.h"
#include "esper/log/level.h"

namespace esper::log::detail {

inline constexpr uint8_t kRecordHasContext = 1;  // record flag: a ContextBlob* follows the header
inline constexpr uint8_t kRecordKeysInSite = 2;  // record flag: kv() keys are the site's (Site::keys)

// A record is a 16-byte header, then its arguments (ContextBlob* first when kRecordHasContext).
// The header's first word packs the record's size, level, flags and call site, so that a call
// stores two words, not four, and writes fewer ring lines (int,int,double is 32 bytes instead of
// 40; docs/log.md measures what a ring line costs a call):
//   bits  0..13  size / 8 (whole record, a multiple of 8, at most kMaxRecordBytes)
//   bits 14..16  Level
//   bits 17..18  flags (kRecordHasContext, kRecordKeysInSite)
//   bits 19..63  the Site's address / 8 (a Site is 8-aligned, and static: in the program's or a
//                library's image, which Linux maps below 2^47 on x86-64 and 2^48 on arm64, also
//                with 5-level / 52-bit address spaces, whose upper part a process gets only by
//                asking mmap() for it)
// The word is never 0 (a record has at least its header), so its first 4 bytes tell a record
// from the ring's wrap marker.
struct RecordHeader {
  uint64_t word;   // PackRecordWord()
  uint64_t ticks;  // Ticks() at the call
};
static_assert(sizeof(RecordHeader) == 16 && offsetof(RecordHeader, ticks) == 8);
// The word's fields, as laid out above.
inline constexpr unsigned kLevelShift = 14, kFlagsShift = 17, kSiteShift = 19;
inline constexpr uint64_t kSizeUnitsMask = (uint64_t{1} << kLevelShift) - 1;
/// The largest record a header can describe (14 bits of size in 8-byte units): 128 KiB − 8.
inline constexpr size_t kMaxRecordBytes = kSizeUnitsMask * 8;
static_assert(alignof(Site) >= 8);

[[gnu::always_inline]] inline uint64_t PackRecordWord(size_t size, Level level, uint32_t flags,
                                                       const Site* site) noexcept {
  const auto addr = static_cast<uint64_t>(reinterpret_cast<uintptr_t>(site));
  assert(size % 8 == 0 && size >= sizeof(RecordHeader) && size <= kMaxRecordBytes);
  assert(addr % 8 == 0 && addr >> 48 == 0);
  // addr / 8 << kSiteShift, written so that the compiler folds it into one shift
  return addr << (kSiteShift - 3) | uint64_t{flags} << kFlagsShift |
         uint64_t{static_cast<uint8_t>(level)} << kLevelShift | size >> 3;
}
/// A record's header without its size (RecordBytes): the backend's view.
struct RecordInfo {
  Level level;
  uint32_t flags;
  const Site* site;
  uint64_t ticks;
};
inline size_t RecordBytes(const char* record) noexcept {
  uint64_t w;
  std::memcpy(&w, record, sizeof w);
  return static_cast<size_t>(w & kSizeUnitsMask) << 3;
}
inline RecordInfo ReadRecordHeader(const char* record) noexcept {
  RecordHeader h;
  std::memcpy(&h, record, sizeof h);
  return {static_cast<Level>(h.word >> kLevelShift & 7), static_cast<uint32_t>(h.word >> kFlagsShift & 3),
          reinterpret_cast<const Site*>(static_cast<uintptr_t>(h.word >> kSiteShift << 3)), h.ticks};
}

/// Records are whole multiples of 8 bytes.
template <class T>
constexpr size_t Aligned8(T n) { return (static_cast<size_t>(n) + 7) & ~size_t{7}; }

}  // namespace esper::log::detail
