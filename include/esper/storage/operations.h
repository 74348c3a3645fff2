// esper/storage/operations.h — what each ObjectStore operation takes and returns.
//
// Plain values built with designated initializers and handed to ObjectStore (object_store.h):
//
//   PutBody      where a put's bytes come from: memory (shared), a file, or a read callback
//   PutOptions   content type, user metadata, create-only, If-Match
//   ByteRange    offset + length, from an offset to the end, or the last N bytes
//   GetTarget    where a get's bytes go: memory, a file (atomically), or a write callback
//   GetOptions   range, If-Match, If-None-Match, target
//   GetResult    the object's info, the range served, the body (memory target), not_modified
//   ListOptions  prefix, delimiter, start-after, page size, continuation token
//   ListPage     objects, common prefixes, the token of the next page
//   DeleteResult one key's outcome in a DeleteMany
//   CopyOptions  metadata copied or replaced, the source's If-Match
//
// Example:
//   using namespace esper::storage;
//   PutOptions put{.content_type = "application/json", .metadata = {{"model", "resnet"}},
//                  .create_only = true};
//   GetOptions get{.range = ByteRange::Last(1024), .target = GetTarget::ToFile("/tmp/tail")};
//   ListOptions list{.prefix = "runs/42/", .delimiter = "/", .page_size = 100};
//
// Thread safety: values. The callbacks inside a PutBody or GetTarget are called by the store on
// its own threads (see object_store.h, "Threads"), one call at a time for one operation, never
// concurrently with each other.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "esper/core/result.h"
#include "esper/storage/object.h"

namespace esper::storage {

/// The completion callback of every asynchronous operation. Callback<void> takes a Status.
template <class T>
using Callback = std::function<void(Result<T>)>;

/// Where a put's bytes come from.
class PutBody {
 public:
  /// Fills `buf` with up to `cap` bytes and returns how many; 0 means the end. An error aborts
  /// the put with that error (the object is left as it was).
  using ReadFn = std::function<Result<size_t>(char* buf, size_t cap)>;
  /// Restarts the stream at its first byte. A store that retries (S3Store) can only retry a
  /// stream body that has one.
  using RewindFn = std::function<Status()>;

  enum class Kind { kMemory, kFile, kStream };

  /// An empty object.
  PutBody();
  /// Bytes in memory. The string is moved into a shared buffer: a retry re-sends it without a copy.
  static PutBody FromString(std::string data);
  /// Bytes already shared (e.g. one buffer put under several keys).
  static PutBody FromShared(std::shared_ptr<const std::string> data);
  /// The contents of the file at `path`, opened when the put starts (errors then: NotFound,
  /// PermissionDenied from opening it). The file must not change during the put.
  static PutBody FromFile(std::string path);
  /// Bytes produced by `read`. With `size`, the stream must produce exactly that many bytes
  /// (fewer or more: InvalidArgument, service code IncompleteBody, and nothing is written); a
  /// store may need the size (S3Store sends it as Content-Length; without it, see s3_store.h).
  static PutBody FromStream(ReadFn read, std::optional<uint64_t> size = std::nullopt,
                            RewindFn rewind = nullptr);

  Kind kind() const noexcept { return kind_; }
  /// The memory body (kMemory), never null for that kind.
  const std::shared_ptr<const std::string>& data() const noexcept { return data_; }
  const std::string& path() const noexcept { return path_; }
  const ReadFn& read_fn() const noexcept { return read_; }
  const RewindFn& rewind_fn() const noexcept { return rewind_; }
  /// The size when known without reading: memory bodies, streams given a size. (A file's size
  /// is known once it is opened.)
  std::optional<uint64_t> known_size() const noexcept;

 private:
  Kind kind_ = Kind::kMemory;
  std::shared_ptr<const std::string> data_{};
  std::string path_{};
  ReadFn read_{};
  RewindFn rewind_{};
  std::optional<uint64_t> size_{};
};

struct PutOptions {
  /// Empty: kDefaultContentType. Stored and returned by Stat and Get.
  std::string content_type{};
  /// Stored with the object (names lower-cased; see object.h for the rules).
  Metadata metadata{};
  /// Write only if no object has this key (S3 `If-None-Match: *`). If one exists: AlreadyExists,
  /// service code PreconditionFailed, and the existing object is untouched. Of two concurrent
  /// create-only puts of one key exactly one succeeds.
  bool create_only = false;
  /// Write only if the current object's ETag is this one (S3 `If-Match`; quotes around it are
  /// ignored). Mismatch: FailedPrecondition, service code PreconditionFailed. No object: NotFound,
  /// NoSuchKey. Not together with create_only (InvalidArgument).
  std::string if_match{};
};

/// A byte range of an object (HTTP `Range: bytes=…`). Build it with the factories.
class ByteRange {
 public:
  /// `length` bytes from `offset` (bytes=offset-(offset+length-1)). length >= 1. The part past
  /// the end of the object is not served (a shorter range comes back); an offset at or past the
  /// end is OutOfRange (service code InvalidRange).
  static ByteRange Span(uint64_t offset, uint64_t length);
  /// From `offset` to the end (bytes=offset-). offset at or past the end: OutOfRange.
  static ByteRange From(uint64_t offset);
  /// The last `n` bytes (bytes=-n), n >= 1; the whole object if it is shorter. (On an empty
  /// object: OutOfRange.)
  static ByteRange Last(uint64_t n);

