// esper/storage/local_store.h — the embedded object store: S3's semantics on a local directory.
//
// A LocalStore keeps buckets as the subdirectories of `root` and objects as files below them,
// with everything ObjectStore (object_store.h) promises, so a service or a test runs without an
// S3 server and moves to S3Store by changing one line. The same errors with the same S3 service
// codes (errors.h): a caller cannot tell the two stores apart by what they return.
//
// Example:
//   auto store = esper::storage::LocalStore::Create({.root = "/var/lib/urza/objects",
//                                                    .create_root = true});
//   if (!store) return store.error();
//   (void)(*store)->CreateBucket("checkpoints");                 // AlreadyExists if it is there
//   auto info = (*store)->Put("checkpoints", "run-7/epoch-40.pt", PutBody::FromFile(path));
//
// On disk (docs/storage.md has the whole story):
//   <root>/<bucket>/                 a bucket (S3's name rules keep the name a plain directory name)
//   <root>/<bucket>/.esper-tmp/      objects being written; hidden from listings, and files left
//                                    by a crashed writer are removed by the next Create()
//   <root>/<bucket>/a/b%o            the object "a/b": one file, a header (key, size, MD5,
//                                    content type, metadata) then the bytes
// A key is split at '/'; every segment is encoded into a name the file system holds and that is
// never ".", ".." or hidden ('%', control bytes and a leading '.' become %XX; "" becomes "%";
// segments longer than 240 bytes encoded become a SHA-256 name; object files end in "%o"), so
// "..", "a//b", "/a", "a/" are keys like any other, "a" and "a/b" coexist, nothing is ever
// resolved through a symbolic link (each directory is opened with O_NOFOLLOW), and listings
// decode the names back to the exact keys. The files are not plain copies of the objects: use
// the store (or `esper s3 cp file:///root/…`) to read them.
//
// Guarantees:
//   * Put is atomic: the object is written to a temporary file in the bucket's .esper-tmp,
//     fsync'd, renamed into place, and the directory fsync'd (`fsync`, on by default). A reader
//     sees the old object or the new one, never a part; content type, metadata and ETag change
//     with the bytes (they are in the same file). A failed put (ENOSPC, a read error of the
//     source, a crash) leaves the old object intact.
//   * create_only is one renameat2(RENAME_NOREPLACE) (link() where the file system lacks it):
//     of concurrent create-only puts of one key, exactly one succeeds.
//   * if_match, and every replacement or removal of an object, happen under an exclusive flock()
//     on the object's directory, taken by every LocalStore writer — in this process and in any
//     other on the same root — so no LocalStore write of a key falls between an If-Match check and
//     the replacement it guards. (Writers that bypass LocalStore are not covered.)
//   * A get or stat reads one open file: header and bytes of one version, whatever is written
//     meanwhile.
//   * Listings are in UTF-8 byte order; a page reads only the directories along the way (and,
//     per directory, at most page_size + 1 children at a time), so memory is bounded by the page.
//   * ETags are the hex MD5 of the bytes, as S3's for an object written in one piece.
//
// Threads: `threads` workers (named "esper-local"), owned and joined, run the *Async operations and
// their callbacks; a blocking call runs its operation on the calling thread instead (no hand-off).
// At most `max_in_flight` asynchronous operations are queued or running (ResourceExhausted
// beyond). Destruction: see ObjectStore — queued operations end with Cancelled, long-running ones
// (large copies and transfers) stop early with Cancelled, and every callback has run when the
// destructor returns.
//
// Errors: as ObjectStore; file-system failures keep their errno mapping (ENOSPC →
// ResourceExhausted, EACCES → PermissionDenied, …) and name what was being done. A file with an
// object's name whose header is damaged is DataLoss.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "esper/core/result.h"
#include "esper/storage/object_store.h"

namespace esper::storage {

struct LocalStoreOptions {
  /// The directory whose subdirectories are the buckets. Required.
  std::string root{};
  /// Create `root` (and its parents) when it does not exist. Otherwise a missing root is NotFound.
  bool create_root = false;
  /// Worker threads for asynchronous operations. 1..256.
  int threads = 4;
  /// Asynchronous operations queued or running, at most. >= 1.
  int max_in_flight = 10000;
  /// Flush objects and directories to the disk before a put, copy or delete reports success, so a
  /// reported success survives a crash or a power loss. Off: still atomic, not durable.
  bool fsync = true;
  /// GetTarget::ToMemory bodies larger than this fail with ResourceExhausted. >= 1. (The http
  /// client's max_response_bytes default, so both stores refuse the same.)
  uint64_t max_memory_body = uint64_t{256} << 20;
};

class LocalStore final : public ObjectStore {
 public:
  /// Validates `options` (InvalidArgument naming the field), opens the root, removes what crashed
  /// writers left in the buckets' .esper-tmp, and starts the workers.
  static Result<std::unique_ptr<LocalStore>> Create(LocalStoreOptions options);
  ~LocalStore() override;

  bool IsCallbackThread() const noexcept override;
  const LocalStoreOptions& options() const noexcept;

  class Impl;

 protected:
  Status StartPut(std::string bucket, std::string key, PutBody body, PutOptions options,
                  Callback<ObjectInfo> done) override;
  Status StartGet(std::string bucket, std::string key, GetOptions options,
                  Callback<GetResult> done) override;
  Status StartStat(std::string bucket, std::string key, Callback<ObjectInfo> done) override;
  Status StartList(std::string bucket, ListOptions options, Callback<ListPage> done) override;
  Status StartDelete(std::string bucket, std::string key, Callback<void> done) override;
  Status StartDeleteMany(std::string bucket, std::vector<std::string> keys,
                         Callback<std::vector<DeleteResult>> done) override;
  Status StartCopy(ObjectRef source, ObjectRef destination, CopyOptions options,
                   Callback<ObjectInfo> done) override;
  Status StartCreateBucket(std::string bucket, Callback<void> done) override;
  Status StartDeleteBucket(std::string bucket, Callback<void> done) override;
  Status StartListBuckets(Callback<std::vector<BucketInfo>> done) override;

 private:
  explicit LocalStore(std::unique_ptr<Impl> impl);
  template <class T, class Op>
  Status Run(Callback<T> done, Op op);

  std::unique_ptr<Impl> impl_;
};

}  // namespace esper::storage
