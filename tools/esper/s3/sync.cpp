// esper s3 sync SRC DST [--delete] [--size-only] [--dryrun] [--concurrency N] [--quiet]
//                      [--metrics-listen HOST:PORT]
//
// As `aws s3 sync`: makes DST hold what SRC holds — a local directory to a prefix, a prefix to a
// local directory, or a prefix to a prefix (server-side copies) — transferring only what is
// missing or different, --concurrency transfers at once on the store's one event loop, each said
// as cp says it ("upload: d/a.txt to s3://b/p/a.txt"). An entry is transferred when DST lacks it,
// when the sizes differ, or (unless --size-only) when its time says it changed:
//   * upload and copy: the source is newer than the destination (aws's rule; an upload or copy
//     leaves the destination newer, so a second sync sends nothing);
//   * download: the times differ in whole seconds. A download sets the file's time to the
//     object's last-modified, as aws does, so a second sync fetches nothing. (aws fetches only
//     when the local file is newer; an object replaced by a newer one of the same size is
//     fetched here and skipped by aws.)
// --delete removes what DST holds and SRC does not, after the transfers ("delete: …"); nothing
// is deleted after an interrupt. --dryrun says "(dryrun) upload: …" and changes nothing.
//
// MEMORY: DST's names, sizes and times are read first into a table (about 100 bytes per entry
// plus the name, so a million-object destination takes ~150 MB); SRC is walked one entry (one
// listing page) at a time.
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <memory>
#include <unordered_map>

#include "metrics_listen.h"
#include "output.h"
#include "s3/location.h"
#include "s3/progress.h"
#include "s3/session.h"
#include "s3/subcommands.h"
#include "s3/transfer.h"
#include "s3/tree.h"

namespace esper::cli::s3cmd {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::system_clock;

// Keys per DeleteObjects request of --delete (S3's limit).
constexpr size_t kDeleteBatch = 1000;

struct Flags {
  CommonFlags common;
  std::string src, dst;
  bool delete_extra = false;
  bool size_only = false;
  bool dryrun = false;
  bool quiet = false;
  int concurrency = kDefaultConcurrency;
  std::string metrics_listen;
};

struct Entry {
  uint64_t size = 0;
  Clock::time_point time{};
};
using Index = std::unordered_map<std::string, Entry>;

int64_t Seconds(Clock::time_point t) { return std::chrono::floor<std::chrono::seconds>(t.time_since_epoch()).count(); }

// What DST holds, by name relative to it.
Result<Index> IndexOf(Session& session, const Location& dst) {
  Index index;
  if (!dst.is_s3()) {
    LocalWalk walk(dst.path);
    for (;;) {
      ESPER_ASSIGN_OR_RETURN(std::optional<LocalWalk::File> f, walk.Next());
      if (!f) return index;
      index.emplace(std::move(f->rel), Entry{f->size, f->mtime});
    }
  }
  PrefixWalk walk(session, dst.bucket, AsDirectoryPrefix(dst.key));
  for (;;) {
    ESPER_ASSIGN_OR_RETURN(std::optional<PrefixWalk::Object> o, walk.Next());
    if (!o) return index;
    index.emplace(std::move(o->rel), Entry{o->info.size, o->info.last_modified});
  }
}

class Syncer {
 public:
  Syncer(const Flags& f, Location src, Location dst, Session& session, Transfers& transfers, Progress& progress)
      : f_(f), src_(std::move(src)), dst_(std::move(dst)), session_(session), transfers_(transfers),
        progress_(progress) {}

  Status Run() {
    ESPER_ASSIGN_OR_RETURN(index_, IndexOf(session_, dst_));
    Status transferred = src_.is_s3() ? FromObjects() : FromDirectory();
    if (!f_.delete_extra || session_.interrupted()) return transferred;
    Status deleted = DeleteExtra();
    if (!transferred) return transferred;
    return deleted;
  }

 private:
  // Whether SRC's entry must go to DST, and DST's entry (if any) taken out of the index: what
  // is left there at the end is what --delete removes.
  bool Needed(const std::string& rel, uint64_t size, Clock::time_point time) {
    auto node = index_.extract(rel);
    if (node.empty()) return true;
    const Entry& d = node.mapped();
    if (d.size != size) return true;
    if (f_.size_only) return false;
    if (src_.is_s3() && !dst_.is_s3()) return Seconds(d.time) != Seconds(time);  // download
    return Seconds(time) > Seconds(d.time);
  }

  void DryRun(std::string_view what, std::string_view from, std::string_view to) {
    if (!f_.quiet) progress_.Say(fmt::format("(dryrun) {}: {} to {}\n", what, from, to));
  }

  Status FromDirectory() {  // Run checked that it is one
    const std::string prefix = AsDirectoryPrefix(dst_.key);
    LocalWalk walk(src_.path);
    return session_.RunJobs(
        [&]() -> Result<std::optional<Job>> {
          for (;;) {
            ESPER_ASSIGN_OR_RETURN(std::optional<LocalWalk::File> file, walk.Next());
            if (!file) return std::optional<Job>();
            if (!Needed(file->rel, file->size, file->mtime)) continue;
            if (f_.dryrun) {
              DryRun("upload", file->path, S3Uri(dst_.bucket, prefix + file->rel));
              continue;
            }
            return std::optional<Job>(transfers_.Upload(file->path, dst_.bucket, prefix + file->rel, file->size));
          }
        },
        {.concurrency = f_.concurrency});
  }

