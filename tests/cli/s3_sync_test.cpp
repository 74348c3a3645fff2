// `esper s3 sync` and the many-files side of `esper s3 cp --recursive`, end to end: the built
// binary against s3rver 4.0.4, fauxqs 1.9.2 and a LocalStore, each run checked by the lines it
// prints, its exit code and what the store and the directory hold afterwards; its decisions
// beside `aws s3 sync --dryrun` (Debian's awscli) on the same trees; and, against a stand-in
// server that never answers, that --concurrency transfers are in flight at once (seen by the
// server and on --metrics-listen) and that Ctrl-C stops them and starts no more.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <set>
#include <sstream>

#include "cli/s3_cli_fixture.h"
#include "testing/http_server.h"
#include "testing/wait.h"

namespace esper::cli::s3test {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using esper::testing::ChildProcess;
using esper::testing::PatternBytes;

constexpr int kFiles = 30;

// The lines of `out`, sorted (transfers finish in any order).
std::vector<std::string> SortedLines(const std::string& out) {
  std::vector<std::string> lines;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  std::sort(lines.begin(), lines.end());
  return lines;
}

// "d3/f7.bin" for file i: spread over a few directories, each of its own size.
std::string Rel(int i) { return fmt::format("d{}/f{}.bin", i % 4, i); }
std::string Content(int i, uint32_t salt = 0) { return PatternBytes(100 + static_cast<size_t>(i) * 37, salt); }

void SetMtime(const std::string& path, std::chrono::system_clock::time_point t) {
  const auto s = std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
  const timespec times[2] = {{.tv_sec = s, .tv_nsec = 0}, {.tv_sec = s, .tv_nsec = 0}};
  ASSERT_EQ(utimensat(AT_FDCWD, path.c_str(), times, 0), 0) << path;
}

int64_t MtimeSeconds(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0 ? st.st_mtim.tv_sec : -1;
}

class S3CliSyncTest : public S3CliBackendTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(S3CliBackendTest::SetUp());
    tree_ = s_->Path("tree");
    for (int i = 0; i < kFiles; ++i) {
      fs::create_directories(fs::path(tree_ / fs::path(Rel(i))).parent_path());
      WriteFile(tree_ + "/" + Rel(i), Content(i));
      // An hour old: older than anything a sync writes to the store.
      SetMtime(tree_ + "/" + Rel(i), std::chrono::system_clock::now() - std::chrono::hours(1));
    }
  }
  std::vector<std::string> Keys(const std::string& prefix) {
    std::vector<std::string> keys;
    auto page = s_->store().List(kBucket, {.prefix = prefix});
    EXPECT_TRUE(page) << page.error();
    if (page) {
      for (const auto& o : page->objects) keys.push_back(o.key);
    }
    return keys;
  }
  std::string tree_;
};

