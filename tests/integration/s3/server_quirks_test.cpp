// What each S3 test server gets wrong, measured: every test here asserts the server's actual
// (non-AWS) behaviour and names it, so docs/s3.md's table is checked on every run and a server
// upgrade that fixes (or breaks) something shows up as a failing test. What AWS does is in each
// comment; what we sent is checked where it matters.
#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "testing/s3_test_server.h"
#include "esper/http/client.h"
#include "esper/s3/checksum.h"
#include "esper/s3/errors.h"
#include "esper/s3/sigv4.h"
#include "esper/s3/uri.h"
#include "esper/s3/xml.h"

namespace esper::s3 {
namespace {

using ::testing::HasSubstr;
using testing::S3ServerKind;
using testing::S3TestServer;

class Probe {
 public:
  explicit Probe(S3ServerKind kind) {
    auto s = S3TestServer::Start({.kind = kind, .buckets = {"quirks"}});
    if (!s) {
      error = s.error().ToString();
      return;
    }
    server = std::move(*s);
    client = std::move(*http::Client::Create({.retry = {.max_attempts = 1}}));
    addr = *Addressing::Create({.endpoint_url = server->endpoint(), .region = S3TestServer::kRegion});
  }
  http::Response Send(http::Method m, const std::string& key, http::QueryParams q = {}, http::Headers h = {},
                      std::string body = "", std::optional<std::string> payload_hash = std::nullopt) {
    http::Request r{.method = m, .url = addr.ObjectUrl("quirks", key), .query = std::move(q), .headers = std::move(h)};
    if (m == http::Method::kPut || m == http::Method::kPost) r.body = http::Body::FromString(body);
    r.options.accept_http_errors = true;
    r.options.retry_safe = true;
    Credentials c{.access_key_id = S3TestServer::kAccessKey, .secret_access_key = Secret(S3TestServer::kSecretKey)};
    EXPECT_TRUE(SignRequest(r, c, {.region = S3TestServer::kRegion}, std::chrono::system_clock::now(),
                            payload_hash.value_or(Sha256Hex(body))));
    auto resp = client->Send(std::move(r));
    EXPECT_TRUE(resp) << resp.error();
    return resp ? *resp : http::Response{};
  }
  // Uploads `parts` as one multipart object; returns the Complete response.
  http::Response Multipart(const std::string& key, const std::vector<std::string>& parts) {
    auto init = ParseInitiateMultipartUploadResult(Send(http::Method::kPost, key, {{"uploads", ""}}).body);
    EXPECT_TRUE(init) << init.error();
    if (!init) return {};
    std::vector<CompletedPart> done;
    for (size_t i = 0; i < parts.size(); ++i) {
      auto p = Send(http::Method::kPut, key, {{"partNumber", std::to_string(i + 1)}, {"uploadId", init->upload_id}}, {},
                    parts[i]);
      EXPECT_EQ(p.status, 200) << p.body;
      done.push_back({static_cast<int>(i + 1), std::string(p.Header("ETag").value_or(""))});
    }
    return Send(http::Method::kPost, key, {{"uploadId", init->upload_id}}, {}, BuildCompleteMultipartUploadRequest(done));
  }
  std::string error;
  std::unique_ptr<S3TestServer> server;
  std::unique_ptr<http::Client> client;
  Addressing addr = *Addressing::Create({.region = "us-east-1"});
};

#define START_PROBE(p, kind) \
  Probe p(kind);             \
  ASSERT_TRUE(p.server) << p.error

// AWS: "bytes=-3" is the last 3 bytes.
TEST(S3rver4Quirks, SuffixRangeIsWrong) {
  START_PROBE(p, S3ServerKind::kS3rver4);
  ASSERT_EQ(p.Send(http::Method::kPut, "r", {}, {}, "0123456789").status, 200);
  auto r = p.Send(http::Method::kGet, "r", {}, {{"Range", "bytes=-3"}});
  EXPECT_EQ(r.status, 206);
  EXPECT_EQ(r.body, "0123");  // it reads "-3" as "0-3"
}

TEST(FauxqsQuirks, SuffixRangeIsRight) {
  START_PROBE(p, S3ServerKind::kFauxqs);
  ASSERT_EQ(p.Send(http::Method::kPut, "r", {}, {}, "0123456789").status, 200);
  auto r = p.Send(http::Method::kGet, "r", {}, {{"Range", "bytes=-3"}});
  EXPECT_EQ(r.status, 206);
  EXPECT_EQ(r.body, "789");
}

// AWS: a second PUT with If-None-Match: * fails with 412 PreconditionFailed.
TEST(S3rver4Quirks, IfNoneMatchOnPutIsIgnored) {
  START_PROBE(p, S3ServerKind::kS3rver4);
  EXPECT_EQ(p.Send(http::Method::kPut, "once", {}, {{"If-None-Match", "*"}}, "1").status, 200);
  EXPECT_EQ(p.Send(http::Method::kPut, "once", {}, {{"If-None-Match", "*"}}, "2").status, 200);
}

TEST(FauxqsQuirks, IfNoneMatchOnPutIsIgnored) {
  START_PROBE(p, S3ServerKind::kFauxqs);
  EXPECT_EQ(p.Send(http::Method::kPut, "once", {}, {{"If-None-Match", "*"}}, "1").status, 200);
  EXPECT_EQ(p.Send(http::Method::kPut, "once", {}, {{"If-None-Match", "*"}}, "2").status, 200);
  EXPECT_EQ(p.Send(http::Method::kGet, "once").body, "2");
}

// AWS: the ETag of a multipart object is MD5(MD5(part1) || MD5(part2) …) + "-<parts>".
std::string MultipartEtag(const std::vector<std::string>& parts) {
  std::string md5s;
  for (const auto& p : parts) {
    auto d = Md5::Of(p);
    md5s.append(reinterpret_cast<const char*>(d.data()), d.size());
  }
  return fmt::format("\"{}-{}\"", Hex(Md5::Of(md5s)), parts.size());
}

TEST(S3rver4Quirks, MultipartEtagIsNotTheDashNForm) {
  START_PROBE(p, S3ServerKind::kS3rver4);
  const std::vector<std::string> parts = {std::string(5 << 20, 'a'), "tail"};
  auto done = p.Multipart("mp", parts);
  ASSERT_EQ(done.status, 200) << done.body;
  auto r = ParseCompleteMultipartUploadResult(done.body);
  ASSERT_TRUE(r) << r.error();
  EXPECT_NE(r->etag, MultipartEtag(parts));
  EXPECT_THAT(r->etag, ::testing::MatchesRegex("\"[0-9a-f]{32}\""));  // no "-2"
}

TEST(FauxqsQuirks, MultipartEtagFollowsAwsRules) {
  START_PROBE(p, S3ServerKind::kFauxqs);
  const std::vector<std::string> parts = {std::string(5 << 20, 'a'), "tail"};
  auto done = p.Multipart("mp", parts);
  ASSERT_EQ(done.status, 200) << done.body;
  EXPECT_EQ(ParseCompleteMultipartUploadResult(done.body)->etag, MultipartEtag(parts));
  // And a part under 5 MiB that is not the last is refused, as AWS does (EntityTooSmall).
  auto small = p.Multipart("mp-small", {"tiny", "tail"});
  EXPECT_EQ(small.status, 400) << small.body;
  EXPECT_EQ(ErrorFromResponse(small, "").service_code(), "EntityTooSmall");
}

// AWS: DELETE ?uploadId= aborts the upload (204).
TEST(S3rver4Quirks, AbortMultipartUploadIsNotImplemented) {
  START_PROBE(p, S3ServerKind::kS3rver4);
  auto init = ParseInitiateMultipartUploadResult(p.Send(http::Method::kPost, "ab", {{"uploads", ""}}).body);
  ASSERT_TRUE(init) << init.error();
  auto r = p.Send(http::Method::kDelete, "ab", {{"uploadId", init->upload_id}});
  EXPECT_EQ(r.status, 405) << r.body;
}

TEST(FauxqsQuirks, AbortMultipartUploadWorks) {
  START_PROBE(p, S3ServerKind::kFauxqs);
  auto init = ParseInitiateMultipartUploadResult(p.Send(http::Method::kPost, "ab", {{"uploads", ""}}).body);
  ASSERT_TRUE(init) << init.error();
  EXPECT_EQ(p.Send(http::Method::kDelete, "ab", {{"uploadId", init->upload_id}}).status, 204);
  // The upload is gone: completing it now is NoSuchUpload.
  auto late = p.Send(http::Method::kPost, "ab", {{"uploadId", init->upload_id}}, {},
                     BuildCompleteMultipartUploadRequest({{1, "\"x\""}}));
  EXPECT_EQ(ErrorFromResponse(late, "").service_code(), "NoSuchUpload");
}

// AWS: GET ?uploads lists incomplete uploads (ListMultipartUploadsResult).
TEST(S3rver4Quirks, ListMultipartUploadsIsNotImplemented) {
  START_PROBE(p, S3ServerKind::kS3rver4);
  ASSERT_EQ(p.Send(http::Method::kPost, "pending", {{"uploads", ""}}).status, 200);
  auto r = p.Send(http::Method::kGet, "", {{"uploads", ""}});
  EXPECT_EQ(r.status, 501) << r.body;
  EXPECT_EQ(ErrorFromResponse(r, "").code(), ErrorCode::kUnimplemented);
}

// fauxqs ignores the ?uploads subresource and answers a ListObjects (V1) page instead, so a
// client must not take its 200 for "no incomplete uploads".
TEST(FauxqsQuirks, ListMultipartUploadsAnswersAnObjectListing) {
  START_PROBE(p, S3ServerKind::kFauxqs);
  ASSERT_EQ(p.Send(http::Method::kPost, "pending", {{"uploads", ""}}).status, 200);
  auto r = p.Send(http::Method::kGet, "", {{"uploads", ""}});
  EXPECT_EQ(r.status, 200);
  EXPECT_THAT(r.body, HasSubstr("<ListBucketResult"));
  auto page = ParseListMultipartUploads(r.body);
  ASSERT_FALSE(page);  // our parser refuses the wrong document instead of reading "no uploads"
  EXPECT_THAT(page.error().message(), HasSubstr("ListMultipartUploadsResult"));
}

// AWS: a body whose SHA-256 differs from X-Amz-Content-Sha256 is XAmzContentSHA256Mismatch.
TEST(S3rver4Quirks, DoesNotCheckThePayloadHash) {
  START_PROBE(p, S3ServerKind::kS3rver4);
  auto r = p.Send(http::Method::kPut, "h", {}, {}, "actual body", Sha256Hex("another body"));
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(p.Send(http::Method::kGet, "h").body, "actual body");
}

// UNSIGNED-PAYLOAD (what presigned URLs and streaming uploads use) is accepted by both.
TEST(S3rver4Quirks, AcceptsUnsignedPayload) {
  START_PROBE(p, S3ServerKind::kS3rver4);
  EXPECT_EQ(p.Send(http::Method::kPut, "u", {}, {}, "x", std::string(kUnsignedPayload)).status, 200);
}

// AWS checks Content-MD5 and refuses a body that does not match it (400 BadDigest). Neither
// server does: a corrupted upload is stored. Integrity tests must therefore check the ETag the
// server returns (MD5 of what it received) against the MD5 we sent, not rely on a refusal.
void ExpectWrongContentMd5Stored(Probe& p) {
  const std::string md5_of_other = Base64(Md5::Of("other"));
  auto r = p.Send(http::Method::kPut, "m", {}, {{"Content-MD5", md5_of_other}}, "body");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Header("ETag").value_or(""), fmt::format("\"{}\"", Hex(Md5::Of("body"))));  // what it received
  EXPECT_EQ(p.Send(http::Method::kGet, "m").body, "body");
}

TEST(S3rver4Quirks, IgnoresAWrongContentMd5) {
  START_PROBE(p, S3ServerKind::kS3rver4);
  ExpectWrongContentMd5Stored(p);
}

TEST(FauxqsQuirks, IgnoresAWrongContentMd5) {
  START_PROBE(p, S3ServerKind::kFauxqs);
  ExpectWrongContentMd5Stored(p);
}

// AWS rejects an expired presigned URL (AccessDenied "Request has expired").
TEST(S3rver4Quirks, RefusesAnExpiredPresignedUrl) {
  START_PROBE(p, S3ServerKind::kS3rver4);
  ASSERT_EQ(p.Send(http::Method::kPut, "e", {}, {}, "x").status, 200);
  Credentials c{.access_key_id = S3TestServer::kAccessKey, .secret_access_key = Secret(S3TestServer::kSecretKey)};
  auto url = Presign(http::Request::Get(p.addr.ObjectUrl("quirks", "e")), c, {.region = S3TestServer::kRegion},
                     std::chrono::system_clock::now() - std::chrono::hours(2), std::chrono::hours(1));
  auto r = p.client->Send(http::Request{.url = *url, .options = {.accept_http_errors = true}});
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->status, 403) << r->body;
}

}  // namespace
}  // namespace esper::s3
