// S3Store's download into a file (s3_store.h, "Large objects"): a first ranged GET of
// multipart_threshold bytes (rounded up to a whole part), then the rest in ranges of part_size,
// part_concurrency at a time, pinned with If-Match to the first response's ETag, written with
// pwrite into GetTarget::ToFile's temporary file; each range checked (the range asked for, every
// byte of it), the whole checked against the ETag where it says the MD5, renamed on success.
#include <fmt/format.h>

#include <algorithm>

#include "esper/core/ascii.h"
#include "esper/s3/checksum.h"
#include "s3/transfer.h"
#include "storage/atomic_file.h"
#include "storage/fs.h"

namespace esper::s3 {
namespace {

using detail::Exchange;
using detail::OpContext;
using storage::Callback;
using storage::GetResult;
using Digest = std::array<uint8_t, 16>;
using detail::ParseU64;
constexpr size_t kHashStep = size_t{4} << 20;  // bytes hashed per loop turn when the file is checked

struct DownloadJob {
  DownloadJob(S3Store::Impl& store, const TransferOptions* t) : s(store), transfer(store, t) {}
  S3Store::Impl& s;
  OpContext ctx;
  storage::GetOptions options;
  Callback<GetResult> done;
  detail::Transfer transfer;
  std::optional<storage::detail::AtomicFile> file;
  std::string write_what;  // "write <target>": what a failed write says (made once, not per chunk)

  uint64_t first_length = 0;  // bytes the first request asks for
  uint64_t layout = 0;        // the part size of the MD5 layout checked against a "-N" ETag (0: none)
  uint64_t range_size = 0;    // of the ranges after the first
  // From the first response.
  storage::ObjectInfo info;
  uint64_t total = 0;
  bool plain_md5 = false;    // the ETag is the object's MD5
  Md5 whole;                 // of the first response's bytes (from byte 0, in order)
  std::vector<Digest> md5s;  // by part of `layout`

  uint64_t next = 0;  // the next range's offset
  int in_flight = 0;
  uint64_t written = 0;
  bool finishing = false;
  std::optional<Error> failure;

