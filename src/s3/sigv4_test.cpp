// SigV4 against AWS's own references: the 38 cases of the official signing test suite
// (../shared/testdata/sigv4, header and query signing, every intermediate value) and the worked
// examples of the S3 API reference (header signing of GET Object, PUT Object, GET Bucket
// lifecycle, ListObjects; a presigned GET URL).
#include "esper/s3/sigv4.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <iomanip>
#include <sstream>

#include "esper/s3/checksum.h"
#include "s3/url_parts.h"

namespace esper::s3 {
namespace {

namespace fs = std::filesystem;
using std::chrono::system_clock;

const fs::path kSuite = fs::path(ESPER_SOURCE_DIR) / ".." / ".." / "shared" / "testdata" / "sigv4" / "v4";

fs::path SuiteDir() {
  // The worktrees and the main checkout sit beside shared/ at different depths.
  for (fs::path p = fs::path(ESPER_SOURCE_DIR); !p.empty() && p != p.root_path(); p = p.parent_path()) {
    fs::path candidate = p / "shared" / "testdata" / "sigv4" / "v4";
    if (fs::is_directory(candidate)) return candidate;
  }
  return kSuite;
}

std::string Slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

system_clock::time_point ParseIso(const std::string& ts) {  // "2015-08-30T12:36:00Z"
  std::tm tm{};
  std::istringstream in(ts);
  in >> std::get_time(&tm, "%Y-%m-%dT%H:%M:%SZ");
  return system_clock::from_time_t(timegm(&tm));
}

struct SuiteCase {
  std::string name;
  nlohmann::json context;
  http::Method method{};
  std::string target;  // request-target as written ("/example space/?a=b")
  http::Headers headers;  // every header but Host
  std::string body;
  Credentials creds;
  SigningOptions opts;
  system_clock::time_point time;
  std::string payload_hash;
};

SuiteCase LoadCase(const fs::path& dir) {
  SuiteCase c;
  c.name = dir.filename().string();
  c.context = nlohmann::json::parse(Slurp(dir / "context.json"));
  const std::string raw = Slurp(dir / "request.txt");
  std::istringstream in(raw);
  std::string line;
  std::getline(in, line);
  const size_t sp1 = line.find(' '), sp2 = line.rfind(' ');
  c.method = *http::ParseMethod(line.substr(0, sp1));
  c.target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const size_t body_at = raw.find("\n\n");
  c.body = body_at == std::string::npos ? "" : raw.substr(body_at + 2);
  while (std::getline(in, line) && !line.empty()) {
    if (line[0] == ' ' || line[0] == '\t') {  // a folded continuation line
      c.headers.back().second += " " + line;
      continue;
    }
    const size_t colon = line.find(':');
    std::string name = line.substr(0, colon), value = line.substr(colon + 1);
    if (name != "Host") c.headers.emplace_back(name, value);
  }
  const auto& cr = c.context["credentials"];
  c.creds.access_key_id = cr["access_key_id"];
  c.creds.secret_access_key = Secret(std::string(cr["secret_access_key"]));
  if (cr.contains("token")) c.creds.session_token = Secret(std::string(cr["token"]));
  c.opts = {.region = c.context["region"],
            .service = c.context["service"],
            .path = {.normalize = c.context["normalize"].get<bool>(), .encode = true},
            .content_sha256_header = c.context["sign_body"].get<bool>(),
            .sign_session_token = !c.context.value("omit_session_token", false)};
  c.time = ParseIso(c.context["timestamp"]);
  c.payload_hash = Sha256Hex(c.body);
  return c;
}

std::string Trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

std::vector<std::string> CaseNames() {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(SuiteDir()))
    if (e.is_directory()) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

TEST(SigV4Suite, HasAll38OfficialCases) { EXPECT_EQ(CaseNames().size(), 38u) << SuiteDir(); }

class SigV4SuiteTest : public ::testing::TestWithParam<std::string> {};

http::Request MakeRequest(const SuiteCase& c) {
  http::Request r{.method = c.method, .url = "http://example.amazonaws.com" + c.target, .headers = c.headers};
  if (!c.body.empty()) r.body = http::Body::FromString(c.body);
  return r;
}

TEST_P(SigV4SuiteTest, HeaderSigningMatchesEveryStep) {
  const fs::path dir = SuiteDir() / GetParam();
  const SuiteCase c = LoadCase(dir);
  const std::string amz_date = AmzDate(c.time);
  ASSERT_EQ(amz_date, "20150830T123600Z");

  // Steps 1-4 by hand, with the headers SignRequest adds.
  http::Headers headers = c.headers;
  headers.emplace_back("Host", "example.amazonaws.com");
  headers.emplace_back("X-Amz-Date", amz_date);
  if (c.opts.content_sha256_header) headers.emplace_back("X-Amz-Content-Sha256", c.payload_hash);
  if (!c.creds.session_token.empty() && c.opts.sign_session_token)
    headers.emplace_back("X-Amz-Security-Token", c.creds.session_token.reveal());
  auto url = detail::SplitUrl("http://example.amazonaws.com" + c.target);
  ASSERT_TRUE(url) << url.error();
  const http::QueryParams query = detail::ParseQueryString(url->query);
  const CanonicalRequest cr = BuildCanonicalRequest(
      {.method = http::MethodName(c.method), .path = url->path, .query = &query, .headers = &headers}, c.payload_hash,
      c.opts.path);
  EXPECT_EQ(cr.text, Trimmed(Slurp(dir / "header-canonical-request.txt")));
  const std::string scope = CredentialScope(amz_date, c.opts.region, c.opts.service);
  const std::string sts = StringToSign(amz_date, scope, cr.text);
  EXPECT_EQ(sts, Trimmed(Slurp(dir / "header-string-to-sign.txt")));
  const std::string sig = Signature(DeriveSigningKey(c.creds.secret_access_key, amz_date, c.opts.region, c.opts.service), sts);
  EXPECT_EQ(sig, Trimmed(Slurp(dir / "header-signature.txt")));

  // The same through SignRequest: the Authorization line of the signed request.
  http::Request req = MakeRequest(c);
  ASSERT_TRUE(SignRequest(req, c.creds, c.opts, c.time, c.payload_hash));
  const std::string signed_req = Slurp(dir / "header-signed-request.txt");
  const size_t at = signed_req.find("Authorization:");
  ASSERT_NE(at, std::string::npos);
  const std::string expected_auth = signed_req.substr(at + 14, signed_req.find('\n', at) - at - 14);
  EXPECT_EQ(http::FindHeader(req.headers, "Authorization").value_or(""), expected_auth);
  EXPECT_EQ(http::FindHeader(req.headers, "Host").value_or(""), "example.amazonaws.com");
  EXPECT_EQ(http::FindHeader(req.headers, "X-Amz-Security-Token").has_value(), !c.creds.session_token.empty());
}

TEST_P(SigV4SuiteTest, QuerySigningMatchesEveryStep) {
  const fs::path dir = SuiteDir() / GetParam();
  const SuiteCase c = LoadCase(dir);
  const std::string amz_date = AmzDate(c.time);
  const std::string scope = CredentialScope(amz_date, c.opts.region, c.opts.service);
  const auto expires = std::chrono::seconds(c.context["expiration_in_seconds"].get<int>());

  auto url = Presign(MakeRequest(c), c.creds, c.opts, c.time, expires, c.payload_hash);
  ASSERT_TRUE(url) << url.error();
  auto parts = detail::SplitUrl(*url);
  ASSERT_TRUE(parts);
  const http::QueryParams q = detail::ParseQueryString(parts->query);
  auto param = [&](std::string_view name) {
    for (const auto& [k, v] : q)
      if (k == name) return v;
    return std::string();
  };
  EXPECT_EQ(param("X-Amz-Signature"), Trimmed(Slurp(dir / "query-signature.txt")));
  EXPECT_EQ(param("X-Amz-Credential"), "AKIDEXAMPLE/" + scope);
  EXPECT_EQ(param("X-Amz-Expires"), std::to_string(expires.count()));
  EXPECT_EQ(param("X-Amz-Security-Token"), c.creds.session_token.reveal());

  // Steps 1 and 2 from the signed URL's own query (without the signature) match the suite's.
  http::QueryParams signed_q;
  for (const auto& kv : q)
    if (kv.first != "X-Amz-Signature" && (kv.first != "X-Amz-Security-Token" || c.opts.sign_session_token))
      signed_q.push_back(kv);
  http::Headers headers = c.headers;
  headers.emplace_back("Host", "example.amazonaws.com");
  const CanonicalRequest cr = BuildCanonicalRequest(
      {.method = http::MethodName(c.method), .path = parts->path, .query = &signed_q, .headers = &headers},
      c.payload_hash, c.opts.path);
  EXPECT_EQ(cr.text, Trimmed(Slurp(dir / "query-canonical-request.txt")));
  EXPECT_EQ(StringToSign(amz_date, scope, cr.text), Trimmed(Slurp(dir / "query-string-to-sign.txt")));
}

INSTANTIATE_TEST_SUITE_P(Official, SigV4SuiteTest, ::testing::ValuesIn(CaseNames()),
                         [](const ::testing::TestParamInfo<std::string>& p) {
                           std::string n = p.param;
                           std::replace(n.begin(), n.end(), '-', '_');
                           return n;
                         });

// The S3 API reference's worked examples ("Signature Calculations for the Authorization Header:
// Transferring Payload in a Single Chunk" and "Authenticating Requests: Using Query Parameters"):
// AKIAIOSFODNN7EXAMPLE, bucket examplebucket, us-east-1, 2013-05-24T00:00:00Z, and the
// signatures AWS publishes for them.
class S3DocExample : public ::testing::Test {
 protected:
  Credentials creds{.access_key_id = "AKIAIOSFODNN7EXAMPLE",
                    .secret_access_key = Secret("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")};
  SigningOptions opts{.region = "us-east-1"};
  system_clock::time_point t = ParseIso("2013-05-24T00:00:00Z");
  static constexpr std::string_view kHost = "https://examplebucket.s3.amazonaws.com";

