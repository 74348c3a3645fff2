// The HTTP credential providers against real loopback servers standing in for STS, the container
// credentials endpoint and IMDS — reached through exactly the variables AWS defines
// (AWS_ENDPOINT_URL_STS, AWS_CONTAINER_CREDENTIALS_FULL_URI, AWS_EC2_METADATA_SERVICE_ENDPOINT).
// Each server checks what the provider sent (method, path, headers, form fields) and answers as
// the real service documents.
#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>

#include "testing/http_server.h"
#include "testing/wait.h"
#include "esper/http/url.h"
#include "esper/s3/credentials.h"
#include "esper/s3/xml.h"

namespace esper::s3 {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::HttpTestServer;
using testing::Reply;
using testing::ServerRequest;
using std::chrono::system_clock;

constexpr const char* kSecret = "wJalrXUtnFEMI-SECRET-never-printed";
constexpr const char* kToken = "IQoJb3JpZ2luX2VjE-SESSION-TOKEN";
constexpr const char* kWebToken = "eyJhbGciOiJSUzI1NiJ9.WEB-IDENTITY-JWT";

std::string Iso(system_clock::time_point t) {
  const std::time_t s = system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&s, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::map<std::string, std::string> Form(const std::string& body) {
  std::map<std::string, std::string> out;
  size_t i = 0;
  while (i <= body.size()) {
    size_t amp = std::min(body.find('&', i), body.size());
    std::string piece = body.substr(i, amp - i);
    size_t eq = piece.find('=');
    out[http::DecodeQueryComponent(piece.substr(0, eq))] = eq == std::string::npos ? "" : http::DecodeQueryComponent(piece.substr(eq + 1));
    i = amp + 1;
  }
  return out;
}

void ExpectNoSecret(const Error& e) {
  for (const char* s : {kSecret, kToken, kWebToken}) EXPECT_THAT(e.ToString(), Not(HasSubstr(s)));
}

class HttpCredentialsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / fmt::format("esper_s3_httpcreds_{}_{}", ::getpid(),
                                                   ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    // Never the real IMDS address, whatever a test does.
    vars_ = {{"HOME", dir_.string()}, {"AWS_EC2_METADATA_DISABLED", "true"}, {"AWS_REGION", "us-east-1"}};
  }
  void TearDown() override { fs::remove_all(dir_); }
  ProviderOptions Opts() { return {.env = MapEnvironment(vars_), .timeout = std::chrono::seconds(5)}; }
  std::string WriteFile(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name) << text;
    return (dir_ / name).string();
  }
  fs::path dir_;
  std::map<std::string, std::string, std::less<>> vars_;
};

// --- STS AssumeRoleWithWebIdentity --------------------------------------------------------

std::string StsAnswer(const std::string& id, system_clock::time_point exp) {
  return fmt::format(R"(<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleWithWebIdentityResult>
    <SubjectFromWebIdentityToken>amzn1.account.AF6RHO7KZU5XRVQJGXK6HB56KR2A</SubjectFromWebIdentityToken>
    <Audience>client.5498841531868486423.1548@apps.example.com</Audience>
    <AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/FederatedWebIdentityRole/app1</Arn>
      <AssumedRoleId>AROACLKWSDQRAOEXAMPLE:app1</AssumedRoleId></AssumedRoleUser>
    <Credentials>
      <SessionToken>{}</SessionToken>
      <SecretAccessKey>{}</SecretAccessKey>
      <Expiration>{}</Expiration>
      <AccessKeyId>{}</AccessKeyId>
    </Credentials>
    <Provider>www.amazon.com</Provider>
  </AssumeRoleWithWebIdentityResult>
  <ResponseMetadata><RequestId>ad4156e9-bce1-11e2-82e6-6b6efEXAMPLE</RequestId></ResponseMetadata>
</AssumeRoleWithWebIdentityResponse>)",
                     kToken, kSecret, Iso(exp), id);
}

