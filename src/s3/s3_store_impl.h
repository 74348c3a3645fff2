// Private: S3Store's state and the machinery every operation shares. Its jobs live in files of
// their own names:
//
//   s3_store.cpp        Create (endpoint, region, credentials, client), shutdown, the public
//                       methods that are not operations (Presign, health_check, stats)
//   store_exchange.cpp  one S3 request of an operation: admission, credentials (never waiting
//                       on the loop), SigV4 per attempt, the classifier (S3 errors, skew,
//                       retries), logging, and the completion that runs the caller's callback
//   store_objects.cpp   put, get, stat, delete, copy
//   store_listing.cpp   list, delete_many, create / delete / list buckets
//   store_stats.cpp     get_performance_stats()
//   store_config.cpp    FromConfig, get_s3_client
//
// Threads: Admit/Send/Post from any thread; everything an exchange runs afterwards (hook,
// classifier, completion) on the http client's loop thread. mu_ guards the admission count,
// stopping_ and the operations parked for credentials.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "esper/core/clock.h"
#include "esper/s3/s3_store.h"
#include "esper/s3/sigv4.h"
#include "esper/storage/errors.h"
#include "storage/fs.h"
#include "storage/worker_pool.h"

namespace esper::s3 {
namespace detail {

enum class Op : uint8_t {
  kPut,
  kGet,
  kStat,
  kList,
  kDelete,
  kDeleteMany,
  kCopy,
  kCreateBucket,
  kDeleteBucket,
  kListBuckets,
};
inline constexpr size_t kOpCount = 10;
/// "put", "get", … (the keys of PerformanceStats::per_operation).
std::string_view OpName(Op op) noexcept;

/// One store operation, as logs, statistics and messages name it.
struct OpContext {
  Op op = Op::kGet;
  std::string bucket{};
  std::string key{};
  Clock::TimePoint start{};
};

/// One S3 request of an operation.
struct Exchange {
  http::Request request{};
  /// Hex SHA-256 of the body, kEmptyPayloadHash or kUnsignedPayload.
  std::string payload_hash{kEmptyPayloadHash};
  /// A PUT or GET of object bytes: the attempt limit is transfer_timeout.
  bool carries_data = false;
  /// A 304 is a result (a conditional GET), not an error.
  bool not_modified_ok = false;
  /// A 200 may carry an <Error> (CopyObject).
  bool error_in_200 = false;
  /// A POST that may be repeated (DeleteObjects).
  bool retry_safe = false;
  /// Overrides of the store's attempts and per-attempt limit (health_check).
  std::optional<int> max_attempts{};
  std::optional<std::chrono::milliseconds> timeout{};
  /// The S3 code a bodyless 404 stands for (a HEAD's error has no body).
  std::string_view bodyless_404 = "NoSuchKey";
  /// A 2xx response's own check: an error fails the attempt (retried when retryable).
  std::function<std::optional<Error>(const http::Response&)> verify{};
  /// The token the request is cancelled by, instead of the store's (a transfer's own, which
  /// the store's stop also triggers; an empty one for an abort that must go out anyway).
  std::optional<std::stop_token> cancel{};
};

// ---- what object operations share (store_objects.cpp) ----

/// `etag` in double quotes for If-Match ("*" as is).
std::string Quoted(std::string_view etag);
/// Whether a response's ETag is the MD5 of the object's bytes: 32 hex digits (no "-N"), not
/// SSE-KMS / SSE-C.
bool EtagIsMd5(const http::Response& r, std::string_view etag);
/// A decimal header value, all of it; nullopt otherwise.
std::optional<uint64_t> ParseU64(std::string_view s);
/// "bytes 10-99/1000" → {10, 90, 1000}.
struct Served {
  uint64_t offset = 0;
  uint64_t length = 0;
  uint64_t total = 0;
};
std::optional<Served> ParseContentRange(std::string_view v);
/// key, etag, last_modified, content_type, metadata and size of a GET or HEAD response.
storage::ObjectInfo InfoFromHeaders(const http::Response& r, std::string key);
/// Content-Type and x-amz-meta-* headers.
void AddObjectHeaders(http::Headers& h, const std::string& content_type, const storage::Metadata& metadata);
/// Error `e` with another canonical code (and message), its http status, service code and
/// request id kept; the retryable bit is the new code's default.
inline Error Recode(const Error& e, ErrorCode code, std::string message) {
  return Error(code, std::move(message)).WithHttpStatus(e.http_status()).WithServiceCode(e.service_code()).WithRequestId(e.request_id());
}
inline Error Recode(const Error& e, ErrorCode code) { return Recode(e, code, e.message()); }

// ---- large transfers (store_upload.cpp, store_download.cpp) ----

/// S3's largest part.
inline constexpr uint64_t kMaxPartSize = uint64_t{5} << 30;
/// S3's most parts of a multipart upload.
inline constexpr int kMaxParts = 10000;
/// The part size for an object of `size` bytes: part_size, grown so at most 10,000 parts.
uint64_t PartSizeFor(uint64_t part_size, uint64_t size) noexcept;
/// Part `index`'s size (from 0) for a stream without a size, whose parts cannot be sized for a
/// total nobody knows: part_size for the first kStreamPartsPerStep parts, twice that for the
/// next as many, and so on (at most 5 GiB), so 10,000 parts hold part_size × 1,023,000 bytes —
/// more than S3's 5 TiB object from the 8 MiB default (4.99 TiB from 5 MiB).
inline constexpr int kStreamPartsPerStep = 1000;
uint64_t StreamPartSize(uint64_t part_size, int index) noexcept;
/// MD5(concatenated part MD5s) in hex + "-N": the ETag S3 gives a multipart object.
std::string MultipartEtag(const std::vector<std::array<uint8_t, 16>>& part_md5s);

using ResponseCallback = std::function<void(Result<http::Response>)>;

/// get_performance_stats()'s counters (store_stats.cpp).
class StoreStats {
 public:
  StoreStats();
  /// `error`: null when the operation succeeded.
  void Record(Op op, std::chrono::nanoseconds latency, const Error* error, uint64_t bytes);
  void CountRetry(Op op) noexcept {
    retries_.fetch_add(1, std::memory_order_relaxed);
    op_retries_[static_cast<size_t>(op)].fetch_add(1, std::memory_order_relaxed);
  }
  PerformanceStats Snapshot(int in_flight) const;

