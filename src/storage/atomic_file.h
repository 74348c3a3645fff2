// A file that appears complete or not at all: GetTarget::ToFile for every store.
//
// Create() makes a temporary file beside `path` (".<name>.esper-tmp-<random>", same directory, so
// the rename is atomic); write through fd(); Commit() flushes it (fsync), renames it over `path`
// and flushes the directory. Destroyed without a Commit — any failure — it removes the temporary
// file, and `path` is as it was. S3Store (src/s3) uses it for its file downloads too.
//
// Thread safety: one thread at a time.
#pragma once

#include <string>

#include "esper/core/result.h"
#include "storage/fs.h"

namespace esper::storage::detail {

class AtomicFile {
 public:
  static Result<AtomicFile> Create(const std::string& path);
  AtomicFile(AtomicFile&&) noexcept = default;
  AtomicFile& operator=(AtomicFile&&) = delete;
  ~AtomicFile();

  /// Open for reading and writing (S3Store reads a download back to check its MD5).
  int fd() const noexcept { return fd_.get(); }
  /// durable = false: renamed without the two fsyncs (atomic, not durable).
  Status Commit(bool durable = true);

 private:
  AtomicFile(UniqueFd dir, UniqueFd fd, std::string path, std::string name, std::string temp)
      : dir_(std::move(dir)), fd_(std::move(fd)), path_(std::move(path)), name_(std::move(name)),
        temp_(std::move(temp)) {}

  UniqueFd dir_;
  UniqueFd fd_;
  std::string path_;  // as given
  std::string name_;  // its last component, in dir_
  std::string temp_;  // the temporary file's name in dir_; empty once committed
};

}  // namespace esper::storage::detail
