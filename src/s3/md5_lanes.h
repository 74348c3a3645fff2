// Md5Lanes: the MD5s of several inputs of the same length computed together, one per SIMD lane of
// one CPU core — 16 with AVX-512, 8 with AVX2, otherwise one input after the other. MD5 is
// serial within one input (each 64-byte block needs the previous block's result), so one core
// hashes one input at ~4.6 cycles a byte (OpenSSL's assembly) however wide its vectors are; 16
// inputs side by side cost little more than one. A large download's parts are such inputs: their
// MD5s make the multipart ETag the download is checked against (store_download.cpp).
//
// Hand-written because no library on Debian 12 has it: OpenSSL hashes one input at a time,
// ISA-L's multi-buffer hashes are in isa-l_crypto (not packaged), intel-ipsec-mb only has
// HMAC-MD5. Checked against OpenSSL's MD5 in md5_lanes_test.cpp, on every code path.
//
//   detail::Md5Lanes h(3);                              // 3 inputs, each `len` bytes
//   for (...) h.Update(buf, stride, 64 << 10);          // input i's next bytes at buf + i × stride
//   h.Update(buf, stride, last);                        // the last piece may end mid-block
//   std::array<uint8_t, 16> d0 = h.Final(0);            // = MD5 of input 0
//
// Md5sOf (below) picks between the lanes and OpenSSL by the number of inputs, and takes the
// bytes from a callback (a file read back, buffers in memory).
//
// Thread safety: a value type, used by one thread at a time. Errors: none (Md5sOf: its fill's).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "esper/core/result.h"
#include "esper/s3/checksum.h"

namespace esper::s3::detail {

class Md5Lanes {
 public:
  static constexpr int kMaxLanes = 16;
  /// Which code hashes the lanes: the widest the CPU has (kAuto), or one named (tests).
  enum class Kernel { kAuto, kAvx512, kAvx2, kScalar };

  /// `lanes` inputs (1..kMaxLanes) of equal length, hashed together.
  explicit Md5Lanes(int lanes, Kernel kernel = Kernel::kAuto);

  /// Feeds every lane the next `len` bytes: lane i's at base + i × stride (stride a multiple of
  /// 4, lanes × stride < 8 GiB). Every call but the last must feed a multiple of 64 bytes.
  void Update(const char* base, size_t stride, size_t len);
  /// Lane `lane`'s digest, after the last Update. Once per lane.
  std::array<uint8_t, 16> Final(int lane);

  /// The kernel kAuto picks on this CPU, and how many inputs it hashes at once (16, 8 or 1): the
  /// batch worth gathering.
  static Kernel Best();
  static int Width(Kernel kernel);

 private:
  int lanes_;
  Kernel kernel_;
  uint64_t length_ = 0;  // bytes fed to each lane
  alignas(64) uint32_t state_[4][kMaxLanes];
  // The last Update's bytes past its whole blocks, per lane (Final pads them).
  std::array<std::array<uint8_t, 64>, kMaxLanes> tail_{};
  size_t tail_len_ = 0;
};

/// Bytes of each input that Md5sOf asks its fill for at a time.
inline constexpr size_t kMd5Slice = size_t{128} << 10;
/// From how many inputs on `kernel`'s lanes beat OpenSSL's MD5 of one input after the other
/// (650–720 MB/s here). Measured on this project's machines (4 MiB a lane, no copy): the AVX-512
/// kernel hashes 1 lane at 700–790 MB/s — OpenSSL's speed, and slower over a long input fed in
/// pieces — 2 at 1.3–1.4 GB/s, 4 at 2.4, 16 at 7.4 (its gathers load only the lanes in use);
/// AVX2's 8 lanes run at ~430 MB/s each. So from 2 inputs on either; the scalar kernel never.
size_t LanesPayFrom(Md5Lanes::Kernel kernel);

/// The MD5s of `count` (1..kMaxLanes) inputs of `length` bytes each into out[0..count): together
/// in `kernel`'s lanes from LanesPayFrom(kernel) inputs on, else one after the other with OpenSSL.
/// fill(k, at, n, slot) -> Result<std::string_view> gives bytes [at, at + n) of input k, n <=
/// kMd5Slice: read into `slot` (kMd5Slice bytes of scratch), or a view of where they already are
/// (copied into the lanes' scratch when lanes are used). Its error ends the hashing. Scratch:
/// kMd5Slice per input (one with OpenSSL).
template <class Fill>
Status Md5sOf(size_t count, uint64_t length, const Fill& fill, std::array<uint8_t, 16>* out,
              Md5Lanes::Kernel kernel = Md5Lanes::Kernel::kAuto) {
  const bool lanes = count >= LanesPayFrom(kernel);
  std::string buf((lanes ? count : 1) * kMd5Slice, '\0');
  if (!lanes) {
    for (size_t k = 0; k < count; ++k) {
      Md5 md5;
      for (uint64_t at = 0; at < length; at += kMd5Slice) {
        const size_t n = static_cast<size_t>(length - at < kMd5Slice ? length - at : kMd5Slice);
        ESPER_ASSIGN_OR_RETURN(const std::string_view bytes, fill(k, at, n, buf.data()));
        md5.Update(bytes);
      }
      out[k] = md5.Final();
    }
    return OkStatus();
  }
  Md5Lanes md5(static_cast<int>(count), kernel);
  for (uint64_t at = 0; at < length; at += kMd5Slice) {
    const size_t n = static_cast<size_t>(length - at < kMd5Slice ? length - at : kMd5Slice);
    for (size_t k = 0; k < count; ++k) {
      char* slot = buf.data() + k * kMd5Slice;
      ESPER_ASSIGN_OR_RETURN(const std::string_view bytes, fill(k, at, n, slot));
      if (bytes.data() != slot) std::memcpy(slot, bytes.data(), n);
    }
    md5.Update(buf.data(), kMd5Slice, n);
  }
  for (size_t k = 0; k < count; ++k) out[k] = md5.Final(static_cast<int>(k));
  return OkStatus();
}

}  // namespace esper::s3::detail
