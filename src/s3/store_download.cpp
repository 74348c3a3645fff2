// S3Store's download of a whole object into a file or a stream (s3_store.h, "Large objects"): a
// first ranged GET of multipart_threshold bytes (rounded up to a whole part), then the rest in
// ranges of part_size, part_concurrency at a time, pinned with If-Match to the first response's
// ETag; each range checked (the range asked for, every byte of it).
//   * A file (GetTarget::ToFile): bytes written with pwrite into the temporary file, the whole
//     checked against the ETag where it says the MD5, renamed on success; a whole that does not
//     match is read again, range by range, keeping the ranges two reads agree on (Recheck). The
//     parts' MD5s (for a multipart ETag) are taken once parts have landed, read back from the
//     file up to 16 at once, one per SIMD lane (HashParts, md5_lanes.h): ~6× less CPU than
//     hashing each range as it arrives, which made the MD5 a download's largest cost. A plain
//     MD5 ETag (the whole object's: serial, no lanes) is taken in order on the store's hash
//     thread (HashFile) as the ranges land, beside the loop that receives the next ones.
//   * A stream (GetTarget::ToStream): each range received whole into a buffer, then handed to
//     the stream strictly in order, then hashed on the hash thread (HashStream: the whole MD5 in
//     order, or the parts' MD5s, in SIMD lanes, every range waiting at once); at most part_concurrency ranges
//     past the last one released exist at once (the reorder window); the whole checked at the
//     end.
//   Hashing off the loop: one task of a job at a time (so in order), its completion posted back
//   to the loop; the job finishes only once no task of it runs.
#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <map>
#include <thread>
#include <utility>

#include "esper/core/ascii.h"
#include "esper/s3/checksum.h"
#include "s3/md5_lanes.h"
#include "s3/transfer.h"
#include "storage/atomic_file.h"
#include "storage/fs.h"
#include "storage/worker_pool.h"

namespace esper::s3 {
namespace {

using detail::Exchange;
using detail::OpContext;
using storage::Callback;
using storage::GetResult;
using Digest = std::array<uint8_t, 16>;
using detail::ParseU64;
using Gauge = S3Store::Impl::BufferGauge;
constexpr uint64_t kMaxFileRange = uint64_t{64} << 20;  // FileRangeSize
constexpr size_t kHashStep = size_t{4} << 20;  // bytes per pread when the file is read back (ReadBack)
constexpr uint64_t kHashTask = uint64_t{64} << 20;  // bytes of a file hashed by one task of the hash thread

struct Range;

struct DownloadJob {
  DownloadJob(S3Store::Impl& store, const TransferOptions* t) : s(store), transfer(store, t) {}
  S3Store::Impl& s;
  OpContext ctx;
  storage::GetOptions options;
  Callback<GetResult> done;
  detail::Transfer transfer;
  std::optional<storage::detail::AtomicFile> file;  // a file target's temporary file; none: a stream
  std::string write_what;  // "write <target>": what a failed write says (made once, not per chunk)

  uint64_t first_length = 0;  // bytes the first request asks for
  uint64_t layout = 0;        // the part size of the MD5 layout checked against a "-N" ETag (0: none)
  uint64_t range_size = 0;    // of the ranges after the first
  // From the first response.
  storage::ObjectInfo info;
  uint64_t total = 0;
  uint64_t first_got = 0;    // range 0 is [0, first_got); range i > 0 starts at first_got + (i-1) × range_size
  bool plain_md5 = false;    // the ETag is the object's MD5
  bool whole_checked = false;  // the first response was the whole object, its MD5 checked then
  // The MD5 of the object's bytes in order — a file's ranges [0, hash_next): range 0 as it
  // arrived, the rest on the hash thread; a stream's ranges as they were released. Touched by
  // the hash thread only while `hashing`.
  Md5 whole;
  size_t hash_next = 0;
  std::vector<Digest> md5s;  // by part of `layout` (a stream's: filled on the hash thread)
  std::vector<size_t> unhashed;  // a file's parts of `layout` that landed, their MD5 not taken yet
  bool hashing = false;          // a task of this job is on the hash thread
  std::vector<bool> landed;      // a file's ranges of the first pass that are in (plain MD5)
  std::vector<std::shared_ptr<Range>> to_hash;  // a stream's delivered ranges, waiting for the hash thread

