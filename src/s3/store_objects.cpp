// S3Store's object operations: PutObject, GetObject, HeadObject, DeleteObject, CopyObject — the
// headers each sends, the integrity checks of what comes back, and the results.
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <utility>

#include "esper/core/ascii.h"
#include "esper/s3/checksum.h"
#include "esper/s3/errors.h"
#include "esper/s3/xml.h"
#include "s3/transfer.h"
#include "storage/atomic_file.h"
#include "storage/fs.h"

namespace esper::s3 {
namespace {

using detail::Exchange;
using detail::Op;
using detail::OpContext;
using storage::Callback;
using storage::GetResult;
using ObjectInfo = storage::ObjectInfo;
using detail::AddObjectHeaders;
using detail::EtagIsMd5;
using detail::InfoFromHeaders;
using detail::ParseContentRange;
using detail::ParseU64;
using detail::Quoted;
using detail::Recode;
using detail::Served;

constexpr std::string_view kMetaPrefix = "x-amz-meta-";

bool IsMd5Hex(std::string_view s) {
  return s.size() == 32 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
         });
}

// ---- put ----

// The MD5 (and flexible checksum) of a body, computed up front or while it is sent.
struct BodyDigest {
  Md5 md5;
  Crc32c crc32c;
  Crc64Nvme crc64;
  uint64_t bytes = 0;
  std::string hex;  // set once every byte was hashed

  void Update(std::string_view d, ChecksumAlgorithm algo) {
    md5.Update(d);
    if (algo == ChecksumAlgorithm::kCrc32c) crc32c.Update(d);
    if (algo == ChecksumAlgorithm::kCrc64Nvme) crc64.Update(d);
    bytes += d.size();
  }
  void Reset() {
    md5 = Md5();
    bytes = 0;
    hex.clear();
  }
};

// Content-MD5 and x-amz-checksum-* for a body hashed up front.
void AddDigestHeaders(http::Headers& h, const S3StoreOptions& o, BodyDigest& d, std::array<uint8_t, 16> md5) {
  d.hex = Hex(md5);
  if (o.content_md5) h.emplace_back("Content-MD5", Base64(md5));
  if (o.checksum == ChecksumAlgorithm::kCrc32c) h.emplace_back("x-amz-checksum-crc32c", d.crc32c.HeaderValue());
  if (o.checksum == ChecksumAlgorithm::kCrc64Nvme) h.emplace_back("x-amz-checksum-crc64nvme", d.crc64.HeaderValue());
}

// A put's file body, opened once: its size decides a single PUT or a multipart upload, and
// what either reads comes through this descriptor.
struct OpenedFile {
  storage::detail::UniqueFd fd;
  uint64_t size = 0;
};

Result<OpenedFile> OpenBodyFile(const std::string& path) {
  storage::detail::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return Error::FromErrno(errno, fmt::format("open {}", path));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return Error::FromErrno(errno, fmt::format("stat {}", path));
  if (!S_ISREG(st.st_mode)) return Error::InvalidArgument(fmt::format("{} is not a regular file", path));
  return OpenedFile{.fd = std::move(fd), .size = static_cast<uint64_t>(st.st_size)};
}

