// esper s3 health [s3://bucket]
//
// The seed's health_check(): one request without retries — a HEAD of the bucket, or ListBuckets —
// within --read-timeout. Prints "status: healthy" (or "unhealthy: why"), the endpoint, region,
// latency and the breaker's state; exits 0 when healthy, 1 otherwise. For a file:// store: the
// same question of the directory (the bucket's listing, or the list of buckets).
#include <fmt/format.h>

#include <memory>

#include "esper/s3/s3_store.h"
#include "output.h"
#include "s3/location.h"
#include "s3/session.h"
#include "s3/subcommands.h"

namespace esper::cli::s3cmd {
namespace {

void Report(std::string_view status, std::string_view endpoint, std::string_view region,
            std::chrono::nanoseconds latency, std::string_view breaker) {
  Print("status: {}\nendpoint: {}\n", TerminalSafe(status), endpoint);
  if (!region.empty()) Print("region: {}\n", region);
  Print("latency_ms: {:.1f}\n", std::chrono::duration<double, std::milli>(latency).count());
  if (!breaker.empty()) Print("breaker: {}\n", breaker);
}

}  // namespace

Runner SetupHealth(CLI::App& cmd) {
  auto f = std::make_shared<UriFlags>();
  cmd.description("Check that the store answers: one request, no retries; exit 0 when healthy");
  AddUriFlags(cmd, *f, "s3://bucket to check (default: list the buckets)", false);
  return [f]() -> Status {
    std::string bucket;
    if (!f->uri.empty()) {
      ESPER_ASSIGN_OR_RETURN(Location loc, ParseS3Location(f->uri, "health"));
      bucket = loc.bucket;
    }
    ESPER_ASSIGN_OR_RETURN(std::unique_ptr<Session> session, Session::Open(f->common));
    if (s3::S3Store* s3 = session->s3_store()) {
      const auto timeout = std::chrono::milliseconds(static_cast<int64_t>(f->common.read_timeout_s * 1000) + 1);
      auto report = s3->health_check(bucket, timeout);  // blocking; Ctrl-C: the watcher ends it
      if (!report) return session->Explain(report.error());
      Report(report->status, report->endpoint, report->region, report->latency, report->breaker_state);
      if (!report->healthy) return Error::Unavailable(fmt::format("{} is not healthy", report->endpoint));
      return OkStatus();
    }
    const auto start = std::chrono::steady_clock::now();
    Status st = OkStatus();
    if (bucket.empty()) {
      if (auto r = session->Call(&storage::ObjectStore::ListBucketsAsync); !r) st = r.error();
    } else {
      if (auto r = session->Call(&storage::ObjectStore::ListAsync, bucket, storage::ListOptions{.page_size = 1}); !r) {
        st = r.error();
      }
    }
    if (session->interrupted()) return Error::Cancelled("interrupted");
    Report(st ? "healthy" : "unhealthy: " + st.error().ToString(), session->endpoint(), "",
           std::chrono::steady_clock::now() - start, "");
    if (!st) return Error::Unavailable(fmt::format("{} is not healthy", session->endpoint()));
    return OkStatus();
  };
}

}  // namespace esper::cli::s3cmd