TEST_F(HttpCredentialsTest, WebIdentityAssumesTheRoleAtAwsEndpointUrlSts) {
  std::mutex mu;
  ServerRequest seen;
  const auto exp = system_clock::now() + std::chrono::hours(1);
  HttpTestServer sts([&](const ServerRequest& r) {
    std::lock_guard lock(mu);
    seen = r;
    return Reply{.status = 200, .headers = {{"Content-Type", "text/xml"}}, .body = StsAnswer("ASIASTS", exp)};
  });
  ASSERT_TRUE(sts.Start());
  vars_["AWS_WEB_IDENTITY_TOKEN_FILE"] = WriteFile("token", std::string(kWebToken) + "\n");
  vars_["AWS_ROLE_ARN"] = "arn:aws:iam::123456789012:role/FederatedWebIdentityRole";
  vars_["AWS_ROLE_SESSION_NAME"] = "app1";
  vars_["AWS_ENDPOINT_URL_STS"] = sts.Url("/");
  auto c = WebIdentityCredentials(Opts())->Fetch();
  ASSERT_TRUE(c) << c.error();
  EXPECT_EQ(c->access_key_id, "ASIASTS");
  EXPECT_EQ(c->secret_access_key.reveal(), kSecret);
  EXPECT_EQ(c->session_token.reveal(), kToken);
  ASSERT_TRUE(c->expiration);
  EXPECT_EQ(system_clock::to_time_t(*c->expiration), system_clock::to_time_t(exp));
  EXPECT_THAT(c->source, HasSubstr("FederatedWebIdentityRole"));

  std::lock_guard lock(mu);
  EXPECT_EQ(seen.method, "POST");
  EXPECT_EQ(seen.Header("Content-Type"), "application/x-www-form-urlencoded");
  const auto form = Form(seen.body);
  EXPECT_EQ(form.at("Action"), "AssumeRoleWithWebIdentity");
  EXPECT_EQ(form.at("Version"), "2011-06-15");
  EXPECT_EQ(form.at("RoleArn"), "arn:aws:iam::123456789012:role/FederatedWebIdentityRole");
  EXPECT_EQ(form.at("RoleSessionName"), "app1");
  EXPECT_EQ(form.at("WebIdentityToken"), kWebToken);  // the file's content, newline trimmed
  EXPECT_EQ(seen.Header("Authorization"), "");         // the call is not signed
}

TEST_F(HttpCredentialsTest, WebIdentityErrorsNameStsAndHideTheToken) {
  HttpTestServer sts([&](const ServerRequest&) {
    return Reply{.status = 403,
                 .body = R"(<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>
<Code>AccessDenied</Code><Message>Not authorized to perform sts:AssumeRoleWithWebIdentity</Message></Error>
<RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId></ErrorResponse>)"};
  });
  ASSERT_TRUE(sts.Start());
  vars_["AWS_WEB_IDENTITY_TOKEN_FILE"] = WriteFile("token", kWebToken);
  vars_["AWS_ROLE_ARN"] = "arn:aws:iam::123456789012:role/R";
  vars_["AWS_ENDPOINT_URL_STS"] = sts.Url("/");
  auto c = WebIdentityCredentials(Opts())->Fetch();
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code(), ErrorCode::kPermissionDenied);
  EXPECT_THAT(c.error().message(), HasSubstr("web identity"));
  EXPECT_THAT(c.error().message(), HasSubstr("AccessDenied"));
  EXPECT_EQ(c.error().service_code(), "AccessDenied");
  EXPECT_EQ(c.error().request_id(), "c6104cbe-af31-11e0-8154-cbc7ccf896c7");
  ExpectNoSecret(c.error());
  // A missing token file names the file and the source.
  vars_["AWS_WEB_IDENTITY_TOKEN_FILE"] = (dir_ / "absent").string();
  auto m = WebIdentityCredentials(Opts())->Fetch();
  ASSERT_FALSE(m);
  EXPECT_THAT(m.error().message(), HasSubstr("web identity"));
  EXPECT_THAT(m.error().message(), HasSubstr("absent"));
}

// --- container credentials ----------------------------------------------------------------

