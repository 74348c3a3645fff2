#include "esper/s3/xml.h"

#include <pugixml.hpp>

#include <charconv>
#include <ctime>

#include "esper/s3/errors.h"

namespace esper::s3 {
namespace {

// The document's root, or the Error to return: the S3 error of an <Error> body, or Unavailable.
Result<pugi::xml_node> Root(const pugi::xml_document& doc, std::string_view xml, const char* expected) {
  if (const pugi::xml_node e = doc.child("Error")) {
    return MapS3Error(200, e.child("Code").text().as_string(), e.child("Message").text().as_string(),
                      e.child("RequestId").text().as_string(), std::string("in a 200 response (") + expected + ")");
  }
  if (const pugi::xml_node root = doc.child(expected)) return root;
  const std::string found = doc.first_child() ? doc.first_child().name() : "";
  return Error::Unavailable(std::string("S3 response is not a ") + expected + " document (" +
                            (xml.empty() ? "empty body" : found.empty() ? "not XML" : "root <" + found + ">") + ")");
}

// Parses `xml` into `doc` (a malformed body leaves what pugixml could read; Root() then decides).
void Load(pugi::xml_document& doc, std::string_view xml) {
  (void)doc.load_buffer(xml.data(), xml.size(), pugi::parse_default, pugi::encoding_utf8);
}

std::string Text(const pugi::xml_node& n, const char* name) { return n.child(name).text().as_string(); }

uint64_t U64(const pugi::xml_node& n, const char* name) { return n.child(name).text().as_ullong(); }

bool Bool(const pugi::xml_node& n, const char* name) { return n.child(name).text().as_bool(); }

Timestamp Time(const pugi::xml_node& n, const char* name) {
  return ParseIso8601(n.child(name).text().as_string()).value_or(Timestamp{});
}

int Hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// application/x-www-form-urlencoded decoding, as S3's encoding-type=url uses it.
std::string FormDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out.push_back(' ');
    } else if (s[i] == '%' && i + 2 < s.size() && Hex(s[i + 1]) >= 0 && Hex(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(Hex(s[i + 1]) * 16 + Hex(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

int ParseInt(std::string_view s, size_t pos, size_t len, bool* ok) {
  int v = 0;
  if (pos + len > s.size()) {
    *ok = false;
    return 0;
  }
  auto [p, ec] = std::from_chars(s.data() + pos, s.data() + pos + len, v);
  if (ec != std::errc() || p != s.data() + pos + len) *ok = false;
  return v;
}

std::optional<Timestamp> FromFields(int y, int mo, int d, int h, int mi, int sec, int ms) {
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60 || y < 1970 || y > 9999) return std::nullopt;
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  return std::chrono::system_clock::from_time_t(timegm(&tm)) + std::chrono::milliseconds(ms);
}

}  // namespace

std::optional<Timestamp> ParseIso8601(std::string_view t) {
  // YYYY-MM-DDTHH:MM:SS[.fff…]Z
  if (t.size() < 20 || t[4] != '-' || t[7] != '-' || (t[10] != 'T' && t[10] != 't') || t[13] != ':' || t[16] != ':')
    return std::nullopt;
  bool ok = true;
  const int y = ParseInt(t, 0, 4, &ok), mo = ParseInt(t, 5, 2, &ok), d = ParseInt(t, 8, 2, &ok);
  const int h = ParseInt(t, 11, 2, &ok), mi = ParseInt(t, 14, 2, &ok), s = ParseInt(t, 17, 2, &ok);
  size_t i = 19;
  int ms = 0;
  if (i < t.size() && t[i] == '.') {
    size_t j = ++i;
    while (j < t.size() && t[j] >= '0' && t[j] <= '9') ++j;
    if (j == i) return std::nullopt;
    for (size_t k = i; k < i + 3; ++k) ms = ms * 10 + (k < j ? t[k] - '0' : 0);
    i = j;
  }
  if (!ok || i + 1 != t.size() || (t[i] != 'Z' && t[i] != 'z')) return std::nullopt;
  return FromFields(y, mo, d, h, mi, s, ms);
}

std::optional<Timestamp> ParseHttpDate(std::string_view t) {
  // "Wed, 21 Oct 2015 07:28:00 GMT"
  static constexpr std::string_view kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  if (t.size() != 29 || t[3] != ',' || t[4] != ' ' || t[7] != ' ' || t[11] != ' ' || t[16] != ' ' || t[19] != ':' ||
      t[22] != ':' || t.substr(25) != " GMT")
    return std::nullopt;
  int mo = 0;
  for (int k = 0; k < 12; ++k)
    if (t.substr(8, 3) == kMonths[k]) mo = k + 1;
  bool ok = mo != 0;
  const int d = ParseInt(t, 5, 2, &ok), y = ParseInt(t, 12, 4, &ok);
  const int h = ParseInt(t, 17, 2, &ok), mi = ParseInt(t, 20, 2, &ok), s = ParseInt(t, 23, 2, &ok);
  if (!ok) return std::nullopt;
  return FromFields(y, mo, d, h, mi, s, 0);
}

Result<ListObjectsV2Page> ParseListObjectsV2(std::string_view xml) {
  pugi::xml_document doc;
  Load(doc, xml);
  ESPER_ASSIGN_OR_RETURN(pugi::xml_node root, Root(doc, xml, "ListBucketResult"));
  const bool url = Text(root, "EncodingType") == "url";
  auto key = [url](std::string s) { return url ? FormDecode(s) : s; };
  ListObjectsV2Page p;
  for (pugi::xml_node c : root.children("Contents"))
    p.contents.push_back({.key = key(Text(c, "Key")),
                          .size = U64(c, "Size"),
                          .etag = Text(c, "ETag"),
                          .last_modified = Time(c, "LastModified"),
                          .storage_class = Text(c, "StorageClass")});
  for (pugi::xml_node c : root.children("CommonPrefixes")) p.common_prefixes.push_back(key(Text(c, "Prefix")));
  p.is_truncated = Bool(root, "IsTruncated");
  p.next_continuation_token = Text(root, "NextContinuationToken");
  p.key_count = root.child("KeyCount").text().as_int();
  p.prefix = key(Text(root, "Prefix"));
  p.delimiter = key(Text(root, "Delimiter"));
  p.start_after = key(Text(root, "StartAfter"));
  if (p.is_truncated && p.next_continuation_token.empty())
    return Error::Unavailable("S3 ListObjectsV2 page is truncated but has no NextContinuationToken");
  return p;
}

Result<std::vector<BucketInfo>> ParseListBuckets(std::string_view xml) {
  pugi::xml_document doc;
  Load(doc, xml);
  ESPER_ASSIGN_OR_RETURN(pugi::xml_node root, Root(doc, xml, "ListAllMyBucketsResult"));
  std::vector<BucketInfo> out;
  for (pugi::xml_node b : root.child("Buckets").children("Bucket"))
    out.push_back({.name = Text(b, "Name"), .creation_date = Time(b, "CreationDate")});
  return out;
}

std::string BuildDeleteObjectsRequest(const std::vector<std::string>& keys, bool quiet) {
  std::string x = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">";
  if (quiet) x += "<Quiet>true</Quiet>";
  for (const auto& k : keys) x.append("<Object><Key>").append(XmlEscape(k)).append("</Key></Object>");
  x += "</Delete>";
  return x;
}

Result<DeleteObjectsResult> ParseDeleteObjectsResult(std::string_view xml) {
  pugi::xml_document doc;
  Load(doc, xml);
  ESPER_ASSIGN_OR_RETURN(pugi::xml_node root, Root(doc, xml, "DeleteResult"));
  DeleteObjectsResult r;
  for (pugi::xml_node d : root.children("Deleted")) r.deleted.push_back(Text(d, "Key"));
  for (pugi::xml_node e : root.children("Error"))
    r.errors.push_back({.key = Text(e, "Key"), .code = Text(e, "Code"), .message = Text(e, "Message")});
  return r;
}

Result<CopyObjectResult> ParseCopyObjectResult(std::string_view xml) {
  pugi::xml_document doc;
  Load(doc, xml);
  ESPER_ASSIGN_OR_RETURN(pugi::xml_node root, Root(doc, xml, "CopyObjectResult"));
  return CopyObjectResult{.etag = Text(root, "ETag"), .last_modified = Time(root, "LastModified")};
}

Result<InitiateMultipartUploadResult> ParseInitiateMultipartUploadResult(std::string_view xml) {
  pugi::xml_document doc;
  Load(doc, xml);
  ESPER_ASSIGN_OR_RETURN(pugi::xml_node root, Root(doc, xml, "InitiateMultipartUploadResult"));
  InitiateMultipartUploadResult r{.bucket = Text(root, "Bucket"), .key = Text(root, "Key"),
                                  .upload_id = Text(root, "UploadId")};
  if (r.upload_id.empty()) return Error::Unavailable("S3 InitiateMultipartUploadResult has no UploadId");
  return r;
}

std::string BuildCompleteMultipartUploadRequest(const std::vector<CompletedPart>& parts) {
  std::string x = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                  "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">";
  for (const auto& p : parts) {
    x.append("<Part><PartNumber>").append(std::to_string(p.part_number)).append("</PartNumber><ETag>");
    x.append(XmlEscape(p.etag)).append("</ETag></Part>");
  }
  x += "</CompleteMultipartUpload>";
  return x;
}

Result<CompleteMultipartUploadResult> ParseCompleteMultipartUploadResult(std::string_view xml) {
  pugi::xml_document doc;
  Load(doc, xml);
  ESPER_ASSIGN_OR_RETURN(pugi::xml_node root, Root(doc, xml, "CompleteMultipartUploadResult"));
  return CompleteMultipartUploadResult{.location = Text(root, "Location"), .bucket = Text(root, "Bucket"),
                                       .key = Text(root, "Key"), .etag = Text(root, "ETag")};
}

Result<ListMultipartUploadsPage> ParseListMultipartUploads(std::string_view xml) {
  pugi::xml_document doc;
  Load(doc, xml);
  ESPER_ASSIGN_OR_RETURN(pugi::xml_node root, Root(doc, xml, "ListMultipartUploadsResult"));
  const bool url = Text(root, "EncodingType") == "url";
  auto key = [url](std::string s) { return url ? FormDecode(s) : s; };
  ListMultipartUploadsPage p;
  for (pugi::xml_node u : root.children("Upload"))
    p.uploads.push_back({.key = key(Text(u, "Key")), .upload_id = Text(u, "UploadId"), .initiated = Time(u, "Initiated")});
  for (pugi::xml_node c : root.children("CommonPrefixes")) p.common_prefixes.push_back(key(Text(c, "Prefix")));
  p.is_truncated = Bool(root, "IsTruncated");
  p.next_key_marker = key(Text(root, "NextKeyMarker"));
  p.next_upload_id_marker = Text(root, "NextUploadIdMarker");
  return p;
}

Result<ListPartsPage> ParseListParts(std::string_view xml) {
  pugi::xml_document doc;
  Load(doc, xml);
  ESPER_ASSIGN_OR_RETURN(pugi::xml_node root, Root(doc, xml, "ListPartsResult"));
  ListPartsPage p;
  for (pugi::xml_node part : root.children("Part"))
    p.parts.push_back({.part_number = part.child("PartNumber").text().as_int(), .etag = Text(part, "ETag"),
                       .size = U64(part, "Size"), .last_modified = Time(part, "LastModified")});
  p.is_truncated = Bool(root, "IsTruncated");
  p.next_part_number_marker = root.child("NextPartNumberMarker").text().as_int();
  return p;
}

}  // namespace esper::s3
