// esper/s3/s3_store.h — ObjectStore over S3's REST API (AWS S3, MinIO and other S3-compatible
// servers), on one http::Client event loop: thousands of operations in flight, no thread each.
//
// S3Store implements every ObjectStore operation (esper/storage/object_store.h) with S3's own
// requests — PutObject, GetObject, HeadObject, ListObjectsV2, DeleteObject, DeleteObjects,
// CopyObject, CreateBucket, DeleteBucket, ListBuckets — with the same meaning as LocalStore, so
// the conformance suite (tests/integration/storage/) holds both to the same promises.
//
// Example:
//   auto store = esper::s3::S3Store::Create({.endpoint_url = "http://127.0.0.1:9000"});  // MinIO
//   if (!store) return store.error();
//   auto put = (*store)->Put("models", "resnet/v3.bin", PutBody::FromFile("/tmp/v3.bin"),
//                            {.metadata = {{"epoch", "40"}}});
//   auto url = (*store)->Presign({.bucket = "models", .key = "resnet/v3.bin",
//                                 .expires = std::chrono::hours(1)});       // for curl
//   auto stats = (*store)->get_performance_stats();
//   // Or the process-wide store from the environment and the config's `s3` section:
//   auto s3 = esper::s3::get_s3_client();
//
// Where requests go (settings.h): endpoint = options > AWS_ENDPOINT_URL_S3 > AWS_ENDPOINT_URL >
// S3_ENDPOINT_URL > the profile's endpoint_url > AWS; region = options > AWS_REGION >
// AWS_DEFAULT_REGION > the profile > us-east-1. Path-style URLs when an endpoint is given,
// virtual-hosted on AWS (uri.h). Keys go in the path exactly as S3 canonicalises them, "." and
// ".." segments and "a//b" included (the http client sends the path as is).
//
// Credentials (credentials.h): options.credentials > environment > profile > credential_process
// > web identity > container > IMDSv2, through a CredentialsCache that refreshes ahead of expiry
// on its own thread. Nothing is read and no network is touched until the first operation;
// the event loop never waits for credentials (an operation that has none parks until the cache
// has them).
//
// Each attempt is signed (SigV4) just before it is sent, with the time and credentials of that
// moment: a retry minutes later carries a fresh signature. Bodies are UNSIGNED-PAYLOAD, guarded
// by their signed Content-MD5 (options.unsigned_payload = false signs a memory body's SHA-256).
// A RequestTimeTooSkewed answer sets the store's clock offset from the
// server's Date and the request is retried once at once (also for a HEAD, whose 403 has no body:
// a Date more than 5 minutes off counts as skew).
//
// Retries (AWS standard mode): max_attempts (3 by default, AWS_MAX_ATTEMPTS) with full jitter
// and the http client's per-host retry budget, on 500/503 (InternalError, SlowDown with its
// Retry-After, ServiceUnavailable), 400 RequestTimeout, the throttling codes, connection
// failures, resets, truncated bodies and timeouts; never on NoSuchBucket, NoSuchKey,
// AccessDenied, InvalidAccessKeyId, SignatureDoesNotMatch, ExpiredToken (errors.h). A retried
// PUT sends its body again from the first byte (memory, file, and stream bodies with a rewind
// function; a stream without one is not retried once read). A circuit breaker per host (the
// endpoint in path style; each bucket's virtual host on AWS) fails requests at once while the
// host is down.
//
// Integrity:
//   * PUT: Content-MD5 on every PUT (content_md5), so a server that checks it refuses a body
//     corrupted on the way; and the ETag S3 returns is compared with the MD5 of what was sent —
//     a mismatch is DataLoss, retried (a stream body's MD5 is computed while it is sent, and it
//     gets no Content-MD5 header: S3 needs the header before the body). A file body up to
//     multipart_threshold is read once on the calling thread to compute its MD5 (and checksum),
//     before PutAsync returns (a larger one goes in parts: see Large objects).
//   * GET of a whole single-part object (its ETag a plain MD5, not a multipart "-N" ETag, not
//     encrypted with SSE-KMS / SSE-C): the bytes are hashed as they arrive and compared with the
//     ETag; a mismatch is DataLoss, retried — for a stream target too, whose whole-object gets
//     are received whole before the stream sees a byte (see Large objects). A get of a range to
//     a stream is handed over as it arrives, and once bytes were handed over it is not retried
//     (as ObjectStore says). A range must come back as the range asked for (a server that
//     answers bytes=-N with other bytes is an error, never wrong data). Large downloads: see
//     Large objects.
//   * Flexible checksums (checksum: CRC32C or CRC64NVME) are sent as x-amz-checksum-* on PUTs of
//     memory and file bodies when asked; off by default, as AWS_REQUEST_CHECKSUM_CALCULATION=
//     when_required, because many S3-compatible servers reject them.
//
// Large objects (store_upload.cpp, store_download.cpp):
//   * Upload: a file or a stream with a size larger than multipart_threshold (16 MiB) is sent as
//     a multipart upload — CreateMultipartUpload, then parts of part_size bytes (8 MiB; grown to
//     ceil(size / 10,000) rounded up to 1 MiB when the object would need more than S3's 10,000
//     parts), up to part_concurrency (4) of them in flight at once on the event loop, then
//     CompleteMultipartUpload (an error inside its 200 is that error). Each part is read with
//     pread (a stream: read in order) into a buffer of its own on the loop thread, hashed, sent
//     with Content-MD5, and its ETag compared with that MD5; retries resend the same buffer. The
//     object's "-N" ETag is compared with MD5(part MD5s)-N where the server computes it (a server
//     that answers another form is not checked). MEMORY: at most part_size × part_concurrency
//     bytes of part buffers per upload (32 MiB by default) — never the whole object;
//     PerformanceStats::part_buffer_bytes / peak_part_buffer_bytes count them.
//   * A failed upload (a part, the create or the complete failing after its retries) or a
//     cancelled one (TransferOptions::cancel, or the store's destruction) is aborted
//     (AbortMultipartUpload, sent without the cancelled token) before the callback runs; the
//     error names the part and says whether the abort succeeded, and the upload id when it did
//     not (ListUploads / AbortUpload remove it later, where the server supports them).
//   * A lost CreateMultipartUpload answer: CreateMultipartUpload is not idempotent, so an attempt
//     whose answer never arrived whole (a reset after the server acted, a cut or corrupted
//     answer, a timeout) may have created an upload nobody knows the id of, and the retry
//     creates another. aws-sdk-cpp's TransferManager, aws-c-s3 and rclone leave that one behind
//     (a bucket lifecycle rule, `rclone cleanup`, removes it later). S3Store sweeps it: after a
//     create that was sent more than once (a retry, or libcurl's own resend when the keep-alive
//     connection it reused died before the answer: http::Response::sends) or failed otherwise
//     than by the server's own refusal, before the callback runs — whether the upload completed, was aborted or never
//     started — it lists the key's incomplete uploads (ListMultipartUploads prefix=key, the first
//     page: 1,000 uploads) and aborts each one of exactly that key initiated within the window
//     of the create's attempts (on the server's clock: its Date, back by the attempts' duration,
//     ± 1 s) other than its own. LIMITS: another writer's upload of the same key initiated within
//     that window (seconds at most) is aborted too — its parts or complete then fail with
//     NoSuchUpload; a server that cannot list uploads (s3rver 4.0.4 answers 501 NotImplemented,
//     fauxqs 1.9 an object listing) cannot be swept, nor can one whose listing or abort fails
//     after its retries: the upload may stay, logged at warn and counted in
//     PerformanceStats::possibly_orphaned_uploads; and a crash sweeps nothing. The sweep's
//     requests go out even when the transfer was cancelled.
//   * Download to a file (GetTarget::ToFile, no range, no If-None-Match): the first request asks
//     for the first multipart_threshold bytes (rounded up to a whole part); a larger object's
//     remaining bytes come as ranged GETs, part_concurrency at a time — of part_size when the
//     whole's MD5 is checked in order (a plain-MD5 ETag, below), else grown to one range per
//     connection for what is left, a whole number of parts, at most 64 MiB (a file's ranges
//     hold no memory; fewer requests cost the server fewer rounds) — each pinned
//     with If-Match to the first response's ETag — an object overwritten meanwhile fails with
//     FailedPrecondition (service code PreconditionFailed) instead of mixing versions. Bytes go
//     with pwrite into the temporary file of GetTarget::ToFile, renamed over the target only
//     when complete and checked; on any failure the target is untouched. A range that comes
//     back short, long or as another range is retried. With verify_download_md5, a plain-MD5
//     ETag is checked once the file is complete: the first range's MD5, taken as it arrived,
//     continued on the store's hash thread (below) in order as the ranges land, read back from
//     the file — one serial MD5 (~1.5 core-seconds a GiB) beside the loop that receives, so the
//     download waits for it only at the end; a "-N" ETag whose N matches the ranges' part layout is checked against MD5(part MD5s)-N,
//     the parts hashed once they have landed, read back from the file and hashed up to 16 at
//     once, one per SIMD lane (AVX-512; 8 with AVX2): ~0.1 core-seconds a GiB, on the loop
//     thread, ≤ 30 ms at a time. Any other ETag (grown parts, another N, SSE-KMS / SSE-C)
//     leaves the whole unchecked, as a single GET would. Memory: no buffer beyond the http
//     client's per-transfer buffers, and 128 KiB per part while parts are hashed (≤ 2 MiB).
//   * A file whose whole does not match is read again, never DataLoss on first sight (a body
//     corrupted on the way has the right length: only the whole's check sees it). The rule: the
//     MD5 of each range's read is kept; after the first mismatch every range is read again;
//     a range whose latest read equals one of its earlier reads is settled (a corrupted read
//     equals no other: the file holds the agreed bytes) and is not read again; the next pass
//     reads only the ranges not settled; the whole is checked after each pass. DataLoss when
//     every range is settled and the whole still does not match (the object's bytes are not
//     its ETag — e.g. uploaded with another part size and the same number of parts: set
//     verify_download_md5 = false for such objects), or after max_attempts passes. Nothing
//     unverified is ever renamed into place.
//   * Get of a whole object to a stream (GetTarget::ToStream, no range, no If-None-Match): the
//     same requests and pins as a file, in ranges of part_size (never grown: each range is
//     received whole into a buffer) —
//     retried (resets, truncation, a wrong range, a single-response object whose MD5 does not
//     match) before the stream sees any of it — then handed to the stream as one chunk,
//     strictly in order. MEMORY: a range starts only when it is fewer than part_concurrency
//     ranges past the next one due, so at most part_size × part_concurrency bytes of range
//     buffers per get (the part size grown as for uploads beyond 10,000 parts); the first
//     range, up to multipart_threshold rounded up to a whole part, is alone in memory and
//     delivered before any other starts — so max(that, part_size × part_concurrency): 32 MiB
//     with the defaults. PerformanceStats::part_buffer_bytes counts them. The whole is checked
//     as for a file (the MD5 of the bytes delivered, or MD5(part MD5s)-N), on the hash thread
//     once a range is delivered (its parts in SIMD lanes, all waiting at once); a range's buffer goes
//     when it is delivered and hashed, and the window counts from there — but bytes handed to
//     a stream cannot be taken back nor read again: a mismatch at the end is DataLoss, and the
//     caller must discard everything it received.
//   * Upload / Download (below) are the same with a progress callback and a cancel token (which
//     ends a small one's single request too).
//   * A stream without a size (stdin, a pipe) is read in order: one that ends within
//     multipart_threshold is sent as one PUT (with Content-MD5); a longer one goes multipart as
//     above, its parts sent as they are read. Its part size cannot be fitted to a size nobody
//     knows, so it grows as the stream goes on: part_size for parts 1–1,000, twice that for
//     1,001–2,000, and so on, doubling every 1,000 parts (at most 5 GiB): 10,000 parts hold
//     part_size × 1,023,000 bytes — 8 TiB from the 8 MiB default, more than S3's 5 TiB object.
//     A stream still going after the 10,000th part fails with ResourceExhausted, and the upload
//     is aborted. MEMORY: at most multipart_threshold + 1 bytes (the first bytes, read to tell a
//     short stream from a long one, freed once the parts hold them) plus the current part size
//     × part_concurrency of part buffers: 48 MiB with the defaults for the first 8 GiB, then
//     growing with the parts (80 MiB to 24 GiB, 144 MiB to 56 GiB, …) — a documented choice:
//     the alternative is a limit (rclone and aws-c-s3 stop such a stream at part_size × 10,000).
//   * Not multipart: memory bodies (already in memory), gets to memory, and gets of a range or
//     with If-None-Match (one request each).
//
// Bodies: a stream with a size is sent with that Content-Length; a stream without one is read on
// the event loop (a piece at a time up to multipart_threshold, then a part at a time) and sent as
// one PUT or in parts (Large objects). Memory targets are bounded by the http client's
// max_response_bytes.
//
// Errors: as ObjectStore (esper/storage/errors.h), with S3's code as the service code, the HTTP
// status and the request id (x-amz-request-id) kept; messages name the operation, bucket and key
// ("GET s3://b/k: …"), never a credential. Errors S3 returns inside a 200 (CopyObject) are
// errors. A create-only put's 412 is AlreadyExists (service code PreconditionFailed).
//
// Logging (options.logger): a retry is logged at warn and a failed operation at error, with the
// fields bucket, key, op, attempt, s3_code, http_status and request_id; outcomes a caller expects
// (NotFound, AlreadyExists, FailedPrecondition, OutOfRange, Cancelled) at debug. Nothing secret
// is ever logged: no key, token, signature or Authorization header. A logger at trace level when
// the store creates its own client also gets libcurl's transfer log, each header line as the
// http client redacts it (credentials as ***).
//
// Threads: callbacks, PutBody read and GetTarget write functions run on the http client's loop
// thread (IsCallbackThread()); keep them short. Several stores may share one http::Client
// (options.http_client). A blocking call on the loop thread is FailedPrecondition. The store's
// own threads: the hash thread(s) ("esper-s3-hash", half the cores, 1–4), made on the first
// large download that checks a whole MD5 or a stream's parts, joined by the destructor; a
// download's hashing is one task at a time there, so in order.
// Destruction: every operation of this store still in flight (or waiting for credentials) ends
// with Cancelled and its callback has run when the destructor returns, also when the http client
// is shared and lives on; the store's own client and credential cache are then destroyed.
// Blocking: Create() reads the profile files when no endpoint or region is given (small file
// I/O), and nothing else; PutAsync of a file up to multipart_threshold reads the file once (see
// Integrity); Presign may wait for credentials; health_check(), Upload, Download, ListUploads,
// AbortUpload and get_s3_client() block.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "esper/core/result.h"
#include "esper/http/client.h"
#include "esper/http/stats.h"
#include "esper/metrics/registry.h"
#include "esper/s3/credentials.h"
#include "esper/s3/settings.h"
#include "esper/s3/uri.h"
#include "esper/storage/object_store.h"

