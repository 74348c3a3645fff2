#include "cli/s3_cli_fixture.h"

#include <fmt/format.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "esper/s3/checksum.h"
#include "esper/s3/s3_store.h"
#include "esper/storage/local_store.h"
#include "testing/s3_store_options.h"

namespace esper::cli::s3test {

namespace fs = std::filesystem;
using testing::S3TestServer;

std::string BackendName(Backend b) {
  switch (b) {
    case Backend::kS3rver4: return "S3rver4";
    case Backend::kFauxqs: return "Fauxqs";
    case Backend::kLocal: return "Local";
  }
  return "?";
}

std::string BackendTestName(const ::testing::TestParamInfo<Backend>& p) { return BackendName(p.param); }

Result<std::unique_ptr<S3Cli>> S3Cli::Start(Backend backend, const std::vector<std::string>& buckets) {
  std::unique_ptr<S3Cli> s(new S3Cli());
  s->backend_ = backend;
  char tmpl[] = "/tmp/esper-s3cli-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) return Error::FromErrno(errno, "mkdtemp");
  s->dir_ = tmpl;
  WriteFile(s->dir_ + "/.aws/config", fmt::format("[default]\nregion = {}\n", S3TestServer::kRegion));
  if (backend == Backend::kLocal) {
    const std::string root = s->dir_ + "/store";
    fs::create_directories(root);
    s->endpoint_ = "file://" + root;
    ESPER_ASSIGN_OR_RETURN(auto local, storage::LocalStore::Create({.root = root, .fsync = false}));
    s->store_ = std::move(local);
    for (const auto& b : buckets) ESPER_RETURN_IF_ERROR(s->store_->CreateBucket(b));
  } else {
    ESPER_ASSIGN_OR_RETURN(
        s->server_, S3TestServer::Start({.kind = backend == Backend::kS3rver4 ? testing::S3ServerKind::kS3rver4
                                                                             : testing::S3ServerKind::kFauxqs,
                                         .buckets = buckets}));
    s->endpoint_ = s->server_->endpoint();
    ESPER_ASSIGN_OR_RETURN(auto remote, s3::S3Store::Create(testing::StoreOptionsFor(*s->server_)));
    s->store_ = std::move(remote);
  }
  return s;
}

S3Cli::~S3Cli() {
  store_.reset();
  server_.reset();
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

std::vector<std::string> S3Cli::Env(const std::vector<std::string>& extra) const {
  std::vector<std::string> env = {
      "HOME=" + dir_,
      fmt::format("AWS_ACCESS_KEY_ID={}", S3TestServer::kAccessKey),
      fmt::format("AWS_SECRET_ACCESS_KEY={}", S3TestServer::kSecretKey),
      "AWS_SESSION_TOKEN=",
      fmt::format("AWS_REGION={}", S3TestServer::kRegion),
      fmt::format("AWS_DEFAULT_REGION={}", S3TestServer::kRegion),
      "AWS_EC2_METADATA_DISABLED=true",
      "AWS_PROFILE=default",  // awscli refuses an empty one; the default profile is in dir()/.aws/config
      "AWS_CONFIG_FILE=" + dir_ + "/.aws/config",
      "AWS_SHARED_CREDENTIALS_FILE=" + dir_ + "/.aws/credentials",
      "AWS_ENDPOINT_URL=",
      "AWS_ENDPOINT_URL_S3=",
      "S3_ENDPOINT_URL=",
      "AWS_MAX_ATTEMPTS=3",  // awscli refuses an empty one
      "AWS_WEB_IDENTITY_TOKEN_FILE=",
      "AWS_CONTAINER_CREDENTIALS_FULL_URI=",
      "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=",
      "AWS_PAGER=",
      "ESPER_LOG_LEVEL=",
      "http_proxy=",
      "https_proxy=",
      "all_proxy=",
      "TZ=UTC",
  };
  env.insert(env.end(), extra.begin(), extra.end());
  return env;
}

std::vector<std::string> S3Cli::EsperArgvAt(std::vector<std::string> args, const std::string& endpoint) {
  std::vector<std::string> argv = {testing::EsperBinary(), "s3"};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.insert(argv.end(), {"--endpoint-url", endpoint});
  return argv;
}

testing::ProcessResult S3Cli::Esper(std::vector<std::string> args, const std::string& stdin_data,
                                    const std::vector<std::string>& extra_env,
                                    const std::optional<std::string>& endpoint) const {
  return testing::RunProcess(EsperArgv(std::move(args), endpoint), Env(extra_env), stdin_data);
}

testing::ProcessResult S3Cli::Aws(std::vector<std::string> args, const std::vector<std::string>& extra_env) const {
  std::vector<std::string> argv = {"/usr/bin/aws", "--endpoint-url", endpoint_};
  argv.insert(argv.end(), args.begin(), args.end());
  return testing::RunProcess(argv, Env(extra_env));
}

void S3CliStoreTest::Start(Backend backend) {
  auto s = S3Cli::Start(backend, {kBucket});
  ASSERT_TRUE(s) << s.error();
  s_ = std::move(*s);
}

void S3CliStoreTest::Put(const std::string& key, const std::string& data, storage::PutOptions options) {
  auto r = s_->store().Put(kBucket, key, storage::PutBody::FromString(data), std::move(options));
  ASSERT_TRUE(r) << r.error();
}

std::string S3CliStoreTest::Get(const std::string& key) {
  auto r = s_->store().Get(kBucket, key);
  return r ? r->body : fmt::format("<{}>", r.error().ToString());
}

bool S3CliStoreTest::Exists(const std::string& bucket, const std::string& key) {
  auto r = s_->store().Exists(bucket, key);
  EXPECT_TRUE(r) << r.error();
  return r && *r;
}

testing::Reply ObjectReply(const std::string& body, const std::optional<std::string>& etag_of) {
  return testing::Reply{.status = 200,
                        .headers = {{"ETag", fmt::format("\"{}\"", s3::Hex(s3::Md5::Of(etag_of.value_or(body))))},
                                    {"Content-Type", "application/octet-stream"},
                                    {"Last-Modified", "Mon, 07 Dec 2026 02:00:00 GMT"},
                                    {"x-amz-request-id", "REQ-OK"}},
                        .body = body};
}

size_t Attempts(const std::string& err, std::string_view method) {
  size_t n = 0;
  const std::string line = fmt::format("> {} /", method);
  for (size_t at = 0; (at = err.find(line, at)) != std::string::npos; at += line.size()) ++n;
  return n;
}

std::string ShellCommand(const std::vector<std::string>& argv) {
  std::string command;
  for (const std::string& a : argv) {
    if (!command.empty()) command += ' ';
    command += '\'';
    for (char ch : a) command += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
    command += '\'';
  }
  return command;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

void WriteFile(const std::string& path, const std::string& data) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << data;
}

}  // namespace esper::cli::s3test
