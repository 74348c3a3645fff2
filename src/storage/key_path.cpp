// Key ↔ path mapping of LocalStore (key_path.h).
#include "storage/key_path.h"

#include <openssl/evp.h>

namespace esper::storage::detail {
namespace {

constexpr char kHex[] = "0123456789ABCDEF";

bool MustEscape(unsigned char c, size_t index) {
  return c == '%' || c == '/' || c < 0x20 || c == 0x7F || (index == 0 && c == '.');
}

std::string EncodePlain(std::string_view segment) {
  if (segment.empty()) return "%";
  std::string out;
  out.reserve(segment.size());
  for (size_t i = 0; i < segment.size(); ++i) {
    const auto c = static_cast<unsigned char>(segment[i]);
    if (MustEscape(c, i)) {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xF]);
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out;
}

int UpperHexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool IsLowerHex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace

std::string SegmentDigest(std::string_view segment) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(segment.data(), segment.size(), md, &len, EVP_sha256(), nullptr);
  std::string out;
  out.reserve(2 * len);
  static constexpr char kLower[] = "0123456789abcdef";
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(kLower[md[i] >> 4]);
    out.push_back(kLower[md[i] & 0xF]);
  }
  return out;
}

std::string EncodeSegment(std::string_view segment, EntryKind kind) {
  std::string name = EncodePlain(segment);
  if (name.size() > kMaxPlainName) name = "%h" + SegmentDigest(segment);
  if (kind == EntryKind::kObject) name += kObjectSuffix;
  return name;
}

std::optional<DecodedName> DecodeName(std::string_view name) {
  DecodedName out;
  out.kind = EntryKind::kDirectory;
  if (name.ends_with(kObjectSuffix)) {
    out.kind = EntryKind::kObject;
    name.remove_suffix(kObjectSuffix.size());
  }
  if (name.empty()) return std::nullopt;
  if (name == "%") return out;  // the empty segment
  if (name.starts_with("%h")) {
    name.remove_prefix(2);
    if (name.size() != 64 || !IsLowerHex(name)) return std::nullopt;
    out.hashed = true;
    out.text = std::string(name);
    return out;
  }
  if (name.size() > kMaxPlainName) return std::nullopt;
  out.text.reserve(name.size());
  for (size_t i = 0; i < name.size(); ++i) {
    if (name[i] != '%') {
      out.text.push_back(name[i]);
      continue;
    }
    if (i + 2 >= name.size()) return std::nullopt;
    const int hi = UpperHexValue(name[i + 1]);
    const int lo = UpperHexValue(name[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.text.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  // Canonical only: what EncodePlain makes of the segment must be this very name.
  if (EncodePlain(out.text) != name) return std::nullopt;
  return out;
}

std::vector<std::string_view> SplitKey(std::string_view key) {
  std::vector<std::string_view> segments;
  size_t start = 0;
  for (;;) {
    const size_t slash = key.find('/', start);
    if (slash == std::string_view::npos) {
      segments.push_back(key.substr(start));
      return segments;
    }
    segments.push_back(key.substr(start, slash - start));
    start = slash + 1;
  }
}

std::vector<std::string> KeyToPath(std::string_view key) {
  const std::vector<std::string_view> segments = SplitKey(key);
  std::vector<std::string> path;
  path.reserve(segments.size());
  for (size_t i = 0; i + 1 < segments.size(); ++i) {
    path.push_back(EncodeSegment(segments[i], EntryKind::kDirectory));
  }
  path.push_back(EncodeSegment(segments.back(), EntryKind::kObject));
  return path;
}

}  // namespace esper::storage::detail