  // The ranges still to send in this pass: indices in `todo` from `todo_at` on.
  std::vector<size_t> todo;
  size_t todo_at = 0;
  int in_flight = 0;
  uint64_t written = 0;  // bytes of the first pass in (file) or delivered (stream): the progress
  bool finishing = false;
  std::optional<Error> failure;

  // A file target's passes (Recheck): 1 is the first read of every range.
  int pass = 1;
  std::vector<std::vector<Digest>> reads;  // by range: the MD5 of each of its reads that were digested
  // A stream target's reorder buffer: ranges received whole, waiting for their turn.
  std::map<size_t, std::shared_ptr<Range>> ready;
  size_t delivered = 0;  // ranges handed to the stream
  size_t released = 0;   // ranges delivered and hashed: their buffers are gone

  bool to_file() const { return file.has_value(); }
  bool checks_whole() const { return plain_md5 && !whole_checked && s.options_.verify_download_md5; }
  size_t RangeCount() const { return total <= first_got ? 1 : 1 + static_cast<size_t>((total - first_got + range_size - 1) / range_size); }
  std::pair<uint64_t, uint64_t> RangeAt(size_t i) const {  // {start, length}
    if (i == 0) return {0, first_got};
    const uint64_t start = first_got + (i - 1) * range_size;
    return {start, std::min(range_size, total - start)};
  }
  std::string Where() const { return S3Store::Impl::Where(ctx); }
  void Fail(Error e) {
    if (!failure) failure = std::move(e);
    transfer.Stop();
  }
};
using Job = std::shared_ptr<DownloadJob>;

// One range request's bytes: written at their offset (file) or kept (stream).
struct Range {
  explicit Range(std::shared_ptr<Gauge> g) : gauge(std::move(g)) {}
  ~Range() { Release(); }
  Range(const Range&) = delete;
  Range& operator=(const Range&) = delete;

  size_t index = 0;
  uint64_t start = 0;
  uint64_t length = 0;  // asked for (the first: may be more than the object)
  uint64_t got = 0;
  // A stream target's bytes, counted in the store's buffer gauge while they exist.
  std::string data;
  std::shared_ptr<Gauge> gauge;
  uint64_t counted = 0;