  std::string Where() const { return S3Store::Impl::Where(ctx); }
  void Fail(Error e) {
    if (!failure) failure = std::move(e);
    transfer.Stop();
  }
};
using Job = std::shared_ptr<DownloadJob>;

// One range request's bytes: written at their offset, hashed per part of the layout.
struct Range {
  uint64_t start = 0;
  uint64_t length = 0;  // asked for (the first: may be more than the object)
  uint64_t got = 0;
  Md5 md5;              // of the current part of the layout
  bool pending = false;  // md5 holds bytes of a part not yet finished
};

Status Write(DownloadJob& job, Range& range, std::string_view chunk) {
  const uint64_t at = range.start + range.got;
  const uint64_t end = at + chunk.size();
  ESPER_RETURN_IF_ERROR(storage::detail::PwriteAll(job.file->fd(), chunk, static_cast<off_t>(at), job.write_what));
  if (range.start == 0) job.whole.Update(chunk);
  if (job.layout > 0) {
    uint64_t p = range.start + range.got;
    while (!chunk.empty()) {
      const uint64_t room = job.layout - p % job.layout;
      const size_t take = static_cast<size_t>(std::min<uint64_t>(room, chunk.size()));
      range.md5.Update(chunk.substr(0, take));
      range.pending = true;
      chunk.remove_prefix(take);
      p += take;
      if (p % job.layout == 0) {
        const size_t index = static_cast<size_t>(p / job.layout - 1);
        if (job.md5s.size() <= index) job.md5s.resize(index + 1);
        job.md5s[index] = range.md5.Final();
        range.pending = false;
      }
    }
  }
  range.got = end - range.start;
  return OkStatus();
}

// What a range's 2xx must be: the bytes asked for, all of them, of the same object.
std::optional<Error> VerifyRange(DownloadJob& job, Range& range, const http::Response& r) {
  const std::string where = job.Where();
  detail::Served sv;
  if (r.status == 206) {
    auto cr = r.Header("Content-Range");
    auto parsed = cr ? detail::ParseContentRange(*cr) : std::nullopt;
    if (!parsed) return Error::DataLoss(fmt::format("GET {}: a 206 without a valid Content-Range ('{}')", where, cr.value_or("")));
    sv = *parsed;
  } else if (range.start == 0) {  // a server that ignores Range sends the whole object
    sv.total = ParseU64(r.Header("Content-Length").value_or("")).value_or(range.got);
    sv.length = sv.total;
  } else {
    return Error::DataLoss(fmt::format("GET {}: HTTP {} to a range request", where, r.status));
  }
  const bool first = range.start == 0;
  const uint64_t total = first ? sv.total : job.total;
  const uint64_t want = std::min(range.length, total - std::min(total, range.start));
  if (sv.offset != range.start || sv.length != want || sv.total != total) {
    return Error::DataLoss(fmt::format("GET {}: asked for bytes {}-{} of {}, the server sent bytes {}-{} of {}", where,
                                       range.start, range.start + want - 1, total, sv.offset, sv.offset + sv.length - 1,
                                       sv.total))
        .WithRetryable(true);
  }
  if (range.got != want) {
    return Error::DataLoss(fmt::format("GET {}: bytes {}-{}: {} of {} bytes arrived", where, range.start,
                                       range.start + want - 1, range.got, want))
        .WithRetryable(true);
  }
  if (range.pending) {  // the object's last part ends here
    const size_t index = static_cast<size_t>((range.start + range.got - 1) / job.layout);
    if (job.md5s.size() <= index) job.md5s.resize(index + 1);
    job.md5s[index] = range.md5.Final();
    range.pending = false;
  }
  if (first) {
    job.info = detail::InfoFromHeaders(r, job.ctx.key);
    job.info.size = sv.total;
    job.total = sv.total;
    job.plain_md5 = detail::EtagIsMd5(r, job.info.etag);
    // The whole object in this one answer: its MD5 is checked here, so a corrupted body is retried.
    if (job.plain_md5 && sv.length == sv.total && job.s.options_.verify_download_md5) {
      const std::string hex = Hex(job.whole.Final());
      if (!EqualsIgnoreCase(hex, job.info.etag)) {
        return Error::DataLoss(fmt::format("GET {}: the {} bytes received have MD5 {}, not the object's ETag {}", where,
                                           sv.length, hex, job.info.etag))
            .WithRetryable(true);
      }
    }
  }
  return std::nullopt;
}

void Pump(const Job& job);

Exchange RangeGet(const Job& job, const std::shared_ptr<Range>& range) {
  S3Store::Impl& s = job->s;
  Exchange ex;
  ex.request = http::Request::Get(s.addressing_.ObjectUrl(job->ctx.bucket, job->ctx.key));
  ex.request.headers.emplace_back("Range", fmt::format("bytes={}-{}", range->start, range->start + range->length - 1));
  const std::string& pin = range->start == 0 ? job->options.if_match : job->info.etag;
  if (!pin.empty()) ex.request.headers.emplace_back("If-Match", detail::Quoted(pin));
  ex.carries_data = true;
  ex.cancel = job->transfer.token();
  DownloadJob* j = job.get();  // the sink lives in the request, which the job outlives
  ex.request.sink = http::Sink::ToStream([j, range](std::string_view chunk) { return Write(*j, *range, chunk); },
                                         [j, range]() -> Status {
                                           range->got = 0;
                                           range->md5 = Md5();
                                           range->pending = false;
                                           if (range->start == 0) j->whole = Md5();
                                           return OkStatus();
                                         });
  ex.verify = [j, range](const http::Response& r) { return VerifyRange(*j, *range, r); };
  return ex;
}

void Finish(const Job& job);

void SendRange(const Job& job) {
  auto range = std::make_shared<Range>();
  range->start = job->next;
  range->length = std::min(job->range_size, job->total - job->next);
  job->next += range->length;
  ++job->in_flight;
  job->s.SendFromLoop(job->ctx, RangeGet(job, range), [job, range](Result<http::Response> r) {
    --job->in_flight;
    if (!r) {
      Error e = r.error();
      // If-Match failed (412) — or, on a server that checks the range first (s3rver), a range
      // inside the size the first response gave is no longer satisfiable (416).
      if (e.service_code() == "PreconditionFailed" || e.service_code() == "InvalidRange") {
        e = detail::Recode(e, ErrorCode::kFailedPrecondition,
                           fmt::format("GET {}: the object changed during the download (its ETag is no longer {}): {}",
                                       job->Where(), job->info.etag, e.message()));
      }
      job->Fail(std::move(e));
    } else {
      job->written += range->got;
      if (!job->failure) job->transfer.Progress(job->written, job->total);
    }
    Pump(job);
  });
}

void Pump(const Job& job) {
  if (job->finishing) return;
  while (!job->failure && job->in_flight < job->s.options_.part_concurrency && job->next < job->total) {
    if (job->transfer.stopped()) {
      job->Fail(job->transfer.StopError(job->ctx));
      break;
    }
    SendRange(job);
    if (job->finishing) return;
  }
  if (job->in_flight > 0 || job->finishing) return;
  job->finishing = true;
  Finish(job);
}

void Fail(const Job& job, Error e) {
  job->file.reset();  // the temporary file goes; the target is untouched
  job->done(job->transfer.Explain(std::move(e), job->ctx));
}

void Commit(const Job& job) {
  if (Status c = job->file->Commit(job->s.options_.fsync_downloads); !c) {
    return Fail(job, Error(c.error()).Wrap(fmt::format("GET {}: the target", job->Where())));
  }
  job->file.reset();
  GetResult g;
  g.info = std::move(job->info);
  g.offset = 0;
  g.length = job->total;
  job->done(std::move(g));
}

Error Mismatch(const DownloadJob& job, std::string_view got, std::string_view what) {
  return Error::DataLoss(fmt::format("GET {}: the {} bytes received have {} {}, not the object's ETag {}", job.Where(),
                                     job.total, what, got, job.info.etag))
      .WithRetryable(true);
}

// The MD5 of the file from `at` on, continuing `md5` (of the bytes before `at`), a step per
// loop turn through one buffer, then compared with the ETag.
struct FileHash {
  Md5 md5;
  std::string buf;
};

void HashFile(const Job& job, std::shared_ptr<FileHash> h, uint64_t at) {
  if (job->s.stopping() || job->transfer.stopped()) return Fail(job, job->transfer.StopError(job->ctx));
  const size_t want = static_cast<size_t>(std::min<uint64_t>(h->buf.size(), job->total - at));
  const std::string what = fmt::format("read back {}", job->options.target.path());
  Result<size_t> got = storage::detail::PreadFull(job->file->fd(), h->buf.data(), want, static_cast<off_t>(at), what);
  if (!got) return Fail(job, got.error());
  if (*got < want) return Fail(job, Error::FromErrno(EIO, what));
  h->md5.Update(std::string_view(h->buf.data(), want));
  at += want;
  if (at < job->total) {
    return job->s.Post([job, h = std::move(h), at]() mutable { HashFile(job, std::move(h), at); });
  }
  const std::string hex = Hex(h->md5.Final());
  if (!EqualsIgnoreCase(hex, job->info.etag)) return Fail(job, Mismatch(*job, hex, "MD5"));
  Commit(job);
}

// Every range is in: check the whole against the ETag where it tells, then rename.
void Finish(const Job& job) {
  if (job->failure) return Fail(job, *job->failure);
  if (!job->s.options_.verify_download_md5) return Commit(job);
  const std::string& etag = job->info.etag;
  if (job->plain_md5) {
    if (job->total <= job->first_length) return Commit(job);  // checked with the first answer
    // job->whole holds the MD5 of the first range, [0, first_length): the rest is read back.
    auto h = std::make_shared<FileHash>(FileHash{.md5 = std::move(job->whole), .buf = {}});
    h->buf.resize(static_cast<size_t>(std::min<uint64_t>(kHashStep, job->total - job->first_length)));
    return HashFile(job, std::move(h), job->first_length);
  }
  // A multipart ETag "<md5 of part md5s>-N" tells when N is the number of parts of our layout.
  const size_t dash = etag.rfind('-');
  if (job->layout > 0 && dash != std::string::npos && job->total > 0) {
    const auto n = ParseU64(std::string_view(etag).substr(dash + 1));
    if (n && *n == job->md5s.size()) {
      const std::string expected = detail::MultipartEtag(job->md5s);
      if (!EqualsIgnoreCase(expected, etag)) {
        return Fail(job, Error::DataLoss(fmt::format(
                             "GET {}: the {} bytes received, as {} parts of {} bytes, give the multipart ETag {}, not the "
                             "object's {}: corrupted on the way, or uploaded with parts of another size (set "
                             "verify_download_md5 = false to accept such objects)",
                             job->Where(), job->total, *n, job->layout, expected, etag)));
      }
    }
  }
  Commit(job);
}

// An empty object has no range to serve (416): fetched whole.
void GetEmpty(const Job& job) {
  Exchange ex;
  ex.request = http::Request::Get(job->s.addressing_.ObjectUrl(job->ctx.bucket, job->ctx.key));
  if (!job->options.if_match.empty()) ex.request.headers.emplace_back("If-Match", detail::Quoted(job->options.if_match));
  ex.carries_data = true;
  ex.cancel = job->transfer.token();
  job->s.SendFromLoop(job->ctx, std::move(ex), [job](Result<http::Response> r) {
    if (!r) return Fail(job, r.error());
    Range all;
    if (Status w = Write(*job, all, r->body); !w) return Fail(job, w.error());
    job->info = detail::InfoFromHeaders(*r, job->ctx.key);
    job->info.size = r->body.size();
    job->total = r->body.size();
    job->plain_md5 = detail::EtagIsMd5(*r, job->info.etag);
    job->first_length = job->total;
    job->layout = 0;
    job->finishing = true;
    Finish(job);
  });
}

}  // namespace

Status S3Store::Impl::StartRangedDownload(detail::OpContext ctx, storage::GetOptions options,
                                          storage::Callback<storage::GetResult> done, const TransferOptions* transfer) {
  auto job = std::make_shared<DownloadJob>(*this, transfer);
  job->ctx = std::move(ctx);
  auto file = storage::detail::AtomicFile::Create(options.target.path());
  if (!file) return Error(file.error()).Wrap(fmt::format("GET {}: the target", job->Where()));
  job->file.emplace(std::move(*file));
  job->options = std::move(options);
  job->write_what = fmt::format("write {}", job->options.target.path());
  job->done = std::move(done);
  const uint64_t part = options_.part_size;
  job->layout = part;
  job->first_length = (options_.multipart_threshold + part - 1) / part * part;

  auto first = std::make_shared<Range>();
  first->length = job->first_length;
  return Send(job->ctx, RangeGet(job, first), [job, first](Result<http::Response> r) {
    if (!r) {
      if (r.error().service_code() == "InvalidRange") return GetEmpty(job);
      return Fail(job, r.error());
    }
    job->written = first->got;
    job->next = first->got;
    if (job->total > job->next) {
      job->range_size = detail::PartSizeFor(job->s.options_.part_size, job->total);
      if (job->range_size != job->layout) job->layout = 0;  // grown parts: the first range is not on their grid
      job->transfer.Progress(job->written, job->total);
    }
    Pump(job);
  });
}

}  // namespace esper::s3
