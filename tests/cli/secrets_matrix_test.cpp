// Issue 18's secrets matrix: distinctive secret values are planted everywhere a command can see
// one — the AWS secret key and session token, a database password, an Authorization header, an
// x-api-key, user:password in URLs, a password in a query, a presigned URL's signature — and
// every command that can see them (config show / validate / explain / get, http with -v, s3
// with -v / -vv, on success and on its failure paths: bad config at many positions, a dead
// endpoint, 401 / 403 / 503 answers, a refused signature) is run as the built binary. Every
// byte of its stdout and stderr, and every file it leaves in its working directory and HOME
// (log files, downloads, temporary files), is searched for every secret. The one output allowed
// to carry a signature is `esper s3 presign`'s stdout (the URL is its purpose); even there the
// secret key never appears.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "cli/s3_cli_fixture.h"
#include "esper/s3/checksum.h"
#include "testing/http_server.h"
#include "testing/net.h"

namespace esper::cli::s3test {
namespace {

namespace fs = std::filesystem;
using esper::testing::HttpTestServer;
using esper::testing::Reply;
using esper::testing::ServerRequest;

constexpr const char* kAwsSecret = "AWSSECRET-m4trix-Qx1";
constexpr const char* kToken = "SESSIONTOKEN-m4trix-Zz2";
constexpr const char* kDbPassword = "DBPASS-m4trix-Pw3";
constexpr const char* kAuthz = "AUTHZ-m4trix-Bearer4";
constexpr const char* kApiKey = "APIKEY-m4trix-K5";
constexpr const char* kUrlPassword = "URLPASS-m4trix-U6";
constexpr const char* kQueryPassword = "QUERYPASS-m4trix-Q7";
constexpr const char* kRedisPassword = "REDISPASS-m4trix-R8";

// A stand-in S3 and HTTP server: bucket "deny" → 403 AccessDenied, "slow" → 503 SlowDown,
// "/unauth" → 401, anything else 200 (an empty listing, or "ok").
Reply StandIn(const ServerRequest& r) {
  auto xml_error = [](int status, const char* code) {
    return Reply{.status = status,
                 .headers = {{"Content-Type", "application/xml"}, {"x-amz-request-id", "REQ-MATRIX"}},
                 .body = fmt::format("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{}</Code>"
                                     "<Message>refused</Message><RequestId>REQ-MATRIX</RequestId></Error>",
                                     code)};
  };
  if (r.path.starts_with("/deny")) return xml_error(403, "AccessDenied");
  if (r.path.starts_with("/slow")) {
    Reply reply = xml_error(503, "SlowDown");
    reply.headers.push_back({"Retry-After", "0"});
    return reply;
  }
  if (r.path.starts_with("/unauth")) {
    return Reply{.status = 401, .headers = {{"WWW-Authenticate", "Bearer realm=\"matrix\""}}, .body = "who are you?"};
  }
  if (r.query.find("list-type=2") != std::string::npos) {
    return Reply{.status = 200,
                 .headers = {{"Content-Type", "application/xml"}},
                 .body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><ListBucketResult><Name>ok</Name><KeyCount>0"
                         "</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated></ListBucketResult>"};
  }
  return Reply{.status = 200,
               .headers = {{"ETag", fmt::format("\"{}\"", s3::Hex(s3::Md5::Of("ok")))},
                           {"Last-Modified", "Mon, 07 Dec 2026 02:00:00 GMT"},
                           {"Content-Type", "text/plain"}},
               .body = "ok"};
}

class SecretsMatrix : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_.Start());
    char tmpl[] = "/tmp/esper-secrets-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    work_ = dir_ + "/work";
    fs::create_directories(work_ + "/tree");
    WriteFile(work_ + "/tree/a.txt", "a");
    WriteFile(work_ + "/up.txt", "up");
    // Configurations: the secrets in their own keys, and errors before, on and after their lines.
    const std::string body = fmt::format(
        "service:\n  name: matrix\ndatabase:\n  port: 5433\n  password: {}\ns3:\n  endpoint_url: "
        "http://user:{}@127.0.0.1:9000\nredis:\n  url: redis://:{}@localhost:6379/0\n",
        kDbPassword, kUrlPassword, kRedisPassword);
    good_ = Config("good.yaml", body);
    bad_ = {
        Config("flow.yaml", fmt::format("service: {{name: x}}\ndatabase: {{password: {}, port: abc}}\n", kDbPassword)),
        Config("dup.yaml", fmt::format("service: {{name: x}}\ndatabase:\n  password: {}\n  password: {}b\n", kDbPassword,
                                       kDbPassword)),
        Config("syntax.yaml", fmt::format("service: {{name: x}}\ndatabase:\n  password: {}: oops\n", kDbPassword)),
        Config("unterminated.yaml", fmt::format("service: {{name: x}}\ndatabase:\n  password: \"{}", kDbPassword)),
        Config("tag.yaml", fmt::format("service: {{name: x}}\ndatabase:\n  password: !!str {}\n", kDbPassword)),
        Config("after.yaml", body + "database:\n  port: [\n"),
        Config("type.yaml", fmt::format("service: {{name: x}}\ndatabase:\n  password: {}\n  port: abc\ns3:\n  "
                                        "endpoint_url: ftp://user:{}@h/\n",
                                        kDbPassword, kUrlPassword)),
    };
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  std::string Config(const std::string& name, const std::string& text) {
    const std::string path = dir_ + "/" + name;
    WriteFile(path, text);
    return path;
  }
  std::string Url(const std::string& path, bool with_password = false) const {
    return fmt::format("http://{}127.0.0.1:{}{}", with_password ? fmt::format("user:{}@", kUrlPassword) : "",
                       server_.port(), path);
  }
  std::vector<std::string> Env() const {
    return {"HOME=" + work_,
            "AWS_ACCESS_KEY_ID=AKIDMATRIX",
            std::string("AWS_SECRET_ACCESS_KEY=") + kAwsSecret,
            std::string("AWS_SESSION_TOKEN=") + kToken,
            "AWS_REGION=us-east-1",
            "AWS_EC2_METADATA_DISABLED=true",
            "AWS_PROFILE=",
            "AWS_MAX_ATTEMPTS=2",
            "AWS_ENDPOINT_URL=",
            "AWS_ENDPOINT_URL_S3=",
            "S3_ENDPOINT_URL=",
            std::string("ESPER_DATABASE__PASSWORD=") + kDbPassword,
            "ESPER_LOG_LEVEL=",
            "http_proxy=",
            "https_proxy=",
            "all_proxy="};
  }

