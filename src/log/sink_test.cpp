#include "esper/log/sink.h"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <thread>

#include "esper/log/logger.h"
#include "log/test_util.h"
#include "testing/wait.h"

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
// the path; a deleted file is created again. The sink notices at its next check, once per
// check_interval of its clock; not before.
TEST(SinkTest, FileSinkFollowsItsPathAfterARenameOrADelete) {
  std::string dir = TempDir("file_sink_moved");
  std::string path = dir + "/app.log";
  FakeClock clock;
  auto s = FileSink::Create({.path = path, .check_interval = seconds(1), .clock = &clock});
  ASSERT_TRUE(s);
  ASSERT_TRUE((*s)->Write("before\n", system_clock::now()));
  std::filesystem::rename(path, path + ".1");
  clock.Advance(milliseconds(999));
  ASSERT_TRUE((*s)->Write("not checked yet\n", system_clock::now()));
  clock.Advance(milliseconds(1));
  ASSERT_TRUE((*s)->Write("after rename\n", system_clock::now()));
  EXPECT_EQ(ReadLines(path + ".1"), (std::vector<std::string>{"before", "not checked yet"}));
  EXPECT_EQ(ReadLines(path), std::vector<std::string>{"after rename"});
  std::filesystem::remove(path);
  clock.Advance(seconds(1));
  ASSERT_TRUE((*s)->Write("after delete\n", system_clock::now()));
  EXPECT_EQ(ReadLines(path), std::vector<std::string>{"after delete"});
}

// The path cannot be opened again (its directory is gone): the lines still go to the old file,
// and Write says why.
TEST(SinkTest, FileSinkThatCannotReopenKeepsWritingAndSaysWhy) {
  std::string dir = TempDir("file_sink_gone") + "/sub";
  std::filesystem::create_directories(dir);
  FakeClock clock;
  auto s = FileSink::Create({.path = dir + "/app.log", .clock = &clock});
  ASSERT_TRUE(s);
  ASSERT_TRUE((*s)->Write("one\n", system_clock::now()));  // the first write checks (and finds it)
  const int fd = ::open((dir + "/app.log").c_str(), O_RDONLY);  // to read the old file afterwards
  ASSERT_GE(fd, 0);
  std::filesystem::remove_all(dir);
  clock.Advance(seconds(1));
  Status st = (*s)->Write("two\n", system_clock::now());
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message().find("moved or deleted"), std::string::npos) << st.error().ToString();
  char buf[16] = {};
  EXPECT_EQ(::pread(fd, buf, sizeof buf - 1, 0), 8);
  EXPECT_STREQ(buf, "one\ntwo\n");
  ::close(fd);
}

