// File-system helpers of LocalStore (fs.h).
#include "storage/fs.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <random>

#include <fmt/format.h>

namespace esper::storage::detail {

void UniqueFd::Reset() noexcept {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

Result<UniqueFd> OpenAt(int dir, const std::string& name, int flags, mode_t mode, int* err) {
  int fd;
  do {
    fd = ::openat(dir, name.c_str(), flags | O_CLOEXEC, mode);
  } while (fd < 0 && errno == EINTR);
  if (err) *err = fd < 0 ? errno : 0;
  if (fd < 0) return Error::FromErrno(errno, fmt::format("open '{}'", name));
  return UniqueFd(fd);
}

Result<UniqueFd> OpenDirAt(int dir, const std::string& name, int* err) {
  return OpenAt(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0, err);
}

Status WriteAll(int fd, std::string_view bytes, std::string_view what) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::FromErrno(errno, what);
    }
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return OkStatus();
}

Status PwriteAll(int fd, std::string_view bytes, off_t offset, std::string_view what) {
  while (!bytes.empty()) {
    const ssize_t n = ::pwrite(fd, bytes.data(), bytes.size(), offset);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::FromErrno(errno, what);
    }
    bytes.remove_prefix(static_cast<size_t>(n));
    offset += n;
  }
  return OkStatus();
}

Result<size_t> PreadFull(int fd, char* buf, size_t n, off_t offset, std::string_view what) {
  size_t got = 0;
  while (got < n) {
    const ssize_t r = ::pread(fd, buf + got, n - got, offset + static_cast<off_t>(got));
    if (r < 0) {
      if (errno == EINTR) continue;
      return Error::FromErrno(errno, what);
    }
    if (r == 0) break;
    got += static_cast<size_t>(r);
  }
  return got;
}

Status Fsync(int fd, std::string_view what) {
  int r;
  do {
    r = ::fsync(fd);
  } while (r < 0 && errno == EINTR);
  if (r < 0) return Error::FromErrno(errno, what);
  return OkStatus();
}

Result<struct stat> Fstat(int fd, std::string_view what) {
  struct stat st {};
  if (::fstat(fd, &st) < 0) return Error::FromErrno(errno, what);
  return st;
}

Result<FlockGuard> FlockGuard::Exclusive(int fd, std::string_view what) {
  int r;
  do {
    r = ::flock(fd, LOCK_EX);
  } while (r < 0 && errno == EINTR);
  if (r < 0) return Error::FromErrno(errno, what);
  return FlockGuard(fd);
}

FlockGuard::~FlockGuard() {
  if (fd_ >= 0) ::flock(fd_, LOCK_UN);
}

std::chrono::system_clock::time_point ModificationTime(const struct stat& st) {
  using namespace std::chrono;
  return system_clock::time_point(duration_cast<system_clock::duration>(
      seconds(st.st_mtim.tv_sec) + nanoseconds(st.st_mtim.tv_nsec)));
}

std::string RandomHex() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return fmt::format("{:016x}", rng());
}

}  // namespace esper::storage::detail
