// ObjectStore's public methods: validate once for every store, then hand over to the store.
#include "esper/storage/object_store.h"

#include <fmt/format.h>

#include "esper/storage/errors.h"
#include "esper/storage/lister.h"

namespace esper::storage {
namespace {

thread_local bool tls_blocking_caller = false;

Error Invalid(std::string_view op, std::string_view where, const Error& e) {
  return Error(e).Wrap(fmt::format("{} {}", op, where));
}

std::string Where(std::string_view bucket, std::string_view key) {
  return fmt::format("{}/{}", bucket, key);
}

template <class T>
Status CheckCallback(const Callback<T>& done) {
  if (!done) return Error::InvalidArgument("the completion callback is empty");
  return OkStatus();
}

// Bucket and key, as every object operation checks them.
Status CheckObject(std::string_view op, std::string_view bucket, std::string_view key) {
  if (auto st = ValidateBucketName(bucket); !st) return Invalid(op, Where(bucket, key), st.error());
  if (auto st = ValidateKey(key); !st) return Invalid(op, Where(bucket, key), st.error());
  return OkStatus();
}

// A list/prefix string: UTF-8 without NUL, at most a key long (S3's own bound on what it can mean).
Status CheckListString(std::string_view what, std::string_view s) {
  if (s.size() > kMaxKeyBytes || !IsValidUtf8(s) || s.find('\0') != std::string_view::npos) {
    return Error::InvalidArgument(
        fmt::format("{} must be valid UTF-8 without NUL, at most {} bytes", what, kMaxKeyBytes));
  }
  return OkStatus();
}

}  // namespace

ObjectStore::~ObjectStore() = default;

ObjectStore::BlockingScope::BlockingScope() noexcept : saved_(tls_blocking_caller) {
  tls_blocking_caller = true;
}
ObjectStore::BlockingScope::~BlockingScope() { tls_blocking_caller = saved_; }

bool ObjectStore::ClaimBlockingCaller() noexcept {
  const bool claimed = tls_blocking_caller;
  tls_blocking_caller = false;
  return claimed;
}

Status ObjectStore::PutAsync(std::string_view bucket, std::string_view key, PutBody body,
                             PutOptions options, Callback<ObjectInfo> done) {
  ESPER_RETURN_IF_ERROR(PreparePut(bucket, key, body, options, done));
  return StartPut(std::string(bucket), std::string(key), std::move(body), std::move(options),
                  std::move(done));
}

Status ObjectStore::PreparePut(std::string_view bucket, std::string_view key, const PutBody& body,
                               PutOptions& options, const Callback<ObjectInfo>& done) {
  ESPER_RETURN_IF_ERROR(CheckCallback(done));
  ESPER_RETURN_IF_ERROR(CheckObject("put", bucket, key));
  const std::string where = Where(bucket, key);
  if (auto st = ValidateContentType(options.content_type); !st) {
    return Invalid("put", where, st.error());
  }
  if (options.content_type.empty()) options.content_type = std::string(kDefaultContentType);
  auto metadata = NormalizeMetadata(options.metadata);
  if (!metadata) return Invalid("put", where, metadata.error());
  options.metadata = std::move(*metadata);
  if (options.create_only && !options.if_match.empty()) {
    return Error::InvalidArgument(
        fmt::format("put {}: create_only and if_match exclude each other", where));
  }
  options.if_match = std::string(UnquoteEtag(options.if_match));
  switch (body.kind()) {
    case PutBody::Kind::kMemory:
      break;
    case PutBody::Kind::kFile:
      if (body.path().empty()) {
        return Error::InvalidArgument(fmt::format("put {}: the body's file path is empty", where));
      }
      break;
    case PutBody::Kind::kStream:
      if (!body.read_fn()) {
        return Error::InvalidArgument(fmt::format("put {}: the body's read function is empty", where));
      }
      break;
  }
  return OkStatus();
}

Status ObjectStore::GetAsync(std::string_view bucket, std::string_view key, GetOptions options,
                             Callback<GetResult> done) {
  ESPER_RETURN_IF_ERROR(PrepareGet(bucket, key, options, done));
  return StartGet(std::string(bucket), std::string(key), std::move(options), std::move(done));
}

Status ObjectStore::PrepareGet(std::string_view bucket, std::string_view key, GetOptions& options,
                               const Callback<GetResult>& done) {
  ESPER_RETURN_IF_ERROR(CheckCallback(done));
  ESPER_RETURN_IF_ERROR(CheckObject("get", bucket, key));
  const std::string where = Where(bucket, key);
  if (options.range) {
    if (auto st = options.range->Validate(); !st) return Invalid("get", where, st.error());
  }
  options.if_match = std::string(UnquoteEtag(options.if_match));
  options.if_none_match = std::string(UnquoteEtag(options.if_none_match));
  switch (options.target.kind()) {
    case GetTarget::Kind::kMemory:
      break;
    case GetTarget::Kind::kFile:
      if (options.target.path().empty()) {
        return Error::InvalidArgument(fmt::format("get {}: the target file path is empty", where));
      }
      break;
    case GetTarget::Kind::kStream:
      if (!options.target.write_fn()) {
        return Error::InvalidArgument(
            fmt::format("get {}: the target's write function is empty", where));
      }
      break;
  }
  return OkStatus();
}

Status ObjectStore::StatAsync(std::string_view bucket, std::string_view key,
                              Callback<ObjectInfo> done) {
  ESPER_RETURN_IF_ERROR(CheckCallback(done));
  ESPER_RETURN_IF_ERROR(CheckObject("stat", bucket, key));
  return StartStat(std::string(bucket), std::string(key), std::move(done));
}

Status ObjectStore::ListAsync(std::string_view bucket, ListOptions options,
                              Callback<ListPage> done) {
  ESPER_RETURN_IF_ERROR(CheckCallback(done));
  if (auto st = ValidateBucketName(bucket); !st) return Invalid("list", bucket, st.error());
  if (options.page_size < 1 || options.page_size > kMaxListPageSize) {
    return Error::InvalidArgument(fmt::format("list {}: page_size must be 1..{}, not {}", bucket,
                                              kMaxListPageSize, options.page_size));
  }
  for (const auto& [what, s] : {std::pair<std::string_view, std::string_view>{"prefix", options.prefix},
                                {"delimiter", options.delimiter},
                                {"start_after", options.start_after}}) {
    if (auto st = CheckListString(what, s); !st) return Invalid("list", bucket, st.error());
  }
  return StartList(std::string(bucket), std::move(options), std::move(done));
}

Status ObjectStore::DeleteAsync(std::string_view bucket, std::string_view key,
                                Callback<void> done) {
  ESPER_RETURN_IF_ERROR(CheckCallback(done));
  ESPER_RETURN_IF_ERROR(CheckObject("delete", bucket, key));
  return StartDelete(std::string(bucket), std::string(key), std::move(done));
}

Status ObjectStore::DeleteManyAsync(std::string_view bucket, std::vector<std::string> keys,
                                    Callback<std::vector<DeleteResult>> done) {
  ESPER_RETURN_IF_ERROR(CheckCallback(done));
  if (auto st = ValidateBucketName(bucket); !st) return Invalid("delete_many", bucket, st.error());
  for (size_t i = 0; i < keys.size(); ++i) {
    if (auto st = ValidateKey(keys[i]); !st) {
      return Invalid("delete_many", fmt::format("{} (key #{})", bucket, i), st.error());
    }
  }
  return StartDeleteMany(std::string(bucket), std::move(keys), std::move(done));
}

Status ObjectStore::CopyAsync(ObjectRef source, ObjectRef destination, CopyOptions options,
                              Callback<ObjectInfo> done) {
  ESPER_RETURN_IF_ERROR(CheckCallback(done));
  ESPER_RETURN_IF_ERROR(CheckObject("copy from", source.bucket, source.key));
  ESPER_RETURN_IF_ERROR(CheckObject("copy to", destination.bucket, destination.key));
  const std::string where = fmt::format("{} to {}", Where(source.bucket, source.key),
                                        Where(destination.bucket, destination.key));
  if (options.replace_metadata) {
    if (auto st = ValidateContentType(options.content_type); !st) {
      return Invalid("copy", where, st.error());
    }
    if (options.content_type.empty()) options.content_type = std::string(kDefaultContentType);
    auto metadata = NormalizeMetadata(options.metadata);
    if (!metadata) return Invalid("copy", where, metadata.error());
    options.metadata = std::move(*metadata);
  } else {
    if (!options.content_type.empty() || !options.metadata.empty()) {
      return Error::InvalidArgument(fmt::format(
          "copy {}: a content type or metadata is given, but replace_metadata is false", where));
    }
    if (source.bucket == destination.bucket && source.key == destination.key) {
      return ServiceError("InvalidRequest",
                          fmt::format("copy {}: copying an object onto itself must replace its "
                                      "metadata (replace_metadata)",
                                      where));
    }
  }
  options.source_if_match = std::string(UnquoteEtag(options.source_if_match));
  return StartCopy(std::move(source), std::move(destination), std::move(options), std::move(done));
}

Status ObjectStore::CreateBucketAsync(std::string_view bucket, Callback<void> done) {
  ESPER_RETURN_IF_ERROR(CheckCallback(done));
  if (auto st = ValidateBucketName(bucket); !st) return Invalid("create bucket", bucket, st.error());
  return StartCreateBucket(std::string(bucket), std::move(done));
}

Status ObjectStore::DeleteBucketAsync(std::string_view bucket, Callback<void> done) {
  ESPER_RETURN_IF_ERROR(CheckCallback(done));
  if (auto st = ValidateBucketName(bucket); !st) return Invalid("delete bucket", bucket, st.error());
  return StartDeleteBucket(std::string(bucket), std::move(done));
}

Status ObjectStore::ListBucketsAsync(Callback<std::vector<BucketInfo>> done) {
  ESPER_RETURN_IF_ERROR(CheckCallback(done));
  return StartListBuckets(std::move(done));
}

Result<bool> ObjectStore::Exists(std::string_view bucket, std::string_view key) {
  auto info = Stat(bucket, key);
  if (info) return true;
  if (info.error().code() == ErrorCode::kNotFound) return false;
  return info.error();
}

Lister ObjectStore::ListPages(std::string_view bucket, ListOptions options) {
  return Lister(*this, std::string(bucket), std::move(options));
}

Result<std::string> ObjectStore::upload_bytes(std::string data, std::string_view bucket,
                                              std::string_view key, std::string_view content_type,
                                              Metadata metadata) {
  ESPER_RETURN_IF_ERROR(Put(bucket, key, PutBody::FromString(std::move(data)),
                            {.content_type = std::string(content_type),
                             .metadata = std::move(metadata)}));
  return fmt::format("s3://{}/{}", bucket, key);
}

Result<std::string> ObjectStore::download_bytes(std::string_view bucket, std::string_view key) {
  ESPER_ASSIGN_OR_RETURN(GetResult got, Get(bucket, key));
  return std::move(got.body);
}

Result<bool> ObjectStore::object_exists(std::string_view bucket, std::string_view key) {
  return Exists(bucket, key);
}

Result<std::vector<ObjectInfo>> ObjectStore::list_objects(std::string_view bucket,
                                                          std::string_view prefix, int max_keys) {
  if (max_keys < 1) {
    return Error::InvalidArgument(fmt::format("list_objects: max_keys must be >= 1, not {}", max_keys));
  }
  std::vector<ObjectInfo> out;
  ListOptions options{.prefix = std::string(prefix)};
  while (static_cast<int>(out.size()) < max_keys) {
    options.page_size = std::min(kMaxListPageSize, max_keys - static_cast<int>(out.size()));
    ESPER_ASSIGN_OR_RETURN(ListPage page, List(bucket, options));
    for (auto& o : page.objects) out.push_back(std::move(o));
    if (!page.truncated()) break;
    options.continuation_token = std::move(page.next_continuation_token);
  }
  return out;
}

}  // namespace esper::storage
