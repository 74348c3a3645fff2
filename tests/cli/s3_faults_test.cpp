// `esper s3` when the server misbehaves: a stand-in S3 (testing/http_server.h) that throttles,
// stalls in the middle of a body, or never answers, and the real servers behind the fault proxy.
// What the user gets is docs/bad-input.md's S3 rows.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>

#include "cli/s3_cli_fixture.h"
#include "esper/s3/checksum.h"
#include "testing/http_server.h"
#include "testing/wait.h"

namespace esper::cli::s3test {
namespace {

namespace fs = std::filesystem;
using ::testing::ContainsRegex;
using ::testing::HasSubstr;
using ::testing::Not;
using esper::testing::ChildProcess;
using esper::testing::HttpTestServer;
using esper::testing::PatternBytes;
using esper::testing::Reply;
using esper::testing::ServerRequest;

constexpr const char* kSecret = "fault-test-secret-Zq7";

// `esper s3 <args> --endpoint-url <url>` with test credentials and a private HOME.
testing::ProcessResult EsperAt(const std::string& home, const std::string& endpoint, std::vector<std::string> args) {
  return testing::RunProcess(S3Cli::EsperArgvAt(std::move(args), endpoint), {"HOME=" + home, "AWS_ACCESS_KEY_ID=AKIDFAULTTEST", std::string("AWS_SECRET_ACCESS_KEY=") + kSecret,
                                    "AWS_SESSION_TOKEN=", "AWS_REGION=us-east-1", "AWS_EC2_METADATA_DISABLED=true",
                                    "AWS_PROFILE=", "AWS_MAX_ATTEMPTS=", "AWS_ENDPOINT_URL=", "AWS_ENDPOINT_URL_S3="});
}

std::string TempDir(const char* name) {
  const std::string dir = ::testing::TempDir() + fmt::format("esper_s3_faults_{}_{}", name, getpid());
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

// -v: each attempt's request line and status, the retries, and never a credential.
TEST(S3CliVerbose, ShowsRequestsStatusesAndRetriesButNoCredential) {
  std::atomic<int> gets{0};
  HttpTestServer server([&](const ServerRequest& req) {
    if (req.method != "GET") return Reply{.status = 405};
    if (gets.fetch_add(1) < 2) {
      return Reply{.status = 503,
                   .headers = {{"Content-Type", "application/xml"}, {"x-amz-request-id", "REQ-SLOW"}},
                   .body = "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message>"
                           "<RequestId>REQ-SLOW</RequestId></Error>"};
    }
    return ObjectReply("hello");
  });
  ASSERT_TRUE(server.Start());
  const std::string home = TempDir("verbose");
  auto r = EsperAt(home, "http://" + server.address(), {"cp", "s3://bkt/k", "-", "-v"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "hello");
  EXPECT_EQ(gets.load(), 3);
  EXPECT_EQ(Attempts(r.err), 3u) << r.err;
  EXPECT_THAT(r.err, HasSubstr("> GET /bkt/k HTTP/1.1\n"));
  EXPECT_THAT(r.err, HasSubstr("< HTTP/1.1 503 Service Unavailable\n"));
  EXPECT_THAT(r.err, HasSubstr("retrying (attempt 2 of 3)"));
  EXPECT_THAT(r.err, HasSubstr("retrying (attempt 3 of 3)"));
  EXPECT_THAT(r.err, HasSubstr("s3_code=SlowDown"));
  EXPECT_THAT(r.err, HasSubstr("< HTTP/1.1 200 OK\n"));
  for (const char* secret : {kSecret, "Signature=", "AWS4-HMAC-SHA256", "Authorization"}) {
    EXPECT_THAT(r.err, Not(HasSubstr(secret))) << r.err;
  }
  // -vv adds the headers, the credential ones as ***.
  gets = 2;
  auto vv = EsperAt(home, "http://" + server.address(), {"cp", "s3://bkt/k", "-", "-vv"});
  ASSERT_EQ(vv.exit_code, 0) << vv.err;
  EXPECT_THAT(vv.err, HasSubstr("> Authorization: ***\n"));
  EXPECT_THAT(vv.err, HasSubstr("< x-amz-request-id: REQ-OK\n"));
  EXPECT_THAT(vv.err, Not(HasSubstr(kSecret)));
  EXPECT_THAT(vv.err, Not(HasSubstr("Signature=")));
  fs::remove_all(home);
}

// Ctrl-C in the middle of a download into a file: exit 130 at once, and neither the file nor the
// temporary file it was being written into is left.
TEST(S3CliInterrupt, ADownloadInterruptedMidBodyLeavesNoFile) {
  const std::string body = PatternBytes(4 << 20, 3);
  HttpTestServer server([&](const ServerRequest&) {
    Reply r = ObjectReply(body);
    r.action = Reply::Action::kStallMidBody;  // headers and half the body, then nothing
    return r;
  });
  ASSERT_TRUE(server.Start());
  const std::string home = TempDir("interrupt");
  const std::string out_dir = home + "/out";
  fs::create_directories(out_dir);
  for (int signal : {SIGINT, SIGTERM}) {
    ChildProcess esper;
    ASSERT_TRUE(esper.Start(S3Cli::EsperArgvAt({"cp", "s3://bkt/big", out_dir + "/big.bin"}, "http://" + server.address()),
                            {.env = {"HOME=" + home, "AWS_ACCESS_KEY_ID=AKIDFAULTTEST", std::string("AWS_SECRET_ACCESS_KEY=") + kSecret,
                                     "AWS_REGION=us-east-1", "AWS_EC2_METADATA_DISABLED=true", "AWS_PROFILE="}}));
    // The temporary file beside the destination holds the first half.
    ASSERT_TRUE(testing::WaitUntil([&] {
      for (const auto& e : fs::directory_iterator(out_dir)) {
        if (e.is_regular_file() && e.file_size() > 0) return true;
      }
      return false;
    })) << "no partial download appeared in " << out_dir;
    esper.Signal(signal);
    EXPECT_EQ(esper.Wait(std::chrono::seconds(10)), 130) << esper.err();
    EXPECT_EQ(esper.err(), "esper: interrupted\n");
    EXPECT_TRUE(fs::is_empty(out_dir)) << "left behind: " << fs::directory_iterator(out_dir)->path();
  }
  fs::remove_all(home);
}

// --concurrency N: N uploads in flight at once — the server holds every request, answering none,
// and sees exactly N, the same N that --metrics-listen's esper_s3_in_flight shows — and Ctrl-C
// (or SIGTERM) then ends them, starts no more and exits 130. -v's progress line counts them.
// For cp --recursive and for sync (whose listing of the destination the server answers: empty).
TEST(S3CliConcurrency, NTransfersInFlightAtOnceAndASignalStartsNoMore) {
  std::atomic<int> puts{0};
  HttpTestServer server([&](const ServerRequest& r) {
    if (r.method == "GET" && r.query.find("list-type=2") != std::string::npos) {
      return Reply{.status = 200,
                   .headers = {{"Content-Type", "application/xml"}},
                   .body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><ListBucketResult "
                           "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>bkt</Name><Prefix>p/</Prefix>"
                           "<KeyCount>0</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated>"
                           "</ListBucketResult>"};
    }
    if (r.method == "PUT") ++puts;
    return Reply{.action = Reply::Action::kSilent};
  });
  ASSERT_TRUE(server.Start());
  const std::string home = TempDir("concurrency");
  const std::string tree = home + "/tree";
  fs::create_directories(tree);
  for (int i = 0; i < 20; ++i) WriteFile(fmt::format("{}/f{}.txt", tree, i), "x");
  for (const auto& [command, signal] : {std::pair{"cp", SIGINT}, std::pair{"sync", SIGTERM}}) {
    SCOPED_TRACE(command);
    puts = 0;
    std::vector<std::string> argv = {testing::EsperBinary(), "s3", command};
    if (std::string_view(command) == "cp") argv.push_back("-r");
    argv.insert(argv.end(), {tree, "s3://bkt/p", "--concurrency", "4", "--metrics-listen", "127.0.0.1:0", "-v",
                             "--endpoint-url", "http://" + server.address()});
    ChildProcess esper;
    ASSERT_TRUE(esper.Start(argv, {.env = {"HOME=" + home, "AWS_ACCESS_KEY_ID=AKIDFAULTTEST",
                                           std::string("AWS_SECRET_ACCESS_KEY=") + kSecret, "AWS_REGION=us-east-1",
                                           "AWS_EC2_METADATA_DISABLED=true", "AWS_PROFILE="}}));
    const std::string line = esper.ReadLine(std::chrono::seconds(30));
    ASSERT_TRUE(line.starts_with("metrics on http://")) << line << esper.err();
    const std::string metrics_url = line.substr(std::string("metrics on ").size());
    ASSERT_TRUE(testing::WaitUntil([&] { return puts.load() == 4; })) << "PUTs seen: " << puts.load();
    std::string scraped;
    EXPECT_TRUE(testing::WaitUntil([&] {
      scraped = testing::RunProcess({"curl", "-s", metrics_url}, {}).out;
      return scraped.find("\nesper_s3_in_flight 4\n") != std::string::npos;
    })) << scraped;
    // -v without a terminal: a plain progress line (after the first second, every two).
    EXPECT_TRUE(testing::WaitUntil([&] {
      esper.ReadLine(std::chrono::milliseconds(50));
      return esper.err().find("progress: 0 B of 4 B (0%), 0 B/s, 0 of 4 files") != std::string::npos;
    })) << esper.err();
    esper.Signal(signal);
    EXPECT_EQ(esper.Wait(std::chrono::seconds(10)), 130) << esper.err();
    EXPECT_TRUE(esper.err().ends_with("\nesper: interrupted\n")) << esper.err();
    EXPECT_THAT(esper.err(), Not(HasSubstr("error"))) << "the cancelled transfers are not reported one by one";
    EXPECT_EQ(puts.load(), 4) << "no transfer started after the first four, none after the signal";
  }
  fs::remove_all(home);
}

}  // namespace
}  // namespace esper::cli::s3test

namespace esper::cli::s3test {
namespace {

// A multipart upload from a file feeds the progress from the library's callback, part by part:
// the server acknowledges part 1 and holds the others, and -v's line shows exactly that part's
// bytes of the file's — not 0 until the end. Ctrl-C then aborts the upload (DELETE ?uploadId).
TEST(S3CliProgress, AMultipartUploadCountsThePartsTheServerAcknowledged) {
  const std::string data = PatternBytes(20 << 20, 5);  // above the 16 MiB threshold: parts of 8 MiB
  std::atomic<int> aborts{0};
  HttpTestServer server([&](const ServerRequest& r) {
    const std::string q = fmt::format("&{}&", r.query);
    if (r.method == "POST" && (q.find("&uploads&") != std::string::npos || q.find("&uploads=&") != std::string::npos)) {
      return Reply{.status = 200,
                   .headers = {{"Content-Type", "application/xml"}},
                   .body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><InitiateMultipartUploadResult><Bucket>bkt</Bucket>"
                           "<Key>big.bin</Key><UploadId>UP1</UploadId></InitiateMultipartUploadResult>"};
    }
    if (r.method == "PUT" && q.find("&partNumber=1&") != std::string::npos) {
      return Reply{.status = 200, .headers = {{"ETag", fmt::format("\"{}\"", s3::Hex(s3::Md5::Of(r.body)))}}};
    }
    if (r.method == "DELETE") {
      ++aborts;
      return Reply{.status = 204};
    }
    return Reply{.action = Reply::Action::kSilent};
  });
  ASSERT_TRUE(server.Start());
  const std::string home = TempDir("progress");
  WriteFile(home + "/big.bin", data);
  ChildProcess esper;
  ASSERT_TRUE(esper.Start(S3Cli::EsperArgvAt({"cp", home + "/big.bin", "s3://bkt/big.bin", "-v"}, "http://" + server.address()),
                          {.env = {"HOME=" + home, "AWS_ACCESS_KEY_ID=AKIDFAULTTEST",
                                   std::string("AWS_SECRET_ACCESS_KEY=") + kSecret, "AWS_REGION=us-east-1",
                                   "AWS_EC2_METADATA_DISABLED=true", "AWS_PROFILE="}}));
  EXPECT_TRUE(testing::WaitUntil([&] {
    esper.ReadLine(std::chrono::milliseconds(50));
    return esper.err().find("progress: 8.0 MiB of 20.0 MiB (40%)") != std::string::npos;
  })) << esper.err();
  esper.Signal(SIGINT);
  EXPECT_EQ(esper.Wait(std::chrono::seconds(10)), 130) << esper.err();
  EXPECT_EQ(aborts.load(), 1) << "the interrupted upload is aborted";
  fs::remove_all(home);
}

}  // namespace
}  // namespace esper::cli::s3test
