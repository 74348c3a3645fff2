// docs/bad-input.md's S3 rows: what `esper s3` gives a user for wrong credentials, a dead
// endpoint, a server that never answers, a body cut short or corrupted on the way, a full disk
// and an invalid URI — the built binary against s3rver 4.0.4 (which checks signatures) or a
// stand-in server (testing/http_server.h) that misbehaves on purpose.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "cli/s3_cli_fixture.h"
#include "testing/http_server.h"
#include "testing/net.h"

namespace esper::cli::s3test {
namespace {

namespace fs = std::filesystem;
using ::testing::ContainsRegex;
using ::testing::HasSubstr;
using ::testing::Not;
using esper::testing::HttpTestServer;
using esper::testing::PatternBytes;
using esper::testing::Reply;
using esper::testing::ServerRequest;

class S3CliBadInputTest : public S3CliStoreTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(Start(Backend::kS3rver4));
    Put("k", PatternBytes(5000));
  }
};

TEST_F(S3CliBadInputTest, AWrongSecretIsRefusedOnceAndNamedByItsKeyIdNeverByTheSecret) {
  auto r = s_->Esper({"ls", "s3://bkt", "-v"}, "", {"AWS_SECRET_ACCESS_KEY=wrong-secret-Bad9"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("SignatureDoesNotMatch (HTTP 403)"));
  EXPECT_THAT(r.err, HasSubstr("(credentials: access key id S3RVER from environment)"));
  EXPECT_EQ(Attempts(r.err), 1u) << "a refused signature is not retried\n" << r.err;
  EXPECT_THAT(r.err + r.out, Not(HasSubstr("wrong-secret-Bad9")));

  auto unknown = s_->Esper({"stat", "s3://bkt/k"}, "", {"AWS_ACCESS_KEY_ID=AKIDNOSUCHKEY"});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_THAT(unknown.err, ContainsRegex("PermissionDenied: .*HTTP 403"));
  EXPECT_THAT(unknown.err, HasSubstr("access key id AKIDNOSUCHKEY from environment"));
}

TEST_F(S3CliBadInputTest, ADeadEndpointIsUnavailableAfterItsRetries) {
  const std::string dead = fmt::format("http://127.0.0.1:{}", testing::FreePort());
  auto r = s_->Esper({"stat", "s3://bkt/k", "-v"}, "", {"AWS_MAX_ATTEMPTS=2"}, dead);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("esper: error: Unavailable: gave up after 2 attempts: HEAD " + dead + "/bkt/k: connect to"));
}

TEST_F(S3CliBadInputTest, AServerThatNeverAnswersTimesOutAfterReadTimeoutPerAttempt) {
  HttpTestServer silent([](const ServerRequest&) { return Reply{.action = Reply::Action::kSilent}; });
  ASSERT_TRUE(silent.Start());
  auto r = s_->Esper({"stat", "s3://bkt/k", "--read-timeout", "0.3", "-v"}, "", {"AWS_MAX_ATTEMPTS=2"},
                     "http://" + silent.address());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("esper: error: DeadlineExceeded: gave up after 2 attempts"));
  EXPECT_THAT(r.err, HasSubstr("no complete response within the per-try timeout 300 ms"));
  EXPECT_EQ(Attempts(r.err, "HEAD"), 2u) << r.err;
}

TEST_F(S3CliBadInputTest, ABodyCutShortOrCorruptedIsRetriedThenRefusedAndLeavesNoFile) {
  const std::string body = PatternBytes(200000, 4);
  std::string corrupted = body;
  corrupted[1234] ^= 0x20;
  struct Case {
    const char* name;
    Reply reply;
    const char* says;
  };
  Reply cut = ObjectReply(body);
  cut.action = Reply::Action::kTruncate;
  for (const Case& c : {Case{"truncated", cut, "Unavailable: gave up after 3 attempts: .* truncated response"},
                        Case{"corrupted", ObjectReply(corrupted, body), "DataLoss: gave up after 3 attempts: .* not the object's ETag"}}) {
    SCOPED_TRACE(c.name);
    HttpTestServer server([&](const ServerRequest&) { return c.reply; });
    ASSERT_TRUE(server.Start());
    const std::string dir = s_->Path(c.name);
    fs::create_directories(dir);
    auto r = s_->Esper({"cp", "s3://bkt/k", dir + "/k.bin", "-v"}, "", {"AWS_MAX_ATTEMPTS=3"}, "http://" + server.address());
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_THAT(r.err, ContainsRegex(c.says));
    EXPECT_EQ(Attempts(r.err), 3u) << "retried: another attempt may bring the whole object\n" << r.err;
    EXPECT_TRUE(fs::is_empty(dir)) << "left behind: " << fs::directory_iterator(dir)->path();
  }
}