 private:
  struct PerOp {
    uint64_t operations = 0;
    uint64_t errors = 0;
    uint64_t bytes = 0;
    std::map<std::string, uint64_t> errors_by_code{};
    http::LatencyHistogram latency{};
  };
  mutable std::mutex mu_;
  PerOp ops_[kOpCount];
  std::atomic<uint64_t> retries_{0};
  std::atomic<uint64_t> op_retries_[kOpCount] = {};
  const Clock::TimePoint created_;
};

/// A collector over `stats` (get_performance_stats), per operation.
Result<metrics::Collector> PublishStoreStats(std::function<PerformanceStats()> stats, metrics::Registry& registry);

/// Object bytes an operation moved, for the statistics (put: sent; get: received).
inline uint64_t BytesOf(Op op, const storage::ObjectInfo& info) { return op == Op::kPut ? info.size : 0; }
inline uint64_t BytesOf(Op, const storage::GetResult& r) { return r.length; }
template <class T>
uint64_t BytesOf(Op, const T&) {
  return 0;
}

}  // namespace detail

class S3Store::Impl {
 public:
  struct Setup {
    S3StoreOptions options;
    std::shared_ptr<http::Client> client;
    bool owns_client = false;
    Addressing addressing;
    std::string endpoint;
    std::string region;
    std::unique_ptr<CredentialsCache> credentials;
    int max_attempts = 3;
  };
  explicit Impl(Setup setup);
  /// Shutdown (store_exchange.cpp): every operation still in flight or parked ends with Cancelled
  /// before it returns.
  ~Impl();

  // ---- store_exchange.cpp ----

  /// An operation begins: ResourceExhausted beyond max_in_flight, Cancelled while shutting down.
  /// Every admitted operation ends with one call of the callback Complete() made for it (or
  /// Abandon() when its Start* returns an error instead).
  Status Admit(std::string_view what);
  /// An admitted operation whose Start* fails before anything was sent.
  void Abandon();
  /// Wraps `done`: records statistics, runs `done`, then ends the operation. (Failures are
  /// logged per request, by Send.)
  template <class T>
  storage::Callback<T> Complete(detail::OpContext ctx, storage::Callback<T> done);
  /// Starts a context for `op` now.
  static detail::OpContext Context(detail::Op op, std::string bucket, std::string key = {});

  /// Sends one request of an operation; `done` runs on the loop thread. An error (and `done` is
  /// not called) only when it cannot be submitted at all (shutting down, max_in_flight of the
  /// client); a request waiting for credentials is submitted when they come, or ends with the
  /// credentials' error.
  Status Send(const detail::OpContext& ctx, detail::Exchange exchange, detail::ResponseCallback done);
  /// Runs `task` on the loop thread (never inside this call); if the client refuses (it is being
  /// destroyed), on this thread.
  void Post(std::function<void()> task);
  /// Send from a step of an operation already on the loop (a callback): a submission error goes
  /// to `done` at once.
  void SendFromLoop(const detail::OpContext& ctx, detail::Exchange exchange, detail::ResponseCallback done);
  /// Whether the store is shutting down (an operation between its steps ends with Cancelled).
  bool stopping() const;
  int in_flight() const;
  Error CancelledError(const detail::OpContext& ctx) const;

