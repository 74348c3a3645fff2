// esper s3 cp|mv SRC DST [--recursive] [--content-type T] [--metadata k=v[,k=v]]
//                        [--no-guess-mime-type] [--expected-size N] [--quiet]
//
// As `aws s3 cp` / `mv`: local → s3 (upload), s3 → local (download), s3 → s3 (server-side copy);
// "-" is stdin (as SRC) or stdout (as DST), streamed. A DST ending in "/" (or an existing local
// directory) gets the source's base name. --recursive treats SRC as a directory — a local one, or
// the prefix "SRC/" — and copies everything under it to the same relative names under DST,
// --concurrency of them at once on the store's one event loop. mv removes each source once its copy is complete. This file plans the transfers;
// transfer.h carries each one out.
#include <fmt/format.h>

#include <filesystem>
#include <memory>

#include "esper/core/redact.h"
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

struct Flags {
  CommonFlags common;
  std::string src, dst;
  bool recursive = false;
  std::string content_type;
  std::vector<std::string> metadata;  // "k=v[,k=v]", repeatable
  bool no_guess = false;
  uint64_t expected_size = 0;
  bool quiet = false;
  int concurrency = kDefaultConcurrency;
  std::string metrics_listen;
};

Result<storage::Metadata> ParseMetadata(const std::vector<std::string>& args) {
  storage::Metadata out;
  for (const std::string& arg : args) {
    std::string_view rest = arg;
    while (!rest.empty()) {
      const size_t comma = std::min(rest.find(','), rest.size());
      const std::string_view pair = rest.substr(0, comma);
      rest.remove_prefix(std::min(comma + 1, rest.size()));
      const size_t eq = pair.find('=');
      if (eq == std::string_view::npos || eq == 0) {
        return UsageError(fmt::format("--metadata '{}' is not key=value[,key=value]", RedactAfterKey(pair)));
      }
      out[std::string(pair.substr(0, eq))] = std::string(pair.substr(eq + 1));
    }
  }
  auto normal = storage::NormalizeMetadata(out);
  if (!normal) return UsageError(fmt::format("--metadata: {}", normal.error().message()));
  return *normal;
}

// The last segment of a key or path ("a/b/c.bin" → "c.bin").
std::string BaseName(std::string_view name) {
  while (!name.empty() && name.back() == '/') name.remove_suffix(1);
  const size_t slash = name.rfind('/');
  return std::string(slash == std::string_view::npos ? name : name.substr(slash + 1));
}

// ---- one object ----

Status CopyOne(Session& session, Transfers& transfers, const Location& src, const Location& dst) {
  Job job;
  if (src.is_s3() && (src.key.empty() || src.key.back() == '/')) {
    return UsageError(fmt::format("{} is not an object: give a key, or add --recursive", src.Uri()));
  }
  if (!src.is_s3()) {  // upload (a directory: Upload says "add --recursive")
    std::string key = dst.key;
    if (key.empty() || key.back() == '/') {
      if (src.kind == Location::Kind::kStdio) return UsageError(fmt::format("uploading stdin needs a key: {}<key>", dst.Uri()));
      key += BaseName(src.path);
    }
    job = transfers.Upload(src.kind == Location::Kind::kStdio ? "-" : src.path, dst.bucket, key);
  } else if (!dst.is_s3()) {  // download
    std::string path = dst.kind == Location::Kind::kStdio ? "-" : dst.path;
    if (path != "-" && (path.back() == '/' || IsDirectory(path))) path = (fs::path(path) / BaseName(src.key)).string();
    job = transfers.Download(src.bucket, src.key, path);
  } else {  // server-side copy
    std::string key = dst.key;
    if (key.empty() || key.back() == '/') key += BaseName(src.key);
    job = transfers.Copy({src.bucket, src.key}, {dst.bucket, key});
  }
  bool given = false;
  return session.RunJobs(
      [&]() -> Result<std::optional<Job>> {
        if (given) return std::optional<Job>();
        given = true;
        return std::optional<Job>(job);
      },
      {.concurrency = 1});
}

// ---- --recursive ----

Status UploadTree(Session& session, Transfers& transfers, const Location& src, const Location& dst, int concurrency) {
  if (!IsDirectory(src.path)) return UsageError(fmt::format("--recursive: {} is not a directory", src.path));
  const std::string prefix = AsDirectoryPrefix(dst.key);
  LocalWalk walk(src.path);
  return session.RunJobs(
      [&]() -> Result<std::optional<Job>> {
        ESPER_ASSIGN_OR_RETURN(std::optional<LocalWalk::File> f, walk.Next());
        if (!f) return std::optional<Job>();
        return std::optional<Job>(transfers.Upload(f->path, dst.bucket, prefix + f->rel, f->size));
      },
      {.concurrency = concurrency});
}

