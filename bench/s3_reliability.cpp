// esper bench s3 — reliability: issue 20's stress workload (testing/stress/s3_stress.h, the one
// tests/stress/s3 asserts on) against fauxqs 1.9.2 and s3rver 4.0.4 through the fault proxy at
// 5.5 % faults per request: the success rate (the seed's target: 99.9 %), objects corrupted (a
// success that was not what the server holds, or bytes through the proxy that were not the
// object's) and uploads orphaned (created, in the proxy's request log, and neither completed nor
// aborted nor reported by the store) — each judged by a witness that is not the client: the
// server read back directly, the proxy's log. No peer: awscli and rclone have no library call to
// run such a workload on.
#include <fmt/format.h>
#include <unistd.h>

#include <filesystem>

#include "frame.h"
#include "s3_transfers.h"
#include "testing/stress/s3_stress.h"

namespace esper::bench {

Status RunS3Reliability(Context& ctx) {
  for (const auto kind : {testing::S3ServerKind::kFauxqs, testing::S3ServerKind::kS3rver4}) {
    testing::S3StressOptions o{.kind = kind};
    if (ctx.quick()) {
      o.keys = 300;
      o.rounds = 1;
      o.big_files = 2;
    }
    o.dir = fmt::format("{}/esper-bench-s3-stress-{}", std::filesystem::temp_directory_path().string(), ::getpid());
    const std::string server = testing::S3ServerName(kind);
    ctx.Progress(fmt::format("s3: stress on {}: {} keys x {} rounds through 5.5 % faults", server, o.keys, o.rounds));
    auto run = testing::RunS3Stress(o);
    const std::string case_name = fmt::format("stress through faults, {}", server);
    if (!run) {
      ctx.Add(Row{.part = "s3", .metric = "success rate", .case_name = case_name, .unit = "%",
                  .note = "not measured: " + run.error().ToString()});
      continue;
    }
    const testing::S3StressReport& r = *run;
    const std::string what = fmt::format(
        "{} operations ({} keys x {} rounds of PUT, GET, HEAD, LIST, DELETE at {}+ in flight; {} files of 12 MiB up "
        "in parts and down in ranges) on one S3Store through the fault proxy: {} requests,{}; {} failed after their "
        "retries ({} retries in all), {} read back from the server, {} indeterminate (last write or delete failed); "
        "{:.1f} s",
        r.operations, o.keys, o.rounds, r.peak_in_flight, o.big_files, r.requests, r.faults, r.failed, r.retries,
        r.checked, r.indeterminate, r.seconds);
    ctx.Add(Row{.part = "s3", .metric = "success rate", .case_name = case_name, .unit = "%", .value = r.success_pct,
                .lower_is_better = false, .target = ">= 99.9 % (seed)", .pass = r.success_pct >= 99.9, .note = what});
    const uint64_t corrupted = r.corrupted + r.lost + r.not_deleted + r.wrong_bytes + r.wrong_size + r.resurrected +
                               static_cast<uint64_t>(r.big_down_wrong);
    ctx.Add(Row{.part = "s3", .metric = "corrupted objects", .case_name = case_name, .unit = "",
                .value = static_cast<double>(corrupted), .target = "0 (issue 20)", .pass = corrupted == 0,
                .note = fmt::format("a success whose object the server does not hold as written ({} corrupted, {} lost, "
                                    "{} not deleted), or wrong bytes or size returned as data ({} / {}); {} bodies "
                                    "were corrupted on the way by the proxy",
                                    r.corrupted, r.lost, r.not_deleted, r.wrong_bytes + r.big_down_wrong, r.wrong_size,
                                    r.corrupted_puts + r.corrupted_gets + r.corrupted_lists)});
    ctx.Add(Row{.part = "s3", .metric = "orphaned uploads", .case_name = case_name, .unit = "",
                .value = static_cast<double>(r.orphans()), .target = "0 (issue 20)", .pass = r.orphans() == 0,
                .note = fmt::format("from the proxy's request log: {} uploads created, {} completed, {} aborted, {} "
                                    "aborts refused by the server; {} whose create answer the client never got, on {} "
                                    "keys, {} reported by the store (the servers cannot list uploads to sweep them)",
                                    r.uploads_created, r.completed, r.aborted, r.abort_refused, r.orphaned_unseen,
                                    r.unseen_keys, r.possibly_orphaned)});
  }
  return OkStatus();
}

}  // namespace esper::bench
