// esper s3 presign s3://bucket/key [--expires-in SECONDS] [--method GET|PUT|HEAD|DELETE]
//                  [--content-type T]
//
// As `aws s3 presign`: a query-signed URL (SigV4) that anyone may use until it expires, printed
// on stdout — the one place the CLI prints a signature, because it is what was asked for. Nothing
// of it reaches stderr, with -v either. A PUT URL with --content-type must be used with exactly
// that Content-Type header (it is signed). S3 only: a file:// store has no URLs.
#include <fmt/format.h>

#include <memory>

#include "esper/s3/s3_store.h"
#include "output.h"
#include "s3/location.h"
#include "s3/session.h"
#include "s3/subcommands.h"

namespace esper::cli::s3cmd {

Runner SetupPresign(CLI::App& cmd) {
  struct Flags : UriFlags {
    int64_t expires_in = 3600;
    std::string method = "GET";
    std::string content_type;
  };
  auto f = std::make_shared<Flags>();
  cmd.description("Print a presigned URL for an object (valid up to 7 days)");
  cmd.add_option("--expires-in", f->expires_in, "Seconds the URL is valid: 1 to 604800 (7 days)")
      ->check(CLI::Range(int64_t{1}, int64_t{604800}))
      ->default_str("3600");
  cmd.add_option("--method", f->method, "What the URL allows: GET (download), PUT (upload), HEAD, DELETE")
      ->transform(CLI::IsMember({"GET", "PUT", "HEAD", "DELETE"}, CLI::ignore_case))
      ->default_str("GET");
  cmd.add_option("--content-type", f->content_type, "PUT: the Content-Type the uploader must send (signed)");
  AddUriFlags(cmd, *f, "s3://bucket/key");
  return [f]() -> Status {
    ESPER_ASSIGN_OR_RETURN(Location loc, ParseS3Object(f->uri, "presign"));
    auto method = http::ParseMethod(f->method);
    if (!method) return UsageError(method.error().message());
    if (!f->content_type.empty() && *method != http::Method::kPut) {
      return UsageError("--content-type is for --method PUT");
    }
    ESPER_ASSIGN_OR_RETURN(std::unique_ptr<Session> session, Session::Open(f->common));
    if (session->s3_store() == nullptr) {
      return UsageError(fmt::format("esper s3 presign needs an S3 endpoint; {} is a local directory", session->endpoint()));
    }
    s3::PresignRequest request{.method = *method, .bucket = loc.bucket, .key = loc.key,
                               .expires = std::chrono::seconds(f->expires_in)};
    if (!f->content_type.empty()) request.headers.emplace_back("Content-Type", f->content_type);
    auto url = session->s3_store()->Presign(request);
    if (!url) return session->Explain(url.error());
    Print("{}\n", *url);
    return OkStatus();
  };
}

}  // namespace esper::cli::s3cmd