TEST_F(HttpCredentialsTest, ContainerSendsTheAuthorizationTokenFromVariableOrFile) {
  std::atomic<int> calls{0};
  std::string expected_auth = "Bearer container-auth-token";
  HttpTestServer ecs([&](const ServerRequest& r) {
    ++calls;
    if (r.method != "GET" || r.path != "/v2/credentials/abc") return Reply{.status = 404};
    if (r.Header("Authorization") != expected_auth) return Reply{.status = 401, .body = "bad token"};
    return Reply{.status = 200,
                 .headers = {{"Content-Type", "application/json"}},
                 .body = fmt::format(R"({{"AccessKeyId":"ASIAECS","Expiration":"{}","RoleArn":"arn:aws:iam::1:role/r",
                                       "SecretAccessKey":"{}","Token":"{}"}})",
                                     Iso(system_clock::now() + std::chrono::hours(6)), kSecret, kToken)};
  });
  ASSERT_TRUE(ecs.Start());
  vars_["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = ecs.Url("/v2/credentials/abc");
  vars_["AWS_CONTAINER_AUTHORIZATION_TOKEN"] = expected_auth;
  auto c = ContainerCredentials(Opts())->Fetch();
  ASSERT_TRUE(c) << c.error();
  EXPECT_EQ(c->access_key_id, "ASIAECS");
  EXPECT_EQ(c->session_token.reveal(), kToken);
  EXPECT_TRUE(c->expiration);

  vars_.erase("AWS_CONTAINER_AUTHORIZATION_TOKEN");
  expected_auth = "token-from-file";
  vars_["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"] = WriteFile("auth", "token-from-file\n");
  auto f = ContainerCredentials(Opts())->Fetch();
  ASSERT_TRUE(f) << f.error();
  EXPECT_EQ(f->access_key_id, "ASIAECS");

  // A wrong token: the error names the source and the status, not the token.
  vars_["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"] = WriteFile("auth2", "wrong-token");
  auto w = ContainerCredentials(Opts())->Fetch();
  ASSERT_FALSE(w);
  EXPECT_THAT(w.error().message(), HasSubstr("container credentials at http://127.0.0.1:"));
  EXPECT_THAT(w.error().message(), HasSubstr("401"));
  EXPECT_THAT(w.error().message(), Not(HasSubstr("wrong-token")));
  EXPECT_EQ(calls.load(), 3);
}

TEST_F(HttpCredentialsTest, ContainerRefusesPlainHttpToAnotherHost) {
  vars_["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = "http://credentials.example.com/creds";
  auto c = ContainerCredentials(Opts())->Fetch();  // refused before any connection
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_THAT(c.error().message(), HasSubstr("use https"));
}

// --- IMDSv2 --------------------------------------------------------------------------------

// IMDS as documented: a session token from PUT /latest/api/token (TTL header required), every
// metadata GET refused (401) without it.
class FakeImds {
 public:
  std::string role = "esper-role";
  std::atomic<int> credential_gets{0};
  std::atomic<int> token_puts{0};
  std::atomic<int> refresh_delay_ms{0};
  std::function<system_clock::time_point()> expiration = [] { return system_clock::now() + std::chrono::hours(6); };

  Reply Handle(const ServerRequest& r) {
    if (r.method == "PUT" && r.path == "/latest/api/token") {
      if (r.Header("X-aws-ec2-metadata-token-ttl-seconds").empty()) return Reply{.status = 400};
      ++token_puts;
      return Reply{.status = 200, .body = "imds-session-token"};
    }
    if (r.Header("X-aws-ec2-metadata-token") != "imds-session-token") return Reply{.status = 401};
    if (r.method == "GET" && r.path == "/latest/meta-data/iam/security-credentials/")
      return role.empty() ? Reply{.status = 404} : Reply{.status = 200, .body = role};
    if (r.method == "GET" && r.path == "/latest/meta-data/iam/security-credentials/" + role) {
      const int n = ++credential_gets;
      return Reply{.status = 200,
                   .body = fmt::format(R"({{"Code":"Success","LastUpdated":"2024-01-01T00:00:00Z","Type":"AWS-HMAC",
                     "AccessKeyId":"ASIAIMDS{}","SecretAccessKey":"{}","Token":"{}","Expiration":"{}"}})",
                                       n, kSecret, kToken, Iso(expiration())),
                   .delay = std::chrono::milliseconds(n > 1 ? refresh_delay_ms.load() : 0)};
    }
    return Reply{.status = 404};
  }
};

