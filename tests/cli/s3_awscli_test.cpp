// `esper s3` beside Debian's awscli (/usr/bin/aws 2.9.19, not whatever `aws` is first on PATH),
// on s3rver 4.0.4 and fauxqs 1.9.2: what one writes, the other reads back byte for byte with its
// content type and metadata (checked with `aws s3api head-object`); `esper s3 ls` prints what
// `aws s3 ls` prints; trees go up with one and come down with the other; and a presigned URL from
// `esper s3 presign` works with curl.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "cli/s3_cli_fixture.h"
#include "testing/http_server.h"

namespace esper::cli::s3test {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using esper::testing::PatternBytes;
using esper::testing::RunProcess;


class AwsInterop : public S3CliBackendTest {
 protected:
  // `aws s3api head-object` of bkt/key, as JSON.
  nlohmann::json Head(const std::string& key) {
    auto r = s_->Aws({"s3api", "head-object", "--bucket", kBucket, "--key", key, "--output", "json"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return nlohmann::json::parse(r.out, nullptr, false);
  }
};

TEST_P(AwsInterop, WhatEsperWritesAwsReadsBackWithTypeAndMetadata) {
  const std::string data = PatternBytes(2 << 20, 5);
  WriteFile(s_->Path("model.bin"), data);
  auto up = s_->Esper({"cp", s_->Path("model.bin"), "s3://bkt/dir/model v1.bin", "--content-type",
                       "application/x-esper-model", "--metadata", "epoch=40,owner=tamiyo"});
  ASSERT_EQ(up.exit_code, 0) << up.err;
  auto down = s_->Aws({"s3", "cp", "s3://bkt/dir/model v1.bin", s_->Path("by-aws.bin")});
  ASSERT_EQ(down.exit_code, 0) << down.err;
  EXPECT_TRUE(ReadFile(s_->Path("by-aws.bin")) == data) << "aws read back other bytes";
  const nlohmann::json head = Head("dir/model v1.bin");
  EXPECT_EQ(head.value("ContentType", ""), "application/x-esper-model") << head.dump();
  EXPECT_EQ(head.value("ContentLength", 0), static_cast<int64_t>(data.size()));
  EXPECT_EQ(head["Metadata"], (nlohmann::json{{"epoch", "40"}, {"owner", "tamiyo"}})) << head.dump();

  // From stdin too, and the type aws would guess for the name.
  ASSERT_EQ(s_->Esper({"cp", "-", "s3://bkt/piped.json", "--content-type", "application/json"}, "{\"a\": 1}").exit_code, 0);
  auto cat = s_->Aws({"s3", "cp", "s3://bkt/piped.json", "-"});
  ASSERT_EQ(cat.exit_code, 0) << cat.err;
  EXPECT_EQ(cat.out, "{\"a\": 1}");
  WriteFile(s_->Path("page.html"), "<p>hi</p>");
  ASSERT_EQ(s_->Esper({"cp", s_->Path("page.html"), "s3://bkt/page.html"}).exit_code, 0);
  ASSERT_EQ(s_->Aws({"s3", "cp", s_->Path("page.html"), "s3://bkt/page-by-aws.html"}).exit_code, 0);
  EXPECT_EQ(Head("page.html").value("ContentType", "?"), Head("page-by-aws.html").value("ContentType", "!"));
}

TEST_P(AwsInterop, WhatAwsWritesEsperReadsBackWithTypeAndMetadata) {
  const std::string data = PatternBytes(3 << 20, 9);
  WriteFile(s_->Path("in.bin"), data);
  auto up = s_->Aws({"s3", "cp", s_->Path("in.bin"), "s3://bkt/from-aws/ckpt+1.bin", "--content-type", "application/x-ckpt",
                     "--metadata", "epoch=7,run=beta"});
  ASSERT_EQ(up.exit_code, 0) << up.err;
  auto down = s_->Esper({"cp", "s3://bkt/from-aws/ckpt+1.bin", s_->Path("by-esper.bin")});
  ASSERT_EQ(down.exit_code, 0) << down.err;
  EXPECT_TRUE(ReadFile(s_->Path("by-esper.bin")) == data) << "esper read back other bytes";
  auto out = s_->Esper({"cp", "s3://bkt/from-aws/ckpt+1.bin", "-"});
  ASSERT_EQ(out.exit_code, 0) << out.err;
  EXPECT_TRUE(out.out == data);
  auto stat = s_->Esper({"stat", "s3://bkt/from-aws/ckpt+1.bin"});
  ASSERT_EQ(stat.exit_code, 0) << stat.err;
  EXPECT_THAT(stat.out, HasSubstr("size: " + std::to_string(data.size()) + "\n"));
  EXPECT_THAT(stat.out, HasSubstr("content-type: application/x-ckpt\n"));
  EXPECT_THAT(stat.out, HasSubstr("metadata.epoch: 7\nmetadata.run: beta\n"));
}

TEST_P(AwsInterop, EsperLsPrintsWhatAwsS3LsPrints) {
  for (const char* key : {"top.txt", "dir/a.bin", "dir/sub/b.bin", "dirx.txt", "z/y/x/deep.txt"}) {
    WriteFile(s_->Path("f"), std::string(std::strlen(key) * 100, 'k'));
    ASSERT_EQ(s_->Esper({"cp", s_->Path("f"), std::string("s3://bkt/") + key}).exit_code, 0);
  }
  const std::vector<std::vector<std::string>> cases = {
      {"ls"},
      {"ls", "s3://bkt"},
      {"ls", "s3://bkt/"},
      {"ls", "s3://bkt/dir/"},
      {"ls", "s3://bkt/di"},
      {"ls", "--recursive", "s3://bkt"},
      {"ls", "--recursive", "s3://bkt/dir"},
      {"ls", "--recursive", "--human-readable", "--summarize", "s3://bkt"},
  };
  for (const auto& args : cases) {
    std::vector<std::string> aws = {"s3"};
    aws.insert(aws.end(), args.begin(), args.end());
    auto theirs = s_->Aws(aws);
    auto ours = s_->Esper(args);
    ASSERT_EQ(theirs.exit_code, 0) << theirs.err;
    EXPECT_EQ(ours.exit_code, 0) << ours.err;
    EXPECT_EQ(ours.out, theirs.out) << ::testing::PrintToString(args);
  }
}

TEST_P(AwsInterop, TreesGoUpWithOneAndComeDownWithTheOther) {
  const std::vector<std::pair<std::string, std::string>> files = {
      {"a.txt", "a"}, {"d/b.json", "{}"}, {"d/e/c.bin", PatternBytes(100000, 1)}};
  for (const auto& [name, data] : files) WriteFile(s_->Path("tree/" + name), data);
  ASSERT_EQ(s_->Esper({"cp", "--recursive", s_->Path("tree"), "s3://bkt/by-esper"}).exit_code, 0);
  ASSERT_EQ(s_->Aws({"s3", "cp", "--recursive", s_->Path("tree"), "s3://bkt/by-aws"}).exit_code, 0);
  auto aws_down = s_->Aws({"s3", "cp", "--recursive", "s3://bkt/by-esper", s_->Path("aws-down")});
  ASSERT_EQ(aws_down.exit_code, 0) << aws_down.err;
  auto esper_down = s_->Esper({"cp", "--recursive", "s3://bkt/by-aws", s_->Path("esper-down")});
  ASSERT_EQ(esper_down.exit_code, 0) << esper_down.err;
  for (const auto& [name, data] : files) {
    EXPECT_EQ(ReadFile(s_->Path("aws-down/" + name)), data) << name;
    EXPECT_EQ(ReadFile(s_->Path("esper-down/" + name)), data) << name;
  }
  // The same keys, the same content types.
  for (const auto& [name, data] : files) {
    EXPECT_EQ(Head("by-esper/" + name).value("ContentType", "?"), Head("by-aws/" + name).value("ContentType", "!"))
        << name;
  }
}

// A presigned URL is what curl needs and nothing else: GET, and PUT with its signed Content-Type.
TEST_P(AwsInterop, PresignedUrlsWorkWithCurl) {
  const std::string data = PatternBytes(50000, 2);
  WriteFile(s_->Path("obj"), data);
  ASSERT_EQ(s_->Esper({"cp", s_->Path("obj"), "s3://bkt/shared/obj.bin"}).exit_code, 0);
  auto get = s_->Esper({"presign", "s3://bkt/shared/obj.bin", "--expires-in", "300", "-v"});
  ASSERT_EQ(get.exit_code, 0) << get.err;
  EXPECT_EQ(get.err, "");  // the signature is stdout's alone
  ASSERT_FALSE(get.out.empty());
  const std::string url = get.out.substr(0, get.out.size() - 1);
  EXPECT_THAT(url, HasSubstr("X-Amz-Expires=300"));
  EXPECT_THAT(url, HasSubstr("X-Amz-Signature="));
  auto curl = RunProcess({"curl", "-sS", "--fail", "-o", s_->Path("curled"), url});
  ASSERT_EQ(curl.exit_code, 0) << curl.err;
  EXPECT_TRUE(ReadFile(s_->Path("curled")) == data);

  auto put = s_->Esper({"presign", "s3://bkt/shared/upload.txt", "--method", "PUT", "--content-type", "text/plain"});
  ASSERT_EQ(put.exit_code, 0) << put.err;
  WriteFile(s_->Path("up.txt"), "uploaded with curl\n");
  const std::string put_url = put.out.substr(0, put.out.size() - 1);
  auto curl_put = RunProcess({"curl", "-sS", "--fail", "-X", "PUT", "-H", "Content-Type: text/plain", "--data-binary",
                              fmt::format("@{}", s_->Path("up.txt")), put_url});
  ASSERT_EQ(curl_put.exit_code, 0) << curl_put.err;
  auto back = s_->Esper({"cp", "s3://bkt/shared/upload.txt", "-"});
  EXPECT_EQ(back.out, "uploaded with curl\n");
  EXPECT_EQ(Head("shared/upload.txt").value("ContentType", ""), "text/plain");

  // s3rver checks the signature: a URL changed after signing is refused (fauxqs checks none).
  if (GetParam() == Backend::kS3rver4) {
    std::string tampered = url;
    tampered.replace(tampered.find("shared/obj.bin"), 14, "shared/obj.biN");
    auto refused = RunProcess({"curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", tampered});
    EXPECT_EQ(refused.out, "403");
    // --content-type is signed: the PUT URL used with another Content-Type is refused, and the
    // object keeps what the right one stored.
    auto other_type = RunProcess({"curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-X", "PUT", "-H",
                                  "Content-Type: application/json", "--data-binary", "{}", put_url});
    EXPECT_EQ(other_type.out, "403") << other_type.err;
    EXPECT_EQ(Get("shared/upload.txt"), "uploaded with curl\n");
  }
}

INSTANTIATE_TEST_SUITE_P(Servers, AwsInterop, ::testing::Values(Backend::kS3rver4, Backend::kFauxqs), BackendTestName);

}  // namespace
}  // namespace esper::cli::s3test
