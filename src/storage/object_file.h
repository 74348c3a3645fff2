// LocalStore's object file: a header (key, size, MD5, content type, metadata), then the bytes.
//
// One file per object, so the object and what describes it are replaced together by one rename:
// a reader that opened the file reads one version, header and bytes alike.
//
//   offset  size  field
//   0       8     magic "ESPEROBJ"
//   8       4     format version (1), little-endian
//   12      4     header length H (the bytes start at H), little-endian
//   16      8     size of the bytes, little-endian      } written after the bytes (pwrite),
//   24      16    MD5 of the bytes                       } before the file becomes visible
//   40      …     key, content type: u32 length + bytes each; u32 count of metadata entries,
//                 then u32 length + name, u32 length + value for each
//   H       size  the bytes
//
// Thread safety: pure functions; Md5 is a value owned by one thread at a time.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "esper/core/result.h"
#include "esper/storage/object.h"
#include "storage/fs.h"

namespace esper::storage::detail {

inline constexpr std::string_view kObjectMagic = "ESPEROBJ";
inline constexpr uint32_t kObjectFormatVersion = 1;
inline constexpr size_t kSizeOffset = 16;
inline constexpr size_t kMd5Offset = 24;
inline constexpr size_t kFixedHeaderBytes = 40;
/// No header is longer (key 1 KiB + content type 1 KiB + metadata 2 KiB + lengths).
inline constexpr size_t kMaxHeaderBytes = 64 * 1024;
/// What a reader reads first; almost every header fits.
inline constexpr size_t kHeaderProbeBytes = 4096;

using Md5Digest = std::array<unsigned char, 16>;

struct ObjectHeader {
  std::string key;
  uint64_t size = 0;
  Md5Digest md5{};
  std::string content_type;
  Metadata metadata;
  uint32_t header_len = 0;  // set by Parse; Encode computes it
};

/// The header's bytes (size and md5 as given; a writer fills them in later at kSizeOffset and
/// kMd5Offset).
std::string EncodeObjectHeader(const ObjectHeader& header);

/// Whether `bytes` start with the magic (a file LocalStore wrote).
bool HasObjectMagic(std::string_view bytes) noexcept;

/// The header length a file starting with `bytes` (>= kFixedHeaderBytes) declares, or DataLoss.
Result<uint32_t> DeclaredHeaderLength(std::string_view bytes);

/// Parses a header from the file's first bytes (at least its declared length). DataLoss when
/// anything is out of bounds or not what a writer makes.
Result<ObjectHeader> ParseObjectHeader(std::string_view bytes);

/// The size and MD5 slots, as written after the bytes.
std::string EncodeSizeAndMd5(uint64_t size, const Md5Digest& md5);

/// Lower-case hex of an MD5 (the object's ETag).
std::string HexDigest(const Md5Digest& md5);

/// An object file opened for reading: one version, header and bytes.
struct OpenObject {
  UniqueFd fd;
  ObjectHeader header;
  struct stat st {};
  /// The file's first bytes as read: the header, and the whole file when it was small enough.
  std::string head;
};

/// Opens the object file `name` in `dir_fd` (never through a symbolic link) and reads its header
/// — in the same read, the whole file when it is at most `read_whole_up_to` bytes long (a small
/// get then costs one read). nullopt when there is no such file or it is not an object file (not
/// a regular file, no magic); DataLoss when its header is corrupt or its length disagrees with it.
Result<std::optional<OpenObject>> OpenObjectFile(int dir_fd, const std::string& name,
                                                 size_t read_whole_up_to = 0);

/// Incremental MD5 (OpenSSL).
class Md5 {
 public:
  Md5();
  ~Md5();
  Md5(const Md5&) = delete;
  Md5& operator=(const Md5&) = delete;
  void Update(std::string_view bytes);
  Md5Digest Finish();

 private:
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
};

}  // namespace esper::storage::detail