TEST_F(HttpCredentialsTest, ImdsV2TokenThenRoleThenCredentials) {
  FakeImds imds;
  HttpTestServer server([&](const ServerRequest& r) { return imds.Handle(r); });
  ASSERT_TRUE(server.Start());
  vars_.erase("AWS_EC2_METADATA_DISABLED");
  vars_["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = server.Url("/");
  auto c = ImdsCredentials(Opts())->Fetch();
  ASSERT_TRUE(c) << c.error();
  EXPECT_EQ(c->access_key_id, "ASIAIMDS1");
  EXPECT_EQ(c->secret_access_key.reveal(), kSecret);
  EXPECT_EQ(c->source, "IMDS (role esper-role)");
  EXPECT_EQ(imds.token_puts.load(), 1);

  // No role attached: "not configured", so a chain would move on.
  imds.role.clear();
  auto none = ImdsCredentials(Opts())->Fetch();
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code(), ErrorCode::kNotFound);
  EXPECT_THAT(none.error().message(), HasSubstr("no IAM role"));

  // Disabled: no request at all.
  vars_["AWS_EC2_METADATA_DISABLED"] = "true";
  const uint64_t before = server.requests();
  EXPECT_EQ(ImdsCredentials(Opts())->Fetch().error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(server.requests(), before);
}

TEST_F(HttpCredentialsTest, ImdsNotListeningIsNotConfigured) {
  int port = 0;
  {
    HttpTestServer gone([](const ServerRequest&) { return Reply{}; });
    ASSERT_TRUE(gone.Start());
    port = gone.port();
  }  // stopped: nothing listens there now
  vars_.erase("AWS_EC2_METADATA_DISABLED");
  vars_["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = fmt::format("http://127.0.0.1:{}", port);
  auto c = ImdsCredentials(Opts())->Fetch();
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code(), ErrorCode::kNotFound);
  EXPECT_THAT(c.error().message(), HasSubstr(fmt::format("IMDS at http://127.0.0.1:{}: not reachable", port)));
}

// The chain reaches IMDS last and the cache refreshes its credentials five minutes before they
// expire, on an injected clock: the old ones keep being handed out while the (delayed) refresh
// runs, and the new ones replace them when it ends.
TEST_F(HttpCredentialsTest, ChainToImdsThenRefreshAheadOfExpiryWithoutStalling) {
  std::atomic<int64_t> fake_secs{system_clock::to_time_t(system_clock::now())};
  auto fake_now = [&] { return system_clock::time_point(std::chrono::seconds(fake_secs.load())); };
  FakeImds imds;
  imds.expiration = [&] { return fake_now() + std::chrono::hours(1); };
  HttpTestServer server([&](const ServerRequest& r) { return imds.Handle(r); });
  ASSERT_TRUE(server.Start());
  vars_.erase("AWS_EC2_METADATA_DISABLED");
  vars_["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = server.Url("/");
  auto cache = CredentialsCache::Create(DefaultChain(Opts()), {.now = fake_now});
  ASSERT_TRUE(cache);
  auto first = (*cache)->Get();  // nothing before IMDS is configured here
  ASSERT_TRUE(first) << first.error();
  EXPECT_EQ(first->access_key_id, "ASIAIMDS1");

  fake_secs += 3600 - 5 * 60 + 1;  // just inside the refresh window
  imds.refresh_delay_ms = 300;
  EXPECT_EQ((*cache)->TryGet()->access_key_id, "ASIAIMDS1");  // starts the refresh, does not wait
  bool try_get_failed = false;
  ASSERT_TRUE(esper::testing::WaitUntil([&] {
    auto c = (*cache)->TryGet();
    if (!c) return try_get_failed = true;
    if ((*cache)->fetches() >= 2) return true;
    EXPECT_EQ(c->access_key_id, "ASIAIMDS1");  // served while the refresh runs
    return false;
  }));
  ASSERT_FALSE(try_get_failed);
  EXPECT_EQ((*cache)->TryGet()->access_key_id, "ASIAIMDS2");
  EXPECT_EQ(imds.credential_gets.load(), 2);
}

}  // namespace
}  // namespace esper::s3