  void Reserve(uint64_t n) {
    if (n <= data.capacity()) return;
    // Exactly n: std::string::reserve would round a growth below double up to double.
    std::string bigger;
    bigger.reserve(static_cast<size_t>(n));
    bigger.append(data);
    data.swap(bigger);
    if (data.capacity() > counted) {
      Count(static_cast<int64_t>(data.capacity() - counted));
      counted = data.capacity();
    }
  }
  // The bytes were delivered: the buffer goes now, whoever still holds the range.
  void Release() {
    std::string().swap(data);
    Count(-static_cast<int64_t>(counted));
    counted = 0;
  }
  void Count(int64_t delta) {
    if (delta == 0) return;
    const uint64_t now = gauge->now.fetch_add(static_cast<uint64_t>(delta), std::memory_order_relaxed) + static_cast<uint64_t>(delta);
    uint64_t peak = gauge->peak.load(std::memory_order_relaxed);
    while (delta > 0 && now > peak && !gauge->peak.compare_exchange_weak(peak, now, std::memory_order_relaxed)) {
    }
  }
};

Status Keep(DownloadJob& job, Range& range, std::string_view chunk) {
  if (range.got + chunk.size() > range.length) {
    return Error::DataLoss(fmt::format("GET {}: the server sent more than the {} bytes asked for from byte {}", job.Where(),
                                       range.length, range.start));
  }
  if (range.data.capacity() < range.got + chunk.size()) {  // the first range: grown as it comes, up to its length
    range.Reserve(std::min(range.length, std::max<uint64_t>({range.got + chunk.size(), 2 * range.data.capacity(), 64 << 10})));
  }
  range.data.append(chunk);
  return OkStatus();
}

Status Write(DownloadJob& job, Range& range, std::string_view chunk) {
  const uint64_t at = range.start + range.got;
  const uint64_t end = at + chunk.size();
  if (job.to_file()) {
    ESPER_RETURN_IF_ERROR(storage::detail::PwriteAll(job.file->fd(), chunk, static_cast<off_t>(at), job.write_what));
    if (range.start == 0 && job.pass == 1 && job.s.options_.verify_download_md5) job.whole.Update(chunk);
  } else {
    ESPER_RETURN_IF_ERROR(Keep(job, range, chunk));
  }
  range.got = end - range.start;
  return OkStatus();
}

// A file's range has landed: its parts of the layout wait to be hashed (HashParts).
void QueueParts(DownloadJob& job, const Range& range) {
  if (!job.to_file() || job.layout == 0) return;
  for (uint64_t p = range.start / job.layout; p * job.layout < range.start + range.got; ++p) {
    job.unhashed.push_back(static_cast<size_t>(p));
  }
}

// The MD5s of the parts of `layout` in `parts` (taken from it) into md5s, in batches of parts of
// one length as many as the CPU hashes at once (16 with AVX-512; the object's last part may be
// shorter: alone); with `all`, every part, else only full batches. fill(part, at, n, slot) as for
// detail::Md5sOf.
template <class Fill>
Status HashBatches(const DownloadJob& job, std::vector<size_t>& parts, bool all, const Fill& fill,
                   std::vector<Digest>& md5s) {
  const size_t width = static_cast<size_t>(detail::Md5Lanes::Width(detail::Md5Lanes::Kernel::kAuto));
  const auto part_length = [&job](size_t i) { return std::min(job.layout, job.total - i * job.layout); };
  while (!parts.empty() && (all || parts.size() >= width)) {
    const uint64_t length = part_length(parts.back());
    std::vector<size_t> batch;
    for (size_t k = parts.size(); k-- > 0 && batch.size() < width;) {
      if (part_length(parts[k]) != length) continue;
      batch.push_back(parts[k]);
      parts.erase(parts.begin() + static_cast<std::ptrdiff_t>(k));
    }
    std::vector<Digest> out(batch.size());
    ESPER_RETURN_IF_ERROR(detail::Md5sOf(
        batch.size(), length, [&](size_t k, uint64_t at, size_t n, char* slot) { return fill(batch[k], at, n, slot); },
        out.data()));
    for (size_t k = 0; k < batch.size(); ++k) {
      if (md5s.size() <= batch[k]) md5s.resize(batch[k] + 1);
      md5s[batch[k]] = out[k];
    }
  }
  return OkStatus();
}

// A file's landed parts (QueueParts), read back 128 KiB (kMd5Slice) at a time per part, on the loop: a
// batch of 16 parts of 8 MiB takes ~30 ms (4.4 GB/s). With `all`, every part waiting.
Status HashParts(DownloadJob& job, bool all) {
  if (job.unhashed.empty()) return OkStatus();
  const std::string what = fmt::format("read back {}", job.options.target.path());
  const int fd = job.file->fd();
  const uint64_t layout = job.layout;
  return HashBatches(
      job, job.unhashed, all,
      [&](size_t part, uint64_t at, size_t n, char* slot) -> Result<std::string_view> {
        ESPER_ASSIGN_OR_RETURN(const size_t got,
                               storage::detail::PreadFull(fd, slot, n, static_cast<off_t>(part * layout + at), what));
        if (got < n) return Error::FromErrno(EIO, what);
        return std::string_view(slot, n);
      },
      job.md5s);
}

// What a range's 2xx must be: the bytes asked for, all of them, of the same object.
std::optional<Error> VerifyRange(DownloadJob& job, Range& range, const http::Response& r) {
  const std::string where = job.Where();
  const bool first = range.index == 0 && job.pass == 1;  // the response that tells the object
  detail::Served sv;
  if (r.status == 206) {
    auto cr = r.Header("Content-Range");
    auto parsed = cr ? detail::ParseContentRange(*cr) : std::nullopt;
    if (!parsed) return Error::DataLoss(fmt::format("GET {}: a 206 without a valid Content-Range ('{}')", where, cr.value_or("")));
    sv = *parsed;
  } else if (first) {  // a server that ignores Range sends the whole object
    sv.total = ParseU64(r.Header("Content-Length").value_or("")).value_or(range.got);
    sv.length = sv.total;
  } else {
    return Error::DataLoss(fmt::format("GET {}: HTTP {} to a range request", where, r.status));
  }
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
  if (first) {
    job.info = detail::InfoFromHeaders(r, job.ctx.key);
    job.info.size = sv.total;
    job.total = sv.total;
    job.plain_md5 = detail::EtagIsMd5(r, job.info.etag);
    // The whole object in this one answer: its MD5 is checked here, so a corrupted body is
    // retried (before a stream sees any of it).
    if (job.plain_md5 && sv.length == sv.total && job.s.options_.verify_download_md5) {
      const std::string hex = Hex(job.to_file() ? job.whole.Final() : Md5::Of(range.data));
      if (!EqualsIgnoreCase(hex, job.info.etag)) {
        return Error::DataLoss(fmt::format("GET {}: the {} bytes received have MD5 {}, not the object's ETag {}", where,
                                           sv.length, hex, job.info.etag))
            .WithRetryable(true);
      }
      job.whole_checked = true;
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
  const std::string& pin = job->info.etag.empty() ? job->options.if_match : job->info.etag;
  if (!pin.empty()) ex.request.headers.emplace_back("If-Match", detail::Quoted(pin));
  ex.carries_data = true;
  ex.cancel = job->transfer.token();
  DownloadJob* j = job.get();  // the sink lives in the request, which the job outlives
  ex.request.sink = http::Sink::ToStream([j, range](std::string_view chunk) { return Write(*j, *range, chunk); },
                                         [j, range]() -> Status {
                                           range->got = 0;
                                           range->data.clear();
                                           if (range->start == 0 && j->pass == 1) j->whole = Md5();
                                           return OkStatus();
                                         });
  ex.verify = [j, range](const http::Response& r) { return VerifyRange(*j, *range, r); };
  return ex;
}

void Finish(const Job& job);

// A file's ranges after the first, when nothing hashes them serially in order: they hold no
// memory (each is written where it lands), so they grow to one per connection for what is left,
// at most kMaxFileRange, a whole number of range_size so the part layout stays on their grid.
// Fewer requests: each costs the server a round of its own (s3rver ~5 ms of its one thread; S3
// its first-byte latency). A plain-MD5 ETag that is checked keeps ranges of part_size: its MD5
// is taken in order as whole ranges land, and a range is all the tail it can lag behind.
uint64_t FileRangeSize(const DownloadJob& job) {
  const uint64_t base = job.range_size;
  const uint64_t rest = job.total > job.first_got ? job.total - job.first_got : 0;
  const uint64_t per = rest / static_cast<uint64_t>(job.s.options_.part_concurrency) / base * base;
  const uint64_t most = std::max(base, kMaxFileRange / base * base);
  return std::clamp(per, base, most);
}

// ---- hashing on the store's hash thread ----

// Runs `work` on the hash thread (on this one if the pool refuses: the store is going); the job
// is `hashing` until `then` runs on the loop with work's status. `work` must not own the job.
void OnHashThread(const Job& job, std::function<Status()> work, std::function<void(const Job&, Status)> then) {
  job->hashing = true;
  auto task = std::make_shared<storage::detail::WorkerPool::Task>(
      [job, work = std::move(work), then = std::move(then)](bool cancelled) mutable {
        Status st = cancelled ? Status(job->s.CancelledError(job->ctx)) : work();
        work = nullptr;
        S3Store::Impl& s = job->s;
        // The job moves to the loop: it is never released here (nor destroyed on this thread).
        s.Post([job = std::move(job), then = std::move(then), st = std::move(st)]() {
          job->hashing = false;
          then(job, st);
        });
      });
  if (!job->s.Hasher().Submit([task](bool cancelled) { (*task)(cancelled); })) (*task)(false);
}

// Reads spans {start, length} of a file target back on the hash thread, kHashStep at a time, each
// piece to eat(span index, bytes) (on the hash thread); `then` on the loop with the outcome — the
// transfer's StopError when it was stopped meanwhile (the caller, or the store going).
void ReadBack(const Job& job, std::vector<std::pair<uint64_t, uint64_t>> spans,
              std::function<void(size_t, std::string_view)> eat, std::function<void(const Job&, Status)> then) {
  OnHashThread(
      job,
      [j = job.get(), fd = job->file->fd(), spans = std::move(spans), eat = std::move(eat),
       what = fmt::format("read back {}", job->options.target.path())]() -> Status {
        std::string buf(kHashStep, '\0');
        for (size_t k = 0; k < spans.size(); ++k) {
          const auto [start, length] = spans[k];
          for (uint64_t at = 0; at < length;) {
            if (j->transfer.stopped()) return j->transfer.StopError(j->ctx);
            const size_t n = static_cast<size_t>(std::min<uint64_t>(buf.size(), length - at));
            ESPER_ASSIGN_OR_RETURN(const size_t got,
                                   storage::detail::PreadFull(fd, buf.data(), n, static_cast<off_t>(start + at), what));
            if (got < n) return Error::FromErrno(EIO, what);
            eat(k, std::string_view(buf.data(), n));
            at += n;
          }
        }
        return OkStatus();
      },
      std::move(then));
}

// A file with a plain MD5 ETag, first pass: the ranges landed in order from hash_next go into
// `whole`, read back from the file (the page cache), at most kHashTask bytes per task.
void HashFile(const Job& job) {
  if (job->hashing || job->failure) return;
  size_t end = job->hash_next;
  const uint64_t from = end < job->landed.size() ? job->RangeAt(end).first : job->total;
  uint64_t to = from;
  for (; end < job->landed.size() && job->landed[end] && to - from < kHashTask; ++end) {
    const auto [start, length] = job->RangeAt(end);
    to = start + length;
  }
  if (end == job->hash_next) return;
  ReadBack(
      job, {{from, to - from}}, [j = job.get()](size_t, std::string_view bytes) { j->whole.Update(bytes); },
      [end](const Job& j, Status st) {
        if (!st) j->Fail(st.error());
        j->hash_next = end;
        HashFile(j);
        Pump(j);
      });
}

// A stream: the ranges delivered since the last task — into `whole` in order (a plain MD5 ETag),
// or their parts' MD5s (a multipart ETag), in SIMD lanes, all of them at once — then released.
void HashStream(const Job& job) {
  if (job->hashing || job->to_hash.empty() || job->failure) return;
  // The whole MD5 (serial) takes one range per task, so that the window slides range by range;
  // parts take every range waiting, for the lanes.
  const bool whole = job->checks_whole();
  std::vector<std::shared_ptr<Range>> batch;
  if (whole) {
    batch.push_back(job->to_hash.front());
    job->to_hash.erase(job->to_hash.begin());
  } else {
    batch.swap(job->to_hash);
  }
  const size_t count = batch.size();
  OnHashThread(
      job,
      [j = job.get(), batch = std::move(batch), whole]() -> Status {
        Status st = OkStatus();
        if (whole) {
          for (const auto& r : batch) j->whole.Update(r->data);
        } else {
          std::vector<size_t> parts;
          std::map<size_t, const Range*> holder;  // each part lies inside one range (ranges are whole parts)
          for (const auto& r : batch) {
            for (uint64_t p = r->start / j->layout; p * j->layout < r->start + r->got; ++p) {
              parts.push_back(static_cast<size_t>(p));
              holder[static_cast<size_t>(p)] = r.get();
            }
          }
          st = HashBatches(
              *j, parts, true,
              [&](size_t part, uint64_t at, size_t n, char*) -> Result<std::string_view> {
                const Range* r = holder.at(part);
                return std::string_view(r->data).substr(static_cast<size_t>(part * j->layout + at - r->start), n);
              },
              j->md5s);
        }
        for (const auto& r : batch) r->Release();
        return st;
      },
      [count](const Job& j, Status st) {
        j->released += count;
        if (!st) j->Fail(st.error());
        HashStream(j);
        Pump(j);
      });
}

// A stream target: the ranges received, in order from the next one due, go to the stream, then
// to the hash thread (HashStream) or, with nothing to check, away.
void Deliver(const Job& job) {
  for (auto it = job->ready.begin(); !job->failure && it != job->ready.end() && it->first == job->delivered;
       it = job->ready.erase(it)) {
    if (Status w = job->options.target.write_fn()(it->second->data); !w) return job->Fail(w.error());
    ++job->delivered;
    job->written += it->second->data.size();
    job->transfer.Progress(job->written, job->total);
    if (job->checks_whole() || job->layout > 0) {
      job->to_hash.push_back(it->second);
    } else {
      it->second->Release();
      ++job->released;
    }
  }
  HashStream(job);
}

void SendRange(const Job& job, size_t index) {
  auto range = std::make_shared<Range>(job->s.part_buffers_);
  range->index = index;
  std::tie(range->start, range->length) = job->RangeAt(index);
  if (!job->to_file()) range->Reserve(range->length);
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
    } else if (!job->to_file()) {
      job->ready.emplace(range->index, range);
      Deliver(job);
    } else {
      QueueParts(*job, *range);
      if (job->pass == 1) {
        job->written += range->got;
        if (!job->failure) job->transfer.Progress(job->written, job->total);
        if (job->checks_whole()) {
          job->landed[range->index] = true;
          HashFile(job);
        }
      }
      if (Status h = job->failure ? OkStatus() : HashParts(*job, false); !h) job->Fail(h.error());
    }
    Pump(job);
  });
}

void Pump(const Job& job) {
  if (job->finishing) return;
  const int most = job->s.options_.part_concurrency;
  while (!job->failure && job->in_flight < most && job->todo_at < job->todo.size()) {
    const size_t index = job->todo[job->todo_at];
    // A stream's window: no range starts before the one part_concurrency back is released.
    if (!job->to_file() && index >= job->released + static_cast<size_t>(most)) break;
    if (job->transfer.stopped()) {
      job->Fail(job->transfer.StopError(job->ctx));
      break;
    }
    ++job->todo_at;
    SendRange(job, index);
    if (job->finishing) return;
  }
  if (job->in_flight > 0 || job->hashing || job->finishing) return;  // (their ends pump again)
  job->finishing = true;
  Finish(job);
}

void Fail(const Job& job, Error e) {
  job->file.reset();  // the temporary file goes; the target is untouched
  job->ready.clear();
  job->done(job->transfer.Explain(std::move(e), job->ctx));
}

void Succeed(const Job& job) {
  if (job->file) {
    if (Status c = job->file->Commit(job->s.options_.fsync_downloads); !c) {
      return Fail(job, Error(c.error()).Wrap(fmt::format("GET {}: the target", job->Where())));
    }
    job->file.reset();
  }
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

// `e` with `note` after its message.
Error Noted(const Error& e, std::string_view note) {
  return Error(e.code(), fmt::format("{}; {}", e.message(), note)).WithRetryable(e.retryable());
}

// A file's whole did not match its ETag (`mismatch`): read it again where the reads so far do not
// agree. The ranges of this pass are digested from the file; a range is settled when its last
// read equals an earlier one (the file holds those bytes: a corrupted read equals no other), and
// the next pass reads the ranges not settled. When every range is settled and the whole still
// does not match, the object's bytes are not its ETag: DataLoss. At most max_attempts passes.
void Recheck(const Job& job, Error mismatch) {
  const int passes = job->s.max_attempts_;
  if (job->pass >= passes) {
    return Fail(job, Noted(mismatch, fmt::format("the object was read {} times (max_attempts) without a match", job->pass)));
  }
  const size_t n = job->RangeCount();
  std::vector<size_t> ranges = job->todo;  // this pass's
  if (job->pass == 1) {
    ranges.clear();
    for (size_t i = 0; i < n; ++i) ranges.push_back(i);
    job->reads.assign(n, {});
  }
  auto md5s = std::make_shared<std::vector<Md5>>(ranges.size());
  std::vector<std::pair<uint64_t, uint64_t>> spans;
  for (size_t i : ranges) spans.push_back(job->RangeAt(i));
  const auto eat = [md5s](size_t span, std::string_view bytes) { (*md5s)[span].Update(bytes); };
  ReadBack(job, std::move(spans), eat, [md5s, ranges, mismatch = std::move(mismatch)](const Job& j, Status st) {
    if (!st) return Fail(j, st.error());
    for (size_t k = 0; k < ranges.size(); ++k) j->reads[ranges[k]].push_back((*md5s)[k].Final());
    j->todo.clear();
    for (size_t i = 0; i < j->reads.size(); ++i) {
      const auto& r = j->reads[i];
      if (std::find(r.begin(), r.end() - 1, r.back()) == r.end() - 1) j->todo.push_back(i);
    }
    if (j->todo.empty()) {
      return Fail(j, Noted(mismatch, fmt::format(
                           "read {} times, every range twice alike: the object's bytes are not its ETag", j->pass)));
    }
    ++j->pass;
    j->todo_at = 0;
    j->finishing = false;
    Pump(j);
  });
}

// Every range is in (a file) or delivered (a stream): check the whole against the ETag where it
// tells, then rename (a file) and report.
void Finish(const Job& job) {
  if (job->failure) return Fail(job, *job->failure);
  if (!job->s.options_.verify_download_md5 || job->whole_checked) return Succeed(job);
  const auto failed = [job](Error e) {
    if (job->to_file()) return Recheck(job, std::move(e));
    Fail(job, Noted(e, "the bytes already handed to the stream are not the object's and must be discarded"));
  };
  const std::string& etag = job->info.etag;
  if (job->plain_md5) {
    const auto check = [job, failed](const std::string& hex) {
      if (!EqualsIgnoreCase(hex, job->info.etag)) return failed(Mismatch(*job, hex, "MD5"));
      Succeed(job);
    };
    // A stream: `whole` holds the bytes delivered; a file's first pass: every range (HashFile).
    if (!job->to_file() || job->pass == 1) return check(Hex(job->whole.Final()));
    // A later pass: the whole file read back.
    auto md5 = std::make_shared<Md5>();
    return ReadBack(
        job, {{0, job->total}}, [md5](size_t, std::string_view bytes) { md5->Update(bytes); },
        [md5, check](const Job& j, Status st) {
          if (!st) return Fail(j, st.error());
          check(Hex(md5->Final()));
        });
  }
  if (Status h = job->to_file() ? HashParts(*job, true) : OkStatus(); !h) return Fail(job, h.error());
  // A multipart ETag "<md5 of part md5s>-N" tells when N is the number of parts of our layout.
  const size_t dash = etag.rfind('-');
  if (job->layout > 0 && dash != std::string::npos && job->total > 0) {
    const auto n = ParseU64(std::string_view(etag).substr(dash + 1));
    if (n && *n == job->md5s.size()) {
      const std::string expected = detail::MultipartEtag(job->md5s);
      if (!EqualsIgnoreCase(expected, etag)) {
        return failed(Error::DataLoss(fmt::format(
            "GET {}: the {} bytes received, as {} parts of {} bytes, give the multipart ETag {}, not the object's {}: "
            "corrupted on the way, or uploaded with parts of another size (set verify_download_md5 = false to accept "
            "such objects)",
            job->Where(), job->total, *n, job->layout, expected, etag)));
      }
    }
  }
  Succeed(job);
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
    const std::string_view body = r->body;
    Status w = job->to_file() ? storage::detail::PwriteAll(job->file->fd(), body, 0, job->write_what)
               : body.empty() ? OkStatus()
                              : job->options.target.write_fn()(body);
    if (!w) return Fail(job, w.error());
    job->info = detail::InfoFromHeaders(*r, job->ctx.key);
    job->info.size = body.size();
    job->total = body.size();
    job->finishing = true;
    Succeed(job);
  });
}

}  // namespace

