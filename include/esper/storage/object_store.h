// esper/storage/object_store.h — one interface for object storage, two stores with one meaning.
//
// ObjectStore is what a service codes against; S3Store (esper/s3/s3_store.h: S3 and MinIO over
// the http client's event loop) and LocalStore (local_store.h: a directory, the embedded default)
// implement it with the same semantics, and one conformance suite
// (tests/integration/storage/conformance.h) holds both to every promise written here.
//
// Every operation has three forms:
//   * asynchronous with a callback: `PutAsync(…, done)`. Returns an error — and then `done` is
//     never called — when the operation cannot start: invalid arguments (checked here, the same
//     for every store), too many operations in flight (ResourceExhausted), or the store shutting
//     down (Cancelled). Otherwise `done` runs exactly once, later, on one of the store's threads
//     (never inside the *Async call itself).
//   * blocking: `Put(…)` starts the asynchronous form and waits for it.
//   * future: `Future(&ObjectStore::PutAsync, args…)` for any *Async method.
// Arguments are copied (or moved) before an *Async call returns; the caller need not keep them.
//
// Example:
//   using namespace esper::storage;
//   auto store = LocalStore::Create({.root = "/var/lib/tamiyo/objects"});
//   if (!store) return store.error();
//   ObjectStore& s = **store;
//   auto put = s.Put("models", "resnet/v3.bin", PutBody::FromFile("/tmp/v3.bin"),
//                    {.content_type = "application/octet-stream", .metadata = {{"epoch", "40"}}});
//   auto tail = s.Get("models", "resnet/v3.bin", {.range = ByteRange::Last(4096)});
//   auto exists = s.Exists("models", "resnet/v4.bin");             // Result<bool>
//   Lister pages = s.ListPages("models", {.prefix = "resnet/"});
//   while (auto page = pages.NextPage()) {                          // one page in memory at a time
//     if (!*page) break;                                            // past the last page
//     for (const ObjectInfo& o : (*page)->objects) Use(o.key, o.size);
//   }
//   (void)s.DeleteAsync("models", "resnet/v1.bin", [](esper::Status st) { /* store's thread */ });
//
// What each operation promises (every store):
//   Put         atomic: a reader sees the old object or the new one, never a part. Returns key,
//               size, etag, content_type, metadata. create_only / if_match: see PutOptions.
//   Get         the object or a range of it into memory, a file or a stream, with If-Match /
//               If-None-Match (GetOptions); the result says which range was served (GetResult).
//               A get sees one version of the object from its first byte to its last.
//   Stat        key, size, etag, last_modified, content_type, metadata (S3 HEAD).
//   Exists      Stat, with NotFound → false; any other error stays an error.
//   List        one page (ListOptions / ListPage), in UTF-8 byte order.
//   ListPages   a Lister that follows continuation tokens page by page: memory is one page.
//   Delete      removes the key; a key that does not exist is success (as in S3).
//   DeleteMany  any number of keys (S3Store sends batches of 1,000); one DeleteResult per key in
//               input order. The whole call fails only when nothing could be done (invalid
//               arguments, NoSuchBucket); otherwise every key carries its own status.
//   Copy        server-side (the bytes do not pass through the caller); metadata copied or
//               replaced (CopyOptions). Returns the copy's key and etag (last_modified where the
//               store reports it; size and the metadata only where it knows them).
//   CreateBucket / DeleteBucket / ListBuckets   DeleteBucket of a bucket holding objects is
//               FailedPrecondition "BucketNotEmpty"; creating one that exists is AlreadyExists.
//   Errors: esper/storage/errors.h (the codes, and the S3 service code every store sets).
//   An operation on a bucket that does not exist is NotFound, service code NoSuchBucket — except
//   Stat / Exists, where S3's HEAD response has no body to say which: NoSuchKey or NoSuchBucket.
//
// Threads: every method may be called from any thread at once. Callbacks (and the PutBody read /
// GetTarget write functions) run on the store's threads: S3Store's on the http client's single
// event-loop thread — they must be short and must never block, or every operation of that client
// waits; LocalStore's on its own worker pool (a fixed number of threads it owns and joins). From a
// callback you may start more *Async operations on any store. You must not call a blocking form
// (Put, Get, …, Future(…).get()) of the same store from its callback: it could wait for a thread
// that is busy running you, so it returns FailedPrecondition instead (IsCallbackThread()).
//
// Ownership and shutdown: a store's destructor stops accepting operations, completes every
// operation still queued or in flight — those that had not finished with Cancelled — running
// their callbacks (on the store's threads) before it returns, and joins its threads. Do not
// destroy a store from its own callback. A Lister must not outlive its store.
//
// Implementing a store: derive, implement the protected Start* methods and IsCallbackThread().
// The public methods validate every argument first (names, metadata, ranges, options; see
// object.h), normalise metadata names to lower case and pass etags unquoted, so a Start* method
// receives only valid input. A store may run an operation on the caller's thread when the caller
// is blocked waiting for it anyway (ClaimBlockingCaller()); otherwise callbacks never run on the
// calling thread.
#pragma once