// Reads the file once for its MD5 (and checksum), on the calling thread: S3 needs Content-MD5
// before the body.
Result<uint64_t> DigestFile(const OpenedFile& file, const std::string& path, const S3StoreOptions& o, BodyDigest& d) {
  std::string buf(size_t{1} << 20, '\0');
  for (;;) {
    const ssize_t n = ::read(file.fd.get(), buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error::FromErrno(errno, fmt::format("read {}", path));
    if (n == 0) break;
    d.Update(std::string_view(buf.data(), static_cast<size_t>(n)), o.checksum);
  }
  if (d.bytes != file.size) {
    return Error::DataLoss(fmt::format("{} changed size while it was read ({} of {} bytes)", path, d.bytes, file.size));
  }
  return d.bytes;
}

struct PutJob {
  OpContext ctx;
  std::optional<detail::Transfer> transfer;  // an Upload's: its cancel token
  std::optional<TransferOptions> transfer_options;  // and its options, for a stream that goes multipart
  storage::PutOptions options;
  http::Headers headers;
  std::shared_ptr<BodyDigest> digest = std::make_shared<BodyDigest>();
  Callback<ObjectInfo> done;
};

// Sends the PUT once its body is known: checks the ETag against what was sent, and reports.
Status SendPut(S3Store::Impl& s, std::shared_ptr<PutJob> job, http::Body body, std::string payload_hash,
               bool from_loop) {
  Exchange ex;
  ex.request = http::Request::Put(s.addressing_.ObjectUrl(job->ctx.bucket, job->ctx.key), std::move(body));
  ex.request.headers = job->headers;
  ex.payload_hash = std::move(payload_hash);
  ex.carries_data = true;
  if (job->transfer) ex.cancel = job->transfer->token();
  ex.verify = [digest = job->digest, where = S3Store::Impl::Where(job->ctx)](const http::Response& r) -> std::optional<Error> {
    const std::string etag(storage::UnquoteEtag(r.Header("ETag").value_or("")));
    if (!EtagIsMd5(r, etag) || digest->hex.empty()) return std::nullopt;
    if (EqualsIgnoreCase(etag, digest->hex)) return std::nullopt;
    return Error::DataLoss(fmt::format("PUT {}: the server's ETag {} is not the MD5 {} of the {} bytes sent: the body "
                                       "was changed on the way",
                                       where, etag, digest->hex, digest->bytes))
        .WithRetryable(true);
  };
  auto on_response = [job](Result<http::Response> r) {
    if (!r) {
      Error e = r.error();
      // A create-only put that found the key: AlreadyExists (S3 says 412 PreconditionFailed).
      if (job->options.create_only && e.service_code() == "PreconditionFailed") e = Recode(e, ErrorCode::kAlreadyExists);
      if (job->transfer) e = job->transfer->Explain(std::move(e), job->ctx);
      return job->done(std::move(e));
    }
    ObjectInfo info;
    info.key = job->ctx.key;
    info.size = job->digest->bytes;
    info.etag = std::string(storage::UnquoteEtag(r->Header("ETag").value_or("")));
    if (auto lm = r->Header("Last-Modified")) {
      if (auto t = ParseHttpDate(*lm)) info.last_modified = *t;
    }
    info.content_type = job->options.content_type;
    info.metadata = job->options.metadata;
    job->done(std::move(info));
  };
  if (from_loop) {
    s.SendFromLoop(job->ctx, std::move(ex), std::move(on_response));
    return OkStatus();
  }
  return s.Send(job->ctx, std::move(ex), std::move(on_response));
}

// A stream without a size: read into memory on the loop, a piece per turn, up to
// multipart_threshold + 1 bytes. One that ends within multipart_threshold is sent as one PUT; a
// longer one becomes a multipart upload of unknown size (store_upload.cpp) whose parts take these
// first bytes, then read on from the stream.
void BufferStream(S3Store::Impl& s, std::shared_ptr<PutJob> job, storage::PutBody::ReadFn read,
                  std::shared_ptr<std::string> buffer) {
  if (s.stopping()) return job->done(s.CancelledError(job->ctx));
  if (job->transfer && job->transfer->stopped()) return job->done(job->transfer->StopError(job->ctx));
  constexpr size_t kPiece = 256 << 10;
  const uint64_t limit = s.options_.multipart_threshold + 1;  // one byte more says "longer"
  if (buffer->capacity() < limit) buffer->reserve(static_cast<size_t>(limit));  // no doubling past it
  const size_t goal = buffer->size() + kPiece;
  while (buffer->size() < goal) {
    const size_t at = buffer->size();
    buffer->resize(at + static_cast<size_t>(std::min<uint64_t>(kPiece, limit - at)));
    Result<size_t> n = read(buffer->data() + at, buffer->size() - at);
    if (!n) {
      buffer->resize(at);
      return job->done(Error(n.error()).Wrap(fmt::format("PUT {}: the body", S3Store::Impl::Where(job->ctx))));
    }
    buffer->resize(at + std::min(*n, buffer->size() - at));
    if (buffer->size() == limit) {
      // Longer than multipart_threshold: in parts, the first ones from this buffer (freed once
      // they hold all of it), the rest read on from the stream.
      auto head_then_rest = [head = std::move(buffer), used = size_t{0}, read = std::move(read)](
                                char* out, size_t cap) mutable -> Result<size_t> {
        if (!head) return read(out, cap);
        const size_t copied = std::min(cap, head->size() - used);
        std::memcpy(out, head->data() + used, copied);
        used += copied;
        if (used == head->size()) head.reset();
        return copied;
      };
      const TransferOptions* transfer = job->transfer_options ? &*job->transfer_options : nullptr;
      Status st = s.StartMultipartUpload(job->ctx, storage::PutBody::FromStream(std::move(head_then_rest)),
                                         storage::detail::UniqueFd(), std::nullopt, std::move(job->options), job->done,
                                         transfer);
      if (!st) job->done(st.error());
      return;
    }
    if (*n == 0) {
      // The whole body: hashed here (its Content-MD5 can be sent now), signed unsigned (the loop
      // need not hash it twice).
      job->digest->Update(*buffer, s.options_.checksum);
      AddDigestHeaders(job->headers, s.options_, *job->digest, job->digest->md5.Final());
      std::shared_ptr<const std::string> data = std::move(buffer);
      (void)SendPut(s, job, http::Body::FromShared(std::move(data)), std::string(kUnsignedPayload), true);
      return;
    }
  }
  s.Post([&s, job = std::move(job), read = std::move(read), buffer = std::move(buffer)]() mutable {
    BufferStream(s, std::move(job), std::move(read), std::move(buffer));
  });
}

// ---- get ----

struct GetJob {
  OpContext ctx;
  std::optional<detail::Transfer> transfer;  // a Download's: its cancel token
  storage::GetOptions options;
  std::optional<storage::detail::AtomicFile> file;  // GetTarget::ToFile: the temporary file
  Md5 md5;                                          // of the bytes received this attempt
  Served served;                                    // set by the verify step
  Callback<GetResult> done;
};

Status WriteAll(int fd, std::string_view chunk, const std::string& path) {
  while (!chunk.empty()) {
    const ssize_t w = ::write(fd, chunk.data(), chunk.size());
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return Error::FromErrno(errno, fmt::format("write {}", path));
    chunk.remove_prefix(static_cast<size_t>(w));
  }
  return OkStatus();
}

// What a 2xx GET must be: the range asked for, and (a whole single-part object) its MD5.
std::optional<Error> VerifyGet(GetJob& job, const http::Response& r, bool check_md5) {
  if (r.status == 304) return std::nullopt;  // If-None-Match matched: nothing was served
  const std::string where = S3Store::Impl::Where(job.ctx);
  const std::optional<storage::ByteRange>& range = job.options.range;
  Served sv;
  if (r.status == 206) {
    auto cr = r.Header("Content-Range");
    auto parsed = cr ? ParseContentRange(*cr) : std::nullopt;
    if (!parsed) {
      return Error::DataLoss(fmt::format("GET {}: a 206 without a valid Content-Range ('{}')", where, cr.value_or("")));
    }
    sv = *parsed;
  } else {
    sv.total = ParseU64(r.Header("Content-Length").value_or("")).value_or(0);
    if (job.options.target.kind() == storage::GetTarget::Kind::kMemory) sv.total = r.body.size();
    sv.length = sv.total;
  }
  if (range || r.status == 206) {
    auto want = range ? range->Resolve(sv.total) : Result<std::pair<uint64_t, uint64_t>>(std::pair<uint64_t, uint64_t>{0, sv.total});
    if (!want || want->first != sv.offset || want->second != sv.length) {
      return Error::DataLoss(fmt::format("GET {}: asked for {} of {} bytes, the server sent bytes {}-{}: not the "
                                         "range asked for",
                                         where, range ? range->ToHttpHeader() : "the whole object", sv.total,
                                         sv.offset, sv.offset + sv.length - (sv.length ? 1 : 0)));
    }
  }
  job.served = sv;
  if (!check_md5 || r.status != 200 || sv.offset != 0) return std::nullopt;
  const std::string etag(storage::UnquoteEtag(r.Header("ETag").value_or("")));
  if (!EtagIsMd5(r, etag)) return std::nullopt;
  const std::string got = job.options.target.kind() == storage::GetTarget::Kind::kMemory ? Hex(Md5::Of(r.body))
                                                                                          : Hex(job.md5.Final());
  if (EqualsIgnoreCase(got, etag)) return std::nullopt;
  return Error::DataLoss(fmt::format("GET {}: the {} bytes received have MD5 {}, not the object's ETag {}", where,
                                     sv.length, got, etag))
      .WithRetryable(true);
}

}  // namespace

