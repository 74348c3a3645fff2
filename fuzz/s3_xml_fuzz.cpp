// libFuzzer target: every S3 XML body parser (xml.h, errors.h) on arbitrary bytes. None may
// crash, hang or read out of bounds; each returns a value or an Error, and an error is never
// retryable-and-permanent at once (a code from the never-retry list is never retryable). The
// request builders' output always parses back to the same keys and parts.
//   build/fuzz/bin/s3_xml_fuzz -max_total_time=60
#include <pugixml.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "esper/s3/errors.h"
#include "esper/s3/xml.h"

namespace {

void Check(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "broken: %s\n", what);
  std::abort();
}

void CheckError(const esper::Error& e) {
  const std::string& c = e.service_code();
  if (c == "NoSuchKey" || c == "NoSuchBucket" || c == "AccessDenied" || c == "InvalidAccessKeyId" ||
      c == "SignatureDoesNotMatch" || c == "ExpiredToken")
    Check(!e.retryable(), "a never-retry code is retryable");
}

template <typename R>
void Consume(const R& r) {
  if (!r) CheckError(r.error());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace esper::s3;
  const std::string_view xml(reinterpret_cast<const char*>(data), size);
  Consume(ParseListObjectsV2(xml));
  Consume(ParseListBuckets(xml));
  Consume(ParseDeleteObjectsResult(xml));
  Consume(ParseCopyObjectResult(xml));
  Consume(ParseInitiateMultipartUploadResult(xml));
  Consume(ParseCompleteMultipartUploadResult(xml));
  Consume(ParseListMultipartUploads(xml));
  Consume(ParseListParts(xml));
  (void)IsErrorBody(xml);
  (void)ParseIso8601(xml);
  (void)ParseHttpDate(xml);
  CheckError(ErrorFromResponse({.status = 503, .body = std::string(xml)}, "fuzz"));
  CheckError(ErrorFromResponse({.status = 200, .body = std::string(xml)}, "fuzz"));

  // Builders: the input, split on NUL, as keys; XML 1.0 cannot carry most control characters,
  // so those keys are left out (S3 itself rejects them in a DeleteObjects body).
  std::vector<std::string> keys;
  std::string cur;
  for (char c : xml) {
    if (c == '\0') {
      keys.push_back(cur);
      cur.clear();
    } else if (static_cast<unsigned char>(c) >= 0x20 || c == '\t' || c == '\n') {
      cur.push_back(c);
    }
  }
  keys.push_back(cur);
  const std::string body = BuildDeleteObjectsRequest(keys);
  pugi::xml_document doc;
  if (doc.load_buffer(body.data(), body.size(), pugi::parse_default | pugi::parse_ws_pcdata, pugi::encoding_utf8)) {
    size_t i = 0;
    for (auto o : doc.child("Delete").children("Object")) {
      Check(i < keys.size(), "more keys than built");
      Check(std::string(o.child("Key").text().as_string()) == keys[i], "a key did not survive");
      ++i;
    }
    Check(i == keys.size(), "fewer keys than built");
  }
  return 0;
}