#include <condition_variable>
#include <future>
#include <mutex>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "esper/core/result.h"
#include "esper/storage/object.h"
#include "esper/storage/operations.h"

namespace esper::storage {

class Lister;

namespace detail {
template <class T>
struct CallbackValue;
template <class T>
struct CallbackValue<std::function<void(Result<T>)>> {
  using type = T;
};
// The T of the Callback<T> an *Async member function takes last.
template <class Method>
struct AsyncValue;
template <class C, class... A>
struct AsyncValue<Status (C::*)(A...)> {
  using type = typename CallbackValue<
      std::remove_cvref_t<typename decltype((std::type_identity<A>{}, ...))::type>>::type;
};
}  // namespace detail

class ObjectStore {
 public:
  virtual ~ObjectStore();
  ObjectStore(const ObjectStore&) = delete;
  ObjectStore& operator=(const ObjectStore&) = delete;

  // ----- asynchronous (callback) forms ---------------------------------------------------------

  Status PutAsync(std::string_view bucket, std::string_view key, PutBody body, PutOptions options,
                  Callback<ObjectInfo> done);
  Status GetAsync(std::string_view bucket, std::string_view key, GetOptions options,
                  Callback<GetResult> done);
  Status StatAsync(std::string_view bucket, std::string_view key, Callback<ObjectInfo> done);
  Status ListAsync(std::string_view bucket, ListOptions options, Callback<ListPage> done);
  Status DeleteAsync(std::string_view bucket, std::string_view key, Callback<void> done);
  Status DeleteManyAsync(std::string_view bucket, std::vector<std::string> keys,
                         Callback<std::vector<DeleteResult>> done);
  Status CopyAsync(ObjectRef source, ObjectRef destination, CopyOptions options,
                   Callback<ObjectInfo> done);
  Status CreateBucketAsync(std::string_view bucket, Callback<void> done);
  Status DeleteBucketAsync(std::string_view bucket, Callback<void> done);
  Status ListBucketsAsync(Callback<std::vector<BucketInfo>> done);

  // ----- blocking forms (FailedPrecondition on one of this store's callback threads) ------------

