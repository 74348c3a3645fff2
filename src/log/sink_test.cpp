#include "esper/log/sink.h"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include "log/test_util.h"

namespace esper::log {
namespace {

using namespace std::chrono;
using testing::ReadLines;
using testing::TempDir;

system_clock::time_point Day(int d, int hour = 12) {
  return system_clock::time_point(hours(24 * (20'000 + d) + hour));
}

std::string Line(int i) { return fmt::format("line {:04d} ..................\n", i); }  // 30 bytes

TEST(SinkTest, FileSinkAppendsAndReportsOpenErrors) {
  std::string dir = TempDir("file_sink");
  std::string path = dir + "/a.log";
  {
    auto s = FileSink::Create(path);
    ASSERT_TRUE(s) << s.error().ToString();
    ASSERT_TRUE((*s)->Write("one\ntwo\n", system_clock::now()));
  }
  {
    auto s = FileSink::Create(path);
    ASSERT_TRUE(s);
    ASSERT_TRUE((*s)->Write("three\n", system_clock::now()));
  }
  EXPECT_EQ(ReadLines(path), (std::vector<std::string>{"one", "two", "three"}));
  auto missing = FileSink::Create(dir + "/no/such/dir/x.log");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
  EXPECT_NE(missing.error().message().find("no/such/dir"), std::string::npos);
}

// logrotate's default ("create"): the file is renamed and the next lines belong in a new one at
// the path; a deleted file is created again. The sink notices within a second.
TEST(SinkTest, FileSinkFollowsItsPathAfterARenameOrADelete) {
  std::string dir = TempDir("file_sink_moved");
  std::string path = dir + "/app.log";
  auto s = FileSink::Create(path);
  ASSERT_TRUE(s);
  ASSERT_TRUE((*s)->Write("before\n", system_clock::now()));
  std::filesystem::rename(path, path + ".1");
  std::this_thread::sleep_for(milliseconds(1100));
  ASSERT_TRUE((*s)->Write("after rename\n", system_clock::now()));
  EXPECT_EQ(ReadLines(path + ".1"), std::vector<std::string>{"before"});
  EXPECT_EQ(ReadLines(path), std::vector<std::string>{"after rename"});
  std::filesystem::remove(path);
  std::this_thread::sleep_for(milliseconds(1100));
  ASSERT_TRUE((*s)->Write("after delete\n", system_clock::now()));
  EXPECT_EQ(ReadLines(path), std::vector<std::string>{"after delete"});
}

// The path cannot be opened again (its directory is gone): the lines still go to the old file,
// and Write says why.
TEST(SinkTest, FileSinkThatCannotReopenKeepsWritingAndSaysWhy) {
  std::string dir = TempDir("file_sink_gone") + "/sub";
  std::filesystem::create_directories(dir);
  auto s = FileSink::Create(dir + "/app.log");
  ASSERT_TRUE(s);
  ASSERT_TRUE((*s)->Write("one\n", system_clock::now()));  // the first write checks (and finds it)
  const int fd = ::open((dir + "/app.log").c_str(), O_RDONLY);  // to read the old file afterwards
  ASSERT_GE(fd, 0);
  std::filesystem::remove_all(dir);
  std::this_thread::sleep_for(milliseconds(1100));
  Status st = (*s)->Write("two\n", system_clock::now());
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message().find("moved or deleted"), std::string::npos) << st.error().ToString();
  char buf[16] = {};
  EXPECT_EQ(::pread(fd, buf, sizeof buf - 1, 0), 8);
  EXPECT_STREQ(buf, "one\ntwo\n");
  ::close(fd);
}

TEST(SinkTest, FileSinkReportsDiskFull) {
  if (!std::filesystem::exists("/dev/full")) GTEST_SKIP() << "no /dev/full";
  auto s = FileSink::Create("/dev/full");
  ASSERT_TRUE(s);
  Status st = (*s)->Write("x\n", system_clock::now());
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code(), ErrorCode::kResourceExhausted) << st.error().ToString();
}

TEST(SinkTest, RotatesBySizeKeepingRetentionCount) {
  std::string dir = TempDir("rotate_size");
  std::string path = dir + "/app.log";
  auto s = RotatingFileSink::Create({.path = path, .max_bytes = 100, .max_files = 3});
  ASSERT_TRUE(s) << s.error().ToString();
  // 20 lines of 30 bytes, written in batches of 1..4 lines: 3 lines fit in 100 bytes per file.
  int next = 0;
  for (int batch = 1; next < 20; batch = batch % 4 + 1) {
    std::string data;
    for (int k = 0; k < batch && next < 20; ++k) data += Line(next++);
    ASSERT_TRUE((*s)->Write(data, system_clock::now()));
  }
  // Newest file app.log holds the last lines; app.log.1..3 hold older ones; the rest were deleted.
  std::vector<std::string> all;
  for (int i = 3; i >= 1; --i) {
    std::string p = path + "." + std::to_string(i);
    ASSERT_TRUE(std::filesystem::exists(p)) << p;
    EXPECT_LE(std::filesystem::file_size(p), 100u);
    for (auto& l : ReadLines(p)) all.push_back(l);
  }
  EXPECT_FALSE(std::filesystem::exists(path + ".4"));
  EXPECT_LE(std::filesystem::file_size(path), 100u);
  for (auto& l : ReadLines(path)) all.push_back(l);
  // The retained lines are the newest ones, contiguous and in order, ending with line 19.
  ASSERT_GE(all.size(), 9u);
  for (size_t i = 0; i < all.size(); ++i)
    EXPECT_EQ(all[i] + "\n", Line(static_cast<int>(20 - all.size() + i)));
  EXPECT_GT((*s)->rotations(), 3u);
}

TEST(SinkTest, LineLongerThanMaxGoesAloneIntoAFile) {
  std::string dir = TempDir("rotate_long");
  std::string path = dir + "/app.log";
  auto s = RotatingFileSink::Create({.path = path, .max_bytes = 50, .max_files = 5});
  ASSERT_TRUE(s);
  std::string longline(120, 'x');
  ASSERT_TRUE((*s)->Write("short\n" + longline + "\nafter\n", system_clock::now()));
  EXPECT_EQ(ReadLines(path + ".2"), std::vector<std::string>{"short"});
  EXPECT_EQ(ReadLines(path + ".1"), std::vector<std::string>{longline});
  EXPECT_EQ(ReadLines(path), std::vector<std::string>{"after"});
}

TEST(SinkTest, RotatesDailyByRecordTime) {
  std::string dir = TempDir("rotate_daily");
  std::string path = dir + "/app.log";
  auto s = RotatingFileSink::Create({.path = path, .daily = true, .max_files = 2});
  ASSERT_TRUE(s);
  ASSERT_TRUE((*s)->Write("d1 a\n", Day(1, 1)));
  ASSERT_TRUE((*s)->Write("d1 b\n", Day(1, 23)));
  ASSERT_TRUE((*s)->Write("d2 a\n", Day(2, 0)));
  ASSERT_TRUE((*s)->Write("d3 a\n", Day(3, 5)));
  ASSERT_TRUE((*s)->Write("d4 a\n", Day(4, 5)));
  EXPECT_EQ(ReadLines(path), std::vector<std::string>{"d4 a"});
  EXPECT_EQ(ReadLines(path + ".1"), std::vector<std::string>{"d3 a"});
  EXPECT_EQ(ReadLines(path + ".2"), std::vector<std::string>{"d2 a"});
  EXPECT_FALSE(std::filesystem::exists(path + ".3"));  // day 1 fell out of retention
}

TEST(SinkTest, RotatingRejectsBadOptions) {
  auto s = RotatingFileSink::Create({.path = "/tmp/x.log"});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_FALSE(RotatingFileSink::Create({.path = "", .max_bytes = 10}));
}

TEST(SinkTest, MemorySinkSplitsLinesAndEvictsOldest) {
  MemorySink m(3);
  ASSERT_TRUE(m.Write("a\nb\n", system_clock::now()));
  ASSERT_TRUE(m.Write("c\nd\ne\n", system_clock::now()));
  EXPECT_EQ(m.lines(), (std::vector<std::string>{"c", "d", "e"}));
  EXPECT_EQ(m.evicted(), 2u);
}

}  // namespace
}  // namespace esper::log
