// The object file's header (object_file.h) and MD5.
#include "storage/object_file.h"

#include <fcntl.h>
#include <openssl/evp.h>

#include <cerrno>

#include <algorithm>
#include <cstring>

namespace esper::storage::detail {
namespace {

void PutU32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}
void PutU64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}
void PutBytes(std::string& out, std::string_view s) {
  PutU32(out, static_cast<uint32_t>(s.size()));
  out.append(s);
}

uint64_t GetLe(std::string_view b, size_t at, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) {
    v = (v << 8) | static_cast<unsigned char>(b[at + static_cast<size_t>(i)]);
  }
  return v;
}

Error Corrupt(std::string_view why) {
  return Error::DataLoss(std::string("object file header is corrupt: ") + std::string(why));
}

// Reads length-prefixed fields from a header.
class Reader {
 public:
  Reader(std::string_view b, size_t at) : b_(b), at_(at) {}
  bool U32(uint32_t* v) {
    if (b_.size() - at_ < 4) return false;
    *v = static_cast<uint32_t>(GetLe(b_, at_, 4));
    at_ += 4;
    return true;
  }
  bool Bytes(std::string* s, size_t max) {
    uint32_t n = 0;
    if (!U32(&n) || n > max || b_.size() - at_ < n) return false;
    s->assign(b_.substr(at_, n));
    at_ += n;
    return true;
  }
  size_t at() const { return at_; }

 private:
  std::string_view b_;
  size_t at_;
};

}  // namespace

std::string EncodeObjectHeader(const ObjectHeader& header) {
  std::string out(kObjectMagic);
  PutU32(out, kObjectFormatVersion);
  PutU32(out, 0);  // header length, patched below
  out.append(EncodeSizeAndMd5(header.size, header.md5));
  PutBytes(out, header.key);
  PutBytes(out, header.content_type);
  PutU32(out, static_cast<uint32_t>(header.metadata.size()));
  for (const auto& [name, value] : header.metadata) {
    PutBytes(out, name);
    PutBytes(out, value);
  }
  const auto len = static_cast<uint32_t>(out.size());
  for (int i = 0; i < 4; ++i) out[12 + static_cast<size_t>(i)] = static_cast<char>((len >> (8 * i)) & 0xFF);
  return out;
}

bool HasObjectMagic(std::string_view bytes) noexcept { return bytes.starts_with(kObjectMagic); }

Result<uint32_t> DeclaredHeaderLength(std::string_view bytes) {
  if (bytes.size() < kFixedHeaderBytes || !HasObjectMagic(bytes)) return Corrupt("too short");
  if (GetLe(bytes, 8, 4) != kObjectFormatVersion) return Corrupt("unknown format version");
  const auto len = static_cast<uint32_t>(GetLe(bytes, 12, 4));
  if (len < kFixedHeaderBytes || len > kMaxHeaderBytes) return Corrupt("header length out of bounds");
  return len;
}

Result<ObjectHeader> ParseObjectHeader(std::string_view bytes) {
  ESPER_ASSIGN_OR_RETURN(const uint32_t len, DeclaredHeaderLength(bytes));
  if (bytes.size() < len) return Corrupt("shorter than its declared length");
  const std::string_view h = bytes.substr(0, len);
  ObjectHeader out;
  out.header_len = len;
  out.size = GetLe(h, kSizeOffset, 8);
  std::memcpy(out.md5.data(), h.data() + kMd5Offset, out.md5.size());
  Reader r(h, kFixedHeaderBytes);
  uint32_t count = 0;
  if (!r.Bytes(&out.key, kMaxKeyBytes) || !r.Bytes(&out.content_type, kMaxContentTypeBytes) ||
      !r.U32(&count) || count > kMaxMetadataBytes) {
    return Corrupt("bad key, content type or metadata count");
  }
  for (uint32_t i = 0; i < count; ++i) {
    std::string name, value;
    if (!r.Bytes(&name, kMaxMetadataBytes) || !r.Bytes(&value, kMaxMetadataBytes)) {
      return Corrupt("bad metadata entry");
    }
    out.metadata.emplace(std::move(name), std::move(value));
  }
  if (r.at() != len) return Corrupt("trailing bytes in the header");
  if (out.key.empty()) return Corrupt("empty key");
  return out;
}

std::string EncodeSizeAndMd5(uint64_t size, const Md5Digest& md5) {
  std::string out;
  PutU64(out, size);
  out.append(reinterpret_cast<const char*>(md5.data()), md5.size());
  return out;
}

std::string HexDigest(const Md5Digest& md5) {
  static constexpr char kLower[] = "0123456789abcdef";
  std::string out;
  out.reserve(32);
  for (unsigned char c : md5) {
    out.push_back(kLower[c >> 4]);
    out.push_back(kLower[c & 0xF]);
  }
  return out;
}

Result<std::optional<OpenObject>> OpenObjectFile(int dir_fd, const std::string& name,
                                                 size_t read_whole_up_to) {
  int err = 0;
  auto fd = OpenAt(dir_fd, name, O_RDONLY | O_NOFOLLOW, 0, &err);
  if (!fd) {
    if (err == ENOENT || err == ELOOP || err == ENOTDIR) return std::optional<OpenObject>();
    return fd.error();
  }
  OpenObject out;
  out.fd = std::move(*fd);
  ESPER_ASSIGN_OR_RETURN(out.st, Fstat(out.fd.get(), "stat an object file"));
  if (!S_ISREG(out.st.st_mode)) return std::optional<OpenObject>();
  const auto file_size = static_cast<uint64_t>(out.st.st_size);
  const size_t first = file_size <= read_whole_up_to
                           ? static_cast<size_t>(file_size)
                           : static_cast<size_t>(std::min<uint64_t>(file_size, kHeaderProbeBytes));
  out.head.resize(first);
  ESPER_ASSIGN_OR_RETURN(size_t n, PreadFull(out.fd.get(), out.head.data(), first, 0,
                                             "read an object file"));
  out.head.resize(n);
  if (!HasObjectMagic(out.head)) return std::optional<OpenObject>();
  ESPER_ASSIGN_OR_RETURN(const uint32_t len, DeclaredHeaderLength(out.head));
  if (len > out.head.size()) {
    out.head.resize(len);
    ESPER_ASSIGN_OR_RETURN(n, PreadFull(out.fd.get(), out.head.data(), len, 0, "read an object file"));
    out.head.resize(n);
  }
  ESPER_ASSIGN_OR_RETURN(out.header, ParseObjectHeader(out.head));
  if (file_size != out.header.header_len + out.header.size) {
    return Error::DataLoss("object file is " + std::to_string(file_size) +
                           " bytes long; its header says " +
                           std::to_string(out.header.header_len + out.header.size));
  }
  return std::optional<OpenObject>(std::move(out));
}

struct Md5::Ctx {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ~Ctx() { EVP_MD_CTX_free(ctx); }
};

Md5::Md5() : ctx_(std::make_unique<Ctx>()) { EVP_DigestInit_ex(ctx_->ctx, EVP_md5(), nullptr); }
Md5::~Md5() = default;

void Md5::Update(std::string_view bytes) { EVP_DigestUpdate(ctx_->ctx, bytes.data(), bytes.size()); }

Md5Digest Md5::Finish() {
  Md5Digest out{};
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx_->ctx, out.data(), &len);
  return out;
}

}  // namespace esper::storage::detail