TEST(SinkTest, FileSinkRejectsBadOptions) {
  const std::string path = TempDir("file_sink_options") + "/app.log";
  auto negative = FileSink::Create({.path = path, .check_interval = milliseconds(-1)});
  ASSERT_FALSE(negative);
  EXPECT_EQ(negative.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(negative.error().message().find("check_interval"), std::string::npos);
  auto no_clock = FileSink::Create({.path = path, .clock = nullptr});
  ASSERT_FALSE(no_clock);
  EXPECT_EQ(no_clock.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_FALSE(FileSink::Create({.path = ""}));
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

// One sink shared by two loggers: two backend threads call its Write() at once. Each logger's
// producer logs JSON lines ("a 0", "a 1", … and "b 0", …; small batches) — at least `lines_each`,
// and on until `during` returns (it runs beside them; it may rename the file, as logrotate does).
// Then every file of `dir` is read back: each line must be whole JSON, and each logged message
// there exactly once.
void ExpectEachLineOnceThroughOneSinkFromTwoLoggers(const std::shared_ptr<Sink>& sink, const std::string& dir,
                                                    int lines_each, const std::function<void()>& during = [] {}) {
  auto make = [&](const char* name) {
    auto l = Logger::Create({.name = name, .level_from_env = false, .sinks = {{.sink = sink, .format = Format::kJson}},
                             .idle_sleep = microseconds(50), .idle_sleep_max = microseconds(200),
                             .batch_bytes = 512, .crash_handler = false});
    EXPECT_TRUE(l) << l.error().ToString();
    return std::move(*l);
  };
  auto a = make("a"), b = make("b");
  std::atomic<bool> during_done{false};
  int logged[2] = {0, 0};
  auto produce = [&](Logger& l, int tag) {
    for (int& i = logged[tag]; i < lines_each || !during_done.load(); ++i) {
      ESPER_LOG_INFO(l, "{} {}", tag ? "b" : "a", i);
      if (i % 16 == 15) std::this_thread::sleep_for(microseconds(i < lines_each ? 50 : 1000));  // a bounded file
    }
  };
  std::thread ta(produce, std::ref(*a), 0), tb(produce, std::ref(*b), 1);
  during();
  during_done.store(true);
  ta.join();
  tb.join();
  EXPECT_TRUE(a->Flush());
  EXPECT_TRUE(b->Flush());
  a.reset();
  b.reset();
  std::map<std::string, int> count;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    for (const auto& line : ReadLines(entry.path())) {
      auto obj = testing::ParseFlatJson(line);
      ++count[obj ? obj->values["msg"] : "torn"];
    }
  }
  EXPECT_EQ(count.count("torn"), 0u);
  int wrong = 0;
  for (int tag : {0, 1}) {
    for (int i = 0; i < logged[tag]; ++i) {
      auto it = count.find(fmt::format("{} {}", tag ? "b" : "a", i));
      if (it == count.end() || it->second != 1) ++wrong;
    }
  }
  EXPECT_EQ(wrong, 0) << "lines lost or written twice";
  EXPECT_EQ(count.size(), static_cast<size_t>(logged[0] + logged[1]));
}

// sink.h: one FileSink may serve several loggers. Their backends write at once while the file is
// renamed under them (logrotate): every line is in exactly one file, whole.
TEST(SinkTest, OneFileSinkSharedByTwoLoggersWhileItsFileIsRenamed) {
  const std::string dir = TempDir("file_sink_shared");
  const std::string path = dir + "/app.log";
  auto s = FileSink::Create({.path = path, .check_interval = milliseconds(0)});  // checks every batch
  ASSERT_TRUE(s);
  ExpectEachLineOnceThroughOneSinkFromTwoLoggers(*s, dir, 3000, [&] {
    // 20 times: rename the file once the sink has written to the path (again).
    for (int k = 1; k <= 20; ++k) {
      ASSERT_TRUE(esper::testing::WaitUntil([&] {
        std::error_code ec;
        return std::filesystem::file_size(path, ec) != 0 && !ec;
      }, std::chrono::seconds(10), microseconds(100)));
      std::filesystem::rename(path, path + "." + std::to_string(k));
    }
  });
}

// One RotatingFileSink serving two loggers: rotation by size stays exact (no file over max_bytes)
// and loses or splits no line, whichever backend's batch crosses the limit.
TEST(SinkTest, OneRotatingFileSinkSharedByTwoLoggersRotatesExactly) {
  const std::string dir = TempDir("rotate_shared");
  const std::string path = dir + "/app.log";
  constexpr uint64_t kMax = 16 << 10;
  auto s = RotatingFileSink::Create({.path = path, .max_bytes = kMax, .max_files = 200});
  ASSERT_TRUE(s) << s.error().ToString();
  ExpectEachLineOnceThroughOneSinkFromTwoLoggers(*s, dir, 3000);
  EXPECT_GE((*s)->rotations(), 10u);
  EXPECT_FALSE(std::filesystem::exists(path + ".200"));  // retention not reached: every line kept
  for (const auto& entry : std::filesystem::directory_iterator(dir))
    EXPECT_LE(std::filesystem::file_size(entry.path()), kMax) << entry.path();
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
