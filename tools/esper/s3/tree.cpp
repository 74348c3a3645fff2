#include "s3/tree.h"

#include <fmt/format.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>

#include <CLI/CLI.hpp>

#include "metrics_listen.h"
#include "output.h"
#include "s3/subcommands.h"

namespace esper::cli::s3cmd {

namespace fs = std::filesystem;

void AddTransferFlags(CLI::App& cmd, int& concurrency, std::string& metrics_listen, CommonFlags& common) {
  cmd.add_option("--concurrency", concurrency, "Transfers in flight at once (on one event loop)")
      ->check(CLI::Range(1, 1000))
      ->default_str(std::to_string(kDefaultConcurrency));
  cmd.add_flag("--ignore-checksum", common.ignore_checksum,
               "Do not check downloads against the ETag's MD5 (as rclone's flag; aws s3 cp never checks a multipart "
               "download): saves ~1.5 core-seconds per GiB of an object a single PUT made, whose MD5 is serial; "
               "lengths, ranges and If-Match pins are still checked");
  AddMetricsListenFlag(cmd, metrics_listen);
}

bool IsDirectory(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::optional<fs::path> SafeRelativePath(std::string_view rel) {
  if (rel.empty()) return std::nullopt;
  fs::path out;
  size_t start = 0;
  for (;;) {
    const size_t slash = rel.find('/', start);
    const std::string_view seg = rel.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (seg.empty() || seg == "." || seg == "..") return std::nullopt;
    out /= std::string(seg);
    if (slash == std::string_view::npos) return out;
    start = slash + 1;
  }
}

Job DownloadInto(Transfers& transfers, const Location& src, const storage::ObjectInfo& o, std::string_view rel,
                 const std::string& dir, bool keep_time) {
  std::optional<fs::path> rel_path = SafeRelativePath(rel);
  if (!rel_path) {
    const std::string why = fmt::format("{}: its name under {} is not a path inside {}", S3Uri(src.bucket, o.key),
                                        AsDirectoryPrefix(src.Uri()), dir);
    return [why](std::function<void(Status)>) -> Status { return Error::InvalidArgument(why); };
  }
  const std::string path = (fs::path(dir) / *rel_path).string();
  Job download = transfers.Download(src.bucket, o.key, path, o.size);
  if (!keep_time) return download;
  return [download, path, time = o.last_modified](std::function<void(Status)> done) -> Status {
    return download([path, time, done](Status st) {
      if (st) {
        const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(time.time_since_epoch()).count();
        const timespec t{.tv_sec = static_cast<time_t>(ns / 1'000'000'000), .tv_nsec = static_cast<long>(ns % 1'000'000'000)};
        const timespec times[2] = {t, t};
        if (utimensat(AT_FDCWD, path.c_str(), times, 0) != 0) {
          st = Error::FromErrno(errno, fmt::format("downloaded, but could not set the time of {}", path));
        }
      }
      done(st);
    });
  };
}

LocalWalk::LocalWalk(std::string root) : root_(std::move(root)) {
  if (IsDirectory(root_)) it_ = fs::recursive_directory_iterator(root_, fs::directory_options::none, ec_);
}

Result<std::optional<LocalWalk::File>> LocalWalk::Next() {
  for (; it_ != fs::recursive_directory_iterator(); it_.increment(ec_)) {
    if (ec_) return Error::FromErrno(ec_.value(), fmt::format("read directory {}", root_));
    const fs::directory_entry& e = *it_;
    if (e.is_directory(ec_)) continue;
    const std::string path = e.path().string();
    struct stat st {};
    if (stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
      PrintErr("esper: skipping {}: not a regular file\n", path);
      continue;
    }
    File f{.path = path,
           .rel = e.path().lexically_relative(root_).generic_string(),
           .size = static_cast<uint64_t>(st.st_size),
           .mtime = std::chrono::system_clock::time_point(std::chrono::duration_cast<std::chrono::system_clock::duration>(
               std::chrono::seconds(st.st_mtim.tv_sec) + std::chrono::nanoseconds(st.st_mtim.tv_nsec)))};
    it_.increment(ec_);
    return std::optional<File>(std::move(f));
  }
  if (ec_) return Error::FromErrno(ec_.value(), fmt::format("read directory {}", root_));
  return std::optional<File>();
}

PrefixWalk::PrefixWalk(Session& session, std::string bucket, std::string prefix)
    : session_(session), prefix_(prefix), lister_(session.store().ListPages(bucket, {.prefix = std::move(prefix)})) {}

Result<std::optional<PrefixWalk::Object>> PrefixWalk::Next() {
  for (;;) {
    if (page_ && next_ < page_->objects.size()) {
      storage::ObjectInfo& o = page_->objects[next_++];
      std::string rel = o.key.substr(prefix_.size());
      return std::optional<Object>(Object{.info = std::move(o), .rel = std::move(rel)});
    }
    ESPER_ASSIGN_OR_RETURN(page_, session_.NextPage(lister_));
    next_ = 0;
    if (!page_) return std::optional<Object>();
  }
}

Status FromPrefix(Session& session, const Location& src, int concurrency,
                  const std::function<std::optional<Job>(const PrefixWalk::Object&)>& make) {
  PrefixWalk walk(session, src.bucket, AsDirectoryPrefix(src.key));
  return session.RunJobs(
      [&]() -> Result<std::optional<Job>> {
        for (;;) {
          ESPER_ASSIGN_OR_RETURN(std::optional<PrefixWalk::Object> o, walk.Next());
          if (!o) return std::optional<Job>();
          if (std::optional<Job> job = make(*o)) return job;
        }
      },
      {.concurrency = concurrency});
}

}  // namespace esper::cli::s3cmd
