#include "esper/log/sink.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <new>

namespace esper::log {
namespace {

// A log file's descriptor: created 0644 if missing, appended to (also across processes).
int OpenForAppend(const std::string& path) {
  return ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
}

Status WriteFully(int fd, std::string_view data, const std::string& what) {
  while (!data.empty()) {
    ssize_t w = ::write(fd, data.data(), data.size());
    if (w < 0) {
      if (errno == EINTR) continue;
      return Error::FromErrno(errno, "write " + what);
    }
    if (w == 0) return Error::ResourceExhausted("write " + what + ": no progress");
    data.remove_prefix(static_cast<size_t>(w));
  }
  return OkStatus();
}

int64_t UtcDay(std::chrono::system_clock::time_point t) {
  auto s = std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
  return s >= 0 ? s / 86400 : (s - 86399) / 86400;
}

// fork(): the child has only the forking thread, which is in fork(), not in a sink. So no thread
// of the child holds a file sink's lock — but a lock that another thread of the parent held at
// the fork (a logger's backend stuck in a write for over a second, which the logger's own fork
// handler stops waiting for) would stay taken in the child for ever, and a second logger sharing
// the sink would hang there. The child handler gives every live file sink a fresh lock.
// (The registry's own lock is held only while a sink is made or destroyed, never during I/O.)
struct SinkLocks {
  std::mutex mu;
  std::vector<std::mutex*> live;  // under mu
};
SinkLocks& Locks() {
  static auto* locks = new SinkLocks;  // never destroyed: a sink may outlive static destruction
  return *locks;
}

void RegisterSinkLock(std::mutex* m) {
  static std::once_flag once;
  std::call_once(once, [] {
    pthread_atfork([] { Locks().mu.lock(); }, [] { Locks().mu.unlock(); },
                   [] {
                     for (std::mutex* lock : Locks().live) new (lock) std::mutex();
                     Locks().mu.unlock();
                   });
  });
  std::lock_guard lk(Locks().mu);
  Locks().live.push_back(m);
}

void UnregisterSinkLock(std::mutex* m) {
  std::lock_guard lk(Locks().mu);
  std::erase(Locks().live, m);
}

}  // namespace

StreamSink::StreamSink(Stream s) : fd_(s == Stream::kStdout ? 1 : 2), tty_(::isatty(fd_) == 1) {}

Status StreamSink::Write(std::string_view lines, std::chrono::system_clock::time_point) {
  return WriteFully(fd_, lines, fd_ == 1 ? "stdout" : "stderr");
}

Result<std::shared_ptr<FileSink>> FileSink::Create(Options options) {
  if (options.path.empty()) return Error::InvalidArgument("log file path is empty");
  if (options.check_interval.count() < 0)
    return Error::InvalidArgument("FileSink: check_interval must not be negative");
  if (!options.clock) return Error::InvalidArgument("FileSink: clock is null");
  int fd = OpenForAppend(options.path);
  if (fd < 0) return Error::FromErrno(errno, "open log file " + options.path);
  return std::shared_ptr<FileSink>(new FileSink(std::move(options), fd));
}

Result<std::shared_ptr<FileSink>> FileSink::Create(std::string_view path) {
  return Create(Options{.path = std::string(path)});
}

FileSink::FileSink(Options options, int fd) : opt_(std::move(options)), fd_(fd) { RegisterSinkLock(&mu_); }

FileSink::~FileSink() {
  UnregisterSinkLock(&mu_);
  if (fd_ >= 0) ::close(fd_);
}

Status FileSink::Write(std::string_view lines, std::chrono::system_clock::time_point) {
  std::lock_guard lk(mu_);
  Status moved = ReopenIfMoved();
  ESPER_RETURN_IF_ERROR(WriteFully(fd_, lines, opt_.path));
  return moved;
}

Status FileSink::ReopenIfMoved() {
  const Clock::TimePoint now = opt_.clock->Now();
  if (now < next_check_) return OkStatus();
  next_check_ = now + opt_.check_interval;
  struct stat named {}, open_file {};
  if (::stat(opt_.path.c_str(), &named) == 0 && ::fstat(fd_, &open_file) == 0 && named.st_ino == open_file.st_ino &&
      named.st_dev == open_file.st_dev)
    return OkStatus();
  const int fd = OpenForAppend(opt_.path);
  if (fd < 0) {
    return Error::FromErrno(errno, "log file " + opt_.path + " was moved or deleted and cannot be opened again "
                                   "(lines go to the old file)");
  }
  ::close(fd_);
  fd_ = fd;
  return OkStatus();
}

Status FileSink::Flush() {
  // write(2) hands every batch to the kernel: nothing is buffered in the process.
  return OkStatus();
}

Result<std::shared_ptr<RotatingFileSink>> RotatingFileSink::Create(Options options) {
  if (options.path.empty()) return Error::InvalidArgument("RotatingFileSink: path is empty");
  if (options.max_bytes == 0 && !options.daily)
    return Error::InvalidArgument("RotatingFileSink: set max_bytes and/or daily (otherwise use FileSink)");
  std::shared_ptr<RotatingFileSink> s(new RotatingFileSink(std::move(options)));
  ESPER_RETURN_IF_ERROR(s->Open());
  return s;
}

RotatingFileSink::RotatingFileSink(Options o) : opt_(std::move(o)) { RegisterSinkLock(&mu_); }

RotatingFileSink::~RotatingFileSink() {
  UnregisterSinkLock(&mu_);
  if (fd_ >= 0) ::close(fd_);
}

Status RotatingFileSink::Open() {
  fd_ = OpenForAppend(opt_.path);
  if (fd_ < 0) return Error::FromErrno(errno, "open log file " + opt_.path);
  struct stat st {};
  if (::fstat(fd_, &st) == 0) {
    size_ = static_cast<uint64_t>(st.st_size);
    if (size_ > 0 && opt_.daily) day_ = UtcDay(std::chrono::system_clock::time_point(
                                         std::chrono::seconds(st.st_mtim.tv_sec)));
  }
  return OkStatus();
}

Status RotatingFileSink::Rotate() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  if (opt_.max_files == 0) {
    if (::truncate(opt_.path.c_str(), 0) != 0 && errno != ENOENT)
      return Error::FromErrno(errno, "truncate " + opt_.path);
  } else {
    std::string oldest = opt_.path + "." + std::to_string(opt_.max_files);
    ::unlink(oldest.c_str());
    for (uint32_t i = opt_.max_files; i > 1; --i) {
      std::string from = opt_.path + "." + std::to_string(i - 1);
      std::string to = opt_.path + "." + std::to_string(i);
      if (::rename(from.c_str(), to.c_str()) != 0 && errno != ENOENT)
        return Error::FromErrno(errno, "rename " + from);
    }
    std::string first = opt_.path + ".1";
    if (::rename(opt_.path.c_str(), first.c_str()) != 0 && errno != ENOENT)
      return Error::FromErrno(errno, "rename " + opt_.path);
  }
  rotations_.fetch_add(1, std::memory_order_relaxed);
  size_ = 0;
  return Open();
}

