// The S3 test servers, proven with real signed requests through esper::http::Client: a SigV4-
// signed bucket create / PUT / GET / HEAD / ListObjectsV2 round trip of every key shape issue 19
// names, a wrong secret (s3rver 4.0.4 must refuse it: that is what makes it the signing test
// server), presigned GET and PUT URLs used by curl, and Debian's awscli listing what we wrote.
#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "testing/s3_test_server.h"
#include "testing/process.h"
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

constexpr const char* kBucket = "esper-bucket";

// Every shape of key the issue names: any UTF-8, + = % & ? # space ! ' ( ) * ~ and a//b.
const std::vector<std::string> kKeys = {
    "plain.txt",
    "with space/and+plus=equals",
    "percent%25 and%amp&ersand",
    "question?hash#bang!",
    "quote'paren(star)*tilde~",
    "a//b",
    "utf8/ключ/日本語/😀",
    "trailing/",
};

class ServerFixture {
 public:
  explicit ServerFixture(S3ServerKind kind) {
    auto s = S3TestServer::Start({.kind = kind, .buckets = {kBucket}});
    if (!s) {
      error = s.error().ToString();
      return;
    }
    server = std::move(*s);
    client = std::move(*http::Client::Create({.request_timeout = std::chrono::seconds(30), .retry = {.max_attempts = 1}}));
    addr = *Addressing::Create({.endpoint_url = server->endpoint(), .region = S3TestServer::kRegion});
  }

  // Signs (once: no retries here) and sends; S3 error statuses come back as responses.
  Result<http::Response> Send(http::Request r, std::string_view payload_hash, const Credentials& c) {
    r.options.accept_http_errors = true;
    ESPER_RETURN_IF_ERROR(SignRequest(r, c, {.region = S3TestServer::kRegion}, std::chrono::system_clock::now(), payload_hash));
    return client->Send(std::move(r));
  }
  Result<http::Response> Send(http::Request r, std::string_view payload_hash) { return Send(std::move(r), payload_hash, creds); }

  Result<http::Response> Put(const std::string& key, const std::string& body) {
    http::Request r = http::Request::Put(addr.ObjectUrl(kBucket, key), http::Body::FromString(body));
    r.headers = {{"Content-Type", "application/octet-stream"}, {"Content-MD5", Base64(Md5::Of(body))}};
    return Send(std::move(r), Sha256Hex(body));
  }
  Result<http::Response> Get(const std::string& key) {
    return Send(http::Request::Get(addr.ObjectUrl(kBucket, key)), kEmptyPayloadHash);
  }

  std::string error;
  std::unique_ptr<S3TestServer> server;
  std::unique_ptr<http::Client> client;
  Addressing addr = *Addressing::Create({.region = "us-east-1"});
  Credentials creds{.access_key_id = S3TestServer::kAccessKey, .secret_access_key = Secret(S3TestServer::kSecretKey)};
};

class S3Servers : public ::testing::TestWithParam<S3ServerKind> {
 protected:
  void SetUp() override {
    f_ = std::make_unique<ServerFixture>(GetParam());
    ASSERT_TRUE(f_->server) << f_->error;  // never skipped: a missing server fails, saying what to run
  }
  std::unique_ptr<ServerFixture> f_;
};

// s3rver 4.0.4 cannot hold "a//b" (S3rver4.RoutesNoKeyWithAnEmptySegment says what happens);
// every other shape round-trips on both servers.
std::vector<std::string> KeysFor(S3ServerKind kind) {
  std::vector<std::string> keys = kKeys;
  if (kind == S3ServerKind::kS3rver4) std::erase(keys, "a//b");
  return keys;
}

