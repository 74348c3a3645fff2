// LocalStore's mapping from object keys to paths below a bucket directory (docs/storage.md).
//
// A key is split at '/' into segments ("a//b" → "a", "", "b"); every segment but the last names a
// directory, the last names the object file. Each segment is encoded into one file-name component
// that the file system can hold and that is never ".", "..", empty or hidden:
//   * '%', the bytes 0x00-0x1F and 0x7F, and a leading '.' become %XX (upper-case hex); every
//     other byte — including all of UTF-8 above ASCII — stays as it is;
//   * the empty segment is "%";
//   * an encoding longer than kMaxPlainName bytes becomes "%h" + the hex SHA-256 of the segment
//     (the object file's header holds the whole key, so the mapping stays reversible);
//   * an object file's name ends in "%o", which no encoded segment contains, so a key "a" (file
//     "a%o") and a key "a/b" (directory "a", file "b%o") never collide.
// The encoding is canonical: DecodeName accepts only names EncodeSegment produces, so internal
// files (names starting with '.') and foreign files are never taken for keys.
//
// Thread safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace esper::storage::detail {

/// Longest encoded segment kept readable; longer ones are hashed (NAME_MAX is 255).
inline constexpr size_t kMaxPlainName = 240;
/// The suffix of an object file's name.
inline constexpr std::string_view kObjectSuffix = "%o";

enum class EntryKind { kDirectory, kObject };

/// The file-name component for `segment` (which holds no '/') as a directory or an object file.
std::string EncodeSegment(std::string_view segment, EntryKind kind);

struct DecodedName {
  EntryKind kind = EntryKind::kObject;
  /// The name is "%h<digest>": `text` is the digest, and the segment must be found elsewhere
  /// (an object's header; for a directory, the key of any object below it).
  bool hashed = false;
  /// The segment, or the digest when hashed.
  std::string text;
};

/// Decodes a directory entry's name, or nullopt when EncodeSegment never makes it.
std::optional<DecodedName> DecodeName(std::string_view name);

/// The components of `key`'s path below its bucket: its directories, then its object file.
std::vector<std::string> KeyToPath(std::string_view key);

/// The segments of `key` ("a//b" → "a", "", "b").
std::vector<std::string_view> SplitKey(std::string_view key);

/// Lower-case hex SHA-256 of `segment` (what a hashed name carries).
std::string SegmentDigest(std::string_view segment);

}  // namespace esper::storage::detail
