// fork() with a live logger, end to end: real child processes of this test, one log file shared
// by parent and child (O_APPEND), every line read back. Without the library's fork handlers a
// child that logs hangs (its first Flush or its destructor waits for a backend thread the child
// does not have), and a child that started one would write the parent's in-flight records again.
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <climits>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include "esper/log/logger.h"
#include "esper/log/sink.h"
#include "testing/process.h"
#include "testing/wait.h"
#include "log/test_util.h"

namespace esper::log {
namespace {

#if defined(__SANITIZE_THREAD__)
constexpr bool kTsan = true;  // TSan ends a child of a multi-threaded parent that starts a thread
#else
constexpr bool kTsan = false;
#endif

// How many times each "msg" occurs in the JSON lines of `path`.
std::map<std::string, int> CountMessages(const std::string& path) {
  std::map<std::string, int> count;
  for (const auto& line : testing::ReadLines(path)) {
    auto obj = testing::ParseFlatJson(line);
    EXPECT_TRUE(obj) << line;
    if (obj) ++count[obj->values["msg"]];
  }
  return count;
}

struct Fixture {
  std::string path;
  std::unique_ptr<Logger> logger;
};

// A JSON file logger whose backend sleeps 10 s when idle, so records logged just before a fork
// are still queued at the fork (checked), not already written.
Fixture MakeLogger(const std::string& name) {
  Fixture f;
  f.path = testing::TempDir("fork_" + name) + "/app.log";
  auto sink = FileSink::Create(f.path);
  EXPECT_TRUE(sink);
  auto logger = Logger::Create({.level_from_env = false,
                                .sinks = {{.sink = *sink, .format = Format::kJson}},
                                .idle_sleep = std::chrono::seconds(10),
                                .idle_sleep_max = std::chrono::seconds(10)});
  EXPECT_TRUE(logger);
  f.logger = std::move(*logger);
  return f;
}

TEST(ForkTest, AChildLogsThroughItsOwnBackendAndNothingIsWrittenTwice) {
  if (kTsan) GTEST_SKIP() << "TSan's die_after_fork ends a child that starts a thread";
  Fixture f = MakeLogger("child_logs");
  ASSERT_TRUE(f.logger->Flush());
  for (int i = 0; i < 1000; ++i) ESPER_LOG_INFO(f.logger, "before {}", i);
  ASSERT_EQ(f.logger->get_stats().queue_depth, 1000u) << "the records must be in flight at the fork";
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    for (int i = 0; i < 3; ++i) ESPER_LOG_INFO(f.logger, "child {}", i);
    std::thread([&] {  // a thread born in the child gets a queue of its own
      for (int i = 0; i < 2; ++i) ESPER_LOG_INFO(f.logger, "child thread {}", i);
    }).join();
    const bool flushed = static_cast<bool>(f.logger->Flush());
    f.logger.reset();  // Stop(): drains and joins the child's backend
    _exit(flushed ? 0 : 3);
  }
  ESPER_LOG_INFO(f.logger, "parent after the fork");
  EXPECT_EQ(esper::testing::WaitForChild(pid), 0) << "-1: the child hung";
  ASSERT_TRUE(f.logger->Flush());
  auto count = CountMessages(f.path);
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(count["before " + std::to_string(i)], 1) << i;
  for (int i = 0; i < 3; ++i) EXPECT_EQ(count["child " + std::to_string(i)], 1) << i;
  for (int i = 0; i < 2; ++i) EXPECT_EQ(count["child thread " + std::to_string(i)], 1) << i;
  EXPECT_EQ(count["parent after the fork"], 1);
  EXPECT_EQ(testing::ReadLines(f.path).size(), 1006u);
}

// Forks while another thread of the parent logs without pause: the fork handlers park the
// backend between passes and hold the logger's locks, so no child inherits a half-done pass or a
// held lock, and the parent loses nothing.
TEST(ForkTest, RepeatedForksWhileAnotherThreadLogs) {
  if (kTsan) GTEST_SKIP() << "TSan's die_after_fork ends a child that starts a thread";
  Fixture f = MakeLogger("repeated");
  std::atomic<bool> stop{false};
  std::atomic<int> written{0};
  std::thread producer([&] {
    for (int i = 0; !stop.load(); ++i) {
      ESPER_LOG_INFO(f.logger, "parent {}", i);
      written.store(i + 1);
      if (i % 64 == 63) std::this_thread::sleep_for(std::chrono::microseconds(100));  // a bounded file
    }
  });
  // The producer's thread has started before the first fork: a thread being born allocates
  // inside ASan's runtime, and GCC 12's and clang 14's ASan do not lock their allocator around
  // fork() (LLVM 18 does), so a child forked then could wait forever for that lock.
  ASSERT_TRUE(esper::testing::WaitUntil([&] { return written.load() != 0; }));
  constexpr int kForks = 20;
  for (int k = 0; k < kForks; ++k) {
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ESPER_LOG_INFO(f.logger, "child {}", k);
      const bool flushed = static_cast<bool>(f.logger->Flush());
      f.logger.reset();
      _exit(flushed ? 0 : 3);
    }
    EXPECT_EQ(esper::testing::WaitForChild(pid), 0) << "fork " << k << " (-1: the child hung)";
  }
  stop.store(true);
  producer.join();
  ASSERT_TRUE(f.logger->Flush());
  auto count = CountMessages(f.path);
  for (int k = 0; k < kForks; ++k) EXPECT_EQ(count["child " + std::to_string(k)], 1) << k;
  const int n = written.load();
  ASSERT_GT(n, 0);
  int wrong = 0;
  for (int i = 0; i < n; ++i) wrong += count["parent " + std::to_string(i)] != 1;
  EXPECT_EQ(wrong, 0) << "of " << n << " parent lines, some missing or written twice";
  EXPECT_EQ(testing::ReadLines(f.path).size(), size_t(n + kForks));
}

