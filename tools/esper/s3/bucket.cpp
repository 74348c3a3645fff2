// esper s3 mb s3://bucket · esper s3 rb s3://bucket [--force]
//
// As `aws s3 mb` / `rb`: create a bucket ("make_bucket: b"), remove an empty one
// ("remove_bucket: b"); --force removes every object in it first. Removing a bucket that still
// holds objects without --force fails with BucketNotEmpty.
#include <fmt/format.h>

#include <memory>

#include "output.h"
#include "s3/location.h"
#include "s3/session.h"
#include "s3/subcommands.h"

namespace esper::cli::s3cmd {
namespace {

struct Flags : UriFlags {
  bool force = false;
};

}  // namespace

Runner SetupMb(CLI::App& cmd) {
  auto f = std::make_shared<Flags>();
  cmd.description("Make a bucket");
  AddUriFlags(cmd, *f, "s3://bucket");
  return [f]() -> Status {
    ESPER_ASSIGN_OR_RETURN(Location loc, ParseS3Bucket(f->uri, "mb"));
    ESPER_ASSIGN_OR_RETURN(std::unique_ptr<Session> session, Session::Open(f->common));
    ESPER_RETURN_IF_ERROR(session->Call(&storage::ObjectStore::CreateBucketAsync, loc.bucket));
    Print("make_bucket: {}\n", loc.bucket);
    return OkStatus();
  };
}

Runner SetupRb(CLI::App& cmd) {
  auto f = std::make_shared<Flags>();
  cmd.description("Remove a bucket; --force removes its objects first");
  cmd.add_flag("--force", f->force, "Delete every object in the bucket first");
  AddUriFlags(cmd, *f, "s3://bucket");
  return [f]() -> Status {
    ESPER_ASSIGN_OR_RETURN(Location loc, ParseS3Bucket(f->uri, "rb"));
    ESPER_ASSIGN_OR_RETURN(std::unique_ptr<Session> session, Session::Open(f->common));
    if (f->force) ESPER_RETURN_IF_ERROR(DeleteUnder(*session, loc.bucket, "", false));
    ESPER_RETURN_IF_ERROR(session->Call(&storage::ObjectStore::DeleteBucketAsync, loc.bucket));
    Print("remove_bucket: {}\n", loc.bucket);
    return OkStatus();
  };
}

}  // namespace esper::cli::s3cmd
