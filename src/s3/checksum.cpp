#include "esper/s3/checksum.h"

#include <crcutil/generic_crc.h>
#include <isa-l/crc.h>
#include <openssl/evp.h>

#include <climits>

namespace esper::s3 {
namespace detail {

void EvpDeleter::operator()(evp_md_ctx_st* ctx) const noexcept { EVP_MD_CTX_free(ctx); }

namespace {
// Fetched once: with OpenSSL 3, EVP_md5() / EVP_sha256() make every EVP_DigestInit fetch the
// algorithm again (a provider lookup under a read lock), about half the cost of hashing a small
// buffer. The fetched objects live for the whole process.
template <size_t N>
const EVP_MD* Algorithm() {
  static const EVP_MD* md = EVP_MD_fetch(nullptr, N == 16 ? "MD5" : "SHA2-256", nullptr);
  return md;
}
}  // namespace

template <size_t N>
EvpDigest<N>::EvpDigest() : ctx_(EVP_MD_CTX_new()) {
  EVP_DigestInit_ex(ctx_.get(), Algorithm<N>(), nullptr);
}

template <size_t N>
void EvpDigest<N>::Update(std::string_view data) {
  EVP_DigestUpdate(ctx_.get(), data.data(), data.size());
}

template <size_t N>
typename EvpDigest<N>::Digest EvpDigest<N>::Final() {
  Digest d{};
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx_.get(), d.data(), &len);
  EVP_DigestInit_ex(ctx_.get(), Algorithm<N>(), nullptr);
  return d;
}

template <size_t N>
typename EvpDigest<N>::Digest EvpDigest<N>::Of(std::string_view data) {
  Digest d{};
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), d.data(), &len, Algorithm<N>(), nullptr);
  return d;
}

template class EvpDigest<16>;
template class EvpDigest<32>;

}  // namespace detail

namespace {

template <typename T>
std::string BigEndianBase64(T v) {
  std::array<uint8_t, sizeof(T)> b{};
  for (size_t i = 0; i < sizeof(T); ++i) b[i] = static_cast<uint8_t>(v >> (8 * (sizeof(T) - 1 - i)));
  return Base64(b);
}

// CRC64/NVME: polynomial 0xad93d23594c93659, reflected (crcutil takes it bit-reversed), with
// the initial value and the final XOR all ones ("canonical" in crcutil's words).
using Crc64Impl = crcutil::GenericCrc<crcutil::uint64, crcutil::uint64, crcutil::uint64, 4>;
const Crc64Impl& Crc64Table() {
  static const Crc64Impl table(0x9a6c9329ac4bc9b5ULL, 64, true);
  return table;
}

}  // namespace

void Crc32c::Update(std::string_view data) noexcept {
  // ISA-L takes an int length and a non-const buffer it only reads.
  auto* p = reinterpret_cast<unsigned char*>(const_cast<char*>(data.data()));
  size_t left = data.size();
  while (left > 0) {
    const int n = static_cast<int>(std::min<size_t>(left, size_t{1} << 30));
    state_ = crc32_iscsi(p, n, state_);
    p += n;
    left -= static_cast<size_t>(n);
  }
}

std::string Crc32c::HeaderValue() const { return BigEndianBase64(value()); }

uint32_t Crc32c::Of(std::string_view data) noexcept {
  Crc32c c;
  c.Update(data);
  return c.value();
}

void Crc64Nvme::Update(std::string_view data) noexcept {
  crc_ = Crc64Table().CrcDefault(data.data(), data.size(), crc_);
}

std::string Crc64Nvme::HeaderValue() const { return BigEndianBase64(value()); }

uint64_t Crc64Nvme::Of(std::string_view data) noexcept {
  Crc64Nvme c;
  c.Update(data);
  return c.value();
}

std::string Hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(bytes.size() * 2, '\0');
  for (size_t i = 0; i < bytes.size(); ++i) {
    const auto b = static_cast<unsigned char>(bytes[i]);
    out[2 * i] = kDigits[b >> 4];
    out[2 * i + 1] = kDigits[b & 15];
  }
  return out;
}

std::string Base64(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  // EVP_EncodeBlock takes an int length: encode in whole 3-byte groups of at most ~768 MiB.
  size_t in = 0, o = 0;
  while (in < bytes.size()) {
    const size_t n = std::min<size_t>(bytes.size() - in, size_t{3} << 28);
    o += static_cast<size_t>(EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data() + o),
                                             reinterpret_cast<const unsigned char*>(bytes.data() + in),
                                             static_cast<int>(n)));
    in += n;
  }
  out.resize(o);
  return out;
}

Result<std::string> Base64Decode(std::string_view text) {
  if (text.size() % 4 != 0 || text.size() > INT_MAX)
    return Error::InvalidArgument("base64: length is not a multiple of 4");
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    const bool alnum = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    const bool pad = c == '=' && i + 2 >= text.size() && (i + 1 == text.size() || text[i + 1] == '=');
    if (!alnum && c != '+' && c != '/' && !pad)
      return Error::InvalidArgument("base64: invalid character at offset " + std::to_string(i));
  }
  std::string out(text.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  if (n < 0) return Error::InvalidArgument("base64: malformed");
  size_t len = static_cast<size_t>(n);
  if (!text.empty() && text.back() == '=') --len;  // EVP_DecodeBlock counts padding as zero bytes
  if (text.size() >= 2 && text[text.size() - 2] == '=') --len;
  out.resize(len);
  return out;
}

std::string Sha256Hex(std::string_view data) { return Hex(Sha256::Of(data)); }

}  // namespace esper::s3