  // Runs `esper <args>` in work_ and checks every byte it wrote, and every file under work_, for
  // every secret; `allowed` may appear (on stdout only).
  testing::ProcessResult Run(const std::vector<std::string>& args, const std::vector<std::string>& allowed_on_stdout = {},
                             const std::vector<std::string>& extra_env = {}) {
    std::vector<std::string> argv = {testing::EsperBinary()};
    argv.insert(argv.end(), args.begin(), args.end());
    const std::string command = "cd " + ShellCommand({work_}) + " && exec " + ShellCommand(argv);
    std::vector<std::string> env = Env();
    env.insert(env.end(), extra_env.begin(), extra_env.end());
    testing::ProcessResult r = testing::RunProcess({"/bin/sh", "-c", command}, env);
    ++runs_;
    const std::string shown = fmt::format("esper {}", fmt::join(args, " "));
    for (const char* secret :
         {kAwsSecret, kToken, kDbPassword, kAuthz, kApiKey, kUrlPassword, kQueryPassword, kRedisPassword}) {
      const bool allowed = std::find(allowed_on_stdout.begin(), allowed_on_stdout.end(), secret) != allowed_on_stdout.end();
      EXPECT_EQ(r.err.find(secret), std::string::npos) << shown << ": stderr shows " << secret << "\n" << r.err;
      if (!allowed) {
        EXPECT_EQ(r.out.find(secret), std::string::npos) << shown << ": stdout shows " << secret << "\n" << r.out;
      }
    }
    for (const std::string& extra : extra_secrets_) {
      EXPECT_EQ((r.out + r.err).find(extra), std::string::npos) << shown << " shows " << extra;
    }
    for (const auto& e : fs::recursive_directory_iterator(work_)) {
      if (!e.is_regular_file()) continue;
      const std::string content = ReadFile(e.path().string());
      for (const char* secret : {kAwsSecret, kToken, kDbPassword, kAuthz, kApiKey, kUrlPassword, kQueryPassword}) {
        EXPECT_EQ(content.find(secret), std::string::npos) << shown << " left " << secret << " in " << e.path();
      }
    }
    return r;
  }

