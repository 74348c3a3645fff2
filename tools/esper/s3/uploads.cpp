// esper s3 uploads s3://bucket[/prefix]
// esper s3 abort-uploads s3://bucket[/prefix] [--older-than DUR]
//
// Incomplete multipart uploads — what a crashed upload leaves behind (an interrupted or failed
// one is aborted by S3Store itself): `uploads` lists them, one "<initiated> <upload id> <uri>"
// line each; `abort-uploads` removes them (AbortMultipartUpload), those started more than DUR
// ago with --older-than ("1h", "30m", "7d"), saying "abort: <uri> (upload <id>)" per upload.
// Where the server cannot list them (s3rver: NotImplemented), its error is the answer. A local
// store (file://) has no multipart uploads: nothing to list.
#include <fmt/chrono.h>
#include <fmt/format.h>

#include <memory>

#include "config/convert.h"
#include "esper/s3/s3_store.h"
#include "output.h"
#include "s3/location.h"
#include "s3/session.h"
#include "s3/subcommands.h"

namespace esper::cli::s3cmd {
namespace {

struct Flags : UriFlags {
  std::string older_than;
};

// The uploads under the location, or an error; an empty list for a local store.
Result<std::vector<s3::MultipartUpload>> List(Session& session, const Location& loc) {
  s3::S3Store* store = session.s3_store();
  if (!store) return std::vector<s3::MultipartUpload>();
  auto list = store->ListUploads(loc.bucket, loc.key);
  if (!list) return session.Explain(list.error());
  return list;
}

std::string Initiated(const s3::MultipartUpload& u) {
  return fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", std::chrono::floor<std::chrono::seconds>(u.initiated));
}

}  // namespace

Runner SetupUploads(CLI::App& cmd) {
  auto f = std::make_shared<Flags>();
  cmd.description("List incomplete multipart uploads (ListMultipartUploads)");
  AddUriFlags(cmd, *f, "s3://bucket[/prefix]");
  return [f]() -> Status {
    ESPER_ASSIGN_OR_RETURN(Location loc, ParseS3Location(f->uri, "uploads"));
    ESPER_ASSIGN_OR_RETURN(std::unique_ptr<Session> session, Session::Open(f->common));
    ESPER_ASSIGN_OR_RETURN(std::vector<s3::MultipartUpload> uploads, List(*session, loc));
    for (const auto& u : uploads) Print("{} {} {}\n", Initiated(u), u.upload_id, S3Uri(loc.bucket, u.key));
    return OkStatus();
  };
}

Runner SetupAbortUploads(CLI::App& cmd) {
  auto f = std::make_shared<Flags>();
  cmd.description("Abort incomplete multipart uploads (AbortMultipartUpload), all or --older-than DUR");
  cmd.add_option("--older-than", f->older_than, "Only uploads started more than this long ago (30m, 1h, 7d)");
  AddUriFlags(cmd, *f, "s3://bucket[/prefix]");
  return [f]() -> Status {
    ESPER_ASSIGN_OR_RETURN(Location loc, ParseS3Location(f->uri, "abort-uploads"));
    std::chrono::milliseconds age{0};
    if (!f->older_than.empty()) {
      std::string why;
      if (!config::detail::ParseDuration(f->older_than, fmt::format("'{}'", f->older_than), &age, &why)) {
        return UsageError(fmt::format("esper s3 abort-uploads --older-than: {}", why));
      }
    }
    ESPER_ASSIGN_OR_RETURN(std::unique_ptr<Session> session, Session::Open(f->common));
    ESPER_ASSIGN_OR_RETURN(std::vector<s3::MultipartUpload> uploads, List(*session, loc));
    const auto cutoff = std::chrono::system_clock::now() - age;
    int failed = 0;
    std::optional<Error> first;
    for (const auto& u : uploads) {
      if (age.count() > 0 && u.initiated > cutoff) continue;
      if (Status st = session->s3_store()->AbortUpload(loc.bucket, u.key, u.upload_id); !st) {
        Error e = session->Explain(st.error());  // blocking, not through Await
        ++failed;
        PrintErr("esper: error: abort {} (upload {}): {}\n", S3Uri(loc.bucket, u.key), u.upload_id, e);
        if (!first) first = std::move(e);
        continue;
      }
      Print("abort: {} (upload {})\n", S3Uri(loc.bucket, u.key), u.upload_id);
    }
    if (failed > 0) return Error(first->code(), fmt::format("could not abort {} uploads", failed));
    return OkStatus();
  };
}

}  // namespace esper::cli::s3cmd