TEST_P(S3Servers, SignedPutGetHeadListRoundTripOfEveryKeyShape) {
  const std::vector<std::string> keys = KeysFor(GetParam());
  for (const auto& key : keys) {
    const std::string body = "body of " + key;
    auto put = f_->Put(key, body);
    ASSERT_TRUE(put) << put.error();
    ASSERT_EQ(put->status, 200) << key << ": " << put->body;
    EXPECT_EQ(put->Header("ETag").value_or(""), fmt::format("\"{}\"", Hex(Md5::Of(body)))) << key;
    auto get = f_->Get(key);
    ASSERT_TRUE(get) << get.error();
    EXPECT_EQ(get->status, 200) << key << ": " << get->body;
    EXPECT_EQ(get->body, body) << key;
    auto head = f_->Send(http::Request::Head(f_->addr.ObjectUrl(kBucket, key)), kEmptyPayloadHash);
    ASSERT_TRUE(head) << head.error();
    EXPECT_EQ(head->status, 200) << key;
    EXPECT_EQ(head->Header("Content-Length").value_or(""), std::to_string(body.size())) << key;
  }
  http::Request list = http::Request::Get(f_->addr.ObjectUrl(kBucket));
  list.query = {{"list-type", "2"}};
  auto resp = f_->Send(std::move(list), kEmptyPayloadHash);
  ASSERT_TRUE(resp) << resp.error();
  ASSERT_EQ(resp->status, 200) << resp->body;
  auto page = ParseListObjectsV2(resp->body);
  ASSERT_TRUE(page) << page.error();
  std::vector<std::string> listed, expected;
  for (const auto& o : page->contents) listed.push_back(o.key);
  // s3rver 4.0.4 escapes '&' and '\'' twice in listings (S3rver4.ListsAmpersandAndQuoteEscapedTwice).
  for (const auto& k : keys)
    if (GetParam() != S3ServerKind::kS3rver4 || k.find_first_of("&'") == std::string::npos) expected.push_back(k);
  for (const auto& k : expected) EXPECT_THAT(listed, ::testing::Contains(k));
  EXPECT_EQ(listed.size(), keys.size());
}

TEST_P(S3Servers, ListObjectsV2FollowsContinuationTokens) {
  for (int i = 0; i < 7; ++i) ASSERT_EQ(f_->Put(fmt::format("page/{:02}", i), "x")->status, 200);
  std::vector<std::string> keys;
  std::string token;
  int pages = 0;
  do {
    http::Request r = http::Request::Get(f_->addr.ObjectUrl(kBucket));
    r.query = {{"list-type", "2"}, {"prefix", "page/"}, {"max-keys", "3"}};
    if (!token.empty()) r.query.emplace_back("continuation-token", token);
    auto resp = f_->Send(std::move(r), kEmptyPayloadHash);
    ASSERT_TRUE(resp) << resp.error();
    ASSERT_EQ(resp->status, 200) << resp->body;
    auto page = ParseListObjectsV2(resp->body);
    ASSERT_TRUE(page) << page.error();
    for (const auto& o : page->contents) keys.push_back(o.key);
    token = page->is_truncated ? page->next_continuation_token : "";
    ASSERT_LT(++pages, 10);
  } while (!token.empty());
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(keys.size(), 7u);
  EXPECT_EQ(keys.front(), "page/00");
  EXPECT_EQ(keys.back(), "page/06");
}

TEST_P(S3Servers, MissingKeyIsNoSuchKeyMappedToNotFound) {
  auto r = f_->Get("absent");
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->status, 404);
  const Error e = ErrorFromResponse(*r, "GET s3://esper-bucket/absent");
  EXPECT_EQ(e.code(), ErrorCode::kNotFound);
  EXPECT_EQ(e.service_code(), "NoSuchKey");
  EXPECT_FALSE(e.retryable());
}

TEST_P(S3Servers, PresignedGetAndPutWorkWithCurl) {
  const std::string body = "presigned body \xE2\x9C\x93";
  ASSERT_EQ(f_->Put("signed/get me.txt", body)->status, 200);
  auto url = Presign(http::Request::Get(f_->addr.ObjectUrl(kBucket, "signed/get me.txt")), f_->creds,
                     {.region = S3TestServer::kRegion}, std::chrono::system_clock::now(), std::chrono::minutes(5));
  ASSERT_TRUE(url) << url.error();
  auto got = testing::RunProcess({"/usr/bin/curl", "-sS", "--fail-with-body", *url});
  EXPECT_EQ(got.exit_code, 0) << got.err << got.out;
  EXPECT_EQ(got.out, body);

  // One per process: ctest runs this test's two servers at once, and a shared name let one
  // instance's remove (or truncating open) empty the other's file before curl sent it.
  const std::string file = ::testing::TempDir() + fmt::format("esper_presigned_put_{}.bin", getpid());
  std::ofstream(file) << "uploaded by curl";
  auto put_url = Presign(http::Request{.method = http::Method::kPut, .url = f_->addr.ObjectUrl(kBucket, "signed/put.txt")},
                         f_->creds, {.region = S3TestServer::kRegion}, std::chrono::system_clock::now(),
                         std::chrono::minutes(5));
  ASSERT_TRUE(put_url) << put_url.error();
  auto put = testing::RunProcess({"/usr/bin/curl", "-sS", "--fail-with-body", "-X", "PUT", "-H", "Content-Type:",
                                  "--data-binary", "@" + file, *put_url});
  EXPECT_EQ(put.exit_code, 0) << put.err << put.out;
  EXPECT_EQ(f_->Get("signed/put.txt")->body, "uploaded by curl");
  std::filesystem::remove(file);
}