storage::detail::WorkerPool& S3Store::Impl::Hasher() {
  if (!hasher_) {
    // MD5 is serial per job (one task at a time): more threads serve more downloads at once.
    const int threads = std::clamp(static_cast<int>(std::thread::hardware_concurrency()) / 2, 1, 4);
    hasher_ = std::make_unique<storage::detail::WorkerPool>(threads, std::numeric_limits<int>::max(), "esper-s3-hash");
  }
  return *hasher_;
}

Status S3Store::Impl::StartRangedDownload(detail::OpContext ctx, storage::GetOptions options,
                                          storage::Callback<storage::GetResult> done, const TransferOptions* transfer) {
  auto job = std::make_shared<DownloadJob>(*this, transfer);
  job->ctx = std::move(ctx);
  if (options.target.kind() == storage::GetTarget::Kind::kFile) {
    auto file = storage::detail::AtomicFile::Create(options.target.path());
    if (!file) return Error(file.error()).Wrap(fmt::format("GET {}: the target", job->Where()));
    job->file.emplace(std::move(*file));
    job->write_what = fmt::format("write {}", options.target.path());
  }
  job->options = std::move(options);
  job->done = std::move(done);
  const uint64_t part = options_.part_size;
  job->layout = options_.verify_download_md5 ? part : 0;
  job->first_length = (options_.multipart_threshold + part - 1) / part * part;

  auto first = std::make_shared<Range>(part_buffers_);
  first->length = job->first_length;
  return Send(job->ctx, RangeGet(job, first), [job, first](Result<http::Response> r) {
    if (!r) {
      if (r.error().service_code() == "InvalidRange") return GetEmpty(job);
      return Fail(job, r.error());
    }
    job->first_got = first->got;
    job->range_size = detail::PartSizeFor(job->s.options_.part_size, job->total);
    if (job->range_size != job->s.options_.part_size) job->layout = 0;  // grown parts: the first range is not on their grid
    if (job->plain_md5) job->layout = 0;                  // the whole MD5 is checked, not the parts'
    if (job->to_file() && !job->checks_whole()) job->range_size = FileRangeSize(*job);
    const size_t n = job->RangeCount();
    for (size_t i = 1; i < n; ++i) job->todo.push_back(i);
    if (job->to_file()) {
      QueueParts(*job, *first);
      if (job->checks_whole()) {  // range 0 is in `whole` already (Write)
        job->landed.assign(n, false);
        job->hash_next = 1;
      }
      job->written = first->got;
      if (n > 1) job->transfer.Progress(job->written, job->total);
    } else {
      job->ready.emplace(0, first);
      Deliver(job);
    }
    Pump(job);
  });
}

}  // namespace esper::s3