  Status FromObjects() {
    const std::string prefix = AsDirectoryPrefix(dst_.key);
    const bool download = !dst_.is_s3();
    return FromPrefix(session_, src_, f_.concurrency, [&](const PrefixWalk::Object& o) -> std::optional<Job> {
      if (download && o.folder_marker()) return std::nullopt;
      if (!Needed(o.rel, o.info.size, o.info.last_modified)) return std::nullopt;
      if (f_.dryrun) {
        DryRun(download ? "download" : "copy", S3Uri(src_.bucket, o.info.key),
               download ? (fs::path(dst_.path) / o.rel).string() : S3Uri(dst_.bucket, prefix + o.rel));
        return std::nullopt;
      }
      if (download) return DownloadInto(transfers_, src_, o.info, o.rel, dst_.path, true);
      return transfers_.Copy({src_.bucket, o.info.key}, {dst_.bucket, prefix + o.rel}, o.info.size);
    });
  }

  Status DeleteExtra() {
    std::vector<std::string> names;
    names.reserve(index_.size());
    for (auto& [rel, entry] : index_) names.push_back(rel);
    index_.clear();
    std::sort(names.begin(), names.end());
    const std::string prefix = AsDirectoryPrefix(dst_.key);
    auto shown = [&](const std::string& rel) {
      return dst_.is_s3() ? S3Uri(dst_.bucket, prefix + rel) : (fs::path(dst_.path) / rel).string();
    };
    if (f_.dryrun) {
      if (!f_.quiet) {
        for (const std::string& rel : names) progress_.Say(fmt::format("(dryrun) delete: {}\n", shown(rel)));
      }
      return OkStatus();
    }
    if (!dst_.is_s3()) {
      size_t failed = 0;
      for (const std::string& rel : names) {
        const std::string path = shown(rel);
        if (unlink(path.c_str()) != 0 && errno != ENOENT) {
          ++failed;
          PrintErr("esper: error: {}\n", Error::FromErrno(errno, fmt::format("delete {}", path)));
        } else if (!f_.quiet) {
          progress_.Say(fmt::format("delete: {}\n", path));
        }
      }
      if (failed > 0) return Error::Unknown(fmt::format("could not delete {} of {} files", failed, names.size()));
      return OkStatus();
    }
    size_t next = 0;
    return session_.RunJobs(
        [&]() -> Result<std::optional<Job>> {
          if (next == names.size()) return std::optional<Job>();
          std::vector<std::string> keys;
          for (; next < names.size() && keys.size() < kDeleteBatch; ++next) keys.push_back(prefix + names[next]);
          return std::optional<Job>(DeleteKeys(session_, dst_.bucket, std::move(keys), f_.quiet));
        },
        {.concurrency = kDeleteConcurrency, .what = "delete requests"});
  }

  const Flags& f_;
  const Location src_, dst_;
  Session& session_;
  Transfers& transfers_;
  Progress& progress_;
  Index index_;
};

Status Run(const Flags& f) {
  ESPER_ASSIGN_OR_RETURN(Location src, ParseLocation(f.src));
  ESPER_ASSIGN_OR_RETURN(Location dst, ParseLocation(f.dst));
  if (src.kind == Location::Kind::kStdio || dst.kind == Location::Kind::kStdio) {
    return UsageError("esper s3 sync: '-' (stdin / stdout) is one stream, not a directory");
  }
  if (!src.is_s3() && !dst.is_s3()) {
    return UsageError("esper s3 sync: SRC or DST must be an s3:// URI (local to local is not a transfer)");
  }
  if (!src.is_s3() && !IsDirectory(src.path)) {
    return UsageError(fmt::format("esper s3 sync: {} is not a directory", src.path));
  }
  ESPER_ASSIGN_OR_RETURN(std::unique_ptr<Session> session, Session::Open(f.common));
  ESPER_ASSIGN_OR_RETURN(auto metrics_server, StartMetricsListen(f.metrics_listen));
  Progress progress(Progress::StyleFor(f.common.verbose, f.quiet || f.dryrun));
  Transfers transfers(*session, progress, {.quiet = f.quiet});
  return Syncer(f, std::move(src), std::move(dst), *session, transfers, progress).Run();
}

}  // namespace

Runner SetupSync(CLI::App& cmd) {
  auto f = std::make_shared<Flags>();
  cmd.description(
      "Make DST hold what SRC holds (local dir → prefix, prefix → local dir, prefix → prefix), "
      "transferring only what is missing, of another size or newer (as aws s3 sync)");
  cmd.add_option("src", f->src, "Local directory or s3://bucket[/prefix]")->required();
  cmd.add_option("dst", f->dst, "Local directory or s3://bucket[/prefix]")->required();
  cmd.add_flag("--delete", f->delete_extra, "Also remove what DST holds and SRC does not");
  cmd.add_flag("--size-only", f->size_only, "Compare sizes only, not times");
  cmd.add_flag("--dryrun", f->dryrun, "Say what would be done ('(dryrun) upload: …'), change nothing");
  cmd.add_flag("--quiet,-q", f->quiet, "No 'upload: … to …' lines and no progress");
  AddTransferFlags(cmd, f->concurrency, f->metrics_listen, f->common);
  AddCommonFlags(cmd, f->common);
  return [f]() -> Status { return Run(*f); };
}

}  // namespace esper::cli::s3cmd