INSTANTIATE_TEST_SUITE_P(Servers, S3Servers, ::testing::Values(S3ServerKind::kS3rver4, S3ServerKind::kFauxqs),
                         [](const ::testing::TestParamInfo<S3ServerKind>& p) {
                           return p.param == S3ServerKind::kS3rver4 ? "S3rver4" : "Fauxqs";
                         });

// s3rver 4.0.4 checks signatures: a wrong secret is SignatureDoesNotMatch (PermissionDenied, never
// retried), and so is a presigned URL whose signature was altered.
TEST(S3rver4, RefusesAWrongSecretAndATamperedPresignedUrl) {
  ServerFixture f(S3ServerKind::kS3rver4);
  ASSERT_TRUE(f.server) << f.error;
  ASSERT_EQ(f.Put("k", "v")->status, 200);
  Credentials wrong = f.creds;
  wrong.secret_access_key = Secret("not-the-secret");
  auto r = f.Send(http::Request::Get(f.addr.ObjectUrl(kBucket, "k")), kEmptyPayloadHash, wrong);
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->status, 403);
  const Error e = ErrorFromResponse(*r, "GET s3://esper-bucket/k");
  EXPECT_EQ(e.service_code(), "SignatureDoesNotMatch");
  EXPECT_EQ(e.code(), ErrorCode::kPermissionDenied);
  EXPECT_FALSE(e.retryable());
  EXPECT_THAT(e.ToString(), ::testing::Not(HasSubstr("not-the-secret")));

  auto url = Presign(http::Request::Get(f.addr.ObjectUrl(kBucket, "k")), f.creds, {.region = S3TestServer::kRegion},
                     std::chrono::system_clock::now(), std::chrono::minutes(5));
  std::string tampered = *url;
  tampered.back() = tampered.back() == '0' ? '1' : '0';
  auto got = testing::RunProcess({"/usr/bin/curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", tampered});
  EXPECT_EQ(got.out, "403");
  // An unknown access key is InvalidAccessKeyId.
  Credentials stranger{.access_key_id = "AKIDUNKNOWN", .secret_access_key = Secret("x")};
  auto s = f.Send(http::Request::Get(f.addr.ObjectUrl(kBucket, "k")), kEmptyPayloadHash, stranger);
  EXPECT_EQ(ErrorFromResponse(*s, "").service_code(), "InvalidAccessKeyId");
}

// s3rver 4.0.4's router matches no route for a path with an empty segment: the PUT of key "a//b"
// (sent as /esper-bucket/a//b, exactly as S3 canonicalises it, and signed so) gets a bare
// 404 "Not Found" that is not even an S3 error document. AWS and fauxqs store the key.
TEST(S3rver4, RoutesNoKeyWithAnEmptySegment) {
  ServerFixture f(S3ServerKind::kS3rver4);
  ASSERT_TRUE(f.server) << f.error;
  const std::string url = f.addr.ObjectUrl(kBucket, "a//b");
  EXPECT_EQ(url, f.server->endpoint() + "/esper-bucket/a//b");  // what we send
  auto put = f.Put("a//b", "v");
  ASSERT_TRUE(put) << put.error();
  EXPECT_EQ(put->status, 404);
  EXPECT_FALSE(IsErrorBody(put->body));
}