  Result<ObjectInfo> Put(std::string_view bucket, std::string_view key, PutBody body,
                         PutOptions options = {}) {
    return Wait(&ObjectStore::PutAsync, bucket, key, std::move(body), std::move(options));
  }
  Result<GetResult> Get(std::string_view bucket, std::string_view key, GetOptions options = {}) {
    return Wait(&ObjectStore::GetAsync, bucket, key, std::move(options));
  }
  Result<ObjectInfo> Stat(std::string_view bucket, std::string_view key) {
    return Wait(&ObjectStore::StatAsync, bucket, key);
  }
  /// Stat, with NotFound (NoSuchKey or NoSuchBucket) → false. Other errors stay errors.
  Result<bool> Exists(std::string_view bucket, std::string_view key);
  Result<ListPage> List(std::string_view bucket, ListOptions options = {}) {
    return Wait(&ObjectStore::ListAsync, bucket, std::move(options));
  }
  /// A lazy lister over every page of `options` (lister.h). No call is made until NextPage.
  Lister ListPages(std::string_view bucket, ListOptions options = {});
  Status Delete(std::string_view bucket, std::string_view key) {
    return Wait(&ObjectStore::DeleteAsync, bucket, key);
  }
  Result<std::vector<DeleteResult>> DeleteMany(std::string_view bucket,
                                               std::vector<std::string> keys) {
    return Wait(&ObjectStore::DeleteManyAsync, bucket, std::move(keys));
  }
  Result<ObjectInfo> Copy(ObjectRef source, ObjectRef destination, CopyOptions options = {}) {
    return Wait(&ObjectStore::CopyAsync, std::move(source), std::move(destination),
                std::move(options));
  }
  Status CreateBucket(std::string_view bucket) {
    return Wait(&ObjectStore::CreateBucketAsync, bucket);
  }
  Status DeleteBucket(std::string_view bucket) {
    return Wait(&ObjectStore::DeleteBucketAsync, bucket);
  }
  Result<std::vector<BucketInfo>> ListBuckets() { return Wait(&ObjectStore::ListBucketsAsync); }

  // ----- the seed's names (OptimizedS3Client), kept with their meaning -------------------------

  /// Puts `data` and returns "s3://bucket/key".
  Result<std::string> upload_bytes(std::string data, std::string_view bucket, std::string_view key,
                                   std::string_view content_type = kDefaultContentType,
                                   Metadata metadata = {});
  /// The whole object.
  Result<std::string> download_bytes(std::string_view bucket, std::string_view key);
  /// Exists().
  Result<bool> object_exists(std::string_view bucket, std::string_view key);
  /// Up to `max_keys` objects whose keys start with `prefix`, in key order (following
  /// continuation tokens when max_keys > 1000). max_keys >= 1.
  Result<std::vector<ObjectInfo>> list_objects(std::string_view bucket,
                                               std::string_view prefix = "", int max_keys = 1000);

  // ----- generic forms -------------------------------------------------------------------------

  /// Runs any *Async method and returns its future:
  ///   auto f = store.Future(&ObjectStore::StatAsync, "b", "k");   // std::future<Result<ObjectInfo>>
  /// A failure to start is returned through the future too. Do not wait on it from one of this
  /// store's callbacks.
  template <class Method, class... Args>
  auto Future(Method method, Args&&... args)
      -> std::future<Result<typename detail::AsyncValue<Method>::type>>;

  /// Runs any *Async method and waits for its result (what the blocking forms do).
  /// FailedPrecondition on one of this store's callback threads.
  template <class Method, class... Args>
  auto Wait(Method method, Args&&... args) -> Result<typename detail::AsyncValue<Method>::type>;

  /// Whether the calling thread is one of this store's callback threads (S3Store: its http
  /// client's loop; LocalStore: one of its workers).
  virtual bool IsCallbackThread() const noexcept = 0;

 protected:
  ObjectStore() = default;

  // What a store implements. Arguments are valid (see "Implementing a store" above). Each
  // returns an error without calling `done` when it cannot start the operation, or calls `done`
  // exactly once, later, on one of the store's threads.
  virtual Status StartPut(std::string bucket, std::string key, PutBody body, PutOptions options,
                          Callback<ObjectInfo> done) = 0;
  virtual Status StartGet(std::string bucket, std::string key, GetOptions options,
                          Callback<GetResult> done) = 0;
  virtual Status StartStat(std::string bucket, std::string key, Callback<ObjectInfo> done) = 0;
  virtual Status StartList(std::string bucket, ListOptions options, Callback<ListPage> done) = 0;
  virtual Status StartDelete(std::string bucket, std::string key, Callback<void> done) = 0;
  virtual Status StartDeleteMany(std::string bucket, std::vector<std::string> keys,
                                 Callback<std::vector<DeleteResult>> done) = 0;
  virtual Status StartCopy(ObjectRef source, ObjectRef destination, CopyOptions options,
                           Callback<ObjectInfo> done) = 0;
  virtual Status StartCreateBucket(std::string bucket, Callback<void> done) = 0;
  virtual Status StartDeleteBucket(std::string bucket, Callback<void> done) = 0;
  virtual Status StartListBuckets(Callback<std::vector<BucketInfo>> done) = 0;