Status DownloadTree(Session& session, Transfers& transfers, const Location& src, const Location& dst, int concurrency) {
  return FromPrefix(session, src, concurrency, [&](const PrefixWalk::Object& o) -> std::optional<Job> {
    if (o.folder_marker()) return std::nullopt;  // nothing to write
    return DownloadInto(transfers, src, o.info, o.rel, dst.path);
  });
}

Status CopyTree(Session& session, Transfers& transfers, const Location& src, const Location& dst, int concurrency) {
  const std::string prefix = AsDirectoryPrefix(dst.key);
  return FromPrefix(session, src, concurrency, [&](const PrefixWalk::Object& o) -> std::optional<Job> {
    return transfers.Copy({src.bucket, o.info.key}, {dst.bucket, prefix + o.rel}, o.info.size);
  });
}

Status Run(const Flags& f, bool move) {
  ESPER_ASSIGN_OR_RETURN(Location src, ParseLocation(f.src));
  ESPER_ASSIGN_OR_RETURN(Location dst, ParseLocation(f.dst));
  const std::string_view verb = move ? "mv" : "cp";
  if (!src.is_s3() && !dst.is_s3()) {
    return UsageError(fmt::format("esper s3 {}: SRC or DST must be an s3:// URI (local to local is not a transfer)", verb));
  }
  if (f.recursive && (src.kind == Location::Kind::kStdio || dst.kind == Location::Kind::kStdio)) {
    return UsageError(fmt::format("esper s3 {} --recursive: '-' (stdin / stdout) is one stream, not a directory", verb));
  }
  if (move && (src.kind == Location::Kind::kStdio || dst.kind == Location::Kind::kStdio)) {
    return UsageError("esper s3 mv: '-' cannot be moved; use cp");
  }
  if (src.is_s3() && dst.is_s3() && src.bucket == dst.bucket && src.key == dst.key && move) {
    return UsageError(fmt::format("esper s3 mv: {} onto itself", src.Uri()));
  }
  TransferSettings settings{.content_type = f.content_type, .guess_content_type = !f.no_guess, .move = move,
                            .quiet = f.quiet};
  if (!f.metadata.empty()) {
    ESPER_ASSIGN_OR_RETURN(settings.metadata, ParseMetadata(f.metadata));
    settings.metadata_given = true;
  }
  if (!f.content_type.empty()) {
    if (Status ct = storage::ValidateContentType(f.content_type); !ct) {
      return UsageError(fmt::format("--content-type: {}", ct.error().message()));
    }
  }
  if (f.expected_size > 0) settings.expected_size = f.expected_size;

  ESPER_ASSIGN_OR_RETURN(std::unique_ptr<Session> session, Session::Open(f.common));
  ESPER_ASSIGN_OR_RETURN(auto metrics_server, StartMetricsListen(f.metrics_listen));
  Progress progress(Progress::StyleFor(f.common.verbose, f.quiet));
  Transfers transfers(*session, progress, std::move(settings));
  if (!f.recursive) return CopyOne(*session, transfers, src, dst);
  if (!src.is_s3()) return UploadTree(*session, transfers, src, dst, f.concurrency);
  if (!dst.is_s3()) return DownloadTree(*session, transfers, src, dst, f.concurrency);
  return CopyTree(*session, transfers, src, dst, f.concurrency);
}

}  // namespace

Runner SetupCp(CLI::App& cmd, bool move) {
  auto f = std::make_shared<Flags>();
  cmd.description(move ? "Move: copy as cp does, then remove each source once its copy is complete"
                       : "Copy local → s3, s3 → local or s3 → s3 (server-side); '-' is stdin / stdout");
  cmd.add_option("src", f->src, "Local path, s3://bucket/key, or - (stdin)")->required();
  cmd.add_option("dst", f->dst, "Local path, s3://bucket/key, or - (stdout); ending in / : the source's name inside")
      ->required();
  cmd.add_flag("--recursive,-r", f->recursive, "SRC is a directory or a prefix: everything under it");
  cmd.add_option("--content-type", f->content_type, "Content type of the copy (default: guessed from the file name)");
  cmd.add_option("--metadata", f->metadata, "User metadata key=value[,key=value] (replaces a copy's)");
  cmd.add_flag("--no-guess-mime-type", f->no_guess, "Do not guess the content type from the file name");
  cmd.add_option("--expected-size", f->expected_size,
                 "Bytes stdin will deliver (fits the parts to it; without it they grow as stdin goes on)")
      ->check(CLI::Range(uint64_t{1}, uint64_t{5} << 40));
  cmd.add_flag("--quiet,-q", f->quiet, "No 'upload: … to …' lines and no progress");
  AddTransferFlags(cmd, f->concurrency, f->metrics_listen, f->common);
  AddCommonFlags(cmd, f->common);
  return [f, move]() -> Status { return Run(*f, move); };
}

}  // namespace esper::cli::s3cmd