  enum class Kind { kSpan, kFrom, kLast };
  Kind kind() const noexcept { return kind_; }
  uint64_t offset() const noexcept { return offset_; }  // kSpan, kFrom
  uint64_t length() const noexcept { return length_; }  // kSpan: length; kLast: n
  /// Checks the factories' preconditions (length / n >= 1, no overflow): InvalidArgument.
  Status Validate() const;
  /// "bytes=0-99", "bytes=100-", "bytes=-100".
  std::string ToHttpHeader() const;
  /// The (offset, length) served for an object of `size` bytes, or OutOfRange (service code
  /// InvalidRange) when the range is not satisfiable. Every store uses this one rule.
  Result<std::pair<uint64_t, uint64_t>> Resolve(uint64_t size) const;

  friend bool operator==(const ByteRange&, const ByteRange&) = default;

 private:
  ByteRange(Kind kind, uint64_t offset, uint64_t length)
      : kind_(kind), offset_(offset), length_(length) {}
  Kind kind_;
  uint64_t offset_;
  uint64_t length_;
};

/// Where a get's bytes go.
class GetTarget {
 public:
  /// Receives the next chunk. An error aborts the get with that error.
  using WriteFn = std::function<Status(std::string_view chunk)>;

  enum class Kind { kMemory, kFile, kStream };

  /// GetResult::body (the default). A store bounds it (LocalStore: max_memory_body; S3Store: the
  /// http client's max_response_bytes): larger is ResourceExhausted — use a file or a stream.
  static GetTarget ToMemory() { return GetTarget(); }
  /// The file at `path`, written atomically: into a temporary file in the same directory,
  /// flushed (fsync), then renamed over `path`. On any failure `path` is untouched and the
  /// temporary file is removed; a reader of `path` never sees part of the object.
  static GetTarget ToFile(std::string path);
  /// Handed to `write` chunk by chunk, in order. On a failure after some chunks were delivered,
  /// the get fails (it is not restarted) and the receiver must discard what it got — also when
  /// the failure is found after the last chunk (DataLoss: the whole did not match its checksum).
  /// A store may hold chunks back until it has checked them (S3Store receives a large object's
  /// ranges whole, then hands them over in order: s3_store.h, "Large objects").
  static GetTarget ToStream(WriteFn write);

  Kind kind() const noexcept { return kind_; }
  const std::string& path() const noexcept { return path_; }
  const WriteFn& write_fn() const noexcept { return write_; }

 private:
  Kind kind_ = Kind::kMemory;
  std::string path_{};
  WriteFn write_{};
};

struct GetOptions {
  /// Empty: the whole object.
  std::optional<ByteRange> range{};
  /// Serve only if the object's ETag is this one (quotes ignored); else FailedPrecondition,
  /// service code PreconditionFailed (HTTP 412). Checked before if_none_match.
  std::string if_match{};
  /// Serve only if the object's ETag is NOT this one (quotes ignored; "*" matches any object).
  /// If it is (HTTP 304): success with GetResult::not_modified set, nothing written to the target.
  std::string if_none_match{};
  GetTarget target{};
};

struct GetResult {
  /// The object: key, size (of the whole object), etag, last_modified, content_type, metadata.
  /// When not_modified: only key, etag and last_modified (what S3 sends with a 304).
  ObjectInfo info{};
  /// The bytes served: [offset, offset + length). The whole object: offset 0, length = size.
  uint64_t offset = 0;
  uint64_t length = 0;
  /// if_none_match matched (HTTP 304 Not Modified): nothing was served.
  bool not_modified = false;
  /// The bytes, for GetTarget::ToMemory(); empty for the other targets.
  std::string body{};
};

struct ListOptions {
  /// Only keys starting with this.
  std::string prefix{};
  /// When non-empty, keys that contain it after the prefix are rolled up into one common prefix
  /// each: prefix + everything up to and including the first delimiter after it. Usually "/".
  std::string delimiter{};
  /// Only keys (and common prefixes) after this one in byte order; need not exist.
  std::string start_after{};
  /// Entries (objects + common prefixes together, as S3 counts them) per page: 1..1000.
  int page_size = kMaxListPageSize;
  /// From ListPage::next_continuation_token: continue where that page stopped (start_after is
  /// then ignored). Opaque, and only valid with the same bucket, prefix and delimiter.
  /// A malformed token: InvalidArgument.
  std::string continuation_token{};
};

struct ListPage {
  /// In UTF-8 byte order. Each has key, size, etag, last_modified (S3 lists no content type or
  /// metadata: those stay empty — Stat an object for them).
  std::vector<ObjectInfo> objects{};
  /// In byte order, each once across all pages.
  std::vector<std::string> common_prefixes{};
  /// Non-empty when more entries follow: pass it as ListOptions::continuation_token.
  std::string next_continuation_token{};

  bool truncated() const noexcept { return !next_continuation_token.empty(); }
};

/// One key's outcome in DeleteMany.
struct DeleteResult {
  std::string key{};
  /// OkStatus when the key is gone (including when it never existed), else why not.
  Status status{};
};

struct CopyOptions {
  /// false (S3's COPY): the copy keeps the source's content type and metadata (content_type and
  /// metadata below must be empty). true (REPLACE): the copy gets content_type (empty: the
  /// default) and metadata from here. Copying an object onto itself requires replace_metadata
  /// (InvalidArgument, service code InvalidRequest, as S3).
  bool replace_metadata = false;
  std::string content_type{};
  Metadata metadata{};
  /// Copy only if the source's ETag is this one (x-amz-copy-source-if-match); else
  /// FailedPrecondition, PreconditionFailed.
  std::string source_if_match{};
};

/// `etag` without surrounding double quotes (and without a weak "W/" prefix).
std::string_view UnquoteEtag(std::string_view etag) noexcept;

}  // namespace esper::storage
