// esper s3 ls [s3://bucket[/prefix]] [--recursive] [--human-readable] [--summarize]
//
// As `aws s3 ls`: without an argument the buckets ("2024-05-01 12:00:00 name"); with one, the
// objects ("2024-05-01 12:00:00       1234 key") and, unless --recursive, the common prefixes of
// the next level ("                           PRE dir/"), names relative to the prefix's
// directory. Pages are fetched one at a time as they are printed: a million keys never sit in
// memory. A prefix that matches nothing exits 1, as aws does (an empty bucket is fine).
#include <fmt/format.h>

#include <ctime>
#include <memory>

#include "output.h"
#include "s3/location.h"
#include "s3/progress.h"
#include "s3/session.h"
#include "s3/subcommands.h"

namespace esper::cli::s3cmd {
namespace {

struct Flags : UriFlags {
  bool recursive = false;
  bool human = false;
  bool summarize = false;
  int page_size = storage::kMaxListPageSize;
};

// "2024-05-01 12:00:00", local time as aws prints it.
std::string Date(std::chrono::system_clock::time_point t) {
  const std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  localtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

// aws's --human-readable: "6 Bytes", "1.5 KiB".
std::string Size(uint64_t n, bool human) {
  if (!human) return std::to_string(n);
  if (n < 1024) return fmt::format("{} Bytes", n);
  return Progress::HumanBytes(n);
}

Status ListBuckets(Session& session) {
  ESPER_ASSIGN_OR_RETURN(std::vector<storage::BucketInfo> buckets, session.Call(&storage::ObjectStore::ListBucketsAsync));
  for (const auto& b : buckets) Print("{} {}\n", Date(b.creation_date), b.name);
  return OkStatus();
}

Status ListObjects(Session& session, const Flags& f, const Location& loc) {
  storage::ListOptions options{.prefix = loc.key, .delimiter = f.recursive ? "" : "/", .page_size = f.page_size};
  // Non-recursive names are relative to the prefix's directory, as aws shows them.
  const size_t cut = f.recursive ? 0 : loc.key.rfind('/') + 1;  // npos + 1 == 0
  storage::Lister lister = session.store().ListPages(loc.bucket, options);
  uint64_t objects = 0, bytes = 0, prefixes = 0;
  for (;;) {
    ESPER_ASSIGN_OR_RETURN(std::optional<storage::ListPage> page, session.NextPage(lister));
    if (!page) break;
    for (const std::string& p : page->common_prefixes) Print("{:>30} {}\n", "PRE", p.substr(cut));
    for (const storage::ObjectInfo& o : page->objects) {
      Print("{} {:>10} {}\n", Date(o.last_modified), Size(o.size, f.human), o.key.substr(cut));
      bytes += o.size;
    }
    objects += page->objects.size();
    prefixes += page->common_prefixes.size();
  }
  if (f.summarize) Print("\nTotal Objects: {}\n   Total Size: {}\n", objects, Size(bytes, f.human));
  if (objects == 0 && prefixes == 0 && !loc.key.empty()) {
    return Error::NotFound(fmt::format("no object or prefix matches {}", loc.Uri()));
  }
  return OkStatus();
}

}  // namespace

Runner SetupLs(CLI::App& cmd) {
  auto f = std::make_shared<Flags>();
  cmd.description("List buckets, or the objects and prefixes under s3://bucket[/prefix] (as aws s3 ls)");
  cmd.add_flag("--recursive,-r", f->recursive, "Every object under the prefix, not one level");
  cmd.add_flag("--human-readable", f->human, "Sizes in KiB, MiB, …");
  cmd.add_flag("--summarize", f->summarize, "The number of objects and their total size at the end");
  cmd.add_option("--page-size", f->page_size, "Keys asked for per request")->check(CLI::Range(1, 1000))->default_str("1000");
  AddUriFlags(cmd, *f, "s3://bucket[/prefix]; none: the buckets", false);
  return [f]() -> Status {
    std::optional<Location> loc;
    if (!f->uri.empty()) {
      ESPER_ASSIGN_OR_RETURN(loc, ParseS3Location(f->uri, "ls"));
    }
    ESPER_ASSIGN_OR_RETURN(std::unique_ptr<Session> session, Session::Open(f->common));
    return loc ? ListObjects(*session, *f, *loc) : ListBuckets(*session);
  };
}

}  // namespace esper::cli::s3cmd