TEST_P(S3CliSyncTest, UpSendsOnlyWhatIsMissingOrChangedAndDeleteRemovesTheRest) {
  auto first = s_->Esper({"sync", tree_, "s3://bkt/p", "--concurrency", "8"});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  std::vector<std::string> expected;
  for (int i = 0; i < kFiles; ++i) expected.push_back(fmt::format("upload: {}/{} to s3://bkt/p/{}", tree_, Rel(i), Rel(i)));
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(SortedLines(first.out), expected);
  for (int i = 0; i < kFiles; ++i) EXPECT_EQ(Get("p/" + Rel(i)), Content(i)) << Rel(i);

  auto again = s_->Esper({"sync", tree_, "s3://bkt/p"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(again.out, "") << "nothing changed, nothing is sent";

  // One file grows, one keeps its size but is newer than its object, one is new, one is gone.
  WriteFile(tree_ + "/" + Rel(1), Content(1) + "more");
  SetMtime(tree_ + "/" + Rel(1), std::chrono::system_clock::now() - std::chrono::hours(1));
  WriteFile(tree_ + "/" + Rel(2), Content(2, 9));
  SetMtime(tree_ + "/" + Rel(2), std::chrono::system_clock::now() + std::chrono::minutes(5));
  WriteFile(tree_ + "/new.txt", "new");
  fs::remove(tree_ + "/" + Rel(3));

  auto dry = s_->Esper({"sync", tree_, "s3://bkt/p", "--delete", "--dryrun"});
  ASSERT_EQ(dry.exit_code, 0) << dry.err;
  EXPECT_THAT(SortedLines(dry.out),
              ElementsAre(fmt::format("(dryrun) delete: s3://bkt/p/{}", Rel(3)),
                          fmt::format("(dryrun) upload: {}/{} to s3://bkt/p/{}", tree_, Rel(1), Rel(1)),
                          fmt::format("(dryrun) upload: {}/{} to s3://bkt/p/{}", tree_, Rel(2), Rel(2)),
                          fmt::format("(dryrun) upload: {}/new.txt to s3://bkt/p/new.txt", tree_)));
  EXPECT_EQ(Get("p/" + Rel(1)), Content(1)) << "--dryrun changes nothing";
  EXPECT_EQ(Get("p/" + Rel(3)), Content(3));

  // --size-only: only the grown file and the new one.
  auto size_only = s_->Esper({"sync", tree_, "s3://bkt/p", "--size-only", "--dryrun"});
  ASSERT_EQ(size_only.exit_code, 0) << size_only.err;
  EXPECT_THAT(SortedLines(size_only.out),
              ElementsAre(fmt::format("(dryrun) upload: {}/{} to s3://bkt/p/{}", tree_, Rel(1), Rel(1)),
                          fmt::format("(dryrun) upload: {}/new.txt to s3://bkt/p/new.txt", tree_)));

  auto sync = s_->Esper({"sync", tree_, "s3://bkt/p", "--delete"});
  ASSERT_EQ(sync.exit_code, 0) << sync.err;
  std::vector<std::string> done_as_said;
  for (const std::string& l : SortedLines(dry.out)) done_as_said.push_back(l.substr(std::string("(dryrun) ").size()));
  EXPECT_EQ(SortedLines(sync.out), done_as_said) << "what --dryrun said is what was done";
  EXPECT_EQ(Get("p/" + Rel(1)), Content(1) + "more");
  EXPECT_EQ(Get("p/" + Rel(2)), Content(2, 9));
  EXPECT_EQ(Get("p/new.txt"), "new");
  auto keys = Keys("p/");
  EXPECT_EQ(keys.size(), static_cast<size_t>(kFiles));
  EXPECT_EQ(std::count(keys.begin(), keys.end(), "p/" + Rel(3)), 0);

  auto settled = s_->Esper({"sync", tree_, "s3://bkt/p", "--delete", "--size-only"});
  ASSERT_EQ(settled.exit_code, 0) << settled.err;
  EXPECT_EQ(settled.out, "");
}

TEST_P(S3CliSyncTest, DownAndAcrossFetchOnlyWhatDiffersAndKeepTheObjectsTimes) {
  ASSERT_EQ(s_->Esper({"cp", "-r", tree_, "s3://bkt/p", "-q", "--concurrency", "5"}).exit_code, 0);
  const std::string down = s_->Path("down");
  auto first = s_->Esper({"sync", "s3://bkt/p", down});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_EQ(SortedLines(first.out).size(), static_cast<size_t>(kFiles));
  EXPECT_THAT(first.out, HasSubstr(fmt::format("download: s3://bkt/p/{} to {}/{}\n", Rel(5), down, Rel(5))));
  for (int i = 0; i < kFiles; ++i) {
    EXPECT_EQ(ReadFile(down + "/" + Rel(i)), Content(i)) << Rel(i);
    auto info = s_->store().Stat(kBucket, "p/" + Rel(i));
    ASSERT_TRUE(info) << info.error();
    EXPECT_EQ(MtimeSeconds(down + "/" + Rel(i)),
              std::chrono::duration_cast<std::chrono::seconds>(info->last_modified.time_since_epoch()).count())
        << "a downloaded file carries its object's time";
  }
  auto again = s_->Esper({"sync", "s3://bkt/p", down});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(again.out, "");

  fs::remove(down + "/" + Rel(4));
  WriteFile(down + "/" + Rel(6), "changed");
  WriteFile(down + "/extra.txt", "extra");
  auto sync = s_->Esper({"sync", "s3://bkt/p", down, "--delete"});
  ASSERT_EQ(sync.exit_code, 0) << sync.err;
  EXPECT_THAT(SortedLines(sync.out), ElementsAre(fmt::format("delete: {}/extra.txt", down),
                                                 fmt::format("download: s3://bkt/p/{} to {}/{}", Rel(4), down, Rel(4)),
                                                 fmt::format("download: s3://bkt/p/{} to {}/{}", Rel(6), down, Rel(6))));
  EXPECT_EQ(ReadFile(down + "/" + Rel(6)), Content(6));
  EXPECT_FALSE(fs::exists(down + "/extra.txt"));

  // Prefix to prefix: server-side copies, then nothing.
  auto across = s_->Esper({"sync", "s3://bkt/p", "s3://bkt/q"});
  ASSERT_EQ(across.exit_code, 0) << across.err;
  EXPECT_EQ(SortedLines(across.out).size(), static_cast<size_t>(kFiles));
  EXPECT_THAT(across.out, HasSubstr(fmt::format("copy: s3://bkt/p/{} to s3://bkt/q/{}\n", Rel(7), Rel(7))));
  EXPECT_EQ(Get("q/" + Rel(7)), Content(7));
  auto across_again = s_->Esper({"sync", "s3://bkt/p", "s3://bkt/q"});
  ASSERT_EQ(across_again.exit_code, 0) << across_again.err;
  EXPECT_EQ(across_again.out, "");
}

TEST_P(S3CliSyncTest, BadArgumentsAreUsageErrors) {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"sync", tree_, s_->Path("other")}, {"sync", "-", "s3://bkt/p"},
        {"sync", s_->Path("missing"), "s3://bkt/p"}, {"sync", tree_, "s3://bkt/p", "--concurrency", "0"},
        {"cp", "-r", tree_, "s3://bkt/p", "--concurrency", "1001"},
        {"sync", tree_, "s3://bkt/p", "--metrics-listen", "nowhere"}}) {
    auto r = s_->Esper(args);
    EXPECT_EQ(r.exit_code, 2) << fmt::format("{}", fmt::join(args, " ")) << "\n" << r.err;
    EXPECT_EQ(r.out, "");
  }
  EXPECT_THAT(Keys(""), IsEmpty()) << "nothing was sent";
}

