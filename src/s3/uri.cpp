#include "esper/s3/uri.h"

#include <array>

#include "esper/core/ascii.h"
#include "esper/core/redact.h"
#include "s3/url_parts.h"

namespace esper::s3 {
namespace {

constexpr size_t kMaxKeyBytes = 1024;

bool IsIpv4(std::string_view s) {
  int parts = 0;
  while (true) {
    size_t n = 0;
    while (n < s.size() && IsAsciiDigit(s[n])) ++n;
    if (n == 0 || n > 3) return false;
    ++parts;
    s.remove_prefix(n);
    if (s.empty()) return parts == 4;
    if (s[0] != '.') return false;
    s.remove_prefix(1);
  }
}

Error BadBucket(std::string_view bucket, std::string_view why) {
  // A name typed with a credential in it ("user:pw@bucket") is never echoed whole.
  return Error::InvalidArgument("invalid bucket name '" + RedactUrl(bucket) + "': " + std::string(why));
}

}  // namespace

Status ValidateBucketName(std::string_view b) {
  if (b.size() < 3 || b.size() > 63) return BadBucket(b, "must be 3 to 63 characters long");
  for (char c : b)
    if (!(IsAsciiDigit(c) || (c >= 'a' && c <= 'z') || c == '.' || c == '-'))
      return BadBucket(b, "only lower-case letters, digits, '.' and '-' are allowed");
  auto alnum = [](char c) { return IsAsciiDigit(c) || (c >= 'a' && c <= 'z'); };
  if (!alnum(b.front()) || !alnum(b.back())) return BadBucket(b, "must begin and end with a letter or digit");
  if (b.find("..") != std::string_view::npos) return BadBucket(b, "must not contain \"..\"");
  if (IsIpv4(b)) return BadBucket(b, "must not be an IP address");
  for (std::string_view p : {"xn--", "sthree-", "amzn-s3-demo-"})
    if (b.starts_with(p)) return BadBucket(b, "must not begin with \"" + std::string(p) + "\"");
  for (std::string_view s : {"-s3alias", "--ol-s3", ".mrap", "--x-s3"})
    if (b.ends_with(s)) return BadBucket(b, "must not end with \"" + std::string(s) + "\"");
  return OkStatus();
}

Status ValidateKey(std::string_view key) {
  if (key.empty()) return Error::InvalidArgument("an object key must not be empty");
  if (key.size() > kMaxKeyBytes)
    return Error::InvalidArgument("object key is " + std::to_string(key.size()) + " bytes; S3 allows at most 1024");
  return OkStatus();
}

Result<S3Uri> parse_s3_uri(std::string_view uri) {
  constexpr std::string_view kScheme = "s3://";
  if (uri.size() < kScheme.size() || !EqualsIgnoreCase(uri.substr(0, kScheme.size()), kScheme))
    return Error::InvalidArgument("invalid S3 URI '" + RedactUrl(uri) + "': not an s3:// URI");
  std::string_view rest = uri.substr(kScheme.size());
  const size_t slash = rest.find('/');
  S3Uri out{.bucket = std::string(rest.substr(0, slash))};
  if (slash != std::string_view::npos) out.key = std::string(rest.substr(slash + 1));
  if (out.bucket.empty()) return Error::InvalidArgument("invalid S3 URI '" + RedactUrl(uri) + "': no bucket");
  if (auto s = ValidateBucketName(out.bucket); !s) return std::move(s.error()).Wrap("invalid S3 URI '" + RedactUrl(uri) + "'");
  if (!out.key.empty())
    if (auto s = ValidateKey(out.key); !s) return std::move(s.error()).Wrap("invalid S3 URI");
  return out;
}

std::string EncodeKey(std::string_view key) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(key.size() + key.size() / 4);
  for (char c : key) {
    if (IsAsciiAlnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '/') {
      out.push_back(c);
    } else {
      const auto b = static_cast<unsigned char>(c);
      out.push_back('%');
      out.push_back(kHex[b >> 4]);
      out.push_back(kHex[b & 15]);
    }
  }
  return out;
}

Result<Addressing> Addressing::Create(Options options) {
  if (options.region.empty()) return Error::InvalidArgument("S3 addressing: no region");
  Addressing a;
  a.region_ = std::move(options.region);
  a.style_ = options.style;
  a.custom_ = !options.endpoint_url.empty();
  std::string endpoint = a.custom_ ? std::move(options.endpoint_url) : "https://s3." + a.region_ + ".amazonaws.com";
  ESPER_ASSIGN_OR_RETURN(detail::UrlParts parts, detail::SplitUrl(endpoint));
  if (!parts.query.empty() || endpoint.find('#') != std::string::npos)
    return Error::InvalidArgument("S3 endpoint '" + http::RedactUrl(endpoint) + "' must not have a query or fragment");
  while (!parts.path.empty() && parts.path.back() == '/') parts.path.pop_back();
  a.scheme_ = parts.scheme;
  a.host_port_ = parts.host_header;
  a.base_path_ = parts.path;
  a.endpoint_ = parts.scheme + "://" + parts.host_header + parts.path;
  return a;
}

bool Addressing::UsesPathStyle(std::string_view bucket) const {
  if (bucket.empty() || style_ == AddressingStyle::kPath) return true;
  if (style_ == AddressingStyle::kAuto && custom_) return true;
  // Virtual-hosted needs the bucket to be one DNS label under https (the certificate is a
  // wildcard of one level), and a valid bucket name at all.
  if (!ValidateBucketName(bucket)) return true;
  return scheme_ == "https" && bucket.find('.') != std::string_view::npos;
}

std::string Addressing::ObjectUrl(std::string_view bucket, std::string_view key) const {
  std::string url;
  if (UsesPathStyle(bucket)) {
    url = endpoint_;
    url.push_back('/');
    if (!bucket.empty()) {
      url.append(bucket);
      if (!key.empty()) url.push_back('/');
    }
  } else {
    url = scheme_ + "://" + std::string(bucket) + "." + host_port_ + base_path_ + "/";
  }
  url.append(EncodeKey(key));
  return url;
}

}  // namespace esper::s3