Status RotatingFileSink::WriteAll(std::string_view data) {
  if (fd_ < 0) ESPER_RETURN_IF_ERROR(Open());
  ESPER_RETURN_IF_ERROR(WriteFully(fd_, data, opt_.path));
  size_ += data.size();
  return OkStatus();
}

Status RotatingFileSink::Write(std::string_view lines, std::chrono::system_clock::time_point time) {
  std::lock_guard lk(mu_);
  if (opt_.daily) {
    int64_t day = UtcDay(time);
    if (day_ == INT64_MIN) {
      day_ = day;
    } else if (day != day_) {
      day_ = day;
      if (size_ > 0) ESPER_RETURN_IF_ERROR(Rotate());
    }
  }
  if (opt_.max_bytes == 0 || size_ + lines.size() <= opt_.max_bytes) return WriteAll(lines);
  // Split at line boundaries so no line straddles two files.
  while (!lines.empty()) {
    size_t room = size_ < opt_.max_bytes ? opt_.max_bytes - size_ : 0;
    size_t take = 0;  // bytes of whole lines that fit
    for (size_t pos = 0; pos < lines.size();) {
      size_t nl = lines.find('\n', pos);
      size_t end = nl == std::string_view::npos ? lines.size() : nl + 1;
      if (end > room) break;
      take = end;
      pos = end;
    }
    if (take == 0) {
      if (size_ > 0) {
        ESPER_RETURN_IF_ERROR(Rotate());
        continue;
      }
      // A line longer than max_bytes: it goes alone into the (empty) file.
      size_t nl = lines.find('\n');
      take = nl == std::string_view::npos ? lines.size() : nl + 1;
    }
    ESPER_RETURN_IF_ERROR(WriteAll(lines.substr(0, take)));
    lines.remove_prefix(take);
    if (!lines.empty()) ESPER_RETURN_IF_ERROR(Rotate());
  }
  return OkStatus();
}

Status RotatingFileSink::Flush() { return OkStatus(); }

Status MemorySink::Write(std::string_view lines, std::chrono::system_clock::time_point) {
  std::lock_guard lk(mu_);
  while (!lines.empty()) {
    size_t nl = lines.find('\n');
    std::string_view line = lines.substr(0, nl);
    lines.remove_prefix(nl == std::string_view::npos ? lines.size() : nl + 1);
    if (max_lines_ && lines_.size() == max_lines_) {
      lines_[head_] = std::string(line);
      head_ = (head_ + 1) % max_lines_;
      ++evicted_;
    } else {
      lines_.emplace_back(line);
    }
  }
  return OkStatus();
}

std::vector<std::string> MemorySink::lines() const {
  std::lock_guard lk(mu_);
  std::vector<std::string> out;
  out.reserve(lines_.size());
  for (size_t i = 0; i < lines_.size(); ++i) out.push_back(lines_[(head_ + i) % lines_.size()]);
  return out;
}

size_t MemorySink::size() const {
  std::lock_guard lk(mu_);
  return lines_.size();
}

uint64_t MemorySink::evicted() const {
  std::lock_guard lk(mu_);
  return evicted_;
}

void MemorySink::Clear() {
  std::lock_guard lk(mu_);
  lines_.clear();
  head_ = 0;
}

}  // namespace esper::log