// s3rver 4.0.4 XML-escapes a key twice in ListObjectsV2 when it holds '&' or '\'': the body
// carries "&amp;amp;" and "&amp;#x27;", so a conforming parser reads "&amp;" and "&#x27;" where the
// key has "&" and "'". The key itself was stored right (GET by the real key works).
TEST(S3rver4, ListsAmpersandAndQuoteEscapedTwice) {
  ServerFixture f(S3ServerKind::kS3rver4);
  ASSERT_TRUE(f.server) << f.error;
  ASSERT_EQ(f.Put("a&b'c", "v")->status, 200);
  EXPECT_EQ(f.Get("a&b'c")->body, "v");
  http::Request list = http::Request::Get(f.addr.ObjectUrl(kBucket));
  list.query = {{"list-type", "2"}};
  auto resp = f.Send(std::move(list), kEmptyPayloadHash);
  ASSERT_TRUE(resp) << resp.error();
  EXPECT_THAT(resp->body, HasSubstr("<Key>a&amp;amp;b&amp;#x27;c</Key>"));
  EXPECT_EQ(ParseListObjectsV2(resp->body)->contents.at(0).key, "a&amp;b&#x27;c");
}

// fauxqs checks no signature: the same wrong secret is accepted. Signing is proven against
// s3rver 4.0.4 and the official vectors, never here; this test records the gap.
TEST(Fauxqs, ChecksNoSignatureSoAWrongSecretIsAccepted) {
  ServerFixture f(S3ServerKind::kFauxqs);
  ASSERT_TRUE(f.server) << f.error;
  ASSERT_EQ(f.Put("k", "v")->status, 200);
  Credentials wrong = f.creds;
  wrong.secret_access_key = Secret("not-the-secret");
  auto r = f.Send(http::Request::Get(f.addr.ObjectUrl(kBucket, "k")), kEmptyPayloadHash, wrong);
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->status, 200);
}

// Debian's awscli (/usr/bin/aws, not whatever `aws` is first on PATH) lists what we wrote, so
// the interop tests can rely on it against both servers.
class AwsCli : public ::testing::TestWithParam<S3ServerKind> {};

TEST_P(AwsCli, ListsBucketsAndKeys) {
  ServerFixture f(GetParam());
  ASSERT_TRUE(f.server) << f.error;
  ASSERT_EQ(f.Put("from-esper/a b.txt", "hello")->status, 200);
  const std::string home = ::testing::TempDir() + fmt::format("esper_awscli_home_{}", getpid());
  std::filesystem::create_directories(home);
  const std::vector<std::string> env = {"HOME=" + home, "AWS_ACCESS_KEY_ID=S3RVER", "AWS_SECRET_ACCESS_KEY=S3RVER",
                                        "AWS_DEFAULT_REGION=us-east-1", "AWS_EC2_METADATA_DISABLED=true",
                                        "AWS_PAGER="};
  auto buckets = testing::RunProcess({"/usr/bin/aws", "--endpoint-url", f.server->endpoint(), "s3", "ls"}, env);
  EXPECT_EQ(buckets.exit_code, 0) << buckets.err;
  EXPECT_THAT(buckets.out, HasSubstr(kBucket));
  auto keys = testing::RunProcess(
      {"/usr/bin/aws", "--endpoint-url", f.server->endpoint(), "s3", "ls", "--recursive", std::string("s3://") + kBucket}, env);
  EXPECT_EQ(keys.exit_code, 0) << keys.err;
  EXPECT_THAT(keys.out, HasSubstr("from-esper/a b.txt"));
  auto cat = testing::RunProcess(
      {"/usr/bin/aws", "--endpoint-url", f.server->endpoint(), "s3", "cp", std::string("s3://") + kBucket + "/from-esper/a b.txt", "-"},
      env);
  EXPECT_EQ(cat.exit_code, 0) << cat.err;
  EXPECT_EQ(cat.out, "hello");
  std::filesystem::remove_all(home);
}

INSTANTIATE_TEST_SUITE_P(Servers, AwsCli, ::testing::Values(S3ServerKind::kS3rver4, S3ServerKind::kFauxqs),
                         [](const ::testing::TestParamInfo<S3ServerKind>& p) {
                           return p.param == S3ServerKind::kS3rver4 ? "S3rver4" : "Fauxqs";
                         });

}  // namespace
}  // namespace esper::s3