  /// The wall clock requests are signed with, the server's clock offset included.
  std::chrono::system_clock::time_point SigningNow() const;
  std::chrono::system_clock::time_point LocalNow() const;

  /// "s3://bucket/key", "s3://bucket", "s3://" (messages).
  static std::string Where(const detail::OpContext& ctx);

  /// A request's own state across its attempts (store_exchange.cpp).
  struct Call;

  // ---- state ----
  const S3StoreOptions options_;
  const std::shared_ptr<http::Client> client_;
  const bool owns_client_;
  const Addressing addressing_;
  const std::string endpoint_;
  const std::string region_;
  const SigningOptions signing_;
  const int max_attempts_;
  std::unique_ptr<CredentialsCache> credentials_;
  std::atomic<int64_t> skew_ns_{0};  // server clock − ours, from RequestTimeTooSkewed
  std::stop_source stop_;            // every request of this store carries its token
  detail::StoreStats stats_;
  /// Multipart part buffers alive now and at most (shared: a buffer may die in a request the
  /// http client drops after the store is gone).
  struct BufferGauge {
    std::atomic<uint64_t> now{0};
    std::atomic<uint64_t> peak{0};
  };
  const std::shared_ptr<BufferGauge> part_buffers_ = std::make_shared<BufferGauge>();
  /// Creates whose lost answers' uploads could not be looked for or aborted (store_upload.cpp).
  std::atomic<uint64_t> possibly_orphaned_uploads_{0};

  // ---- store_objects.cpp ----
  /// S3Store::StartPut / StartGet, with the extras of an Upload / Download (`transfer`: its
  /// progress and cancel token; null for a plain put or get). `transfer` is read before return.
  Status StartPut(std::string bucket, std::string key, storage::PutBody body, storage::PutOptions options,
                  storage::Callback<storage::ObjectInfo> done, const TransferOptions* transfer);
  Status StartGet(std::string bucket, std::string key, storage::GetOptions options,
                  storage::Callback<storage::GetResult> done, const TransferOptions* transfer);

  // ---- store_upload.cpp / store_download.cpp ----
  /// A multipart upload of an open file (fd, its size) or a stream (fd < 0; `size` nullopt: read
  /// until it ends, in parts of part_size). Admitted already; `done` is the Complete()-wrapped
  /// callback. An error only when nothing was sent.
  Status StartMultipartUpload(detail::OpContext ctx, storage::PutBody body, storage::detail::UniqueFd fd,
                              std::optional<uint64_t> size,
                              storage::PutOptions options, storage::Callback<storage::ObjectInfo> done,
                              const TransferOptions* transfer);
  /// The threads a large download's checksums are taken on, beside the loop (store_download.cpp):
  /// made on first use, on the loop thread only; joined when the store goes (no task is left
  /// then: an operation ends only after its hashing).
  storage::detail::WorkerPool& Hasher();
  /// A get of a whole object into options.target's file or stream, in parallel ranges when
  /// large. Admitted already.
  Status StartRangedDownload(detail::OpContext ctx, storage::GetOptions options,
                             storage::Callback<storage::GetResult> done, const TransferOptions* transfer);

 private:
  struct Parked;  // an operation's request waiting for credentials
  void Unpark(const std::shared_ptr<Parked>& p);
  void LogFailure(const Call& call, const Error& e) const;
  void Finish();  // the end of an admitted operation

  mutable std::mutex mu_;
  std::condition_variable cv_;
  int in_flight_ = 0;
  bool stopping_ = false;
  std::vector<std::shared_ptr<Parked>> parked_;
  std::unique_ptr<storage::detail::WorkerPool> hasher_;  // Hasher()
};

template <class T>
storage::Callback<T> S3Store::Impl::Complete(detail::OpContext ctx, storage::Callback<T> done) {
  return [this, ctx = std::move(ctx), done = std::move(done)](Result<T> r) {
    const auto latency = SystemClock().Now() - ctx.start;
    uint64_t bytes = 0;
    if constexpr (!std::is_void_v<T>) {
      if (r) bytes = detail::BytesOf(ctx.op, *r);
    }
    stats_.Record(ctx.op, std::chrono::duration_cast<std::chrono::nanoseconds>(latency), r ? nullptr : &r.error(),
                  bytes);
    done(std::move(r));
    Finish();  // last: the store may be destroyed from here on
  };
}

}  // namespace esper::s3
