// Names, keys, metadata and content types: the rules of object.h, enforced the same for every store.
#include "esper/storage/object.h"

#include <fmt/format.h>

#include <cctype>

#include "esper/core/ascii.h"
#include "esper/core/redact.h"

namespace esper::storage {
namespace {

Error InvalidArgument(std::string_view service_code, std::string message) {
  return Error::InvalidArgument(std::move(message)).WithServiceCode(std::string(service_code));
}

bool IsTokenChar(unsigned char c) {
  if (std::isalnum(c)) return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+': case '-':
    case '.': case '^': case '_': case '`': case '|': case '~':
      return true;
    default:
      return false;
  }
}

bool IsPrintableAscii(std::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c > 0x7E) return false;
  }
  return true;
}

bool LooksLikeIpv4(std::string_view s) {
  int parts = 0;
  size_t i = 0;
  while (i <= s.size()) {
    size_t j = i;
    while (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j]))) ++j;
    if (j == i || j - i > 3) return false;
    ++parts;
    if (j == s.size()) break;
    if (s[j] != '.') return false;
    i = j + 1;
  }
  return parts == 4;
}

// Length of the UTF-8 sequence starting at s[i], or 0 when it is not valid (RFC 3629).
size_t Utf8SequenceLength(std::string_view s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  if (c < 0x80) return 1;
  size_t n = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // bounds of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;  // no overlong forms
    if (c == 0xED) hi = 0x9F;  // no surrogates
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) lo = 0x90;  // no overlong forms
    if (c == 0xF4) hi = 0x8F;  // nothing above U+10FFFF
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  if (b(i + 1) < lo || b(i + 1) > hi) return 0;
  for (size_t k = 2; k < n; ++k) {
    if (b(i + k) < 0x80 || b(i + k) > 0xBF) return 0;
  }
  return n;
}

}  // namespace

bool IsValidUtf8(std::string_view s) noexcept {
  for (size_t i = 0; i < s.size();) {
    const size_t n = Utf8SequenceLength(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

Status ValidateBucketName(std::string_view name) {
  const auto bad = [&](std::string_view why) {
    return InvalidArgument("InvalidBucketName",
                           fmt::format("bucket name '{}' is not valid: {}", RedactUrl(name), why));
  };
  if (name.size() < 3 || name.size() > 63) return bad("it must be 3 to 63 bytes long");
  for (unsigned char c : name) {
    if (!(std::islower(c) || std::isdigit(c) || c == '.' || c == '-')) {
      return bad("only lower-case letters, digits, '.' and '-' are allowed");
    }
  }
  const auto alnum = [](char c) {
    return std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c));
  };
  if (!alnum(name.front()) || !alnum(name.back())) {
    return bad("it must start and end with a letter or a digit");
  }
  if (name.find("..") != std::string_view::npos) return bad("it must not contain '..'");
  if (LooksLikeIpv4(name)) return bad("it must not look like an IP address");
  if (name.starts_with("xn--") || name.starts_with("sthree-")) {
    return bad("the prefixes 'xn--' and 'sthree-' are reserved");
  }
  if (name.ends_with("-s3alias") || name.ends_with("--ol-s3")) {
    return bad("the suffixes '-s3alias' and '--ol-s3' are reserved");
  }
  return OkStatus();
}

Status ValidateKey(std::string_view key) {
  if (key.empty()) return InvalidArgument("InvalidArgument", "an object key must not be empty");
  if (key.size() > kMaxKeyBytes) {
    return InvalidArgument("KeyTooLongError",
                           fmt::format("an object key is at most {} bytes; this one has {}",
                                       kMaxKeyBytes, key.size()));
  }
  for (size_t i = 0; i < key.size();) {
    if (key[i] == '\0') {
      return InvalidArgument("InvalidArgument",
                             fmt::format("an object key must not contain NUL (byte {})", i));
    }
    const size_t n = Utf8SequenceLength(key, i);
    if (n == 0) {
      return InvalidArgument("InvalidArgument",
                             fmt::format("an object key must be valid UTF-8 (byte {} is not)", i));
    }
    i += n;
  }
  return OkStatus();
}

Result<Metadata> NormalizeMetadata(const Metadata& metadata) {
  Metadata out;
  size_t total = 0;
  for (const auto& [name, value] : metadata) {
    if (name.empty()) return InvalidArgument("InvalidArgument", "a metadata name must not be empty");
    std::string lower;
    lower.reserve(name.size());
    for (unsigned char c : name) {
      if (!IsTokenChar(c)) {
        return InvalidArgument(
            "InvalidArgument",
            fmt::format("metadata name '{}' may hold only letters, digits and !#$%&'*+-.^_`|~",
                        IsPrintableAscii(name) ? name : std::string("(not printable)")));
      }
      lower.push_back(AsciiLower(static_cast<char>(c)));
    }
    if (!IsPrintableAscii(value)) {
      return InvalidArgument("InvalidArgument",
                             fmt::format("metadata '{}': a value must be printable US-ASCII", lower));
    }
    if (!value.empty() && (value.front() == ' ' || value.back() == ' ')) {
      return InvalidArgument(
          "InvalidArgument",
          fmt::format("metadata '{}': a value must not start or end with a space (HTTP strips it)",
                      lower));
    }
    total += lower.size() + value.size();
    if (!out.emplace(lower, value).second) {
      return InvalidArgument("InvalidArgument",
                             fmt::format("metadata name '{}' is given twice (names are "
                                         "case-insensitive)",
                                         lower));
    }
  }
  if (total > kMaxMetadataBytes) {
    return InvalidArgument("MetadataTooLarge",
                           fmt::format("user metadata is at most {} bytes (names and values); "
                                       "this has {}",
                                       kMaxMetadataBytes, total));
  }
  return out;
}

Status ValidateContentType(std::string_view content_type) {
  if (content_type.size() > kMaxContentTypeBytes) {
    return InvalidArgument("InvalidArgument",
                           fmt::format("a content type is at most {} bytes", kMaxContentTypeBytes));
  }
  if (!IsPrintableAscii(content_type)) {
    return InvalidArgument("InvalidArgument", "a content type must be printable US-ASCII");
  }
  return OkStatus();
}

}  // namespace esper::storage
