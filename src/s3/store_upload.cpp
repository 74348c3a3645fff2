// S3Store's multipart upload (s3_store.h, "Large objects"): CreateMultipartUpload, parts read
// with pread (or from the stream, in order) into buffers of their own, part_concurrency of them
// in flight on the loop, each with Content-MD5 and its ETag checked; CompleteMultipartUpload and
// the "-N" ETag checked; AbortMultipartUpload after a failure or a cancellation. A stream without
// a size is read part after part until it ends, its parts growing (detail::StreamPartSize).
#include <fmt/format.h>

#include <algorithm>
#include <mutex>

#include "esper/core/ascii.h"
#include "esper/log/logger.h"
#include "esper/s3/checksum.h"
#include "esper/s3/xml.h"
#include "s3/transfer.h"
#include "storage/fs.h"

namespace esper::s3 {
namespace {

using detail::Exchange;
using detail::OpContext;
using storage::Callback;
using storage::ObjectInfo;
using detail::kMaxParts;
using detail::kMaxPartSize;

// An upload's part buffers, reused from part to part (no allocation per part, and freed memory
// an allocator keeps does not pile up), counted in the store's gauge while they exist. A buffer
// comes back when the request that sent it is dropped; the pool goes with the last of them.
class BufferPool : public std::enable_shared_from_this<BufferPool> {
 public:
  explicit BufferPool(std::shared_ptr<S3Store::Impl::BufferGauge> gauge) : gauge_(std::move(gauge)) {}
  ~BufferPool() { gauge_->now.fetch_sub(allocated_, std::memory_order_relaxed); }

  std::shared_ptr<std::string> Take(size_t n) {
    std::unique_ptr<std::string> buf;
    {
      std::lock_guard lock(mu_);
      if (!free_.empty()) {
        buf = std::move(free_.back());
        free_.pop_back();
      }
    }
    if (!buf) {
      buf = std::make_unique<std::string>();
      buf->reserve(n);
      Count(buf->capacity());
    }
    const size_t had = buf->capacity();
    buf->resize(n);
    if (buf->capacity() != had) Count(buf->capacity() - had);
    return std::shared_ptr<std::string>(buf.release(), [self = shared_from_this()](std::string* p) {
      std::lock_guard lock(self->mu_);
      self->free_.emplace_back(p);
    });
  }

 private:
  void Count(uint64_t bytes) {
    std::lock_guard lock(mu_);
    allocated_ += bytes;
    const uint64_t now = gauge_->now.fetch_add(bytes, std::memory_order_relaxed) + bytes;
    uint64_t peak = gauge_->peak.load(std::memory_order_relaxed);
    while (now > peak && !gauge_->peak.compare_exchange_weak(peak, now, std::memory_order_relaxed)) {
    }
  }
  const std::shared_ptr<S3Store::Impl::BufferGauge> gauge_;
  std::mutex mu_;
  std::vector<std::unique_ptr<std::string>> free_;
  uint64_t allocated_ = 0;
};

struct UploadJob {
  UploadJob(S3Store::Impl& store, const TransferOptions* t) : s(store), transfer(store, t) {}
  S3Store::Impl& s;
  OpContext ctx;
  storage::PutBody body;
  storage::detail::UniqueFd fd;  // the file (-1: a stream)
  bool sized = true;             // false: a stream without a size, read until it ends
  bool ended = false;            // such a stream has ended (size and part_count are final)
  uint64_t size = 0;             // unsized: the bytes read so far
  uint64_t part_size = 0;
  int part_count = 0;            // unsized: the parts read so far
  storage::PutOptions options;
  Callback<ObjectInfo> done;
  detail::Transfer transfer;

