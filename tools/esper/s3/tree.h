// The many-files side of `esper s3 cp --recursive` and `sync`: walking a local directory and an
// S3 prefix one entry at a time, with each entry's name relative to the root, so a job source
// can pull the next transfer without a whole tree in memory.
//
//   LocalWalk local("./data");
//   while (auto f = local.Next()) { if (!*f) break; Use((*f)->rel, (*f)->size); }   // error: f.error()
//   PrefixWalk remote(session, "bkt", "data/");
//   while (auto o = remote.Next()) { if (!*o) break; Use((*o)->rel, (*o)->info.size); }
//
// Thread safety: one thread (the command's, in RunJobs' job source).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "esper/core/result.h"
#include "esper/storage/lister.h"
#include "s3/location.h"
#include "s3/session.h"
#include "s3/transfer.h"

namespace esper::cli::s3cmd {

/// --concurrency N (transfers in flight at once, 1..1000, default kDefaultConcurrency),
/// --ignore-checksum (into common) and --metrics-listen HOST:PORT (metrics_listen.h), for cp / mv
/// and sync.
void AddTransferFlags(CLI::App& cmd, int& concurrency, std::string& metrics_listen, CommonFlags& common);

bool IsDirectory(const std::string& path);

/// A key's part under a prefix as a relative path that stays inside a destination directory:
/// no empty, "." or ".." segment, nothing absolute. nullopt otherwise.
std::optional<std::filesystem::path> SafeRelativePath(std::string_view rel);

/// The download of object `o` (found under `src`'s prefix, `rel` after it) to `dir`/`rel`; a
/// key whose `rel` is not a path inside `dir` ("../x", "a//b") is a job that fails saying so —
/// never a file written outside `dir`. `keep_time`: the file's times are set to the object's
/// last-modified once it is complete (sync's way of knowing it later, as aws does).
Job DownloadInto(Transfers& transfers, const Location& src, const storage::ObjectInfo& o, std::string_view rel,
                 const std::string& dir, bool keep_time = false);

/// Every regular file under a directory, depth first, in the order the file system gives. A
/// link to a directory is not followed (no loops); anything else that is not a regular file is
/// skipped with "esper: skipping PATH: not a regular file" on stderr.
class LocalWalk {
 public:
  struct File {
    std::string path;  // root/rel, as the user would write it
    std::string rel;   // "a/b.txt", '/'-separated
    uint64_t size = 0;
    std::chrono::system_clock::time_point mtime{};
  };
  /// A root that does not exist walks nothing.
  explicit LocalWalk(std::string root);
  Result<std::optional<File>> Next();

 private:
  std::string root_;
  std::filesystem::recursive_directory_iterator it_;
  std::error_code ec_;
};

/// Every object under a prefix, a listing page at a time (interruptibly, Session::NextPage).
class PrefixWalk {
 public:
  struct Object {
    storage::ObjectInfo info;
    std::string rel;  // the key after the prefix
    /// A "folder" marker ("dir/", as consoles create): nothing to write into a directory.
    bool folder_marker() const { return !rel.empty() && rel.back() == '/'; }
  };
  PrefixWalk(Session& session, std::string bucket, std::string prefix);
  Result<std::optional<Object>> Next();

 private:
  Session& session_;
  std::string prefix_;
  storage::Lister lister_;
  std::optional<storage::ListPage> page_;
  size_t next_ = 0;
};

/// Runs, `concurrency` at once, the job `make` makes of each object under `src`'s prefix
/// (treated as a directory); an object it makes nothing of (nullopt) is skipped.
Status FromPrefix(Session& session, const Location& src, int concurrency,
                  const std::function<std::optional<Job>(const PrefixWalk::Object&)>& make);

}  // namespace esper::cli::s3cmd
