// `esper s3` end to end: the built binary against s3rver 4.0.4, fauxqs 1.9.2 (both on 127.0.0.1)
// and a LocalStore directory (file://), each subcommand checked by what it prints, its exit code
// and what the store holds afterwards (read back through the library, not the CLI).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>

#include "cli/s3_cli_fixture.h"
#include "esper/s3/checksum.h"
#include "testing/http_server.h"
#include "testing/proc.h"
#include "testing/wait.h"

namespace esper::cli::s3test {
namespace {

namespace fs = std::filesystem;
using ::testing::ContainsRegex;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;
using esper::testing::ChildProcess;
using esper::testing::PatternBytes;

// "2024-05-01 12:00:00" as aws s3 ls prints dates.
constexpr const char* kDate = "[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}";

class S3CliTest : public S3CliBackendTest {};

// ---- ls ----

TEST_P(S3CliTest, LsPrintsBucketsObjectsAndPrefixesAsAwsS3Ls) {
  Put("top.txt", "hello!");
  Put("dir/a.bin", PatternBytes(1234));
  Put("dir/sub/b.bin", "b");
  Put("dirx.txt", "x");

  auto buckets = s_->Esper({"ls"});
  ASSERT_EQ(buckets.exit_code, 0) << buckets.err;
  EXPECT_THAT(buckets.out, ContainsRegex(std::string("^") + kDate + " bkt\n"));

  auto top = s_->Esper({"ls", "s3://bkt"});
  ASSERT_EQ(top.exit_code, 0) << top.err;
  EXPECT_THAT(top.out, ContainsRegex(std::string("^                           PRE dir/\n") + kDate +
                                     "          1 dirx.txt\n" + kDate + "          6 top.txt\n$"));

  // A prefix's objects are named relative to its directory, as aws does.
  auto dir = s_->Esper({"ls", "s3://bkt/dir/"});
  ASSERT_EQ(dir.exit_code, 0) << dir.err;
  EXPECT_THAT(dir.out, ContainsRegex(std::string("^                           PRE sub/\n") + kDate +
                                     "       1234 a.bin\n$"));
  auto partial = s_->Esper({"ls", "s3://bkt/di"});
  ASSERT_EQ(partial.exit_code, 0) << partial.err;
  EXPECT_THAT(partial.out, ContainsRegex(std::string("^                           PRE dir/\n") + kDate + "          1 dirx.txt\n$"));

  auto all = s_->Esper({"ls", "--recursive", "--summarize", "s3://bkt"});
  ASSERT_EQ(all.exit_code, 0) << all.err;
  EXPECT_THAT(all.out, ContainsRegex(std::string("^") + kDate + "       1234 dir/a.bin\n" + kDate +
                                     "          1 dir/sub/b.bin\n" + kDate + "          1 dirx.txt\n" + kDate +
                                     "          6 top.txt\n\nTotal Objects: 4\n   Total Size: 1242\n$"));
  auto human = s_->Esper({"ls", "-r", "--human-readable", "s3://bkt/dir/a"});
  ASSERT_EQ(human.exit_code, 0) << human.err;
  EXPECT_THAT(human.out, ContainsRegex(std::string(kDate) + "    1.2 KiB dir/a.bin\n$"));
  EXPECT_EQ(all.err, "");
}

TEST_P(S3CliTest, LsOfAMissingBucketOrPrefixExitsOne) {
  auto bucket = s_->Esper({"ls", "s3://no-such-bucket"});
  EXPECT_EQ(bucket.exit_code, 1);
  EXPECT_THAT(bucket.err, HasSubstr("NoSuchBucket"));
  EXPECT_THAT(bucket.err, HasSubstr("no-such-bucket"));
  // A prefix that matches nothing: exit 1 as aws s3 ls; an empty bucket is no error.
  auto prefix = s_->Esper({"ls", "s3://bkt/nothing-here"});
  EXPECT_EQ(prefix.exit_code, 1);
  EXPECT_THAT(prefix.err, HasSubstr("no object or prefix matches s3://bkt/nothing-here"));
  auto empty = s_->Esper({"ls", "s3://bkt"});
  EXPECT_EQ(empty.exit_code, 0) << empty.err;
  EXPECT_EQ(empty.out, "");
}

// 1,001+ keys: the listing follows continuation tokens page by page (1,000, and 7 with
// --page-size 150), and rm --recursive deletes them one DeleteObjects page at a time.
TEST_P(S3CliTest, LsAndRmFollowContinuationThroughMoreThanAThousandKeys) {
  constexpr int kKeys = 1003;
  std::vector<std::future<Result<storage::ObjectInfo>>> puts;
  for (int i = 0; i < kKeys; ++i) {
    puts.push_back(s_->store().Future(&storage::ObjectStore::PutAsync, std::string(kBucket),
                                      fmt::format("many/{:05d}", i), storage::PutBody::FromString("v"),
                                      storage::PutOptions{}));
  }
  for (auto& p : puts) ASSERT_TRUE(p.get());
  for (const char* page : {"1000", "150"}) {
    auto r = s_->Esper({"ls", "-r", "s3://bkt/many/", "--page-size", page});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    std::vector<std::string> lines;
    std::istringstream in(r.out);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    ASSERT_EQ(lines.size(), static_cast<size_t>(kKeys)) << "page size " << page;
    for (int i = 0; i < kKeys; ++i) EXPECT_THAT(lines[i], ::testing::EndsWith(fmt::format(" many/{:05d}", i)));
  }
  auto rm = s_->Esper({"rm", "--recursive", "s3://bkt/many"});
  ASSERT_EQ(rm.exit_code, 0) << rm.err;
  EXPECT_EQ(std::count(rm.out.begin(), rm.out.end(), '\n'), kKeys);
  auto left = s_->store().List(kBucket, {.prefix = "many/"});
  ASSERT_TRUE(left) << left.error();
  EXPECT_TRUE(left->objects.empty());
}

// ---- cp ----

TEST_P(S3CliTest, CpUploadsDownloadsAndCopiesWithContentTypeAndMetadata) {
  const std::string data = PatternBytes(300000, 7);
  WriteFile(s_->Path("model.bin"), data);
  auto up = s_->Esper({"cp", s_->Path("model.bin"), "s3://bkt/models/v1.bin", "--content-type", "application/x-esper",
                       "--metadata", "epoch=40,Run=alpha"});
  ASSERT_EQ(up.exit_code, 0) << up.err;
  EXPECT_EQ(up.out, "upload: " + s_->Path("model.bin") + " to s3://bkt/models/v1.bin\n");
  auto info = s_->store().Stat(kBucket, "models/v1.bin");
  ASSERT_TRUE(info) << info.error();
  EXPECT_EQ(info->size, data.size());
  EXPECT_EQ(info->content_type, "application/x-esper");
  EXPECT_EQ(info->metadata, (storage::Metadata{{"epoch", "40"}, {"run", "alpha"}}));
  EXPECT_EQ(Get("models/v1.bin"), data);

  // Without --content-type the type is guessed from the name, as aws does.
  WriteFile(s_->Path("notes.txt"), "some text\n");
  ASSERT_EQ(s_->Esper({"cp", s_->Path("notes.txt"), "s3://bkt/notes.txt"}).exit_code, 0);
  EXPECT_EQ(s_->store().Stat(kBucket, "notes.txt")->content_type, "text/plain");
  ASSERT_EQ(s_->Esper({"cp", "--no-guess-mime-type", s_->Path("notes.txt"), "s3://bkt/plain"}).exit_code, 0);
  EXPECT_EQ(s_->store().Stat(kBucket, "plain")->content_type, "application/octet-stream");

  auto down = s_->Esper({"cp", "s3://bkt/models/v1.bin", s_->Path("back/v1.bin")});
  ASSERT_EQ(down.exit_code, 0) << down.err;
  EXPECT_EQ(down.out, "download: s3://bkt/models/v1.bin to " + s_->Path("back/v1.bin") + "\n");
  EXPECT_EQ(ReadFile(s_->Path("back/v1.bin")), data);

  // s3 → s3 keeps type and metadata; --metadata replaces the metadata and keeps the type.
  auto copy = s_->Esper({"cp", "s3://bkt/models/v1.bin", "s3://bkt/models/v2.bin"});
  ASSERT_EQ(copy.exit_code, 0) << copy.err;
  EXPECT_EQ(copy.out, "copy: s3://bkt/models/v1.bin to s3://bkt/models/v2.bin\n");
  auto v2 = s_->store().Stat(kBucket, "models/v2.bin");
  ASSERT_TRUE(v2) << v2.error();
  EXPECT_EQ(v2->content_type, "application/x-esper");
  EXPECT_EQ(v2->metadata, info->metadata);
  EXPECT_EQ(Get("models/v2.bin"), data);
  ASSERT_EQ(s_->Esper({"cp", "s3://bkt/models/v1.bin", "s3://bkt/models/v3.bin", "--metadata", "epoch=41"}).exit_code, 0);
  auto v3 = s_->store().Stat(kBucket, "models/v3.bin");
  ASSERT_TRUE(v3) << v3.error();
  EXPECT_EQ(v3->content_type, "application/x-esper");
  EXPECT_EQ(v3->metadata, (storage::Metadata{{"epoch", "41"}}));

  // stat says the same.
  auto stat = s_->Esper({"stat", "s3://bkt/models/v1.bin"});
  ASSERT_EQ(stat.exit_code, 0) << stat.err;
  EXPECT_THAT(stat.out, ContainsRegex("^key: models/v1.bin\nsize: 300000\netag: " + s3::Hex(s3::Md5::Of(data)) +
                                      "\nlast-modified: [0-9-]{10}T[0-9:]{8}Z\ncontent-type: application/x-esper\n"
                                      "metadata.epoch: 40\nmetadata.run: alpha\n$"));
}

TEST_P(S3CliTest, CpIntoADirectoryOrATrailingSlashKeepsTheSourceName) {
  WriteFile(s_->Path("in/a.txt"), "a");
  ASSERT_EQ(s_->Esper({"cp", s_->Path("in/a.txt"), "s3://bkt/d/"}).exit_code, 0);
  EXPECT_EQ(Get("d/a.txt"), "a");
  ASSERT_EQ(s_->Esper({"cp", s_->Path("in/a.txt"), "s3://bkt"}).exit_code, 0);
  EXPECT_EQ(Get("a.txt"), "a");
  fs::create_directories(s_->Path("out"));
  ASSERT_EQ(s_->Esper({"cp", "s3://bkt/d/a.txt", s_->Path("out")}).exit_code, 0);
  EXPECT_EQ(ReadFile(s_->Path("out/a.txt")), "a");
  ASSERT_EQ(s_->Esper({"cp", "s3://bkt/d/a.txt", s_->Path("new/")}).exit_code, 0);
  EXPECT_EQ(ReadFile(s_->Path("new/a.txt")), "a");
  ASSERT_EQ(s_->Esper({"cp", "s3://bkt/d/a.txt", "s3://bkt/e/"}).exit_code, 0);
  EXPECT_EQ(Get("e/a.txt"), "a");
}

TEST_P(S3CliTest, CpStreamsStdinToAnObjectAndAnObjectToStdout) {
  const std::string data = PatternBytes(3 << 20, 11);
  auto up = s_->Esper({"cp", "-", "s3://bkt/from-stdin"}, data);
  ASSERT_EQ(up.exit_code, 0) << up.err;
  EXPECT_EQ(up.out, "");  // nothing but the data goes to stdout, ever
  EXPECT_EQ(Get("from-stdin"), data);
  auto down = s_->Esper({"cp", "s3://bkt/from-stdin", "-"});
  ASSERT_EQ(down.exit_code, 0) << down.err;
  EXPECT_EQ(down.out.size(), data.size());
  EXPECT_TRUE(down.out == data);
  // With --expected-size the pipe is sent as it is read.
  auto sized = s_->Esper({"cp", "-", "s3://bkt/sized", "--expected-size", std::to_string(data.size())}, data);
  ASSERT_EQ(sized.exit_code, 0) << sized.err;
  EXPECT_EQ(Get("sized"), data);
  // Less than promised: an error (ShorterThanExpectedSize* below checks that nothing is kept).
  // More than promised is an error too, but S3Store has sent the promised bytes by the time it
  // reads the extra one: the server may keep them.
  auto fewer = s_->Esper({"cp", "-", "s3://bkt/fewer", "--expected-size", std::to_string(data.size() + 1)}, data);
  EXPECT_EQ(fewer.exit_code, 1);
  EXPECT_THAT(fewer.err, ContainsRegex("IncompleteBody|fewer|ended"));
  auto more = s_->Esper({"cp", "-", "s3://bkt/more", "--expected-size", "10"}, data);
  EXPECT_EQ(more.exit_code, 1);
  EXPECT_THAT(more.err, ContainsRegex("IncompleteBody|more than its declared size"));
  // Downloads into a device or a FIFO are written as they arrive, never replaced by a file.
  auto null = s_->Esper({"cp", "s3://bkt/from-stdin", "/dev/null"});
  EXPECT_EQ(null.exit_code, 0) << null.err;
  struct stat st {};
  ASSERT_EQ(stat("/dev/null", &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
}

// An object larger than multipart_threshold (16 MiB by default) to stdout: the store fetches it
// in parallel ranges (-vv shows them) and hands them to stdout in order — byte-identical.
TEST_P(S3CliTest, CpOfAMultipartObjectToStdoutIsByteIdentical) {
  const std::string data = PatternBytes((40 << 20) + 3, 13);
  {
    std::ofstream(s_->Path("big.bin"), std::ios::binary) << data;
  }
  auto up = s_->Esper({"cp", s_->Path("big.bin"), "s3://bkt/big"});
  ASSERT_EQ(up.exit_code, 0) << up.err;
  auto down = s_->Esper({"cp", "s3://bkt/big", "-", "-vv"});
  ASSERT_EQ(down.exit_code, 0) << down.err.substr(0, 4000);
  EXPECT_EQ(down.out.size(), data.size());
  EXPECT_TRUE(down.out == data);
  if (GetParam() != Backend::kLocal) {  // 16 MiB first, then 8 MiB ranges
    EXPECT_THAT(down.err, HasSubstr("bytes=16777216-25165823")) << down.err.substr(0, 4000);
    EXPECT_THAT(down.err, HasSubstr("bytes=41943040-41943042"));
  }
}

// A stream that ends before --expected-size: exit 1, and nothing is stored — except that
// s3rver 4.0.4 keeps the bytes of a PUT whose connection closed before its Content-Length
// (then what it keeps is a prefix of the bytes we sent: what arrived before we gave up; one run
// in ~100 with an ETag that is not of those bytes — a CI clang run's whole GET of it was DataLoss).
TEST_P(S3CliTest, CpOfAStreamShorterThanExpectedSizeFails) {
  const std::string data = PatternBytes(1 << 20, 3);
  auto r = s_->Esper({"cp", "-", "s3://bkt/short", "--expected-size", std::to_string(data.size() + 100)}, data);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, ContainsRegex("IncompleteBody|fewer|ended"));
  auto kept = s_->store().Exists(kBucket, "short");
  ASSERT_TRUE(kept) << kept.error();
  if (GetParam() == Backend::kS3rver4) {
    // Read as a range (bytes=0-), which is not checked against the ETag: s3rver now and then
    // keeps such a partial object with an ETag that is not of its bytes (a whole GET of it is
    // then DataLoss after its retries — the store never returns bytes that are not the ETag's).
    auto got = s_->store().Get(kBucket, "short", {.range = storage::ByteRange::From(0)});
    if (!got && got.error().code() == ErrorCode::kOutOfRange) return;  // it kept no byte
    ASSERT_TRUE(got) << got.error();
    EXPECT_TRUE(std::string_view(data).starts_with(got->body)) << "s3rver kept bytes we never sent";
  } else {
    EXPECT_FALSE(*kept);
  }
}

// ---- --recursive ----

TEST_P(S3CliTest, CpRecursiveCopiesATreeUpAcrossAndDown) {
  const std::vector<std::pair<std::string, std::string>> files = {
      {"x.txt", "x"}, {"a/y.json", "{}"}, {"a/b/z.bin", PatternBytes(70000)}, {"a/b/c/with space.txt", "s"}};
  for (const auto& [name, data] : files) WriteFile(s_->Path("tree/" + name), data);
  auto up = s_->Esper({"cp", "--recursive", s_->Path("tree"), "s3://bkt/t"});
  ASSERT_EQ(up.exit_code, 0) << up.err;
  EXPECT_EQ(std::count(up.out.begin(), up.out.end(), '\n'), 4) << up.out;
  for (const auto& [name, data] : files) EXPECT_EQ(Get("t/" + name), data) << name;

  auto across = s_->Esper({"cp", "-r", "s3://bkt/t", "s3://bkt/copy/"});
  ASSERT_EQ(across.exit_code, 0) << across.err;
  for (const auto& [name, data] : files) EXPECT_EQ(Get("copy/" + name), data) << name;

  // "s3://bkt/t" means the directory t/: the object "tx" beside it is not part of it.
  Put("tx", "not in t/");
  auto down = s_->Esper({"cp", "-r", "s3://bkt/t", s_->Path("down")});
  ASSERT_EQ(down.exit_code, 0) << down.err;
  for (const auto& [name, data] : files) EXPECT_EQ(ReadFile(s_->Path("down/" + name)), data) << name;
  EXPECT_FALSE(fs::exists(s_->Path("down/x"))) << "tx leaked in";
  size_t n = 0;
  for (const auto& e : fs::recursive_directory_iterator(s_->Path("down"))) n += e.is_regular_file();
  EXPECT_EQ(n, files.size());
}

// ---- mv, rm, mb, rb, stat ----

TEST_P(S3CliTest, MvCopiesThenRemovesTheSourceOfEachKind) {
  WriteFile(s_->Path("m.txt"), "moving");
  auto up = s_->Esper({"mv", s_->Path("m.txt"), "s3://bkt/m1"});
  ASSERT_EQ(up.exit_code, 0) << up.err;
  EXPECT_EQ(up.out, "move: " + s_->Path("m.txt") + " to s3://bkt/m1\n");
  EXPECT_FALSE(fs::exists(s_->Path("m.txt")));
  ASSERT_EQ(s_->Esper({"mv", "s3://bkt/m1", "s3://bkt/m2"}).exit_code, 0);
  EXPECT_FALSE(Exists(kBucket, "m1"));
  EXPECT_EQ(Get("m2"), "moving");
  ASSERT_EQ(s_->Esper({"mv", "s3://bkt/m2", s_->Path("back.txt")}).exit_code, 0);
  EXPECT_FALSE(Exists(kBucket, "m2"));
  EXPECT_EQ(ReadFile(s_->Path("back.txt")), "moving");
  // A failed copy removes nothing.
  auto missing = s_->Esper({"mv", "s3://bkt/none", "s3://bkt/m3"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.err, HasSubstr("NoSuchKey"));
}

TEST_P(S3CliTest, RmRemovesAnObjectOrEverythingUnderAPrefix) {
  Put("r/a", "a");
  Put("r/b/c", "c");
  Put("rest", "kept");
  auto one = s_->Esper({"rm", "s3://bkt/r/a"});
  ASSERT_EQ(one.exit_code, 0) << one.err;
  EXPECT_EQ(one.out, "delete: s3://bkt/r/a\n");
  EXPECT_FALSE(Exists(kBucket, "r/a"));
  EXPECT_EQ(s_->Esper({"rm", "s3://bkt/r/a"}).exit_code, 0);  // gone already: success, as S3
  auto dir = s_->Esper({"rm", "s3://bkt/r/"});
  EXPECT_EQ(dir.exit_code, 2);
  EXPECT_THAT(dir.err, HasSubstr("add --recursive"));
  auto all = s_->Esper({"rm", "--recursive", "s3://bkt/r"});
  ASSERT_EQ(all.exit_code, 0) << all.err;
  EXPECT_EQ(all.out, "delete: s3://bkt/r/b/c\n");
  EXPECT_FALSE(Exists(kBucket, "r/b/c"));
  EXPECT_EQ(Get("rest"), "kept");
}

TEST_P(S3CliTest, MbAndRbCreateAndRemoveBuckets) {
  auto mb = s_->Esper({"mb", "s3://fresh-bucket"});
  ASSERT_EQ(mb.exit_code, 0) << mb.err;
  EXPECT_EQ(mb.out, "make_bucket: fresh-bucket\n");
  // Again: BucketAlreadyOwnedByYou — except on fauxqs, which answers 200 as AWS's us-east-1 does
  // for a bucket you own (legacy behaviour).
  auto again = s_->Esper({"mb", "s3://fresh-bucket"});
  if (GetParam() == Backend::kFauxqs) {
    EXPECT_EQ(again.exit_code, 0) << again.err;
  } else {
    EXPECT_EQ(again.exit_code, 1);
    EXPECT_THAT(again.err, ContainsRegex("BucketAlready(OwnedByYou|Exists)"));
  }
  ASSERT_TRUE(s_->store().Put("fresh-bucket", "k", storage::PutBody::FromString("v")));
  auto full = s_->Esper({"rb", "s3://fresh-bucket"});
  EXPECT_EQ(full.exit_code, 1);
  EXPECT_THAT(full.err, HasSubstr("BucketNotEmpty"));
  auto force = s_->Esper({"rb", "--force", "s3://fresh-bucket"});
  ASSERT_EQ(force.exit_code, 0) << force.err;
  EXPECT_EQ(force.out, "delete: s3://fresh-bucket/k\nremove_bucket: fresh-bucket\n");
  auto buckets = s_->store().ListBuckets();
  ASSERT_TRUE(buckets) << buckets.error();
  for (const auto& b : *buckets) EXPECT_NE(b.name, "fresh-bucket");
  auto key = s_->Esper({"mb", "s3://fresh-bucket/key"});
  EXPECT_EQ(key.exit_code, 2);
}

TEST_P(S3CliTest, StatOfAMissingObjectExitsOneWithNoSuchKey) {
  auto r = s_->Esper({"stat", "s3://bkt/missing"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_THAT(r.err, HasSubstr("bkt/missing"));
  EXPECT_THAT(r.err, ContainsRegex("NoSuchKey|NotFound"));
  if (s_->is_s3()) {
    EXPECT_THAT(r.err, HasSubstr("http 404"));
  }
}

TEST_P(S3CliTest, HealthSaysHealthyOrWhyNot) {
  auto ok = s_->Esper({"health"});
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_THAT(ok.out, StartsWith("status: healthy\nendpoint: " + s_->endpoint() + "\n"));
  EXPECT_THAT(ok.out, ContainsRegex("latency_ms: [0-9.]+\n"));
  auto bucket = s_->Esper({"health", "s3://bkt"});
  EXPECT_EQ(bucket.exit_code, 0) << bucket.err;
  auto missing = s_->Esper({"health", "s3://not-there"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.out, StartsWith("status: unhealthy: NotFound"));
}

// ---- exit codes ----

TEST_P(S3CliTest, ExitCodesAreZeroOneAndTwo) {
  EXPECT_EQ(s_->Esper({"ls", "s3://bkt"}).exit_code, 0);
  EXPECT_EQ(s_->Esper({"cp", "s3://bkt/none", s_->Path("x")}).exit_code, 1);
  EXPECT_FALSE(fs::exists(s_->Path("x")));
  EXPECT_EQ(s_->Esper({"cp", s_->Path("x"), s_->Path("y")}).exit_code, 2);
  EXPECT_EQ(s_->Esper({"frobnicate"}).exit_code, 2);
  EXPECT_EQ(s_->Esper({"cp", "s3://bkt/a"}).exit_code, 2);
}

// ---- Ctrl-C ----

// A pipe that never ends, as a path and as stdin: once esper has read what was written so far,
// SIGINT and SIGTERM end the upload at once (exit 130) and nothing is stored.
TEST_P(S3CliTest, InterruptEndsAnUploadFromAPipeThatNeverEnds) {
  const std::string fifo = s_->Path("never.fifo");
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  int n = 0;
  for (bool as_stdin : {false, true}) {
    for (int signal : {SIGINT, SIGTERM}) {
      const std::string key = fmt::format("never{}", n++);
      ChildProcess esper;
      if (as_stdin) {
        const std::string command = "exec " + ShellCommand(s_->EsperArgv({"cp", "-", "s3://bkt/" + key}));
        ASSERT_TRUE(esper.Start({"/bin/sh", "-c", command + " < '" + fifo + "'"}, {.env = s_->Env()}));
      } else {
        ASSERT_TRUE(esper.Start(s_->EsperArgv({"cp", fifo, "s3://bkt/" + key}), {.env = s_->Env()}));
      }
      int w = -1;
      ASSERT_TRUE(testing::WaitUntil([&] { return (w = open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC)) >= 0; }));
      ASSERT_EQ(write(w, "some bytes", 10), 10);
      int unread = -1;
      EXPECT_TRUE(testing::WaitUntil([&] { return ioctl(w, FIONREAD, &unread) == 0 && unread == 0; }))
          << "esper never read the pipe";
      esper.Signal(signal);
      EXPECT_EQ(esper.Wait(std::chrono::seconds(10)), 130) << esper.err();
      EXPECT_THAT(esper.err(), HasSubstr("esper: interrupted"));
      close(w);
      EXPECT_FALSE(Exists(kBucket, key));
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, S3CliTest, ::testing::Values(Backend::kS3rver4, Backend::kFauxqs, Backend::kLocal),
                         BackendTestName);

// 128 MiB through a pipe, never held whole: the pipeline's peak RSS is no higher than for a
// quarter of it (32 MiB) — memory that grew with the object would add 96 MiB. Both are sent in
// parts (S3Store's buffers: part_size × part_concurrency, 32 MiB, for either). Compared with the
// smaller run rather than with a fixed figure, because a sanitizer's runtime adds tens of MiB of
// its own (ThreadSanitizer's shadow and runtime: 44 MiB of peak RSS here, where the release build
// peaks far below) that say nothing about our buffers.
// Not on fauxqs 1.9.2, which refuses any request body over 11 MiB (413; its bodyLimit), a size
// FauxqsRefusesAPutOver11MiB checks.
class S3CliLargeTest : public S3CliTest {
 protected:
  // `head -c SIZE /dev/zero | esper s3 cp - s3://bkt/<prefix>… <extra>` for 32 MiB and for 128
  // MiB: the pipeline's peak RSS for 128 is below that for 32 plus 32 MiB (not judged under
  // ASan, which keeps freed memory resident in its quarantine: 256 MiB by default, so its RSS
  // grows with every byte ever allocated; the run is still checked for memory errors).
  void ExpectPipedCpInBoundedMemory(const std::string& prefix, bool with_expected_size) {
    auto peak_rss_of_cp = [&](uint64_t size, const std::string& key) -> uint64_t {
      std::vector<std::string> args = {"cp", "-", "s3://bkt/" + key};
      if (with_expected_size) args.insert(args.end(), {"--expected-size", std::to_string(size)});
      const std::string command = fmt::format("head -c {} /dev/zero | {}", size, ShellCommand(s_->EsperArgv(args)));
      ChildProcess child;
      EXPECT_TRUE(child.Start({"/bin/sh", "-c", command}, {.env = s_->Env()}));
      testing::RssSampler rss({.pid = child.pid(), .tree = true});
      EXPECT_EQ(child.Wait(std::chrono::seconds(120)), 0) << child.err();
      return rss.Stop();
    };
    const uint64_t quarter = peak_rss_of_cp(kPipedSize / 4, prefix + "quarter");
    const uint64_t whole = peak_rss_of_cp(kPipedSize, prefix + "big");
#if defined(__SANITIZE_ADDRESS__)
    std::cerr << "peak RSS under ASan, not compared: " << whole << " for 128 MiB, " << quarter << " for 32 MiB\n";
#else
    EXPECT_LT(whole, quarter + kPipedSize / 4) << "peak RSS of the pipeline: " << whole << " for 128 MiB, " << quarter
                                               << " for 32 MiB";
#endif
  }
  static constexpr uint64_t kPipedSize = uint64_t{128} << 20;
};

TEST_P(S3CliLargeTest, CpOfAPipeIsStreamedInBoundedMemory) {
  ExpectPipedCpInBoundedMemory("", /*with_expected_size=*/true);
  auto info = s_->store().Stat(kBucket, "big");
  ASSERT_TRUE(info) << info.error();
  EXPECT_EQ(info->size, kPipedSize);
  EXPECT_EQ(info->etag, s3::Hex(s3::Md5::Of(std::string(kPipedSize, '\0'))));
}

// A pipe without --expected-size: on S3 (default options: threshold 16 MiB, parts of 8 MiB) a
// 40 MiB one goes multipart as it is read and reads back byte-identical; and the peak RSS of the
// pipeline does not grow with the stream (128 MiB against 32 MiB, as above).
TEST_P(S3CliLargeTest, CpOfAPipeWithoutExpectedSizeIsStreamedInPartsInBoundedMemory) {
  const std::string data = PatternBytes(40 << 20, 41);
  WriteFile(s_->Path("piped.src"), data);
  const std::string cat = fmt::format("cat {} | {}", s_->Path("piped.src"),
                                      ShellCommand(s_->EsperArgv({"cp", "-", "s3://bkt/piped"})));
  ChildProcess up;
  ASSERT_TRUE(up.Start({"/bin/sh", "-c", cat}, {.env = s_->Env()}));
  ASSERT_EQ(up.Wait(std::chrono::seconds(120)), 0) << up.err();
  EXPECT_TRUE(Get("piped") == data);

  ExpectPipedCpInBoundedMemory("sizeless-", /*with_expected_size=*/false);
  auto info = s_->store().Stat(kBucket, "sizeless-big");
  ASSERT_TRUE(info) << info.error();
  EXPECT_EQ(info->size, kPipedSize);
}

INSTANTIATE_TEST_SUITE_P(Backends, S3CliLargeTest, ::testing::Values(Backend::kS3rver4, Backend::kLocal), BackendTestName);

TEST(S3CliFauxqs, FauxqsRefusesAPutOver11MiB) {
  auto s = S3Cli::Start(Backend::kFauxqs, {kBucket});
  ASSERT_TRUE(s) << s.error();
  const std::string data(12 << 20, 'x');
  auto r = (*s)->Esper({"cp", "-", "s3://bkt/big", "--expected-size", std::to_string(data.size())}, data);
  EXPECT_EQ(r.exit_code, 1);
  // fauxqs answers 413 and closes the connection at once: whether curl reads that answer or
  // first fails to send the rest of the body (EPIPE) is a race; the refusal is either.
  EXPECT_THAT(r.err, ContainsRegex("http 413|connection reset while sending the request")) << r.err;
  EXPECT_THAT(r.err, ContainsRegex("s3://bkt/big|/bkt/big: ")) << r.err;
}


// A key whose name under the prefix is not a path inside the destination ("../x", "a//b") is
// refused — counted as a failure, never written outside — while the rest is downloaded.
// Not on s3rver 4.0.4, which cannot store such keys (it answers 404 to "a//b"; docs/s3.md).
class S3CliUnsafeKeysTest : public S3CliTest {};

TEST_P(S3CliUnsafeKeysTest, CpRecursiveDownloadRefusesKeysThatWouldEscapeTheDirectory) {
  Put("t/ok.txt", "ok");
  Put("t/../escaped.txt", "bad");
  Put("t/a//b.txt", "bad");
  auto down = s_->Esper({"cp", "-r", "s3://bkt/t/", s_->Path("down")});
  EXPECT_EQ(down.exit_code, 1);
  EXPECT_THAT(down.err, HasSubstr("s3://bkt/t/../escaped.txt: its name under s3://bkt/t/ is not a path inside"));
  EXPECT_THAT(down.err, HasSubstr("s3://bkt/t/a//b.txt"));
  EXPECT_THAT(down.err, HasSubstr("2 of 3 transfers failed"));
  EXPECT_EQ(ReadFile(s_->Path("down/ok.txt")), "ok");
  EXPECT_FALSE(fs::exists(s_->Path("escaped.txt")));
}

INSTANTIATE_TEST_SUITE_P(Backends, S3CliUnsafeKeysTest, ::testing::Values(Backend::kFauxqs, Backend::kLocal), BackendTestName);

}  // namespace
}  // namespace esper::cli::s3test