namespace esper::log {
class Logger;
}
namespace esper::config {
class Snapshot;
}

namespace esper::s3 {

/// Flexible checksum sent with PUTs (x-amz-checksum-*).
enum class ChecksumAlgorithm { kNone, kCrc32c, kCrc64Nvme };

struct S3StoreOptions {
  // ---- where ----
  /// The S3-compatible server ("http://127.0.0.1:9000"); empty: the environment, the profile,
  /// else AWS (see the file comment).
  std::string endpoint_url{};
  /// Empty: the environment, the profile, else us-east-1.
  std::string region{};
  /// The shared-file profile; empty: AWS_PROFILE, else "default".
  std::string profile{};
  /// kAuto: path style with an endpoint, virtual-hosted on AWS.
  AddressingStyle addressing = AddressingStyle::kAuto;

  // ---- who ----
  /// Explicit credentials (first in the chain). Empty: the default chain.
  std::optional<Credentials> credentials{};
  /// Another provider instead of the default chain (tests, custom sources). Takes precedence
  /// over `credentials`.
  std::shared_ptr<CredentialsProvider> credentials_provider{};
  /// Where variables are read; the process environment when empty.
  Environment env{};

  // ---- how ----
  /// Share one event loop between stores (and other http users). Empty: the store makes its own
  /// client from `http`.
  std::shared_ptr<http::Client> http_client{};
  /// The store's own client (when http_client is empty). Its retry, budget and breaker settings
  /// apply to the store's requests; max_attempts below overrides the attempts.
  http::ClientOptions http = DefaultHttpOptions();
  /// Attempts per request (1 = no retries). 0: AWS_MAX_ATTEMPTS, else 3 (AWS standard mode).
  int max_attempts = 0;
  /// Limit of one attempt of a request that carries no object data (HEAD, LIST, DELETE, …). > 0.
  std::chrono::milliseconds request_timeout = std::chrono::seconds(30);
  /// Limit of one attempt of a PUT or GET of object data; the http client's stall detection
  /// (too few bytes for too long) ends a stuck transfer well before. > 0.
  std::chrono::milliseconds transfer_timeout = std::chrono::hours(1);
  /// Content-MD5 on every PUT (and DeleteObjects, where S3 requires it anyway).
  bool content_md5 = true;
  /// Check whole-object downloads against the MD5 ETag.
  bool verify_download_md5 = true;
  /// File downloads (GetTarget::ToFile, Download) are flushed to disk — the file and its
  /// directory fsync'd — before they are reported done, so a reported success survives a crash.
  /// Off: still atomic (temporary file renamed into place), not durable, as `aws s3 cp` and
  /// rclone do. The flushes run on the store's event-loop thread, one at a time: with them on,
  /// many small downloads go at the disk's flush rate, not the server's.
  bool fsync_downloads = true;
  /// x-amz-checksum-* on PUTs (memory and file bodies). Off by default (when_required).
  ChecksumAlgorithm checksum = ChecksumAlgorithm::kNone;
  /// Memory bodies go as UNSIGNED-PAYLOAD, as file and stream bodies always do and as aws-c-s3
  /// signs every S3 request: the Content-MD5 (or x-amz-checksum-*) header, signed like every
  /// header, guards the body, and its SHA-256 — ~3 us per 4 KiB, 0.8 s per GiB — is not computed.
  /// false: their SHA-256 is signed too (botocore's and aws-sdk-cpp's choice over plain http).
  /// With neither content_md5 nor a checksum, memory bodies are signed with their SHA-256
  /// whatever this says (the signature is then all that guards them).
  bool unsigned_payload = true;
  // ---- large objects (see "Large objects" above) ----
  /// Files and streams larger than this are uploaded in parts (a stream without a size: once it
  /// has delivered more than this); whole-object downloads to a file or a stream larger than this
  /// (rounded up to a whole part) are fetched as parallel ranges. Bytes, >= part_size.
  uint64_t multipart_threshold = uint64_t{16} << 20;
  /// Bytes per part (and per download range): 5 MiB (S3's smallest non-last part) … 5 GiB.
  /// Grown for an object that would need more than 10,000 parts; a stream without a size starts
  /// with it and doubles it every 1,000 parts (see Large objects).
  uint64_t part_size = uint64_t{8} << 20;
  /// Parts or ranges of one transfer in flight at once, 1..1000. Upload memory is at most
  /// part_size × part_concurrency per transfer (a stream without a size: plus
  /// multipart_threshold, see Large objects); a get to a stream's, see Large objects.
  int part_concurrency = 4;
  /// Operations started and not yet completed, at most (ResourceExhausted beyond). >= 1.
  int max_in_flight = 100000;
  /// Retries at warn, failures at error (see the file comment). Empty: no logging.
  std::shared_ptr<log::Logger> logger{};
  /// The wall clock requests are signed with (tests inject one hours off to provoke
  /// RequestTimeTooSkewed). Empty: system_clock::now.
  WallClock now{};
  /// Where get_performance_stats() is published as metrics, per operation (docs/s3.md,
  /// Metrics); nullptr: nowhere. (The store's own http client publishes per host through
  /// `http.metrics`.) Must outlive the store.
  metrics::Registry* metrics = &metrics::DefaultRegistry();

