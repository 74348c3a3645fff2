// esper/s3/xml.h — the XML bodies of the S3 operations an ObjectStore uses, parsed with pugixml
// and built by hand-escaped templates: ListObjectsV2, ListBuckets, DeleteObjects (request and
// result), CopyObjectResult, InitiateMultipartUploadResult, CompleteMultipartUpload (request and
// result), ListMultipartUploads, ListParts. Error bodies are errors.h's.
//
// Parsers take the response body and return the result or an Error. A body that is not the
// expected document is Unavailable, retryable (a truncated or garbled body is fixed by a retry;
// the retry budget bounds a server that always answers so), naming the document expected and the
// root element found. An <Error> body where a result was expected (CopyObject and
// CompleteMultipartUpload answer 200 and then fail) is that S3 error, mapped by errors.h with
// HTTP status 200. Elements S3 may add later are ignored. Keys come back decoded when the
// response says <EncodingType>url</EncodingType> (ask for it with encoding-type=url: it is the
// only way a key with characters XML 1.0 cannot carry, such as U+0001, is listed); S3 encodes a
// space there as '+', so '+' decodes to a space and a real '+' arrives as %2B.
//
// Timestamps (LastModified, Initiated, CreationDate) are parsed from ISO 8601
// ("2009-10-12T17:50:30.000Z"); ParseHttpDate reads the RFC 7231 form of a Last-Modified header.
//
// Example:
//   auto page = esper::s3::ParseListObjectsV2(response.body);
//   if (!page) return page.error();
//   for (const auto& o : page->contents) fmt::print("{} {}\n", o.size, o.key);
//   if (page->is_truncated) next.query.push_back({"continuation-token", page->next_continuation_token});
//
// Thread safety: pure functions. Memory: a parse holds the document (about the body's size
// again) only while it runs.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "esper/core/result.h"
#include "esper/core/xml_escape.h"

namespace esper::s3 {

using Timestamp = std::chrono::system_clock::time_point;

/// "2009-10-12T17:50:30.000Z" (fraction optional). nullopt if malformed.
std::optional<Timestamp> ParseIso8601(std::string_view text);
/// "Wed, 21 Oct 2015 07:28:00 GMT" (RFC 7231 IMF-fixdate). nullopt if malformed.
std::optional<Timestamp> ParseHttpDate(std::string_view text);

struct ObjectInfo {
  std::string key{};
  uint64_t size = 0;
  /// As sent, with its quotes ("\"9b2cf535f27731c974343645a3985328\"").
  std::string etag{};
  Timestamp last_modified{};
  std::string storage_class{};
};

/// One page of ListObjectsV2.
struct ListObjectsV2Page {
  std::vector<ObjectInfo> contents{};
  /// With a delimiter: the "directories" (prefix up to and including the delimiter).
  std::vector<std::string> common_prefixes{};
  bool is_truncated = false;
  /// Pass back as continuation-token for the next page (when is_truncated).
  std::string next_continuation_token{};
  int key_count = 0;
  std::string prefix{};
  std::string delimiter{};
  std::string start_after{};
};
Result<ListObjectsV2Page> ParseListObjectsV2(std::string_view xml);

struct BucketInfo {
  std::string name{};
  Timestamp creation_date{};
};
Result<std::vector<BucketInfo>> ParseListBuckets(std::string_view xml);

/// DeleteObjects: at most 1000 keys per request (S3's limit; the caller batches). `quiet` asks
/// S3 to report only failures. Send with Content-MD5 (S3 requires it for this request).
std::string BuildDeleteObjectsRequest(const std::vector<std::string>& keys, bool quiet = false);
struct DeleteObjectsResult {
  struct Failure {
    std::string key{};
    std::string code{};
    std::string message{};
  };
  std::vector<std::string> deleted{};
  std::vector<Failure> errors{};
};
Result<DeleteObjectsResult> ParseDeleteObjectsResult(std::string_view xml);

struct CopyObjectResult {
  std::string etag{};
  Timestamp last_modified{};
};
/// A 200 whose body is <Error> is that error.
Result<CopyObjectResult> ParseCopyObjectResult(std::string_view xml);

struct InitiateMultipartUploadResult {
  std::string bucket{};
  std::string key{};
  std::string upload_id{};
};
Result<InitiateMultipartUploadResult> ParseInitiateMultipartUploadResult(std::string_view xml);

struct CompletedPart {
  int part_number = 0;
  std::string etag{};  // as UploadPart returned it (quotes included)
};
/// The CompleteMultipartUpload body; parts must be in ascending part number (S3's rule; not
/// reordered here, so a caller's mistake is S3's InvalidPartOrder, not silently fixed).
std::string BuildCompleteMultipartUploadRequest(const std::vector<CompletedPart>& parts);
struct CompleteMultipartUploadResult {
  std::string location{};
  std::string bucket{};
  std::string key{};
  std::string etag{};
};
/// A 200 whose body is <Error> is that error.
Result<CompleteMultipartUploadResult> ParseCompleteMultipartUploadResult(std::string_view xml);

struct MultipartUploadInfo {
  std::string key{};
  std::string upload_id{};
  Timestamp initiated{};
};
struct ListMultipartUploadsPage {
  std::vector<MultipartUploadInfo> uploads{};
  std::vector<std::string> common_prefixes{};
  bool is_truncated = false;
  std::string next_key_marker{};
  std::string next_upload_id_marker{};
};
Result<ListMultipartUploadsPage> ParseListMultipartUploads(std::string_view xml);

struct PartInfo {
  int part_number = 0;
  std::string etag{};
  uint64_t size = 0;
  Timestamp last_modified{};
};
struct ListPartsPage {
  std::vector<PartInfo> parts{};
  bool is_truncated = false;
  int next_part_number_marker = 0;
};
Result<ListPartsPage> ParseListParts(std::string_view xml);

/// `s` with & < > " ' and CR escaped for XML text: core's XmlEscape, under the S3 name.
using esper::XmlEscape;

}  // namespace esper::s3
