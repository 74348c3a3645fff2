// Issue 20's S3 stress workload, run by its test (tests/stress/s3, which asserts on the report)
// and by `esper bench s3` (which reports it): thousands of concurrent operations on one S3Store —
// PUT, GET, HEAD, LIST, DELETE of small objects, then multipart uploads and ranged downloads of
// 12 MiB files — through the fault proxy at 5.5 % faults per request (resets before and after the
// server acted, stalls, 503 SlowDown with Retry-After, truncated and corrupted bodies), against
// fauxqs 1.9.2 or s3rver 4.0.4 on 127.0.0.1.
//
// What it measures, each by a witness that is not the client's own word:
//   * every operation that reported success happened: after the run every key is read back
//     straight from the server (no proxy) — a key whose last write succeeded holds exactly those
//     bytes, a key whose delete succeeded is gone. Keys whose last write or delete failed are
//     indeterminate (the server may or may not have acted) and are counted, not checked.
//   * no corrupted byte is ever returned as data: every successful GET through the proxy equals
//     what was written; listings name only keys that were written (a listing body corrupted on
//     the way is the one thing plain HTTP cannot catch: each such key must be explained by a
//     corrupted LIST response in the proxy's request log).
//   * every failure is a clear error after its retry budget: a code, and a message naming the
//     operation and s3://bucket/key.
//   * the proxy's request log has one line per request it decided on, and every multipart upload
//     it saw created is completed or aborted (or its abort refused, by s3rver, which answers 405).
//     An upload whose create answer never reached the client whole is one the store sweeps
//     (ListMultipartUploads, then AbortMultipartUpload: s3_store.h, "A lost CreateMultipartUpload
//     answer"); neither server lists uploads, so here the store must report each such key
//     instead (PerformanceStats::possibly_orphaned_uploads).
//   * memory: RSS sampled every 50 ms.
//
// Blocking: RunS3Stress takes about a minute per server in release (the options scale it). Not
// thread-safe to run two at once in one directory. Errors: only when the rig cannot be set up
// (server, proxy, store); everything the workload finds is in the report.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "esper/core/result.h"
#include "testing/s3_test_server.h"

namespace esper::testing {

struct S3StressOptions {
  S3ServerKind kind = S3ServerKind::kFauxqs;
  int keys = 1500;    // small objects: operations of each wave in flight at once
  int rounds = 2;     // PUT / GET+HEAD+LIST / DELETE+GET / HEAD waves per round
  int big_files = 6;  // 12 MiB files up in parts and down in ranges, all at once
  std::chrono::seconds stall_limit{3};  // the http client's stall detection
  std::string dir;    // scratch (the request log, the big files); made and removed
};

struct S3StressReport {
  std::string server;
  double seconds = 0;
  int peak_in_flight = 0;
  uint64_t operations = 0, failed = 0, retries = 0;
  double success_pct = 0;
  std::vector<std::string> failures_by;  // "[OP Code]=n"
  std::vector<std::string> examples;     // the first failures and listing anomalies
  // The proxy.
  uint64_t requests = 0, log_lines = 0, faulted = 0, corruptions = 0;
  std::string faults;  // " none=… reset=…"
  uint64_t corrupted_puts = 0, corrupted_gets = 0, corrupted_lists = 0;
  // Read back from the server, and what came back through the proxy.
  uint64_t checked = 0, indeterminate = 0, corrupted = 0, lost = 0, not_deleted = 0;
  uint64_t wrong_bytes = 0, wrong_size = 0, resurrected = 0, unclear_errors = 0;
  uint64_t listing_unknown = 0, listing_missing = 0, bad_listings = 0;
  std::vector<std::string> problems;  // each lost, corrupted or wrong key, named
  // Multipart.
  int big_files = 0, big_checked = 0, big_down_ok = 0, big_down_wrong = 0;
  uint64_t uploads_created = 0, completed = 0, aborted = 0, abort_refused = 0;
  uint64_t orphaned = 0;           // created, the client knew of it, never completed nor aborted
  uint64_t orphaned_unseen = 0;    // open, its create answer never reached the client whole
  uint64_t unseen_keys = 0;        // keys of those
  uint64_t possibly_orphaned = 0;  // what the store reported it could not sweep
  std::vector<std::string> open_uploads;  // "id: its create's fault"
  // Memory.
  uint64_t rss_start = 0, rss_peak = 0;

  /// Uploads left behind that nobody accounted for: the client knew of them, or the store did
  /// not report their key.
  uint64_t orphans() const { return orphaned + (unseen_keys > possibly_orphaned ? unseen_keys - possibly_orphaned : 0); }
  /// Everything above, as lines.
  std::string Summary() const;
};

Result<S3StressReport> RunS3Stress(const S3StressOptions& options);

}  // namespace esper::testing