  /// The http options a store's own client starts from: the seed's pool (max_connections 100),
  /// AWS standard retries (3 attempts, full jitter from 100 ms up to 20 s, a retry budget per
  /// host), a breaker per host that opens when half of the last 100 attempts (at least 20) failed
  /// (not after a streak: at 1,000 in flight a few faults fall in a row by chance), User-Agent
  /// "esper-s3/<version>".
  static http::ClientOptions DefaultHttpOptions();
};

/// What a presigned URL is for.
struct PresignRequest {
  /// GET (download) or PUT (upload); HEAD and DELETE work too.
  http::Method method = http::Method::kGet;
  std::string bucket{};
  std::string key{};
  /// 1 s … 7 days (SigV4's limit; temporary credentials stop it earlier).
  std::chrono::seconds expires = std::chrono::hours(1);
  /// Headers the URL's user must send with exactly these values (signed), e.g. a Content-Type
  /// for a PUT.
  http::Headers headers{};
};

/// A large transfer's extras (S3Store::Upload / Download).
struct TransferOptions {
  /// Called on the loop thread (keep it short) as bytes are confirmed: `done` of `total` bytes
  /// (an upload: parts the server acknowledged; a download: bytes written to the file). `total`
  /// is 0 until known. Called at least once at the end of a successful transfer (done == total).
  std::function<void(uint64_t done, uint64_t total)> progress{};
  /// When stop is requested: the transfer's requests are cancelled, a multipart upload is
  /// aborted (AbortMultipartUpload), a download's temporary file removed; the callback gets
  /// Cancelled. May be requested from any thread.
  std::stop_token cancel{};
};

/// An incomplete multipart upload (ListUploads).
struct MultipartUpload {
  std::string key{};
  std::string upload_id{};
  std::chrono::system_clock::time_point initiated{};
};

/// One kind of operation's figures (get_performance_stats).
struct OperationStats {
  uint64_t operations = 0;  // completed
  uint64_t errors = 0;      // completed with an error (NotFound included)
  double error_rate = 0;    // errors / operations
  uint64_t bytes = 0;       // object bytes sent (put) or received (get)
  uint64_t retries = 0;     // attempts after the first
  /// Errors by S3 code ("NoSuchKey", "SlowDown", …), or by canonical code when the failure had
  /// none (a transport error: "Unavailable", "DeadlineExceeded", …).
  std::map<std::string, uint64_t> errors_by_code{};
  /// Start to completion, retries included.
  http::LatencyHistogram latency{};
  std::chrono::nanoseconds average_latency{0};
  std::chrono::nanoseconds p50{0}, p90{0}, p99{0};
};

/// The seed's get_performance_stats(): totals since the store was created, and per operation
/// ("put", "get", "stat", "list", "delete", "delete_many", "copy", "create_bucket",
/// "delete_bucket", "list_buckets").
struct PerformanceStats {
  uint64_t operations = 0;
  uint64_t errors = 0;
  double error_rate = 0;
  uint64_t bytes_uploaded = 0;
  uint64_t bytes_downloaded = 0;
  std::chrono::nanoseconds average_latency{0};
  /// Operations and object bytes (both directions) per second since creation.
  double operations_per_second = 0;
  double throughput_bytes_per_second = 0;
  std::chrono::nanoseconds elapsed{0};
  /// Operations in flight now.
  int in_flight = 0;
  uint64_t retries = 0;  // attempts after the first, over every request
  /// Multipart upload part buffers and stream-download range buffers alive now, and the most
  /// ever alive at once (bytes).
  uint64_t part_buffer_bytes = 0;
  uint64_t peak_part_buffer_bytes = 0;
  /// Multipart uploads whose CreateMultipartUpload lost an answer and whose sweep could not look
  /// for or abort what that attempt may have created (see "Large objects": a server without
  /// ListMultipartUploads, or the listing or an abort failing). Each may have left an incomplete
  /// upload; each was logged at warn with its key.
  uint64_t possibly_orphaned_uploads = 0;
  std::map<std::string, OperationStats> per_operation{};
};

/// The seed's health_check().
struct HealthReport {
  bool healthy = false;
  /// "healthy", or "unhealthy: <the error>".
  std::string status{};
  std::chrono::nanoseconds latency{0};
  std::string endpoint{};  // "https://s3.us-east-1.amazonaws.com" or the configured one
  std::string region{};
  std::string breaker_state{};  // of the probed host
};

class S3Store final : public storage::ObjectStore {
 public:
  /// Resolves endpoint and region (settings.h; reads the profile files when needed), validates
  /// the options (InvalidArgument naming the field) and creates the http client (unless shared).
  /// Touches no network and fetches no credentials.
  static Result<std::unique_ptr<S3Store>> Create(S3StoreOptions options = {});
  ~S3Store() override;

