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

struct Flags {
  CommonFlags common;
  std::string uri;
  bool force = false;
};

Result<Location> BucketOnly(const std::string& uri, std::string_view command) {
  ESPER_ASSIGN_OR_RETURN(Location loc, ParseS3Location(uri, command));
  if (!loc.key.empty()) {
    return UsageError(fmt::format("esper s3 {} takes a bucket, s3://{}, not an object's key", command, loc.bucket));
  }
  return loc;
}

}  // namespace

Runner SetupMb(CLI::App& cmd) {
  auto f = std::make_shared<Flags>();
  cmd.description("Make a bucket");
  cmd.add_option("uri", f->uri, "s3://bucket")->required();
  AddCommonFlags(cmd, f->common);
  return [f]() -> Status {
    ESPER_ASSIGN_OR_RETURN(Location loc, BucketOnly(f->uri, "mb"));
    ESPER_ASSIGN_OR_RETURN(std::unique_ptr<Session> session, Session::Open(f->common));
    Status st = session->Call(&storage::ObjectStore::CreateBucketAsync, loc.bucket);
    if (!st) return session->Explain(st.error());
    Print("make_bucket: {}\n", loc.bucket);
    return OkStatus();
  };
}

Runner SetupRb(CLI::App& cmd) {
  auto f = std::make_shared<Flags>();
  cmd.description("Remove a bucket; --force removes its objects first");
  cmd.add_option("uri", f->uri, "s3://bucket")->required();
  cmd.add_flag("--force", f->force, "Delete every object in the bucket first");
  AddCommonFlags(cmd, f->common);
  return [f]() -> Status {
    ESPER_ASSIGN_OR_RETURN(Location loc, BucketOnly(f->uri, "rb"));
    ESPER_ASSIGN_OR_RETURN(std::unique_ptr<Session> session, Session::Open(f->common));
    if (f->force) ESPER_RETURN_IF_ERROR(DeleteUnder(*session, loc.bucket, "", false));
    Status st = session->Call(&storage::ObjectStore::DeleteBucketAsync, loc.bucket);
    if (!st) return session->Explain(st.error());
    Print("remove_bucket: {}\n", loc.bucket);
    return OkStatus();
  };
}

}  // namespace esper::cli::s3cmd
