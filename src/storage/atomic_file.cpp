// AtomicFile (atomic_file.h).
#include "storage/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include <fmt/format.h>

namespace esper::storage::detail {

Result<AtomicFile> AtomicFile::Create(const std::string& path) {
  const size_t slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  if (name.empty() || name == "." || name == "..") {
    return Error::InvalidArgument(fmt::format("'{}' does not name a file", path));
  }
  auto dir_fd = OpenAt(AT_FDCWD, dir, O_RDONLY | O_DIRECTORY);
  if (!dir_fd) return Error(dir_fd.error()).Wrap(fmt::format("write '{}'", path));
  // The temporary name stays within NAME_MAX whatever the target's name.
  std::string temp = fmt::format(".{}.esper-tmp-{}", name.substr(0, 200), RandomHex());
  auto fd = OpenAt(dir_fd->get(), temp, O_RDWR | O_CREAT | O_EXCL, 0666);
  if (!fd) return Error(fd.error()).Wrap(fmt::format("write '{}'", path));
  return AtomicFile(std::move(*dir_fd), std::move(*fd), path, std::move(name), std::move(temp));
}

AtomicFile::~AtomicFile() {
  if (!temp_.empty() && dir_) ::unlinkat(dir_.get(), temp_.c_str(), 0);
}

Status AtomicFile::Commit(bool durable) {
  if (durable) ESPER_RETURN_IF_ERROR(Fsync(fd_.get(), fmt::format("write '{}'", path_)));
  if (::renameat(dir_.get(), temp_.c_str(), dir_.get(), name_.c_str()) < 0) {
    return Error::FromErrno(errno, fmt::format("rename into '{}'", path_));
  }
  temp_.clear();
  if (!durable) return {};
  return Fsync(dir_.get(), fmt::format("flush the directory of '{}'", path_));
}

}  // namespace esper::storage::detail
