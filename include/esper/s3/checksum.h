// esper/s3/checksum.h — the digests and checksums S3 speaks: MD5 (Content-MD5, single-part ETags),
// SHA-256 (SigV4 payload hashes, x-amz-checksum-sha256), CRC32C and CRC64NVME
// (x-amz-checksum-crc32c / -crc64nvme), and the base64 / hex forms they travel in.
//
// Every checksum is incremental, so a streamed body is hashed as it goes (Update per chunk, then
// Final / value()); `Of()` is the one-shot form. The work is done by the well-kept libraries:
// OpenSSL 3's EVP for MD5 and SHA-256, ISA-L (`crc32_iscsi`) for CRC32C, and Google's crcutil
// (Debian's libcrcutil-dev) for CRC64NVME — Debian 12's ISA-L 2.30 has no CRC64/NVME function
// (its `crc64_jones_*` is the Redis polynomial 0xad93d23594c935a9; NVMe's is
// 0xad93d23594c93659, ISA-L added it as `crc64_rocksoft` in 2.31), checked against the CRC
// catalogue's check value in checksum_test.cpp.
//
// Example:
//   esper::s3::Md5 md5;
//   esper::s3::Crc32c crc;
//   for (std::string_view chunk : body) { md5.Update(chunk); crc.Update(chunk); }
//   request.headers.push_back({"Content-MD5", esper::s3::Base64(md5.Final())});
//   request.headers.push_back({"x-amz-checksum-crc32c", crc.HeaderValue()});
//
// Thread safety: value types; one object is used by one thread at a time.
// Errors: none (OpenSSL's digest calls cannot fail for these built-in algorithms; an allocation
// failure inside OpenSSL aborts, as std::bad_alloc would). Base64Decode returns InvalidArgument.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "esper/core/result.h"

struct evp_md_ctx_st;  // OpenSSL's EVP_MD_CTX
struct evp_md_st;      // OpenSSL's EVP_MD

namespace esper::s3 {

namespace detail {
struct EvpDeleter {
  void operator()(evp_md_ctx_st* ctx) const noexcept;
};
/// An incremental OpenSSL digest of N bytes (MD5: 16, SHA-256: 32).
template <size_t N>
class EvpDigest {
 public:
  using Digest = std::array<uint8_t, N>;
  EvpDigest();
  EvpDigest(EvpDigest&&) noexcept = default;
  EvpDigest& operator=(EvpDigest&&) noexcept = default;
  /// Adds `data` to the digest.
  void Update(std::string_view data);
  /// The digest of everything added; the object starts over afterwards.
  Digest Final();
  /// The digest of `data` in one call.
  static Digest Of(std::string_view data);

 private:
  std::unique_ptr<evp_md_ctx_st, EvpDeleter> ctx_;
};
extern template class EvpDigest<16>;
extern template class EvpDigest<32>;
}  // namespace detail

/// MD5 (Content-MD5, the ETag of a single-part upload).
using Md5 = detail::EvpDigest<16>;
/// SHA-256 (SigV4 payload hash, x-amz-checksum-sha256).
using Sha256 = detail::EvpDigest<32>;

/// CRC32C (Castagnoli), as x-amz-checksum-crc32c. Check value of "123456789": 0xE3069283.
class Crc32c {
 public:
  void Update(std::string_view data) noexcept;
  uint32_t value() const noexcept { return ~state_; }
  /// base64 of the big-endian value, as the header carries it.
  std::string HeaderValue() const;
  static uint32_t Of(std::string_view data) noexcept;

 private:
  uint32_t state_ = 0xFFFFFFFFu;
};

/// CRC64/NVME, as x-amz-checksum-crc64nvme. Check value of "123456789": 0xAE8B14860A799888.
class Crc64Nvme {
 public:
  void Update(std::string_view data) noexcept;
  uint64_t value() const noexcept { return crc_; }
  /// base64 of the big-endian value, as the header carries it.
  std::string HeaderValue() const;
  static uint64_t Of(std::string_view data) noexcept;

 private:
  uint64_t crc_ = 0;
};

/// Lower-case hex of `bytes` (SigV4 uses lower case).
std::string Hex(std::string_view bytes);
template <size_t N>
std::string Hex(const std::array<uint8_t, N>& d) {
  return Hex(std::string_view(reinterpret_cast<const char*>(d.data()), N));
}

/// Standard base64 (RFC 4648, with padding), as Content-MD5 and x-amz-checksum-* use.
std::string Base64(std::string_view bytes);
template <size_t N>
std::string Base64(const std::array<uint8_t, N>& d) {
  return Base64(std::string_view(reinterpret_cast<const char*>(d.data()), N));
}
/// Decodes standard base64 (padding required). InvalidArgument on anything else.
Result<std::string> Base64Decode(std::string_view text);

/// Hex SHA-256 of `data` (the SigV4 payload hash of a body held in memory).
std::string Sha256Hex(std::string_view data);

}  // namespace esper::s3
