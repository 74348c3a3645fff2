// esper s3 stat s3://bucket/key
//
// One object's description (a HEAD): key, size, ETag, last-modified (UTC), content type and each
// user metadata entry, one "name: value" line each, for people and for `grep` / `cut`.
#include <fmt/chrono.h>
#include <fmt/format.h>

#include <memory>

#include "output.h"
#include "s3/location.h"
#include "s3/session.h"
#include "s3/subcommands.h"

namespace esper::cli::s3cmd {

Runner SetupStat(CLI::App& cmd) {
  auto f = std::make_shared<UriFlags>();
  cmd.description("Describe an object: size, ETag, last-modified, content type, metadata");
  AddUriFlags(cmd, *f, "s3://bucket/key");
  return [f]() -> Status {
    ESPER_ASSIGN_OR_RETURN(Location loc, ParseS3Object(f->uri, "stat"));
    ESPER_ASSIGN_OR_RETURN(std::unique_ptr<Session> session, Session::Open(f->common));
    ESPER_ASSIGN_OR_RETURN(storage::ObjectInfo info, session->Call(&storage::ObjectStore::StatAsync, loc.bucket, loc.key));
    const auto modified = std::chrono::floor<std::chrono::seconds>(info.last_modified);
    Print("key: {}\nsize: {}\netag: {}\nlast-modified: {:%Y-%m-%dT%H:%M:%SZ}\ncontent-type: {}\n", info.key,
          info.size, info.etag, modified, info.content_type);
    for (const auto& [name, value] : info.metadata) Print("metadata.{}: {}\n", name, value);
    return OkStatus();
  };
}

}  // namespace esper::cli::s3cmd