  HttpTestServer server_{StandIn};
  std::string dir_, work_, good_;
  std::vector<std::string> bad_;
  std::vector<std::string> extra_secrets_;  // found along the way (a presigned URL's signature)
  int runs_ = 0;
};

TEST_F(SecretsMatrix, ConfigCommandsNeverShowASecretWhateverTheError) {
  for (const char* format : {"yaml", "json"}) {
    auto show = Run({"config", "show", "-c", good_, "--format", format});
    EXPECT_EQ(show.exit_code, 0) << show.err;
  }
  for (const char* key : {"database.password", "s3.endpoint_url", "redis.url", "database"}) {
    EXPECT_EQ(Run({"config", "get", key, "-c", good_}).exit_code, 0) << key;
    EXPECT_EQ(Run({"config", "explain", key, "-c", good_}).exit_code, 0) << key;
  }
  EXPECT_EQ(Run({"config", "validate", "-c", good_}).exit_code, 0);
  for (const std::string& bad : bad_) {
    EXPECT_EQ(Run({"config", "validate", "-c", bad}).exit_code, 1) << bad;
    EXPECT_NE(Run({"config", "show", "-c", bad}).exit_code, 0) << bad;
    EXPECT_NE(Run({"config", "explain", "database.password", "-c", bad}).exit_code, 0) << bad;
  }
  // Malformed and well-formed --set, a secret in the environment.
  Run({"config", "validate", "--set", fmt::format("database.password:{}", kDbPassword)});
  Run({"config", "validate", "--set", fmt::format("database.password={}", kDbPassword), "--set", "database.port=x"});
  Run({"config", "show", "--set", fmt::format("s3.endpoint_url=http://u:{}@h", kUrlPassword)});
  Run({"config", "explain", "database.password", "-c", good_});  // the environment wins
  Run({"config", "validate", "--set", fmt::format("redis.url=redis://:{}@h:99999/0", kRedisPassword)});
  EXPECT_GE(runs_, 30);
}

TEST_F(SecretsMatrix, HttpWithVerboseOnEveryFailurePath) {
  const std::string authz = fmt::format("Authorization: Bearer {}", kAuthz);
  const std::string api_key = fmt::format("x-api-key: {}", kApiKey);
  const std::string dead = fmt::format("http://user:{}@127.0.0.1:{}/x?password={}", kUrlPassword, testing::FreePort(),
                                       kQueryPassword);
  for (const std::string& url : {Url("/unauth", true) + "?password=" + kQueryPassword, Url("/slow", true),
                                 Url("/ok?token=" + std::string(kQueryPassword), true), dead}) {
    Run({"http", "get", url, "-H", authz, "-H", api_key, "-v", "--retries", "1"});
    Run({"http", "post", url, "-H", authz, "--data", "x", "--retries", "0"});
    Run({"http", "head", url, "-H", api_key, "-v", "--retries", "0"});
  }
  // Malformed headers are echoed redacted; a URL the client refuses too.
  Run({"http", "get", Url("/ok"), "-H", fmt::format("Authorization Bearer {}", kAuthz)});
  Run({"http", "get", Url("/ok"), "-H", fmt::format("x-api-key {}", kApiKey)});
  Run({"http", "get", fmt::format("htp://user:{}@h/", kUrlPassword)});
  Run({"http", "get", fmt::format("http://user:{}@h/\r\nX: y", kUrlPassword)});
}

