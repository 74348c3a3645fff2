// The few file-system calls LocalStore makes, each retried on EINTR and mapped to an esper::Error
// in one place (Error::FromErrno), relative to directory descriptors so no path is ever
// re-resolved through a symbolic link or limited by PATH_MAX.
//
// Thread safety: UniqueFd is owned by one thread at a time; the functions are reentrant.
#pragma once

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <sys/types.h>

#include <chrono>
#include <string>
#include <string_view>
#include <utility>

#include "esper/core/result.h"

namespace esper::storage::detail {

/// An owned file descriptor, closed on destruction.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) noexcept : fd_(fd) {}
  ~UniqueFd() { Reset(); }
  UniqueFd(UniqueFd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    if (this != &o) {
      Reset();
      fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  int get() const noexcept { return fd_; }
  explicit operator bool() const noexcept { return fd_ >= 0; }
  void Reset() noexcept;

 private:
  int fd_ = -1;
};

/// openat(); the error (errno kept in *err when given) says `what`.
Result<UniqueFd> OpenAt(int dir, const std::string& name, int flags, mode_t mode = 0,
                        int* err = nullptr);
/// A directory below `dir`, never through a symbolic link (O_NOFOLLOW | O_DIRECTORY).
Result<UniqueFd> OpenDirAt(int dir, const std::string& name, int* err = nullptr);

Status WriteAll(int fd, std::string_view bytes, std::string_view what);
Status PwriteAll(int fd, std::string_view bytes, off_t offset, std::string_view what);
/// Reads up to `n` bytes at `offset`; fewer only at the end of the file.
Result<size_t> PreadFull(int fd, char* buf, size_t n, off_t offset, std::string_view what);
Status Fsync(int fd, std::string_view what);
Result<struct stat> Fstat(int fd, std::string_view what);

/// Holds flock(LOCK_EX) on a descriptor until destroyed.
class FlockGuard {
 public:
  static Result<FlockGuard> Exclusive(int fd, std::string_view what);
  FlockGuard(FlockGuard&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  FlockGuard& operator=(FlockGuard&&) = delete;
  FlockGuard(const FlockGuard&) = delete;
  ~FlockGuard();

 private:
  explicit FlockGuard(int fd) : fd_(fd) {}
  int fd_;
};

/// Calls fn(name) for every entry of the directory `dir_fd` but "." and ".."; fn returns false to
/// stop early.
template <class Fn>
Status ForEachEntry(int dir_fd, Fn fn) {
  const int dup_fd = ::fcntl(dir_fd, F_DUPFD_CLOEXEC, 0);
  if (dup_fd < 0) return Error::FromErrno(errno, "read a directory");
  DIR* dir = ::fdopendir(dup_fd);
  if (dir == nullptr) {
    const int err = errno;
    ::close(dup_fd);
    return Error::FromErrno(err, "read a directory");
  }
  ::rewinddir(dir);  // the duplicate shares the original's position
  Status status = OkStatus();
  for (;;) {
    errno = 0;
    const dirent* e = ::readdir(dir);
    if (e == nullptr) {
      if (errno != 0) status = Error::FromErrno(errno, "read a directory");
      break;
    }
    const std::string_view name = e->d_name;
    if (name == "." || name == "..") continue;
    if (!fn(name)) break;
  }
  ::closedir(dir);
  return status;
}

std::chrono::system_clock::time_point ModificationTime(const struct stat& st);

/// A random 64-bit value in hex, for temporary names.
std::string RandomHex();

}  // namespace esper::storage::detail
