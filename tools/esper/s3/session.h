// One `esper s3` command's store and how it waits: the flags every subcommand shares, the store
// they select (S3Store, or LocalStore for a file:// endpoint), -v's request log, and waiting for
// operations in a way Ctrl-C always ends.
//
//   auto session = Session::Open(flags);                                   // no network yet
//   if (!session) return session.error();
//   auto info = (*session)->Call(&storage::ObjectStore::StatAsync, bucket, key);
//   Status all = (*session)->RunJobs(next_job, {.concurrency = 8});        // many transfers
//
// Every operation runs in the store's asynchronous form while the command's thread waits for
// its result or for SIGINT / SIGTERM (cli::InterruptToken). On an interrupt the waiting call
// returns Cancelled at once and the session destroys its store, which ends every operation in
// flight — S3Store cancels its requests, LocalStore stops its transfers — and removes the
// temporary file of every download into a file before it returns; an InterruptCleanup makes the
// CLI's watcher wait for that (interrupt.h). So an interrupted download leaves no partial file.
//
// Thread safety: a Session is used from the command's thread; the store's callbacks (jobs'
// completions) may call Progress and output functions from the store's threads.
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>

#include "esper/core/result.h"
#include "esper/storage/lister.h"
#include "esper/storage/object_store.h"

namespace CLI {
class App;
}
namespace esper::s3 {
class S3Store;
}
namespace esper::log {
class Logger;
}

namespace esper::cli::s3cmd {

/// The flags of every `esper s3` subcommand (AddCommonFlags), and the store setting the transfer
/// subcommands add (--ignore-checksum, AddTransferFlags): what Session::Open needs.
struct CommonFlags {
  std::string endpoint_url{};  // --endpoint-url: http(s):// S3 endpoint, or file:///DIR (LocalStore)
  std::string region{};        // --region
  std::string profile{};       // --profile
  double connect_timeout_s = 10;  // --connect-timeout
  double read_timeout_s = 30;     // --read-timeout: an answer, or the next bytes of a transfer
  int verbose = 0;                // -v (requests, statuses, retries), -vv (+ headers, connections)
  // --ignore-checksum (cp, mv, sync only: AddTransferFlags): downloads are not checked against
  // their ETag's MD5 (S3StoreOptions::verify_download_md5 = false); no effect on a file:// store.
  bool ignore_checksum = false;
};

/// Adds CommonFlags' options to a subcommand.
void AddCommonFlags(CLI::App& cmd, CommonFlags& flags);

/// The flags of a subcommand of one s3:// URI (ls, rm, stat, mb, rb, presign, health, uploads);
/// one with more flags derives from it.
struct UriFlags {
  CommonFlags common{};
  std::string uri{};
};

/// Adds the positional `uri` (`help` says what it names; required unless `required` is false)
/// and CommonFlags' options. Call it after the subcommand's own options, as their help lists them.
void AddUriFlags(CLI::App& cmd, UriFlags& flags, std::string help, bool required = true);

/// One transfer or other unit of work for RunJobs: starts an asynchronous operation and calls
/// `done` exactly once when it is over (from any thread), unless it returns an error — then it
/// did not start and `done` is never called. A job reports its own outcome (output lines).
using Job = std::function<Status(std::function<void(Status)> done)>;
/// The next job; nullopt when there are no more; an error when finding the next one failed
/// (a listing page) — then no more jobs are taken.
using JobSource = std::function<Result<std::optional<Job>>()>;

class Session {
 public:
  /// Selects and creates the store (touches no network): a file:// endpoint (from
  /// --endpoint-url or the environment's AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL /
  /// S3_ENDPOINT_URL) is a LocalStore rooted at that directory; anything else an S3Store.
  static Result<std::unique_ptr<Session>> Open(const CommonFlags& flags);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  storage::ObjectStore& store() { return *store_; }
  /// The S3Store, or null for a LocalStore.
  s3::S3Store* s3_store() { return s3_; }
  /// "http://127.0.0.1:9000" or "file:///srv/objects", for messages.
  const std::string& endpoint() const { return endpoint_; }

  /// Starts an operation with `start(callback)` and waits for its result, or for an interrupt
  /// (then Cancelled, and the store is gone: return at once). An error is Explain()ed: every
  /// Call and NextPage names refused credentials.
  template <class T>
  Result<T> Await(const std::function<Status(storage::Callback<T>)>& start);

  /// Await of an ObjectStore *Async method: session.Call(&ObjectStore::StatAsync, "b", "k").
  template <class Method, class... Args>
  auto Call(Method method, Args&&... args) -> Result<typename storage::detail::AsyncValue<Method>::type> {
    using T = typename storage::detail::AsyncValue<Method>::type;
    return Await<T>([&](storage::Callback<T> done) {
      return (store_.get()->*method)(std::forward<Args>(args)..., std::move(done));
    });
  }

  /// The next page of `lister`, interruptibly (Lister::NextPage's meaning).
  Result<std::optional<storage::ListPage>> NextPage(storage::Lister& lister);

  /// Runs the jobs `next` yields, at most `concurrency` at once, until they are all done, one
  /// failed to start or to be found, or an interrupt. OkStatus when every job succeeded; the one
  /// error when the only job failed; else "N of M … failed" (each job has said why).
  struct RunOptions {
    int concurrency = 1;
    std::string what = "transfers";  // for "2 of 5 transfers failed"
  };
  Status RunJobs(const JobSource& next, RunOptions options);

  /// `e`, with the credentials that were refused named when `e` says they were (their access key
  /// id and where they came from — never the secret). Await does it for every operation it waits
  /// for; the rest (a job's failure, S3Store's blocking calls) call it once themselves.
  Error Explain(Error e) const;

  bool interrupted() const;

 private:
  Session() = default;
  class Credentials;  // the provider chain, remembering what it handed out

  // Waits until `ready()` (under mu_) or an interrupt; false on an interrupt.
  bool WaitFor(std::unique_lock<std::mutex>& lock, const std::function<bool()>& ready);
  // On an interrupt: destroys the store, which ends everything in flight and runs its callbacks.
  void Abort();

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool interrupted_ = false;
  std::string endpoint_;
  std::shared_ptr<Credentials> credentials_;
  std::shared_ptr<log::Logger> logger_;
  std::unique_ptr<storage::ObjectStore> store_;
  s3::S3Store* s3_ = nullptr;
  // Registered last, removed first: it touches mu_ and cv_.
  std::unique_ptr<std::stop_callback<std::function<void()>>> on_interrupt_;
};

// ---- template ----

template <class T>
Result<T> Session::Await(const std::function<Status(storage::Callback<T>)>& start) {
  struct State {
    std::optional<Result<T>> result;
  };
  auto state = std::make_shared<State>();
  if (!store_) return Error::Cancelled("interrupted");
  Status started = start([this, state](Result<T> r) {
    std::lock_guard lock(mu_);
    state->result.emplace(std::move(r));
    cv_.notify_all();
  });
  if (!started) return started.error();
  std::unique_lock lock(mu_);
  if (!WaitFor(lock, [&] { return state->result.has_value(); })) {
    lock.unlock();
    Abort();
    return Error::Cancelled("interrupted");
  }
  Result<T> result = std::move(*state->result);
  lock.unlock();
  if (!result) return Explain(std::move(result.error()));
  return result;
}

}  // namespace esper::cli::s3cmd