// The child's crash handler drains what the child logged.
TEST(ForkTest, ACrashingChildLeavesItsLinesOnDisk) {
  if (kTsan) GTEST_SKIP() << "TSan's die_after_fork ends a child that starts a thread";
  Fixture f = MakeLogger("crash");
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    for (int i = 0; i < 100; ++i) ESPER_LOG_INFO(f.logger, "child {}", i);
    abort();
  }
  const int code = esper::testing::WaitForChild(pid);
  EXPECT_NE(code, -1) << "the child hung";
  EXPECT_NE(code, 0);
  auto count = CountMessages(f.path);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(count["child " + std::to_string(i)], 1) << i;
}

// A sink that blocks in Write() until released: the backend is busy in it at the fork.
class GateSink final : public Sink {
 public:
  Status Write(std::string_view, std::chrono::system_clock::time_point) override {
    std::unique_lock lk(mu_);
    entered_ = true;
    cv_.notify_all();
    cv_.wait(lk, [&] { return open_; });
    return OkStatus();
  }
  void WaitEntered() {
    std::unique_lock lk(mu_);
    cv_.wait(lk, [&] { return entered_; });
  }
  void Open() {
    std::lock_guard lk(mu_);
    open_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool entered_ = false, open_ = false;
};

// A logger stuck in a sink for over a second — an async backend, or a synchronous logger's caller
// holding its lock — does not hang fork(); the child's copy of that logger is stopped, says why
// on Flush, and counts what it cannot write.
TEST(ForkTest, AChildOfALoggerBusyInASinkGetsAClearErrorNotAHang) {
  for (bool async : {true, false}) {
    SCOPED_TRACE(async ? "async" : "synchronous");
    auto gate = std::make_shared<GateSink>();
    auto logger = Logger::Create({.level_from_env = false, .sinks = {{.sink = gate}}, .async = async});
    ASSERT_TRUE(logger);
    // Async: the backend takes the record into the sink. Synchronous: the caller writes it there,
    // holding the logger's lock, on a thread of its own. (No thread may be ending at the fork:
    // its exit allocates inside ASan's runtime, which older ASan does not make fork-safe.)
    std::thread writer;
    if (async) {
      ESPER_LOG_INFO(*logger, "stuck");
    } else {
      writer = std::thread([&] { ESPER_LOG_INFO(*logger, "stuck"); });
    }
    gate->WaitEntered();
    const pid_t pid = fork();  // waits ~1 s for the logger, then goes on
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      Status flushed = (*logger)->Flush();
      if (flushed || flushed.error().message().find("fork()") == std::string::npos) _exit(3);
      for (int i = 0; i < 10; ++i) ESPER_LOG_INFO(*logger, "lost {}", i);
      if ((*logger)->get_stats().dropped != 10) _exit(4);
      logger->reset();  // nothing to join: returns
      _exit(0);
    }
    const int code = esper::testing::WaitForChild(pid);
    gate->Open();
    if (writer.joinable()) writer.join();
    EXPECT_EQ(code, 0) << "3: Flush did not name the fork; 4: drops not counted; -1: hung";
    EXPECT_TRUE((*logger)->Flush());
  }
}