namespace detail {

std::optional<uint64_t> ParseU64(std::string_view s) {
  uint64_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

std::string Quoted(std::string_view etag) { return etag == "*" ? std::string(etag) : fmt::format("\"{}\"", etag); }

bool EtagIsMd5(const http::Response& r, std::string_view etag) {
  if (!IsMd5Hex(etag)) return false;
  if (r.Header("x-amz-server-side-encryption-customer-algorithm")) return false;
  auto sse = r.Header("x-amz-server-side-encryption");
  return !sse || *sse == "AES256";
}

std::optional<Served> ParseContentRange(std::string_view v) {
  if (!v.starts_with("bytes ")) return std::nullopt;
  v.remove_prefix(6);
  const size_t dash = v.find('-'), slash = v.find('/');
  if (dash == std::string_view::npos || slash == std::string_view::npos || dash > slash) return std::nullopt;
  auto first = ParseU64(v.substr(0, dash));
  auto last = ParseU64(v.substr(dash + 1, slash - dash - 1));
  auto total = ParseU64(v.substr(slash + 1));
  if (!first || !last || !total || *last < *first || *last >= *total) return std::nullopt;
  return Served{.offset = *first, .length = *last - *first + 1, .total = *total};
}

storage::ObjectInfo InfoFromHeaders(const http::Response& r, std::string key) {
  storage::ObjectInfo info;
  info.key = std::move(key);
  info.etag = std::string(storage::UnquoteEtag(r.Header("ETag").value_or("")));
  info.content_type = std::string(r.Header("Content-Type").value_or(""));
  if (auto lm = r.Header("Last-Modified")) {
    if (auto t = ParseHttpDate(*lm)) info.last_modified = *t;
  }
  for (const auto& [name, value] : r.headers) {
    if (name.size() > kMetaPrefix.size() && StartsWithIgnoreCase(name, kMetaPrefix)) {
      info.metadata[AsciiLowerCopy(std::string_view(name).substr(kMetaPrefix.size()))] = value;
    }
  }
  if (auto cl = r.Header("Content-Length")) info.size = ParseU64(*cl).value_or(0);
  return info;
}

void AddObjectHeaders(http::Headers& h, const std::string& content_type, const storage::Metadata& metadata) {
  h.emplace_back("Content-Type", content_type);
  for (const auto& [name, value] : metadata) h.emplace_back(std::string(kMetaPrefix) + name, value);
}

}  // namespace detail

// ---- the operations ----

Status S3Store::StartPut(std::string bucket, std::string key, storage::PutBody body, storage::PutOptions options,
                         Callback<storage::ObjectInfo> done) {
  return impl_->StartPut(std::move(bucket), std::move(key), std::move(body), std::move(options), std::move(done), nullptr);
}

Status S3Store::Impl::StartPut(std::string bucket, std::string key, storage::PutBody body, storage::PutOptions options,
                               Callback<storage::ObjectInfo> done, const TransferOptions* transfer) {
  Impl& s = *this;
  ESPER_RETURN_IF_ERROR(s.Admit("put"));
  // A file is opened once (its error, if any, is the single PUT's to report); large files and
  // sized streams go in parts (store_upload.cpp).
  std::optional<Result<OpenedFile>> file;
  std::optional<uint64_t> size;
  if (body.kind() == storage::PutBody::Kind::kFile) {
    file = OpenBodyFile(body.path());
    if (*file) size = (*file)->size;
  } else if (body.kind() == storage::PutBody::Kind::kStream) {
    size = body.known_size();
  }
  if (size && *size > s.options_.multipart_threshold) {
    OpContext ctx = Impl::Context(Op::kPut, std::move(bucket), std::move(key));
    auto wrapped = s.Complete(ctx, std::move(done));
    storage::detail::UniqueFd fd = file ? std::move((*file)->fd) : storage::detail::UniqueFd();
    Status started = s.StartMultipartUpload(std::move(ctx), std::move(body), std::move(fd), size, std::move(options),
                                            std::move(wrapped), transfer);
    if (!started) s.Abandon();
    return started;
  }
  auto job = std::make_shared<PutJob>();
  job->ctx = Impl::Context(Op::kPut, std::move(bucket), std::move(key));
  if (transfer) job->transfer.emplace(s, transfer);
  if (transfer && body.kind() == storage::PutBody::Kind::kStream && !body.known_size()) job->transfer_options = *transfer;
  job->done = s.Complete(job->ctx, std::move(done));
  AddObjectHeaders(job->headers, options.content_type, options.metadata);
  if (options.create_only) job->headers.emplace_back("If-None-Match", "*");
  if (!options.if_match.empty()) job->headers.emplace_back("If-Match", Quoted(options.if_match));
  job->options = std::move(options);
  const S3StoreOptions& o = s.options_;
  BodyDigest& digest = *job->digest;

  Status st = OkStatus();
  switch (body.kind()) {
    case storage::PutBody::Kind::kMemory: {
      const std::shared_ptr<const std::string>& data = body.data();
      digest.Update(*data, o.checksum);
      AddDigestHeaders(job->headers, o, digest, digest.md5.Final());
      // UNSIGNED-PAYLOAD only where a signed digest header guards the body.
      const bool guarded = o.content_md5 || o.checksum != ChecksumAlgorithm::kNone;
      st = SendPut(s, job, http::Body::FromShared(data),
                   o.unsigned_payload && guarded ? std::string(kUnsignedPayload) : Sha256Hex(*data), false);
      break;
    }
    case storage::PutBody::Kind::kFile: {
      Result<uint64_t> digested = *file ? DigestFile(**file, body.path(), o, digest) : Result<uint64_t>(file->error());
      if (!digested) {
        st = Error(digested.error()).Wrap(fmt::format("PUT {}: the body", Impl::Where(job->ctx)));
        break;
      }
      AddDigestHeaders(job->headers, o, digest, digest.md5.Final());
      st = SendPut(s, job, http::Body::FromFile(body.path()), std::string(kUnsignedPayload), false);
      break;
    }
    case storage::PutBody::Kind::kStream: {
      if (!body.known_size()) {
        // Read on the loop (where a body's read function runs): one PUT, or parts (BufferStream).
        s.Post([&s, job, read = body.read_fn()]() mutable {
          BufferStream(s, std::move(job), std::move(read), std::make_shared<std::string>());
        });
        return OkStatus();
      }
      // Sent as it is read: hashed on the way (no Content-MD5: S3 needs it before the body),
      // and the ETag checked against that.
      auto read = [digest = job->digest, size = *size, algo = o.checksum, fn = body.read_fn()](char* buf, size_t cap) -> Result<size_t> {
        Result<size_t> n = fn(buf, cap);
        if (n && *n <= cap) {
          digest->Update(std::string_view(buf, *n), algo);
          if (digest->bytes == size) digest->hex = Hex(digest->md5.Final());
        }
        return n;
      };
      storage::PutBody::RewindFn rewind;
      if (body.rewind_fn()) {
        rewind = [digest = job->digest, fn = body.rewind_fn()]() -> Status {
          digest->Reset();
          return fn();
        };
      }
      if (*size == 0) digest.hex = Hex(Md5::Of(""));
      st = SendPut(s, job, http::Body::FromStream(std::move(read), *size, std::move(rewind)),
                   std::string(kUnsignedPayload), false);
      break;
    }
  }
  if (!st) s.Abandon();
  return st;
}

Status S3Store::StartGet(std::string bucket, std::string key, storage::GetOptions options,
                         Callback<GetResult> done) {
  return impl_->StartGet(std::move(bucket), std::move(key), std::move(options), std::move(done), nullptr);
}

Status S3Store::Impl::StartGet(std::string bucket, std::string key, storage::GetOptions options,
                               Callback<GetResult> done, const TransferOptions* transfer) {
  Impl& s = *this;
  ESPER_RETURN_IF_ERROR(s.Admit("get"));
  // A whole object into a file or a stream: in parallel ranges when large (store_download.cpp).
  const storage::GetTarget::Kind kind = options.target.kind();
  if (kind != storage::GetTarget::Kind::kMemory && !options.range && options.if_none_match.empty()) {
    OpContext ctx = Impl::Context(Op::kGet, std::move(bucket), std::move(key));
    auto wrapped = s.Complete(ctx, std::move(done));
    Status started = s.StartRangedDownload(std::move(ctx), std::move(options), std::move(wrapped), transfer);
    if (!started) s.Abandon();
    return started;
  }
  auto job = std::make_shared<GetJob>();
  job->ctx = Impl::Context(Op::kGet, std::move(bucket), std::move(key));
  if (transfer) job->transfer.emplace(s, transfer);
  Exchange ex;
  ex.request = http::Request::Get(s.addressing_.ObjectUrl(job->ctx.bucket, job->ctx.key));
  http::Headers& h = ex.request.headers;
  if (options.range) h.emplace_back("Range", options.range->ToHttpHeader());
  if (!options.if_match.empty()) h.emplace_back("If-Match", Quoted(options.if_match));
  if (!options.if_none_match.empty()) h.emplace_back("If-None-Match", Quoted(options.if_none_match));
  ex.carries_data = true;
  ex.not_modified_ok = !options.if_none_match.empty();
  if (job->transfer) ex.cancel = job->transfer->token();

  switch (options.target.kind()) {
    case storage::GetTarget::Kind::kMemory:
      break;
    case storage::GetTarget::Kind::kFile: {
      // Into a temporary file beside the target, renamed over it once complete and checked.
      auto file = storage::detail::AtomicFile::Create(options.target.path());
      if (!file) {
        s.Abandon();
        return Error(file.error()).Wrap(fmt::format("GET {}: the target", Impl::Where(job->ctx)));
      }
      job->file.emplace(std::move(*file));
      const int fd = job->file->fd();
      GetJob* j = job.get();  // the sink lives in the request, which the job outlives
      ex.request.sink = http::Sink::ToStream(
          [j, fd](std::string_view chunk) -> Status {
            j->md5.Update(chunk);
            return WriteAll(fd, chunk, j->options.target.path());
          },
          [j, fd]() -> Status {
            j->md5 = Md5();
            if (::ftruncate(fd, 0) != 0 || ::lseek(fd, 0, SEEK_SET) != 0) {
              return Error::FromErrno(errno, fmt::format("start {} over", j->options.target.path()));
            }
            return OkStatus();
          });
      break;
    }
    case storage::GetTarget::Kind::kStream: {
      GetJob* j = job.get();
      ex.request.sink = http::Sink::ToStream([j](std::string_view chunk) -> Status {
        j->md5.Update(chunk);
        return j->options.target.write_fn()(chunk);
      });
      break;
    }
  }
  job->options = std::move(options);
  job->done = s.Complete(job->ctx, std::move(done));
  ex.verify = [j = job.get(), check = s.options_.verify_download_md5](const http::Response& r) {
    return VerifyGet(*j, r, check);
  };
  Status st = s.Send(job->ctx, std::move(ex), [job, durable = s.options_.fsync_downloads](Result<http::Response> r) {
    // Nothing to keep: the temporary file goes before the caller hears (the job itself may live
    // a moment longer, on the loop, than the caller's wait).
    if (!r || r->status == 304) job->file.reset();
    if (!r) return job->done(job->transfer ? job->transfer->Explain(r.error(), job->ctx) : r.error());
    GetResult g;
    if (r->status == 304) {
      g.not_modified = true;
      g.info.key = job->ctx.key;
      g.info.etag = std::string(storage::UnquoteEtag(r->Header("ETag").value_or(job->options.if_none_match)));
      if (auto lm = r->Header("Last-Modified")) {
        if (auto t = ParseHttpDate(*lm)) g.info.last_modified = *t;
      }
      return job->done(std::move(g));
    }
    g.info = InfoFromHeaders(*r, job->ctx.key);
    g.info.size = job->served.total;
    g.offset = job->served.offset;
    g.length = job->served.length;
    if (job->file) {
      if (Status c = job->file->Commit(durable); !c) {
        return job->done(Error(c.error()).Wrap(fmt::format("GET {}: the target", Impl::Where(job->ctx))));
      }
    } else if (job->options.target.kind() == storage::GetTarget::Kind::kMemory) {
      g.body = std::move(r->body);
    }
    job->done(std::move(g));
  });
  if (!st) s.Abandon();
  return st;
}

Status S3Store::StartStat(std::string bucket, std::string key, Callback<storage::ObjectInfo> done) {
  Impl& s = *impl_;
  ESPER_RETURN_IF_ERROR(s.Admit("stat"));
  OpContext ctx = Impl::Context(Op::kStat, std::move(bucket), std::move(key));
  Exchange ex;
  ex.request = http::Request::Head(s.addressing_.ObjectUrl(ctx.bucket, ctx.key));
  Status st = s.Send(ctx, std::move(ex), [key = ctx.key, done = s.Complete(ctx, std::move(done))](Result<http::Response> r) {
    if (!r) return done(r.error());
    done(InfoFromHeaders(*r, key));
  });
  if (!st) s.Abandon();
  return st;
}

Status S3Store::StartDelete(std::string bucket, std::string key, Callback<void> done) {
  Impl& s = *impl_;
  ESPER_RETURN_IF_ERROR(s.Admit("delete"));
  OpContext ctx = Impl::Context(Op::kDelete, std::move(bucket), std::move(key));
  Exchange ex;
  ex.request = http::Request::Delete(s.addressing_.ObjectUrl(ctx.bucket, ctx.key));
  Status st = s.Send(ctx, std::move(ex), [done = s.Complete(ctx, std::move(done))](Result<http::Response> r) {
    if (!r) return done(r.error());
    done(OkStatus());
  });
  if (!st) s.Abandon();
  return st;
}

Status S3Store::StartCopy(storage::ObjectRef source, storage::ObjectRef destination, storage::CopyOptions options,
                          Callback<storage::ObjectInfo> done) {
  Impl& s = *impl_;
  ESPER_RETURN_IF_ERROR(s.Admit("copy"));
  OpContext ctx = Impl::Context(Op::kCopy, std::move(destination.bucket), std::move(destination.key));
  Exchange ex;
  ex.request = http::Request::Put(s.addressing_.ObjectUrl(ctx.bucket, ctx.key), http::Body());
  http::Headers& h = ex.request.headers;
  h.emplace_back("x-amz-copy-source", fmt::format("/{}/{}", source.bucket, EncodeKey(source.key)));
  h.emplace_back("x-amz-metadata-directive", options.replace_metadata ? "REPLACE" : "COPY");
  if (options.replace_metadata) AddObjectHeaders(h, options.content_type, options.metadata);
  if (!options.source_if_match.empty()) h.emplace_back("x-amz-copy-source-if-match", Quoted(options.source_if_match));
  ex.error_in_200 = true;  // CopyObject may fail after its 200
  auto parsed = std::make_shared<CopyObjectResult>();
  ex.verify = [parsed](const http::Response& r) -> std::optional<Error> {
    Result<CopyObjectResult> p = ParseCopyObjectResult(r.body);
    if (!p) return p.error();
    *parsed = std::move(*p);
    return std::nullopt;
  };
  Status st = s.Send(ctx, std::move(ex),
                     [parsed, key = ctx.key, options = std::move(options),
                      done = s.Complete(ctx, std::move(done))](Result<http::Response> r) {
                       if (!r) return done(r.error());
                       storage::ObjectInfo info;
                       info.key = key;
                       info.etag = std::string(storage::UnquoteEtag(parsed->etag));
                       info.last_modified = parsed->last_modified;
                       if (options.replace_metadata) {
                         info.content_type = options.content_type;
                         info.metadata = options.metadata;
                       }
                       done(std::move(info));
                     });
  if (!st) s.Abandon();
  return st;
}

}  // namespace esper::s3