  bool IsCallbackThread() const noexcept override;

  /// A presigned URL (query-signed, sigv4.h) anyone can use until it expires. Blocks while the
  /// credentials are fetched the first time (FailedPrecondition on the loop thread then).
  Result<std::string> Presign(const PresignRequest& request);

  /// The seed's get_performance_stats() (see PerformanceStats). Any thread.
  PerformanceStats get_performance_stats() const;
  /// The seed's health_check(): one request without retries, within `timeout` — HEAD of
  /// `bucket`, or ListBuckets when it is empty. Blocking (FailedPrecondition on the loop thread).
  Result<HealthReport> health_check(std::string_view bucket = {},
                                    std::chrono::milliseconds timeout = std::chrono::seconds(5));

  // ---- large transfers (see "Large objects") ----

  /// Put with progress and cancellation: multipart above multipart_threshold, as PutAsync.
  Status UploadAsync(std::string_view bucket, std::string_view key, storage::PutBody body,
                     storage::PutOptions options, TransferOptions transfer,
                     storage::Callback<storage::ObjectInfo> done);
  Result<storage::ObjectInfo> Upload(std::string_view bucket, std::string_view key, storage::PutBody body,
                                     storage::PutOptions options = {}, TransferOptions transfer = {});
  /// Get into the file at `path` (atomically, GetTarget::ToFile) with progress and
  /// cancellation: parallel ranges above multipart_threshold. `options.target` is ignored.
  Status DownloadAsync(std::string_view bucket, std::string_view key, std::string path,
                       storage::GetOptions options, TransferOptions transfer,
                       storage::Callback<storage::GetResult> done);
  Result<storage::GetResult> Download(std::string_view bucket, std::string_view key, std::string path,
                                      storage::GetOptions options = {}, TransferOptions transfer = {});