  std::string upload_id;
  std::vector<CompletedPart> parts;             // by part number - 1
  std::vector<std::array<uint8_t, 16>> md5s;    // by part number - 1
  int next = 0;                                 // parts read so far
  int in_flight = 0;                            // part requests
  uint64_t confirmed = 0;                       // bytes of acknowledged parts
  bool finishing = false;                       // Complete or Abort started
  std::optional<Error> failure;                 // the first one
  std::string etag;                             // CompleteMultipartUpload's
  std::shared_ptr<BufferPool> buffers;
  // The create (see SweepLostCreates): whether one of its attempts may have created an upload we
  // never heard of, and when its attempts ran, on the server's clock as well as we know it.
  bool create_uncertain = false;
  std::chrono::system_clock::time_point create_from, create_to;

  std::string Where() const { return S3Store::Impl::Where(ctx); }
  std::string Part(int index) const {
    return sized ? fmt::format("part {} of {}", index + 1, part_count) : fmt::format("part {}", index + 1);
  }
  void Fail(Error e) {
    if (!failure) failure = std::move(e);
    transfer.Stop();  // the other parts' requests end
  }
};
using Job = std::shared_ptr<UploadJob>;

void Pump(const Job& job);

// CreateMultipartUpload is not idempotent: an attempt whose answer was lost (a reset after the
// server acted, a cut or corrupted answer, a timeout) may have created an upload the client never
// heard of, and the retry creates another. So after such a create, before the caller hears, the
// key's incomplete uploads are listed (ListMultipartUploads prefix=key, its first page) and
// every one of that exact key initiated within the create's attempts (± 1 s, the server's clock)
// that is not this upload is aborted. Where that cannot be done (the server does not list
// uploads, the listing or an abort fails), a warning names the key and
// PerformanceStats::possibly_orphaned_uploads counts it.
void SweepLostCreates(const Job& job, std::function<void()> then) {
  S3Store::Impl& s = job->s;
  auto unswept = [job](const std::string& why) {
    S3Store::Impl& st = job->s;
    st.possibly_orphaned_uploads_.fetch_add(1, std::memory_order_relaxed);
    if (st.options_.logger) {
      ESPER_LOG_WARN(*st.options_.logger,
                     "S3 put {}: a CreateMultipartUpload attempt's answer was lost, and the upload it may have "
                     "created could not be looked for and aborted ({}): it may be left incomplete (ListUploads, "
                     "or a lifecycle rule, removes it)",
                     job->Where(), why, log::kv("bucket", job->ctx.bucket), log::kv("key", job->ctx.key));
    }
  };
  Exchange ex;
  ex.request = http::Request::Get(s.addressing_.ObjectUrl(job->ctx.bucket));
  ex.request.query = {{"uploads", ""}, {"prefix", job->ctx.key}};
  ex.cancel = std::stop_token();  // goes out although the transfer was stopped, as the abort does
  auto page = std::make_shared<ListMultipartUploadsPage>();
  ex.verify = [page](const http::Response& r) -> std::optional<Error> {
    Result<ListMultipartUploadsPage> p = ParseListMultipartUploads(r.body);
    if (!p) return p.error();
    *page = std::move(*p);
    return std::nullopt;
  };
  s.SendFromLoop(job->ctx, std::move(ex), [job, page, unswept, then = std::move(then)](Result<http::Response> r) {
    if (!r) {
      unswept(fmt::format("ListMultipartUploads: {}", r.error().message()));
      return then();
    }
    const auto from = job->create_from - std::chrono::seconds(1), to = job->create_to + std::chrono::seconds(1);
    std::vector<std::string> lost;
    for (const auto& u : page->uploads) {
      if (u.key == job->ctx.key && u.upload_id != job->upload_id && u.initiated >= from && u.initiated <= to) {
        lost.push_back(u.upload_id);
      }
    }
    if (lost.empty()) return then();
    auto left = std::make_shared<size_t>(lost.size());
    auto next = std::make_shared<std::function<void()>>(std::move(then));
    for (const std::string& id : lost) {
      Exchange ab;
      ab.request = http::Request::Delete(job->s.addressing_.ObjectUrl(job->ctx.bucket, job->ctx.key));
      ab.request.query = {{"uploadId", id}};
      ab.cancel = std::stop_token();
      ab.bodyless_404 = "NoSuchUpload";
      job->s.SendFromLoop(job->ctx, std::move(ab), [left, next, unswept, id](Result<http::Response> a) {
        if (!a && a.error().service_code() != "NoSuchUpload") {
          unswept(fmt::format("AbortMultipartUpload {}: {}", id, a.error().message()));
        }
        if (--*left == 0) (*next)();
      });
    }
  });
}

// The caller hears `r` — after a sweep of what the create's lost answers may have left.
void Done(const Job& job, Result<ObjectInfo> r) {
  job->fd.Reset();
  if (job->create_uncertain) {
    job->create_uncertain = false;
    return SweepLostCreates(job, [job, r = std::move(r)]() mutable { job->done(std::move(r)); });
  }
  job->done(std::move(r));
}

// Part `index`'s bytes: pread from the file, or the stream's next bytes; how many (fewer than
// buf.size() only where an unsized stream ended).
Result<size_t> ReadPart(UploadJob& job, int index, std::string& buf) {
  const uint64_t offset = job.sized ? static_cast<uint64_t>(index) * job.part_size : job.size;  // unsized: in order
  if (job.fd.get() >= 0) {
    ESPER_ASSIGN_OR_RETURN(const size_t got, storage::detail::PreadFull(job.fd.get(), buf.data(), buf.size(), static_cast<off_t>(offset),
                                                                      fmt::format("read {}", job.body.path())));
    if (got < buf.size()) {
      return Error::DataLoss(fmt::format("{} shrank while it was uploaded (ends at {} of {} bytes)", job.body.path(),
                                         offset + got, job.size));
    }
    return got;
  }
  size_t got = 0;
  while (got < buf.size()) {
    Result<size_t> n = job.body.read_fn()(buf.data() + got, buf.size() - got);
    if (!n) return n.error();
    if (*n == 0 && !job.sized) break;  // the end of the stream
    if (*n == 0 || *n > buf.size() - got) {
      return Error(ErrorCode::kInvalidArgument,
                   *n == 0 ? fmt::format("the stream ended at byte {} of the {} it promised", offset + got, job.size)
                           : fmt::format("the stream's read returned more bytes ({}) than asked for ({})", *n,
                                         buf.size() - got))
          .WithServiceCode("IncompleteBody");
    }
    got += *n;
  }
  return got;
}

// Part `index`'s length: a sized body's part_size (the last: the rest); a stream's growing part
// size — past S3's last part one byte, only to learn whether the stream has ended.
size_t PartLength(const UploadJob& job, int index) {
  if (job.sized) return static_cast<size_t>(std::min(job.part_size, job.size - static_cast<uint64_t>(index) * job.part_size));
  if (index >= kMaxParts) return 1;
  return static_cast<size_t>(detail::StreamPartSize(job.part_size, index));
}

void SendPart(const Job& job, int index) {
  S3Store::Impl& s = job->s;
  size_t len = PartLength(*job, index);
  std::shared_ptr<std::string> buf = job->buffers->Take(len);
  Result<size_t> got = ReadPart(*job, index, *buf);
  if (!got) return job->Fail(Error(got.error()).Wrap(fmt::format("PUT {}: {}", job->Where(), job->Part(index))));
  if (!job->sized) {
    if (*got < len) job->ended = true;
    if (*got == 0) return;  // it ended at a part boundary: no part
    if (index >= kMaxParts) {
      return job->Fail(Error::ResourceExhausted(fmt::format(
          "PUT {}: a stream without a size is sent in parts growing from part_size ({} bytes), at most {} of them "
          "({} bytes), and this one is longer: give its size, or raise part_size",
          job->Where(), job->part_size, kMaxParts, job->size)));
    }
    len = *got;
    buf->resize(len);
    job->size += len;
    job->part_count = index + 1;
    job->parts.resize(static_cast<size_t>(job->part_count));
    job->md5s.resize(static_cast<size_t>(job->part_count));
  }
  const std::array<uint8_t, 16> md5 = Md5::Of(*buf);
  job->md5s[static_cast<size_t>(index)] = md5;
  Exchange ex;
  ex.request = http::Request::Put(s.addressing_.ObjectUrl(job->ctx.bucket, job->ctx.key),
                                  http::Body::FromShared(std::shared_ptr<const std::string>(std::move(buf))));
  ex.request.query = {{"partNumber", std::to_string(index + 1)}, {"uploadId", job->upload_id}};
  if (s.options_.content_md5) ex.request.headers.emplace_back("Content-MD5", Base64(md5));
  ex.payload_hash = std::string(kUnsignedPayload);  // Content-MD5 guards the body
  ex.carries_data = true;
  ex.cancel = job->transfer.token();
  ex.bodyless_404 = "NoSuchUpload";
  ex.verify = [hex = Hex(md5), where = job->Where(), n = index + 1](const http::Response& r) -> std::optional<Error> {
    const std::string etag(storage::UnquoteEtag(r.Header("ETag").value_or("")));
    if (!detail::EtagIsMd5(r, etag) || EqualsIgnoreCase(etag, hex)) return std::nullopt;
    return Error::DataLoss(fmt::format("PUT {}: part {}: the server's ETag {} is not the MD5 {} of the part sent: the "
                                       "body was changed on the way",
                                       where, n, etag, hex))
        .WithRetryable(true);
  };
  ++job->in_flight;
  s.SendFromLoop(job->ctx, std::move(ex), [job, index, len](Result<http::Response> r) {
    --job->in_flight;
    if (!r) {
      // The server knows no upload of the id we were given: a create answer changed on the way
      // (a flipped byte in the UploadId) would do that, leaving the real one behind: swept.
      if (r.error().service_code() == "NoSuchUpload") job->create_uncertain = true;
      job->Fail(Error(r.error()).Wrap(job->Part(index)));
    } else {
      job->parts[static_cast<size_t>(index)] = {.part_number = index + 1,
                                                .etag = std::string(r->Header("ETag").value_or(""))};
      job->confirmed += len;
      if (!job->failure) job->transfer.Progress(job->confirmed, job->sized || job->ended ? job->size : 0);
    }
    Pump(job);
  });
}

// The end of a failed or cancelled upload: AbortMultipartUpload, then the caller hears why.
void Abort(const Job& job) {
  S3Store::Impl& s = job->s;
  Error failure = job->transfer.Explain(*job->failure, job->ctx);
  Exchange ex;
  ex.request = http::Request::Delete(s.addressing_.ObjectUrl(job->ctx.bucket, job->ctx.key));
  ex.request.query = {{"uploadId", job->upload_id}};
  ex.cancel = std::stop_token();  // goes out although the transfer (or the store) was stopped
  ex.bodyless_404 = "NoSuchUpload";
  s.SendFromLoop(job->ctx, std::move(ex), [job, failure = std::move(failure)](Result<http::Response> r) mutable {
    std::string msg = failure.message();
    if (r || r.error().service_code() == "NoSuchUpload") {
      const auto sent = std::count_if(job->parts.begin(), job->parts.end(), [](const CompletedPart& p) { return p.part_number > 0; });
      msg += fmt::format(" (multipart upload {} aborted; {} of {} parts had been sent)", job->upload_id, sent, job->part_count);
    } else {
      msg += fmt::format(" (and aborting multipart upload {} failed: {}; it is left incomplete: `esper s3 "
                         "abort-uploads s3://{}` removes it)",
                         job->upload_id, r.error().message(), job->ctx.bucket);
    }
    Done(job, detail::Recode(failure, failure.code(), std::move(msg)).WithRetryable(failure.retryable()));
  });
}

// The upload is complete: its ETag checked where the server computes AWS's "-N" form (MD5 of the
// parts' MD5s), the caller told.
void Completed(const Job& job) {
  const std::string expected = detail::MultipartEtag(job->md5s);
  if (job->etag.find('-') != std::string::npos && !EqualsIgnoreCase(job->etag, expected)) {
    return Done(job, Error::DataLoss(fmt::format("PUT {}: the multipart object's ETag {} is not {} (MD5 of the {} "
                                                 "parts' MD5s): the server assembled other bytes than were sent",
                                                 job->Where(), job->etag, expected, job->part_count)));
  }
  ObjectInfo info;
  info.key = job->ctx.key;
  info.size = job->size;
  info.etag = job->etag;
  info.content_type = job->options.content_type;
  info.metadata = job->options.metadata;
  Done(job, std::move(info));
}

// A CompleteMultipartUpload answered NoSuchUpload — typically a retry after the first attempt
// completed the upload and its answer was lost. HEAD tells: an object whose ETag is this
// upload's "-N" ETag is it. (A server that gives another ETag form cannot tell: the error stands.)
void ConfirmCompleted(const Job& job, Error no_such_upload) {
  S3Store::Impl& s = job->s;
  Exchange ex;
  ex.request = http::Request::Head(s.addressing_.ObjectUrl(job->ctx.bucket, job->ctx.key));
  ex.cancel = job->transfer.token();
  s.SendFromLoop(job->ctx, std::move(ex), [job, e = std::move(no_such_upload)](Result<http::Response> r) mutable {
    const std::string expected = detail::MultipartEtag(job->md5s);
    if (r) {
      const std::string etag(storage::UnquoteEtag(r->Header("ETag").value_or("")));
      if (EqualsIgnoreCase(etag, expected)) {
        job->etag = etag;
        return Completed(job);
      }
    }
    Done(job, std::move(e.Wrap(fmt::format("completing multipart upload {}", job->upload_id))));
  });
}

void Complete(const Job& job) {
  S3Store::Impl& s = job->s;
  Exchange ex;
  std::string xml = BuildCompleteMultipartUploadRequest(job->parts);
  ex.payload_hash = Sha256Hex(xml);
  ex.request = http::Request::Post(s.addressing_.ObjectUrl(job->ctx.bucket, job->ctx.key),
                                   http::Body::FromString(std::move(xml)));
  ex.request.query = {{"uploadId", job->upload_id}};
  if (job->options.create_only) ex.request.headers.emplace_back("If-None-Match", "*");
  if (!job->options.if_match.empty()) ex.request.headers.emplace_back("If-Match", detail::Quoted(job->options.if_match));
  ex.error_in_200 = true;  // CompleteMultipartUpload may fail after its 200
  ex.retry_safe = true;
  ex.cancel = job->transfer.token();
  ex.bodyless_404 = "NoSuchUpload";
  ex.verify = [job](const http::Response& r) -> std::optional<Error> {
    Result<CompleteMultipartUploadResult> p = ParseCompleteMultipartUploadResult(r.body);
    if (!p) return p.error();
    job->etag = std::string(storage::UnquoteEtag(p->etag));
    return std::nullopt;
  };
  s.SendFromLoop(job->ctx, std::move(ex), [job](Result<http::Response> r) {
    if (!r && r.error().service_code() == "NoSuchUpload") return ConfirmCompleted(job, r.error());
    if (!r) {
      Error e = r.error();
      if (job->options.create_only && e.service_code() == "PreconditionFailed") {
        e = detail::Recode(e, ErrorCode::kAlreadyExists);
      }
      job->failure = std::move(e);
      return Abort(job);
    }
    Completed(job);
  });
}

// Keeps part_concurrency parts in flight; completes or aborts once none is.
void Pump(const Job& job) {
  if (job->finishing) return;
  const int concurrency = job->s.options_.part_concurrency;
  while (!job->failure && job->in_flight < concurrency && (job->sized ? job->next < job->part_count : !job->ended)) {
    if (job->transfer.stopped()) {
      job->Fail(job->transfer.StopError(job->ctx));
      break;
    }
    SendPart(job, job->next++);
    if (job->finishing) return;  // a part's failure to submit ran Pump to the end already
  }
  if (job->in_flight > 0 || job->finishing) return;
  job->finishing = true;
  if (job->failure) return Abort(job);
  Complete(job);
}

}  // namespace

Status S3Store::Impl::StartMultipartUpload(detail::OpContext ctx, storage::PutBody body, storage::detail::UniqueFd fd,
                                           std::optional<uint64_t> size,
                                           storage::PutOptions options, storage::Callback<storage::ObjectInfo> done,
                                           const TransferOptions* transfer) {
  auto job = std::make_shared<UploadJob>(*this, transfer);
  job->fd = std::move(fd);
  job->ctx = std::move(ctx);
  job->body = std::move(body);
  job->sized = size.has_value();
  job->part_size = options_.part_size;  // unsized: the first part's; they grow (StreamPartSize)
  if (size) {
    job->size = *size;
    job->part_size = detail::PartSizeFor(options_.part_size, *size);
    if (job->part_size > kMaxPartSize) {
      return Error::InvalidArgument(fmt::format("PUT {}: {} bytes is more than S3's 10,000 parts of 5 GiB", job->Where(), *size));
    }
    job->part_count = static_cast<int>((*size + job->part_size - 1) / job->part_size);
    job->parts.resize(static_cast<size_t>(job->part_count));
    job->md5s.resize(static_cast<size_t>(job->part_count));
  }
  job->buffers = std::make_shared<BufferPool>(part_buffers_);
  job->options = std::move(options);
  job->done = std::move(done);

  Exchange ex;
  ex.request = http::Request::Post(addressing_.ObjectUrl(job->ctx.bucket, job->ctx.key), http::Body());
  ex.request.query = {{"uploads", ""}};
  detail::AddObjectHeaders(ex.request.headers, job->options.content_type, job->options.metadata);
  ex.retry_safe = true;
  ex.cancel = job->transfer.token();
  ex.verify = [job](const http::Response& r) -> std::optional<Error> {
    Result<InitiateMultipartUploadResult> p = ParseInitiateMultipartUploadResult(r.body);
    if (!p) return p.error();
    if (p->upload_id.empty()) return Error::Unavailable("CreateMultipartUpload: no UploadId in the answer").WithRetryable(true);
    job->upload_id = std::move(p->upload_id);
    return std::nullopt;
  };
  job->create_from = SigningNow();
  return Send(job->ctx, std::move(ex), [job](Result<http::Response> r) {
    // An attempt that failed may have created an upload (SweepLostCreates): a create sent more
    // than once (retried, or resent by libcurl itself on a fresh connection when the reused one
    // died before the answer: http::Response::sends), or one that failed otherwise than by the
    // server's own refusal. The window is on the server's
    // clock: its Date (whole seconds) back by the time the attempts took, else ours as corrected.
    const auto now = job->s.SigningNow();
    const std::optional<std::chrono::system_clock::time_point> date =
        r ? ParseHttpDate(r->Header("Date").value_or("")) : std::nullopt;
    job->create_to = date ? *date + std::chrono::seconds(1) : now;
    job->create_from = job->create_to - (now - job->create_from) - (date ? std::chrono::seconds(1) : std::chrono::seconds(0));
    job->create_uncertain = r ? r->sends > 1 : (r.error().retryable() || r.error().service_code().empty());
    if (!r) return Done(job, job->transfer.Explain(r.error(), job->ctx));
    Pump(job);
  });
}

}  // namespace esper::s3