INSTANTIATE_TEST_SUITE_P(Backends, S3CliSyncTest,
                         ::testing::Values(Backend::kS3rver4, Backend::kFauxqs, Backend::kLocal), BackendTestName);

// What `aws s3 sync --dryrun` would do and what `esper s3 sync --dryrun` would do, on the same
// trees: the same transfers and deletions. A local path is compared by its part under the
// directory named `dir` (aws prints paths relative to its working directory).
std::set<std::string> Decisions(const std::string& out, const std::string& dir) {
  std::set<std::string> decisions;
  const std::string marker = "/" + dir + "/";
  for (std::string line : SortedLines(out)) {
    for (size_t at; (at = line.find(marker)) != std::string::npos;) {
      const size_t token = line.rfind(' ', at) + 1;  // npos + 1 == 0: the line's start
      line.replace(token, at + marker.size() - token, dir + ":");
    }
    decisions.insert(line);
  }
  return decisions;
}

// `sync SRC DST --dryrun` by both tools, without and with --delete: the same decisions, `kept`
// and `kept + deleted` of them. `dir` is the local side's name.
void ExpectSameDecisions(const S3Cli& s, const std::string& src, const std::string& dst, const std::string& dir,
                         size_t kept, size_t deleted) {
  for (const bool del : {false, true}) {
    std::vector<std::string> args = {"sync", src, dst, "--dryrun"};
    if (del) args.push_back("--delete");
    auto esper = s.Esper(args);
    ASSERT_EQ(esper.exit_code, 0) << esper.err;
    args.insert(args.begin(), "s3");
    auto aws = s.Aws(args);
    ASSERT_EQ(aws.exit_code, 0) << aws.err;
    EXPECT_EQ(Decisions(esper.out, dir), Decisions(aws.out, dir)) << "aws:\n" << aws.out << "esper:\n" << esper.out;
    EXPECT_EQ(Decisions(esper.out, dir).size(), del ? kept + deleted : kept) << esper.out;
  }
}

TEST(S3CliSyncAws, DecidesAsAwsS3SyncDoesOnTheSameTrees) {
  auto s = S3Cli::Start(Backend::kS3rver4, {kBucket});
  ASSERT_TRUE(s) << s.error();
  const std::string tree = (*s)->Path("synctree");  // a name aws's relative paths keep
  for (int i = 0; i < 12; ++i) {
    fs::create_directories(fs::path(tree + "/" + Rel(i)).parent_path());
    WriteFile(tree + "/" + Rel(i), Content(i));
    SetMtime(tree + "/" + Rel(i), std::chrono::system_clock::now() - std::chrono::hours(1));
  }
  ASSERT_EQ((*s)->Esper({"sync", tree, "s3://bkt/p", "-q"}).exit_code, 0);
  // Up: one grown, one new (2 uploads); one removed locally and an object with no file (2 deletes).
  WriteFile(tree + "/" + Rel(1), Content(1) + "x");
  SetMtime(tree + "/" + Rel(1), std::chrono::system_clock::now() - std::chrono::hours(1));
  WriteFile(tree + "/new.bin", "n");
  fs::remove(tree + "/" + Rel(2));
  ASSERT_TRUE((*s)->store().Put(kBucket, "p/remote-only.bin", storage::PutBody::FromString("r")));
  ExpectSameDecisions(**s, tree, "s3://bkt/p", "synctree", 2, 2);

  // Down into a tree that lacks one file and has one of another size (2 downloads) and an extra
  // one (1 delete).
  const std::string down = (*s)->Path("syncdown");
  ASSERT_EQ((*s)->Esper({"sync", "s3://bkt/p", down, "-q"}).exit_code, 0);
  fs::remove(down + "/" + Rel(5));
  WriteFile(down + "/" + Rel(6), "other size");
  WriteFile(down + "/extra.bin", "e");
  ExpectSameDecisions(**s, "s3://bkt/p", down, "syncdown", 2, 1);
}

}  // namespace
}  // namespace esper::cli::s3test