  /// Incomplete multipart uploads in `bucket` whose keys start with `prefix`, every page
  /// (ListMultipartUploads). Blocking. s3rver answers 501 NotImplemented and fauxqs another
  /// document (Unavailable, naming it): neither can list them (docs/s3.md).
  Result<std::vector<MultipartUpload>> ListUploads(std::string_view bucket, std::string_view prefix = {});
  /// Removes an incomplete upload and its parts (AbortMultipartUpload). Blocking. An upload
  /// that does not exist: NotFound, service code NoSuchUpload.
  Status AbortUpload(std::string_view bucket, std::string_view key, std::string_view upload_id);

  /// The resolved endpoint ("" for AWS) and region.
  const std::string& endpoint_url() const noexcept;
  const std::string& region() const noexcept;
  /// The http client the store sends through (its own or the shared one).
  http::Client& http_client() const noexcept;

  class Impl;

 protected:
  Status StartPut(std::string bucket, std::string key, storage::PutBody body,
                  storage::PutOptions options, storage::Callback<storage::ObjectInfo> done) override;
  Status StartGet(std::string bucket, std::string key, storage::GetOptions options,
                  storage::Callback<storage::GetResult> done) override;
  Status StartStat(std::string bucket, std::string key,
                   storage::Callback<storage::ObjectInfo> done) override;
  Status StartList(std::string bucket, storage::ListOptions options,
                   storage::Callback<storage::ListPage> done) override;
  Status StartDelete(std::string bucket, std::string key, storage::Callback<void> done) override;
  Status StartDeleteMany(std::string bucket, std::vector<std::string> keys,
                         storage::Callback<std::vector<storage::DeleteResult>> done) override;
  Status StartCopy(storage::ObjectRef source, storage::ObjectRef destination,
                   storage::CopyOptions options, storage::Callback<storage::ObjectInfo> done) override;
  Status StartCreateBucket(std::string bucket, storage::Callback<void> done) override;
  Status StartDeleteBucket(std::string bucket, storage::Callback<void> done) override;
  Status StartListBuckets(storage::Callback<std::vector<storage::BucketInfo>> done) override;

 private:
  explicit S3Store(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  metrics::Collector metrics_;  // declared last: removed before impl_ goes
};

/// The store options a configuration's `s3` section describes (docs/config.md): endpoint_url,
/// region and addressing_style when set (their schema defaults leave the AWS resolution above in
/// charge), max_connections, max_attempts (when set; else AWS_MAX_ATTEMPTS, else 3),
/// connect_timeout, request_timeout (one attempt, as above), verify_tls, and the keys (access_key_id,
/// secret_access_key, session_token) as explicit credentials when an access key is set. The
/// config already layers its environment variables (AWS_REGION, AWS_ENDPOINT_URL_S3, …) over
/// its files, so the environment wins over a file here too.
Result<S3StoreOptions> FromConfig(const config::Snapshot& config);

/// The seed's get_s3_client(): the process-wide S3Store, created at the first call — from the
/// environment alone when ESPER_CONFIG is unset, else from the configuration
/// (config::get_config(), through FromConfig) — and the same store afterwards. A failed creation
/// is returned, and tried again at the next call. Blocking (reads the config and profile files).
Result<std::shared_ptr<S3Store>> get_s3_client();

}  // namespace esper::s3