  std::string SignedAuthorization(http::Request r, std::string_view payload_hash) {
    EXPECT_TRUE(SignRequest(r, creds, opts, t, payload_hash));
    return std::string(http::FindHeader(r.headers, "Authorization").value_or(""));
  }
  static std::string Auth(std::string_view signed_headers, std::string_view signature) {
    return "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=" +
           std::string(signed_headers) + ", Signature=" + std::string(signature);
  }
};

TEST_F(S3DocExample, GetObjectWithRange) {
  http::Request r = http::Request::Get(std::string(kHost) + "/test.txt");
  r.headers = {{"Range", "bytes=0-9"}};
  EXPECT_EQ(SignedAuthorization(r, kEmptyPayloadHash),
            Auth("host;range;x-amz-content-sha256;x-amz-date",
                 "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"));
  // The documented intermediate: the canonical request of this example.
  http::Headers h{{"Host", "examplebucket.s3.amazonaws.com"},
                  {"Range", "bytes=0-9"},
                  {"x-amz-content-sha256", std::string(kEmptyPayloadHash)},
                  {"x-amz-date", "20130524T000000Z"}};
  EXPECT_EQ(BuildCanonicalRequest({.method = "GET", .path = "/test.txt", .headers = &h}, kEmptyPayloadHash).text,
            "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\n"
            "x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
            "x-amz-date:20130524T000000Z\n\nhost;range;x-amz-content-sha256;x-amz-date\n"
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST_F(S3DocExample, PutObjectWithDollarInKey) {
  const std::string body = "Welcome to Amazon S3.";
  http::Request r = http::Request::Put(std::string(kHost) + "/test%24file.text", http::Body::FromString(body));
  r.headers = {{"Date", "Fri, 24 May 2013 00:00:00 GMT"}, {"x-amz-storage-class", "REDUCED_REDUNDANCY"}};
  ASSERT_EQ(Sha256Hex(body), "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
  EXPECT_EQ(SignedAuthorization(r, Sha256Hex(body)),
            Auth("date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class",
                 "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"));
}

TEST_F(S3DocExample, GetBucketLifecycle) {
  http::Request r = http::Request::Get(std::string(kHost) + "/");
  r.query = {{"lifecycle", ""}};
  EXPECT_EQ(SignedAuthorization(r, kEmptyPayloadHash),
            Auth("host;x-amz-content-sha256;x-amz-date",
                 "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543"));
}

TEST_F(S3DocExample, ListObjects) {
  // The query in the URL and in request.query sign the same.
  for (const auto& [url, query] : std::vector<std::pair<std::string, http::QueryParams>>{
           {std::string(kHost) + "/?max-keys=2&prefix=J", {}},
           {std::string(kHost) + "/", {{"prefix", "J"}, {"max-keys", "2"}}}}) {
    http::Request r = http::Request::Get(url);
    r.query = query;
    EXPECT_EQ(SignedAuthorization(r, kEmptyPayloadHash),
              Auth("host;x-amz-content-sha256;x-amz-date",
                   "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"));
  }
}

TEST_F(S3DocExample, PresignedGet) {
  auto url = Presign(http::Request::Get(std::string(kHost) + "/test.txt"), creds, opts, t, std::chrono::hours(24));
  ASSERT_TRUE(url) << url.error();
  EXPECT_EQ(*url,
            "https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256"
            "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
            "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
            "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
}

TEST(SigV4, PresignExpiryIsBetweenOneSecondAndSevenDays) {
  Credentials c{.access_key_id = "AKID", .secret_access_key = Secret("s3cr3t-value")};
  SigningOptions o{.region = "us-east-1"};
  const auto now = system_clock::now();
  const auto req = http::Request::Get("http://127.0.0.1:9/b/k");
  EXPECT_TRUE(Presign(req, c, o, now, std::chrono::seconds(604800)));
  EXPECT_TRUE(Presign(req, c, o, now, std::chrono::seconds(1)));
  for (auto bad : {std::chrono::seconds(0), std::chrono::seconds(604801), std::chrono::seconds(-5)}) {
    auto r = Presign(req, c, o, now, bad);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_THAT(r.error().message(), ::testing::HasSubstr("7 days"));
  }
}

TEST(SigV4, ErrorsNameTheProblemAndNoSecret) {
  const std::string secret = "wJalrXUtnFEMI-never-printed";
  SigningOptions o{.region = "us-east-1"};
  const auto now = system_clock::now();
  std::vector<std::pair<Credentials, SigningOptions>> cases = {
      {{.access_key_id = "AKID", .secret_access_key = Secret(secret), .session_token = Secret("tok-never")}, {}},
      {{.access_key_id = "AKID"}, o},
      {{.secret_access_key = Secret(secret)}, o},
  };
  for (auto& [c, opt] : cases) {
    http::Request r = http::Request::Get("http://127.0.0.1:9/b/k");
    auto s = SignRequest(r, c, opt, now, kEmptyPayloadHash);
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_THAT(s.error().ToString(), ::testing::Not(::testing::HasSubstr("never")));
  }
  http::Request rel = http::Request::Get("/b/k");
  auto s = SignRequest(rel, {.access_key_id = "AKID", .secret_access_key = Secret(secret)}, o, now, kEmptyPayloadHash);
  ASSERT_FALSE(s);
  EXPECT_THAT(s.error().message(), ::testing::HasSubstr("not absolute"));
}

// Signing again (the next attempt) replaces the previous attempt's headers instead of adding a
// second Authorization or X-Amz-Date.
TEST(SigV4, ResigningReplacesTheEarlierSignature) {
  Credentials c{.access_key_id = "AKID", .secret_access_key = Secret("secret"), .session_token = Secret("token")};
  SigningOptions o{.region = "eu-west-1"};
  http::Request r = http::Request::Get("http://127.0.0.1:4568/bucket/key");
  r.headers = {{"User-Agent", "esper"}, {"Range", "bytes=0-1"}};
  const auto t0 = ParseIso("2024-01-01T00:00:00Z");
  ASSERT_TRUE(SignRequest(r, c, o, t0, kUnsignedPayload));
  const std::string first(*http::FindHeader(r.headers, "Authorization"));
  ASSERT_TRUE(SignRequest(r, c, o, t0 + std::chrono::seconds(1), kUnsignedPayload));
  for (std::string_view name : {"Authorization", "X-Amz-Date", "Host", "X-Amz-Security-Token", "X-Amz-Content-Sha256"})
    EXPECT_EQ(std::count_if(r.headers.begin(), r.headers.end(), [&](const auto& kv) { return kv.first == name; }), 1)
        << name;
  EXPECT_NE(*http::FindHeader(r.headers, "Authorization"), first);
  EXPECT_EQ(*http::FindHeader(r.headers, "X-Amz-Date"), "20240101T000001Z");
  EXPECT_EQ(*http::FindHeader(r.headers, "Host"), "127.0.0.1:4568");
  // User-Agent is never signed; Range and the token are.
  EXPECT_THAT(std::string(*http::FindHeader(r.headers, "Authorization")),
              ::testing::HasSubstr("SignedHeaders=host;range;x-amz-content-sha256;x-amz-date;x-amz-security-token,"));
}

// An UNSIGNED-PAYLOAD body is guarded by its Content-MD5 only because that header is signed (as
// every header but the transport's): a body changed on the way needs a new MD5, which breaks the
// signature. S3Store's unsigned memory, file and stream bodies rest on this.
TEST(SigV4, AnUnsignedPayloadsContentMd5IsSigned) {
  Credentials c{.access_key_id = "AKID", .secret_access_key = Secret("secret")};
  http::Request r = http::Request::Put("http://127.0.0.1:4568/bucket/key", http::Body::FromString("body"));
  r.headers = {{"Content-MD5", "hBotaJrYa9FhFEdFPCLG/A=="}, {"Content-Type", "text/plain"}};
  ASSERT_TRUE(SignRequest(r, c, {.region = "us-east-1"}, ParseIso("2024-01-01T00:00:00Z"), kUnsignedPayload));
  EXPECT_EQ(*http::FindHeader(r.headers, "X-Amz-Content-Sha256"), kUnsignedPayload);
  EXPECT_THAT(std::string(*http::FindHeader(r.headers, "Authorization")),
              ::testing::HasSubstr("SignedHeaders=content-md5;content-type;host;x-amz-content-sha256;x-amz-date,"));
}

// S3's path rules: the path as sent, "a//b" and dot segments kept, nothing encoded twice.
TEST(SigV4, S3PathRulesKeepThePathAsSent) {
  EXPECT_EQ(CanonicalUri("/bucket/a//b/../c/./d%20e%2Bf", PathRules::S3()), "/bucket/a//b/../c/./d%20e%2Bf");
  EXPECT_EQ(CanonicalUri("", PathRules::S3()), "/");
  EXPECT_EQ(CanonicalUri("/bucket/a//b/../c/./d%20e", PathRules::Other()), "/bucket/a/c/d%2520e");
  EXPECT_EQ(CanonicalUri("/a/b/..", PathRules::Other()), "/a/");
}

}  // namespace
}  // namespace esper::s3
