// esper s3 uploads / abort-uploads. Neither test server lists incomplete uploads (s3rver 4.0.4:
// 501 NotImplemented; fauxqs: another document), so the listing and the aborts are shown against
// a loopback server answering like S3 (its ListMultipartUploadsResult, its 204 to the abort) —
// checking what esper sent — and s3rver's refusal is shown to reach the user as an error.
#include <fmt/chrono.h>
#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <mutex>

#include "s3_cli_fixture.h"
#include "testing/http_server.h"
#include "testing/process.h"

namespace esper::cli::s3test {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(S3CliUploads, ListsAndAbortsIncompleteUploadsOlderThanTheCutoffOnALoopbackS3) {
  auto s = S3Cli::Start(Backend::kLocal, {});  // for its environment (credentials, region)
  ASSERT_TRUE(s) << s.error();
  const std::string recent = fmt::format("{:%Y-%m-%dT%H:%M:%S}.000Z", std::chrono::floor<std::chrono::seconds>(
                                                                          std::chrono::system_clock::now() - std::chrono::minutes(5)));
  std::mutex mu;
  std::vector<std::string> deletes;
  testing::HttpTestServer server([&](const testing::ServerRequest& r) {
    if (r.method == "GET" && r.path == "/bkt" && r.query.find("uploads") != std::string::npos) {
      return testing::Reply{.body = fmt::format(
                                R"(<ListMultipartUploadsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">)"
                                "<Bucket>bkt</Bucket><IsTruncated>false</IsTruncated>"
                                "<Upload><Key>old/a.bin</Key><UploadId>u-old</UploadId><Initiated>2020-01-02T03:04:05.000Z</Initiated></Upload>"
                                "<Upload><Key>new/b.bin</Key><UploadId>u-new</UploadId><Initiated>{}</Initiated></Upload>"
                                "</ListMultipartUploadsResult>",
                                recent)};
    }
    if (r.method == "DELETE") {
      std::lock_guard lock(mu);
      deletes.push_back(r.target);
      return testing::Reply{.status = 204};
    }
    return testing::Reply{.status = 404, .body = "<Error><Code>NoSuchKey</Code></Error>"};
  });
  ASSERT_TRUE(server.Start());
  const std::string endpoint = fmt::format("http://{}", server.address());
  auto esper = [&](std::vector<std::string> args) { return (*s)->Esper(std::move(args), "", {}, endpoint); };

  auto list = esper({"uploads", "s3://bkt"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_THAT(list.out, HasSubstr("2020-01-02T03:04:05Z u-old s3://bkt/old/a.bin\n"));
  EXPECT_THAT(list.out, HasSubstr(" u-new s3://bkt/new/b.bin\n"));

  auto bad = esper({"abort-uploads", "s3://bkt", "--older-than", "soon"});
  EXPECT_EQ(bad.exit_code, 2) << bad.err;

  auto abort = esper({"abort-uploads", "s3://bkt", "--older-than", "1h"});
  ASSERT_EQ(abort.exit_code, 0) << abort.err;
  EXPECT_EQ(abort.out, "abort: s3://bkt/old/a.bin (upload u-old)\n");
  {
    std::lock_guard lock(mu);
    ASSERT_EQ(deletes.size(), 1u);
    EXPECT_EQ(deletes[0], "/bkt/old/a.bin?uploadId=u-old");
  }
  auto all = esper({"abort-uploads", "s3://bkt"});
  ASSERT_EQ(all.exit_code, 0) << all.err;
  EXPECT_THAT(all.out, HasSubstr("(upload u-new)"));
  std::lock_guard lock(mu);
  EXPECT_EQ(deletes.size(), 3u);
}

TEST(S3CliUploads, S3rver4CannotListUploadsAndTheUserIsToldSo) {
  auto s = S3Cli::Start(Backend::kS3rver4, {"bkt"});
  ASSERT_TRUE(s) << s.error();
  auto r = (*s)->Esper({"uploads", "s3://bkt"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.err, HasSubstr("NotImplemented"));
  EXPECT_THAT(r.out, Not(HasSubstr("s3://")));
}

}  // namespace
}  // namespace esper::cli::s3test