  /// True (once) when the current Start* call comes from a blocking form whose caller waits for
  /// `done` anyway: the store may then run the operation right here, on the caller's thread,
  /// and call `done` before returning — saving a thread hand-off. Reading it clears it, so an
  /// operation started from inside that one (e.g. from a GetTarget write function) does not see
  /// it. A store that ignores it is still correct.
  static bool ClaimBlockingCaller() noexcept;

  /// What PutAsync / GetAsync check and normalise before StartPut / StartGet (the callback, the
  /// bucket and key, the options, the body or target), for a store's own entry point that
  /// starts a put or get by another road (S3Store::UploadAsync).
  static Status PreparePut(std::string_view bucket, std::string_view key, const PutBody& body,
                           PutOptions& options, const Callback<ObjectInfo>& done);
  static Status PrepareGet(std::string_view bucket, std::string_view key, GetOptions& options,
                           const Callback<GetResult>& done);

 private:
  class BlockingScope;  // sets what ClaimBlockingCaller() reads, for one *Async call
};

// ----- templates ---------------------------------------------------------------------------------

class ObjectStore::BlockingScope {
 public:
  BlockingScope() noexcept;
  ~BlockingScope();
  BlockingScope(const BlockingScope&) = delete;
  BlockingScope& operator=(const BlockingScope&) = delete;

 private:
  bool saved_;
};

template <class Method, class... Args>
auto ObjectStore::Future(Method method, Args&&... args)
    -> std::future<Result<typename detail::AsyncValue<Method>::type>> {
  using T = typename detail::AsyncValue<Method>::type;
  auto promise = std::make_shared<std::promise<Result<T>>>();
  std::future<Result<T>> future = promise->get_future();
  Status started = (this->*method)(std::forward<Args>(args)...,
                                   [promise](Result<T> r) { promise->set_value(std::move(r)); });
  if (!started) promise->set_value(Result<T>(started.error()));
  return future;
}

template <class Method, class... Args>
auto ObjectStore::Wait(Method method, Args&&... args)
    -> Result<typename detail::AsyncValue<Method>::type> {
  using T = typename detail::AsyncValue<Method>::type;
  if (IsCallbackThread()) {
    return Error::FailedPrecondition(
        "a blocking ObjectStore call on one of the store's own callback threads would wait for "
        "itself; start the *Async form instead");
  }
  // Not a std::promise: its set_value costs a futex wake even when nobody waits (pthread_once),
  // and a store that runs the operation right here (ClaimBlockingCaller) has the result before
  // anybody could wait.
  struct State {
    std::mutex mu;
    std::condition_variable cv;
    std::optional<Result<T>> result;
  };
  auto state = std::make_shared<State>();
  Status started = OkStatus();
  {
    BlockingScope scope;
    started = (this->*method)(std::forward<Args>(args)..., [state](Result<T> r) {
      {
        std::lock_guard<std::mutex> lock(state->mu);
        state->result.emplace(std::move(r));
      }
      // Notified after the unlock: a waiter woken under the lock would block on it at once (two
      // more futex calls and a context switch per call). `state` is ours until we return.
      state->cv.notify_one();
    });
  }
  if (!started) return started.error();
  std::unique_lock<std::mutex> lock(state->mu);
  state->cv.wait(lock, [&] { return state->result.has_value(); });
  return std::move(*state->result);
}

}  // namespace esper::storage
