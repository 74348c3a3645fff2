// esper s3 rm s3://bucket/key [--recursive] [--quiet]
//
// As `aws s3 rm`: removes one object ("delete: s3://b/k"), or with --recursive every object
// under the prefix "key/" (the whole bucket for s3://bucket), one DeleteObjects request per
// listing page of up to 1,000 keys, each key's outcome said. Removing a key that does not exist
// succeeds, as in S3.
#include <fmt/format.h>

#include <memory>

#include "output.h"
#include "s3/location.h"
#include "s3/session.h"
#include "s3/subcommands.h"

namespace esper::cli::s3cmd {
namespace {

struct Flags : UriFlags {
  bool recursive = false;
  bool quiet = false;
};

}  // namespace

Job DeleteKeys(Session& session, std::string bucket, std::vector<std::string> keys, bool quiet) {
  return [&session, bucket = std::move(bucket), quiet, keys = std::move(keys)](std::function<void(Status)> done) -> Status {
    return session.store().DeleteManyAsync(
        bucket, keys, [bucket, quiet, done](Result<std::vector<storage::DeleteResult>> r) {
          if (!r) {
            done(r.error());
            return;
          }
          size_t failed = 0;
          std::optional<Error> first;
          for (const storage::DeleteResult& d : *r) {
            if (d.status) {
              if (!quiet) Print("delete: {}\n", S3Uri(bucket, d.key));
            } else {
              if (!first) first = d.status.error();
              ++failed;
              PrintErr("esper: error: delete {}: {}\n", S3Uri(bucket, d.key), d.status.error());
            }
          }
          if (failed == 0) {
            done(OkStatus());
          } else {
            done(Error(first->code(), fmt::format("could not delete {} of {} keys", failed, r->size())));
          }
        });
  };
}

Status DeleteUnder(Session& session, const std::string& bucket, const std::string& prefix, bool quiet) {
  storage::Lister lister = session.store().ListPages(bucket, {.prefix = prefix});
  return session.RunJobs(
      [&]() -> Result<std::optional<Job>> {
        ESPER_ASSIGN_OR_RETURN(std::optional<storage::ListPage> page, session.NextPage(lister));
        if (!page || page->objects.empty()) return std::optional<Job>();
        std::vector<std::string> keys;
        keys.reserve(page->objects.size());
        for (auto& o : page->objects) keys.push_back(std::move(o.key));
        return std::optional<Job>(DeleteKeys(session, bucket, std::move(keys), quiet));
      },
      {.concurrency = kDeleteConcurrency, .what = "delete requests"});
}

Runner SetupRm(CLI::App& cmd) {
  auto f = std::make_shared<Flags>();
  cmd.description("Remove an object, or with --recursive everything under a prefix (as aws s3 rm)");
  cmd.add_flag("--recursive,-r", f->recursive, "Every object under the prefix key/ (the whole bucket for s3://bucket)");
  cmd.add_flag("--quiet,-q", f->quiet, "No 'delete: …' lines");
  AddUriFlags(cmd, *f, "s3://bucket/key (with --recursive: s3://bucket[/prefix])");
  return [f]() -> Status {
    ESPER_ASSIGN_OR_RETURN(Location loc, ParseS3Location(f->uri, "rm"));
    if (!f->recursive && (loc.key.empty() || loc.key.back() == '/')) {
      return UsageError(fmt::format("esper s3 rm {}: not an object; add --recursive to remove everything under it",
                                    loc.Uri()));
    }
    ESPER_ASSIGN_OR_RETURN(std::unique_ptr<Session> session, Session::Open(f->common));
    if (f->recursive) return DeleteUnder(*session, loc.bucket, AsDirectoryPrefix(loc.key), f->quiet);
    ESPER_RETURN_IF_ERROR(session->Call(&storage::ObjectStore::DeleteAsync, loc.bucket, loc.key));
    if (!f->quiet) Print("delete: {}\n", loc.Uri());
    return OkStatus();
  };
}

}  // namespace esper::cli::s3cmd
