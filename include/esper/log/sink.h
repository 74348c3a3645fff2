// esper/log/sink.h — where formatted lines go: stdout/stderr, files, rotating files, memory, yours.
//
// A Sink receives batches of complete lines ('\n'-terminated, one record each) from the logger's
// backend thread. A Logger has one or more sinks, each with its own level and format (see
// logger.h, SinkSpec).
//
//   auto file = esper::log::FileSink::Create("/var/log/tamiyo.log");          // Result<shared_ptr>
//   auto polled = esper::log::FileSink::Create({.path = "/var/log/t.log",
//                                               .check_interval = std::chrono::seconds(10)});
//   auto rot  = esper::log::RotatingFileSink::Create({.path = "/var/log/t.log",
//                                                      .max_bytes = 64 << 20, .max_files = 5});
//
// Writing your own: derive from Sink and implement Write(); return an Error on failure — the
// logger counts it (Stats::backend_errors) and reports it to Options::on_error; it is never
// swallowed. One logger calls Write() from one thread at a time (its backend, or a synchronous
// logger's caller under the logger's lock).
//
// Ownership and thread safety: sinks are shared_ptr so one sink may serve several loggers, and
// then each logger's backend calls Write() and Flush() on its own thread, concurrently. Every
// sink here is safe to share: StreamSink and FileSink write each batch with one write(2) (whole
// batches interleave, never lines), and FileSink's reopen after a rename, RotatingFileSink's
// rotation and MemorySink's store happen under the sink's own lock, which a Write() holds for its
// batch. A sink of your own that is shared must make Write() thread-safe itself.
// fork(): a child process may keep writing to a file sink even when, at the fork, another thread
// of the parent was inside its Write() (that thread's lock is not carried into the child).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "esper/core/clock.h"
#include "esper/core/result.h"

namespace esper::log {

class Sink {
 public:
  virtual ~Sink() = default;
  /// Writes `lines` (one or more complete lines). `time` is the timestamp of the last record in
  /// the batch (time-based rotation keys on it). Called only from the backend thread.
  virtual Status Write(std::string_view lines, std::chrono::system_clock::time_point time) = 0;
  /// Pushes buffered data to the OS (called by Logger::flush() and at stop). Default: nothing.
  virtual Status Flush() { return OkStatus(); }
  /// Whether the sink is an interactive terminal (TextFormatter then uses colour unless NO_COLOR).
  virtual bool IsTerminal() const { return false; }
};

/// Standard output or standard error (fd 1 / 2), unbuffered write(2) per batch.
class StreamSink final : public Sink {
 public:
  enum class Stream { kStdout, kStderr };
  explicit StreamSink(Stream s);
  Status Write(std::string_view lines, std::chrono::system_clock::time_point time) override;
  bool IsTerminal() const override { return tty_; }

 private:
  int fd_;
  bool tty_;
};

/// Appends to one file (created 0644 if missing; O_APPEND). Errors (ENOSPC, EBADF, EIO) are
/// returned from Write as ResourceExhausted / Internal etc. via Error::FromErrno.
/// Works under logrotate (or any tool that moves or deletes the file): before a write, at most once
/// per Options::check_interval, it checks that `path` still names the open file and, if not, opens
/// `path` anew, so lines go to the new file instead of the renamed or deleted one ("copytruncate"
/// works through O_APPEND as is). If the new file cannot be opened, lines keep going to the old
/// one and Write returns the error (once per check) after writing them.
class FileSink final : public Sink {
 public:
  struct Options {
    std::string path{};                              // required
    // How often a Write() checks that `path` still names the open file (one stat + fstat);
    // 0 = before every write.
    std::chrono::milliseconds check_interval{1000};
    Clock* clock = &SystemClock();                   // measures check_interval (tests: a FakeClock)
  };
  /// Opens (creating parent directory NOT included) `options.path` for append; NotFound /
  /// PermissionDenied / … when it cannot; InvalidArgument for an empty path, a negative
  /// check_interval or a null clock.
  static Result<std::shared_ptr<FileSink>> Create(Options options);
  /// Create({.path = path}).
  static Result<std::shared_ptr<FileSink>> Create(std::string_view path);
  ~FileSink() override;
  FileSink(const FileSink&) = delete;
  FileSink& operator=(const FileSink&) = delete;

  Status Write(std::string_view lines, std::chrono::system_clock::time_point time) override;
  Status Flush() override;
  const std::string& path() const { return opt_.path; }

 private:
  FileSink(Options options, int fd);
  Status ReopenIfMoved();  // under mu_
  const Options opt_;
  std::mutex mu_;  // one Write() at a time: the reopen replaces fd_
  int fd_;         // under mu_
  Clock::TimePoint next_check_{};  // under mu_
};

/// A file that rotates by size and/or by UTC day, keeping `max_files` old files:
/// `app.log` is current, `app.log.1` the most recent old one, … `app.log.<max_files>` the oldest;
/// older ones are deleted. Rotation happens only between lines, never inside one. A single line
/// longer than max_bytes goes alone into a file.
class RotatingFileSink final : public Sink {
 public:
  struct Options {
    std::string path{};          // required
    uint64_t max_bytes = 0;      // rotate before a write would pass this size; 0 = no size limit
    bool daily = false;          // rotate when the UTC date of the records changes
    uint32_t max_files = 5;      // old files kept (retention); 0 = keep none (truncate on rotate)
  };
  /// InvalidArgument when path is empty or neither max_bytes nor daily is set; open errors as
  /// FileSink::Create. An existing file is appended to; its size counts toward max_bytes.
  static Result<std::shared_ptr<RotatingFileSink>> Create(Options options);
  ~RotatingFileSink() override;
  RotatingFileSink(const RotatingFileSink&) = delete;
  RotatingFileSink& operator=(const RotatingFileSink&) = delete;

  Status Write(std::string_view lines, std::chrono::system_clock::time_point time) override;
  Status Flush() override;
  /// How many rotations happened (for tests and stats). Safe from any thread.
  uint64_t rotations() const { return rotations_.load(std::memory_order_relaxed); }

 private:
  explicit RotatingFileSink(Options o);
  // All under mu_.
  Status Open();
  Status Rotate();
  Status WriteAll(std::string_view data);
  const Options opt_;
  std::mutex mu_;  // one Write() at a time: a batch, the size it adds and a rotation are one step
  int fd_ = -1;
  uint64_t size_ = 0;
  int64_t day_ = INT64_MIN;  // UTC day number of the current file's records
  std::atomic<uint64_t> rotations_{0};
};

/// Keeps lines in memory; for tests and for "show me the last N lines" features. Thread-safe.
class MemorySink final : public Sink {
 public:
  /// Keeps at most `max_lines` (oldest dropped first, counted in evicted()); 0 = unlimited.
  explicit MemorySink(size_t max_lines = 0) : max_lines_(max_lines) {}
  Status Write(std::string_view lines, std::chrono::system_clock::time_point time) override;
  /// A copy of the stored lines, without their '\n'.
  std::vector<std::string> lines() const;
  size_t size() const;
  uint64_t evicted() const;
  void Clear();

 private:
  mutable std::mutex mu_;
  size_t max_lines_;
  std::vector<std::string> lines_;
  size_t head_ = 0;  // ring start when max_lines_ is set and full
  uint64_t evicted_ = 0;
};

}  // namespace esper::log
