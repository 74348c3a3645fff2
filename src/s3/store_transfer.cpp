// S3Store's large-transfer entry points (Upload, Download, ListUploads, AbortUpload) and what
// the multipart upload and the ranged download share: the transfer's cancellation, the part
// size rule, the multipart ETag.
#include <fmt/format.h>

#include <future>

#include "esper/s3/checksum.h"
#include "esper/s3/xml.h"
#include "s3/transfer.h"

namespace esper::s3 {
namespace detail {
namespace {
constexpr uint64_t kMiB = uint64_t{1} << 20;
}  // namespace

uint64_t PartSizeFor(uint64_t part_size, uint64_t size) noexcept {
  constexpr uint64_t kParts = kMaxParts;
  if (size <= part_size * kParts) return part_size;
  const uint64_t least = (size + kParts - 1) / kParts;
  return (least + kMiB - 1) / kMiB * kMiB;
}

uint64_t StreamPartSize(uint64_t part_size, int index) noexcept {
  const int step = index / kStreamPartsPerStep;
  if (step >= 30 || (part_size << step) >= kMaxPartSize) return kMaxPartSize;
  return part_size << step;
}

std::string MultipartEtag(const std::vector<std::array<uint8_t, 16>>& part_md5s) {
  Md5 md5;
  for (const auto& d : part_md5s) md5.Update(std::string_view(reinterpret_cast<const char*>(d.data()), d.size()));
  return fmt::format("{}-{}", Hex(md5.Final()), part_md5s.size());
}

Transfer::Transfer(S3Store::Impl& s, const TransferOptions* options) {
  if (options) {
    progress_ = options->progress;
    caller_ = options->cancel;
  }
  // Either stop ends the transfer; a callback registered on a token already stopped runs here.
  on_store_stop_.emplace(s.stop_.get_token(), [this] { stop_.request_stop(); });
  if (caller_.stop_possible()) on_caller_stop_.emplace(caller_, [this] { stop_.request_stop(); });
}

Error Transfer::StopError(const OpContext& ctx) const {
  if (caller_.stop_requested()) {
    return Error::Cancelled(fmt::format("{} {}: cancelled", OpName(ctx.op), S3Store::Impl::Where(ctx)));
  }
  return Error::Cancelled(
      fmt::format("{} {}: the S3Store was destroyed before the transfer completed", OpName(ctx.op), S3Store::Impl::Where(ctx)));
}

}  // namespace detail

namespace {

// Runs `start` with a callback that fulfils the returned value; waits for it.
template <class T, class Start>
Result<T> Await(const S3Store& store, Start start) {
  if (store.IsCallbackThread()) {
    return Error::FailedPrecondition(
        "a blocking S3Store call on the store's own loop thread would wait for itself; use the *Async form");
  }
  auto promise = std::make_shared<std::promise<Result<T>>>();
  auto future = promise->get_future();
  Status st = start([promise](Result<T> r) { promise->set_value(std::move(r)); });
  if (!st) return st.error();
  return future.get();
}

// The final progress report of a transfer that ends in one request (or confirms the last).
template <class T>
storage::Callback<T> WithFinalProgress(storage::Callback<T> done, std::function<void(uint64_t, uint64_t)> progress) {
  if (!progress) return done;
  return [done = std::move(done), progress = std::move(progress)](Result<T> r) {
    if (r) {
      uint64_t size = 0;
      if constexpr (std::is_same_v<T, storage::GetResult>) size = r->length;
      else size = r->size;
      progress(size, size);
    }
    done(std::move(r));
  };
}

}  // namespace

Status S3Store::UploadAsync(std::string_view bucket, std::string_view key, storage::PutBody body,
                            storage::PutOptions options, TransferOptions transfer,
                            storage::Callback<storage::ObjectInfo> done) {
  ESPER_RETURN_IF_ERROR(PreparePut(bucket, key, body, options, done));
  return impl_->StartPut(std::string(bucket), std::string(key), std::move(body), std::move(options),
                         WithFinalProgress(std::move(done), transfer.progress), &transfer);
}

Result<storage::ObjectInfo> S3Store::Upload(std::string_view bucket, std::string_view key, storage::PutBody body,
                                            storage::PutOptions options, TransferOptions transfer) {
  return Await<storage::ObjectInfo>(*this, [&](storage::Callback<storage::ObjectInfo> cb) {
    return UploadAsync(bucket, key, std::move(body), std::move(options), std::move(transfer), std::move(cb));
  });
}

Status S3Store::DownloadAsync(std::string_view bucket, std::string_view key, std::string path,
                              storage::GetOptions options, TransferOptions transfer,
                              storage::Callback<storage::GetResult> done) {
  options.target = storage::GetTarget::ToFile(std::move(path));
  ESPER_RETURN_IF_ERROR(PrepareGet(bucket, key, options, done));
  return impl_->StartGet(std::string(bucket), std::string(key), std::move(options),
                         WithFinalProgress(std::move(done), transfer.progress), &transfer);
}

Result<storage::GetResult> S3Store::Download(std::string_view bucket, std::string_view key, std::string path,
                                             storage::GetOptions options, TransferOptions transfer) {
  return Await<storage::GetResult>(*this, [&](storage::Callback<storage::GetResult> cb) {
    return DownloadAsync(bucket, key, std::move(path), std::move(options), std::move(transfer), std::move(cb));
  });
}

// ---- incomplete uploads ----

namespace {

// One request as an operation of the store, waited for.
Result<http::Response> Exchange(S3Store& store, S3Store::Impl& s, detail::OpContext ctx, detail::Exchange ex) {
  return Await<http::Response>(store, [&](storage::Callback<http::Response> cb) -> Status {
    ESPER_RETURN_IF_ERROR(s.Admit(detail::OpName(ctx.op)));
    Status st = s.Send(ctx, std::move(ex), s.Complete(ctx, std::move(cb)));
    if (!st) s.Abandon();
    return st;
  });
}

}  // namespace

Result<std::vector<MultipartUpload>> S3Store::ListUploads(std::string_view bucket, std::string_view prefix) {
  ESPER_RETURN_IF_ERROR(storage::ValidateBucketName(bucket));
  Impl& s = *impl_;
  std::vector<MultipartUpload> out;
  std::string key_marker, id_marker;
  for (;;) {
    detail::Exchange ex;
    ex.request = http::Request::Get(s.addressing_.ObjectUrl(bucket));
    http::QueryParams& q = ex.request.query;
    q.emplace_back("uploads", "");
    if (!prefix.empty()) q.emplace_back("prefix", std::string(prefix));
    if (!key_marker.empty()) q.emplace_back("key-marker", key_marker);
    if (!id_marker.empty()) q.emplace_back("upload-id-marker", id_marker);
    auto page = std::make_shared<ListMultipartUploadsPage>();
    ex.verify = [page](const http::Response& r) -> std::optional<Error> {
      Result<ListMultipartUploadsPage> p = ParseListMultipartUploads(r.body);
      if (!p) return p.error();
      *page = std::move(*p);
      return std::nullopt;
    };
    ESPER_RETURN_IF_ERROR(Exchange(*this, s, Impl::Context(detail::Op::kList, std::string(bucket)), std::move(ex)));
    for (auto& u : page->uploads) {
      out.push_back({.key = std::move(u.key), .upload_id = std::move(u.upload_id), .initiated = u.initiated});
    }
    if (!page->is_truncated) break;
    if (page->next_key_marker == key_marker && page->next_upload_id_marker == id_marker) {
      return Error::Unavailable(fmt::format("ListMultipartUploads s3://{}: a truncated page without new markers", bucket));
    }
    key_marker = std::move(page->next_key_marker);
    id_marker = std::move(page->next_upload_id_marker);
  }
  return out;
}

Status S3Store::AbortUpload(std::string_view bucket, std::string_view key, std::string_view upload_id) {
  ESPER_RETURN_IF_ERROR(storage::ValidateBucketName(bucket));
  ESPER_RETURN_IF_ERROR(storage::ValidateKey(key));
  if (upload_id.empty()) return Error::InvalidArgument("AbortUpload: the upload id is empty");
  Impl& s = *impl_;
  detail::Exchange ex;
  ex.request = http::Request::Delete(s.addressing_.ObjectUrl(bucket, key));
  ex.request.query = {{"uploadId", std::string(upload_id)}};
  ex.bodyless_404 = "NoSuchUpload";
  auto r = Exchange(*this, s, Impl::Context(detail::Op::kDelete, std::string(bucket), std::string(key)), std::move(ex));
  if (!r) return r.error();
  return OkStatus();
}

}  // namespace esper::s3