// --ignore-checksum is the one way to take bytes that are not the ETag's (as rclone's flag): the
// same server as above, whose ETag is of other bytes, now gives its bytes at the first attempt —
// to a file and to stdout — and without the flag the same command is DataLoss.
TEST_F(S3CliBadInputTest, IgnoreChecksumTakesBytesThatAreNotTheETagsAtTheFirstAttempt) {
  const std::string body = PatternBytes(200000, 4);
  std::string other = body;
  other[777] ^= 0x01;
  HttpTestServer server([&](const ServerRequest&) { return ObjectReply(body, other); });
  ASSERT_TRUE(server.Start());
  const std::string endpoint = "http://" + server.address();
  const std::string dir = s_->Path("ignore-checksum");
  fs::create_directories(dir);
  auto checked = s_->Esper({"cp", "s3://bkt/k", dir + "/k.bin", "-v"}, "", {"AWS_MAX_ATTEMPTS=2"}, endpoint);
  EXPECT_EQ(checked.exit_code, 1);
  EXPECT_THAT(checked.err, ContainsRegex("DataLoss: gave up after 2 attempts: .* not the object's ETag"));
  EXPECT_TRUE(fs::is_empty(dir));

  auto file = s_->Esper({"cp", "s3://bkt/k", dir + "/k.bin", "--ignore-checksum", "-v"}, "", {"AWS_MAX_ATTEMPTS=2"}, endpoint);
  ASSERT_EQ(file.exit_code, 0) << file.err;
  EXPECT_EQ(Attempts(file.err), 1u) << file.err;
  EXPECT_EQ(ReadFile(dir + "/k.bin"), body);
  auto piped = s_->Esper({"cp", "s3://bkt/k", "-", "--ignore-checksum"}, "", {"AWS_MAX_ATTEMPTS=2"}, endpoint);
  ASSERT_EQ(piped.exit_code, 0) << piped.err;
  EXPECT_EQ(piped.out, body);
}

TEST_F(S3CliBadInputTest, AFullDiskOnDownloadIsAnErrorNotASuccess) {
  auto device = s_->Esper({"cp", "s3://bkt/k", "/dev/full"});
  EXPECT_EQ(device.exit_code, 1);
  EXPECT_THAT(device.err, HasSubstr("write /dev/full: No space left on device"));

  const std::string command = ShellCommand(s_->EsperArgv({"cp", "s3://bkt/k", "-"}));
  auto piped = testing::RunProcess({"/bin/sh", "-c", command + " >/dev/full"}, s_->Env());
  EXPECT_EQ(piped.exit_code, 1);
  EXPECT_THAT(piped.err, HasSubstr("write to stdout: No space left on device"));
}

TEST_F(S3CliBadInputTest, AnInvalidUriIsAUsageErrorNamingTheRule) {
  struct Case {
    std::vector<std::string> args;
    const char* says;
  };
  for (const Case& c : {Case{{"ls", "s3://Bad_Bucket"}, "bucket"}, Case{{"ls", "s3:/bkt/k"}, "s3://"},
                        Case{{"stat", "s3://"}, "bucket"}, Case{{"stat", "s3://bkt/" + std::string(1100, 'k')}, "1024"},
                        Case{{"ls", "s3://user:pw-Bad7@bkt/k"}, "bucket"}}) {
    auto r = s_->Esper(c.args);
    EXPECT_EQ(r.exit_code, 2) << fmt::format("{}", fmt::join(c.args, " ")) << "\n" << r.err;
    EXPECT_THAT(r.err, HasSubstr(c.says)) << fmt::format("{}", fmt::join(c.args, " "));
    EXPECT_THAT(r.err, Not(HasSubstr("pw-Bad7")));
    EXPECT_EQ(r.out, "");
  }
}

}  // namespace
}  // namespace esper::cli::s3test
