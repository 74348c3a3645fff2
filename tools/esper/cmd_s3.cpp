// esper s3 ls|cp|mv|rm|stat|mb|rb|presign|health|sync|uploads|abort-uploads — object storage from a shell, shaped like
// `aws s3`, on any ObjectStore: S3 (and MinIO and other S3-compatible servers) through S3Store,
// or a local directory through LocalStore (--endpoint-url file:///DIR). Each subcommand lives in
// tools/esper/s3/ (subcommands.h); what they share — the flags, the store, waiting that Ctrl-C
// ends — is s3/session.h.
#include "commands.h"
#include "s3/subcommands.h"

namespace esper::cli {

Runner SetupS3(CLI::App& cmd) {
  using namespace s3cmd;
  struct Sub {
    const char* name;
    const char* summary;
    std::function<Runner(CLI::App&)> setup;
  };
  const Sub subs[] = {
      {"ls", "List buckets, or objects and prefixes under s3://bucket[/prefix]", SetupLs},
      {"cp", "Copy a file, stdin or an object to a file, stdout or an object", [](CLI::App& c) { return SetupCp(c, false); }},
      {"mv", "Move: copy, then remove the source", [](CLI::App& c) { return SetupCp(c, true); }},
      {"rm", "Remove an object, or everything under a prefix", SetupRm},
      {"stat", "Describe an object: size, ETag, last-modified, content type, metadata", SetupStat},
      {"mb", "Make a bucket", SetupMb},
      {"rb", "Remove a bucket (--force: and its objects)", SetupRb},
      {"presign", "Print a presigned URL for an object", SetupPresign},
      {"health", "Check that the store answers", SetupHealth},
      {"sync", "Make a directory or prefix hold what another holds (only what differs)", SetupSync},
      {"uploads", "List incomplete multipart uploads under s3://bucket[/prefix]", SetupUploads},
      {"abort-uploads", "Abort incomplete multipart uploads (--older-than DUR)", SetupAbortUploads},
  };
  cmd.require_subcommand(1);
  auto selected = std::make_shared<Runner>();
  for (const Sub& s : subs) {
    CLI::App* sub = cmd.add_subcommand(s.name, s.summary);
    Runner run = s.setup(*sub);
    sub->callback([selected, run] { *selected = run; });
  }
  return [selected]() -> Status {
    if (!*selected) return UsageError("esper s3: choose ls, cp, mv, rm, stat, mb, rb, presign, health, sync, uploads or abort-uploads");
    return (*selected)();
  };
}

}  // namespace esper::cli