// One FileSink shared by two loggers; at the fork one of them is stuck in the sink's write for
// over a second (the file is a FIFO nobody reads), holding the sink's lock. In the child that
// logger is stopped (as above), and the other one still writes through the shared sink: the lock
// the parent's stuck thread holds is not carried into the child (without the sink's fork handler
// the child's backend waits for it for ever).
TEST(ForkTest, ASharedFileSinkHeldByAStuckWriterInTheParentStillWritesInTheChild) {
  if (kTsan) GTEST_SKIP() << "TSan's die_after_fork ends a child that starts a thread";
  const std::string fifo = testing::TempDir("fork_shared_sink") + "/pipe";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const int rd = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);  // so the sink's open returns
  ASSERT_GE(rd, 0);
  auto sink = FileSink::Create(fifo);
  ASSERT_TRUE(sink);
  auto make = [&](const char* name) {
    auto l = Logger::Create({.name = name, .level_from_env = false, .sinks = {{.sink = *sink, .format = Format::kJson}}});
    EXPECT_TRUE(l);
    return std::move(*l);
  };
  auto stuck = make("stuck"), other = make("other");
  const int pipe_bytes = ::fcntl(rd, F_GETPIPE_SZ);
  ASSERT_GT(pipe_bytes, 0);
  // More lines than the pipe holds: the backend of `stuck` blocks in write(2), in the sink.
  const std::string pad(100, 'x');
  for (int i = 0; i < 2 * pipe_bytes / 100; ++i) ESPER_LOG_INFO(stuck, "stuck {} {}", i, pad);
  // Full for that backend: a write of at most PIPE_BUF bytes is atomic and waits for that much
  // room, so the pipe can stop short of pipe_bytes by less than PIPE_BUF (under ASan a CI run
  // waited for the last bytes for ever) — full when nothing more arrived in 20 ms.
  int queued = 0, before = -1;
  ASSERT_TRUE(esper::testing::WaitUntil([&] {
    EXPECT_EQ(::ioctl(rd, FIONREAD, &queued), 0);
    const bool full = queued > pipe_bytes - PIPE_BUF && queued == before;
    before = queued;
    return full;
  }, std::chrono::seconds(10), std::chrono::milliseconds(20))) << queued << " of " << pipe_bytes << " bytes in the pipe";
  const pid_t pid = fork();  // waits ~1 s for `stuck`, then goes on
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ESPER_LOG_INFO(other, "from the child");
    // Read the FIFO (which also lets the parent's stuck write go on) until the line comes by.
    std::string seen;
    char buf[4096];
    const bool found = esper::testing::WaitUntil([&] {
      for (ssize_t n; (n = ::read(rd, buf, sizeof buf)) > 0;) {
        seen.append(buf, static_cast<size_t>(n));
        if (seen.size() > 8192) seen.erase(0, seen.size() - 8192);
        if (seen.find("from the child") != std::string::npos) return true;
      }
      return false;
    }, std::chrono::seconds(5));
    _exit(found ? 0 : 3);
  }
  EXPECT_EQ(esper::testing::WaitForChild(pid), 0) << "3: the child's logger could not write to the shared sink";
  // Let the parent's stuck write finish: read the FIFO while both loggers flush.
  std::atomic<bool> flushed{false};
  std::thread reader([&] {
    char buf[4096];
    while (!flushed.load())
      if (::read(rd, buf, sizeof buf) <= 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  });
  EXPECT_TRUE(stuck->Flush());
  EXPECT_TRUE(other->Flush());
  // Stopped while the FIFO is still read: a backend's last write can never block on a full pipe
  // (under ASan one was still writing 64 KiB after the flushes, and the test hung in ~Logger).
  stuck.reset();
  other.reset();
  flushed.store(true);
  reader.join();
  ::close(rd);
}

// A synchronous logger needs no thread: it writes from the child at once.
TEST(ForkTest, ASynchronousLoggerWritesFromAChild) {
  const std::string path = testing::TempDir("fork_sync") + "/app.log";
  auto sink = FileSink::Create(path);
  ASSERT_TRUE(sink);
  auto logger = Logger::Create({.level_from_env = false, .sinks = {{.sink = *sink, .format = Format::kJson}},
                                .async = false});
  ASSERT_TRUE(logger);
  ESPER_LOG_INFO(*logger, "parent");
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ESPER_LOG_INFO(*logger, "child");
    _exit((*logger)->Flush() ? 0 : 3);
  }
  EXPECT_EQ(esper::testing::WaitForChild(pid), 0);
  auto count = CountMessages(path);
  EXPECT_EQ(count["parent"], 1);
  EXPECT_EQ(count["child"], 1);
}

}  // namespace
}  // namespace esper::log