TEST_F(SecretsMatrix, S3CommandsWithVerboseOnSuccessAndOnEveryFailurePath) {
  const std::string endpoint = Url("");
  const std::string with_password = Url("", true);
  const std::string dead = fmt::format("http://user:{}@127.0.0.1:{}", kUrlPassword, testing::FreePort());
  for (const std::string& ep : {endpoint, with_password, dead}) {
    for (const char* v : {"-v", "-vv"}) {
      Run({"s3", "ls", "s3://deny", v, "--endpoint-url", ep});
      Run({"s3", "ls", "s3://ok", v, "--endpoint-url", ep});
      Run({"s3", "stat", "s3://deny/k", v, "--endpoint-url", ep});
      Run({"s3", "stat", "s3://slow/k", v, "--endpoint-url", ep});
      Run({"s3", "cp", "s3://deny/k", "down.txt", v, "--endpoint-url", ep});
      Run({"s3", "cp", "s3://ok/k", "ok.txt", v, "--endpoint-url", ep});
      Run({"s3", "cp", "up.txt", "s3://deny/k", v, "--endpoint-url", ep});
      Run({"s3", "cp", "up.txt", "s3://slow/k", v, "--endpoint-url", ep});
      Run({"s3", "cp", "-r", "tree", "s3://deny/p", v, "--endpoint-url", ep});
      Run({"s3", "sync", "tree", "s3://slow/p", v, "--endpoint-url", ep});
      Run({"s3", "rm", "s3://deny/k", v, "--endpoint-url", ep});
      Run({"s3", "mb", "s3://deny", v, "--endpoint-url", ep});
      Run({"s3", "health", "s3://deny", v, "--endpoint-url", ep});
    }
  }
  // A presigned URL carries a signature (and the session token) on presign's stdout, and
  // nowhere else: not when it is used with -v, not in an error.
  auto presign = Run({"s3", "presign", "s3://deny/k", "--endpoint-url", endpoint}, {kToken});
  ASSERT_EQ(presign.exit_code, 0) << presign.err;
  // The search finds a secret where one is: the session token is part of the URL.
  EXPECT_NE(presign.out.find(std::string("X-Amz-Security-Token=") + kToken), std::string::npos) << presign.out;
  const size_t at = presign.out.find("X-Amz-Signature=");
  ASSERT_NE(at, std::string::npos) << presign.out;
  const std::string url = presign.out.substr(0, presign.out.find('\n'));
  extra_secrets_.push_back(url.substr(at + std::string("X-Amz-Signature=").size()));
  ASSERT_EQ(extra_secrets_.back().size(), 64u) << url;
  Run({"http", "get", url, "-v", "--retries", "1"});
  Run({"http", "get", url + "&x=\r\n", "-v"});
  // A real server that checks signatures, refusing this secret: 403 SignatureDoesNotMatch.
  auto s3rver = S3Cli::Start(Backend::kS3rver4, {"bkt"});
  ASSERT_TRUE(s3rver) << s3rver.error();
  for (const char* v : {"-v", "-vv"}) {
    const std::vector<std::string> known_key = {fmt::format("AWS_ACCESS_KEY_ID={}", testing::S3TestServer::kAccessKey)};
    auto refused = Run({"s3", "ls", "s3://bkt", v, "--endpoint-url", (*s3rver)->endpoint()}, {}, known_key);
    EXPECT_EQ(refused.exit_code, 1);
    EXPECT_NE(refused.err.find("SignatureDoesNotMatch"), std::string::npos) << refused.err;
    Run({"s3", "cp", "up.txt", "s3://bkt/k", v, "--endpoint-url", (*s3rver)->endpoint()}, {}, known_key);
  }
  EXPECT_GE(runs_, 80);
}

// sync's first request lists the destination; refused there, it names the credentials (their
// key id and source, never the secret) as every other refused request does.
TEST_F(SecretsMatrix, SyncToARefusedBucketNamesTheCredentials) {
  auto r = Run({"s3", "sync", "tree", "s3://deny/p", "--endpoint-url", Url("")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("AccessDenied"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("(credentials: access key id AKIDMATRIX from environment)"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace esper::cli::s3test
