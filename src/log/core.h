// Private: the backend of a Logger (esper::log::detail::LoggerCore): core.cpp (its life, Flush,
// statistics), backend.cpp (the thread's loop), crash_handler.cpp and fork_handlers.cpp.
#pragma once

#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <vector>

#include "esper/log/logger.h"
#include "log/context.h"
#include "log/tick_clock.h"

namespace esper::log::detail {

/// The smallest power of two >= v.
inline size_t RoundUpPow2(size_t v) {
  size_t p = 1;
  while (p < v) p <<= 1;
  return p;
}
/// The calling thread's id (gettid), as records carry it (Record::thread_id).
uint32_t CurrentTid();
/// Whether `q` is one of the calling thread's queues (logger.cpp keeps them per thread).
bool IsThisThreadsQueue(const ThreadQueue* q);

class LoggerCore {
 public:
  LoggerCore(Options options, uint64_t id);
  ~LoggerCore();

  void Start();
  void Stop();
  Status Flush();
  Stats GetStats() const;

  void Register(std::shared_ptr<ThreadQueue> q);
  /// Wakes the backend from its idle sleep. Async-signal-safe.
  void Wake() noexcept;
  /// Wake() if the backend is in a sleep longer than idle_sleep (cheap otherwise: one load).
  /// Producers call it on their slow path, which they take at least every half queue.
  void NudgeIfSleepingLong() noexcept;
  /// Called by the crash handler (signal context): asks the backend to drain, waits (bounded).
  void CrashDrain() noexcept;
  /// Synchronous mode: drains `q` on the calling thread under the lock.
  void ProcessSync(ThreadQueue* q);

  // fork(): the pthread_atfork handlers (installed by the first Start()) call these on every
  // live core, from the forking thread.
  /// Parent, before: parks the backend between two passes (bounded wait) and takes every lock,
  /// so the child inherits no half-done pass and no lock held by a thread it does not have.
  void PrepareFork() noexcept;
  /// Parent, after: releases the locks and the backend.
  void ParentAfterFork() noexcept;
  /// Child: releases the locks, forgets the parent's backend and the producers that are not this
  /// thread; the backend is started again by RestartIfForked().
  void ChildAfterFork() noexcept;
  /// In a forked child, before its first record (AttachThread, Flush): drops the records the
  /// parent published before the fork (the parent writes them) and starts a backend. One load
  /// otherwise.
  void RestartIfForked();

  const Options& options() const { return opt_; }
  bool stopped() const { return stopped_.load(std::memory_order_acquire); }
  uint64_t id() const { return id_; }
  const std::shared_ptr<ContextRetirement>& contexts() const { return contexts_; }
  size_t ring_bytes() const { return ring_bytes_; }

 private:
  struct SinkState {
    std::shared_ptr<Sink> sink;
    std::shared_ptr<const Formatter> formatter;
    Level level;
    fmt::memory_buffer buf;
    int64_t last_ns = 0;
  };
  struct Head {
    ThreadQueue* q;
    const char* p;
    uint64_t ticks;
  };

  void StartBackend();
  void Run();
  void ParkForFork();
  /// Sleeps in ppoll on the wake eventfd for at most `limit`; Wake() ends it.
  void SleepUntilWoken(std::chrono::microseconds limit);
  /// Stopped with no backend to join (a forked child's copy that cannot run one).
  void StopWithoutBackend() noexcept;
  void UnlockAfterFork() noexcept;  // what PrepareFork locked
  void RefreshQueues();
  size_t Drain(uint64_t cutoff);
  const char* PeekQueue(ThreadQueue* q);
  void Process(const char* p, uint32_t tid);
  void WriteSink(SinkState& s);
  void WriteAllSinks();
  void FlushSinks();
  void ReportError(Error e);
  void RetireGoneQueues();
  void SampleDepth();

  Options opt_;
  uint64_t id_;
  size_t ring_bytes_;
  std::vector<SinkState> sinks_;
  std::vector<Field> context_;

  // registered producer queues
  mutable std::mutex qmu_;
  std::vector<std::shared_ptr<ThreadQueue>> queues_;
  std::atomic<uint64_t> qversion_{0};
  // backend-local copies
  std::vector<std::shared_ptr<ThreadQueue>> local_;
  uint64_t local_version_ = ~uint64_t{0};
  std::vector<Head> heads_;
  // ContextLogger blobs: retired ones, and those taken before the current pass's cut-off
  std::shared_ptr<ContextRetirement> contexts_ = std::make_shared<ContextRetirement>();
  std::vector<const ContextBlob*> freeable_;  // backend-local

  std::thread thread_;
  std::atomic<pthread_t> backend_tid_{};
  std::mutex mu_;
  int wake_fd_ = -1;                 // eventfd: wakes the backend (async-signal-safe to write)
  std::condition_variable done_cv_;  // flush completion
  std::atomic<bool> stop_{false};
  std::atomic<bool> running_{false};
  std::atomic<bool> stopped_{false};
  uint64_t flush_req_ = 0;   // under mu_
  uint64_t flush_done_ = 0;  // under mu_
  std::atomic<int> crash_state_{0};  // 0 none, 1 requested, 2 done
  // idle sleep: the current length (backend-local), and whether it exceeds idle_sleep
  std::chrono::microseconds idle_now_;
  std::atomic<bool> sleeping_long_{false};
  // fork: 1 PrepareFork asks the backend to park, 2 parked (it waits until reset to 0)
  std::atomic<int> fork_park_{0};
  bool fork_safe_ = false;            // PrepareFork found the backend parked (or none) and took sync_mu_
  bool fork_sync_locked_ = false;     // PrepareFork took sync_mu_ (within its bound)
  std::atomic<bool> forked_{false};   // a forked child's copy whose backend is not started yet
  bool inherited_busy_ = false;       // a child's copy inherited in the middle of a pass: stopped
  std::mutex restart_mu_;

  // statistics
  std::atomic<uint64_t> processed_{0};
  std::atomic<uint64_t> errors_{0};
  std::atomic<uint64_t> backend_ns_{0};
  std::atomic<clockid_t> backend_clock_{0};
  std::atomic<bool> backend_clock_valid_{false};
  std::atomic<uint64_t> backend_cpu_final_{0};
  std::atomic<uint64_t> depth_bytes_{0};
  std::atomic<uint64_t> high_water_{0};
  std::atomic<uint64_t> capacity_bytes_{0};
  std::atomic<uint32_t> producers_{0};
  std::atomic<uint64_t> retired_enqueued_{0};
  std::atomic<uint64_t> retired_dropped_{0};
  std::atomic<uint64_t> retired_truncated_{0};
  mutable std::mutex err_mu_;
  std::optional<Error> last_error_;
  uint64_t error_seq_ = 0;  // under err_mu_
  uint64_t flushed_error_seq_ = 0;  // under err_mu_: error_seq_ when Flush last returned an error

  // decoding state (backend thread, or the caller under sync_mu_)
  std::mutex sync_mu_;
  DecodeSink ds_;
  // Named call sites: the positional twin of the format ("{:spec}") and the names, built on a
  // site's first record. Grows with the number of named call sites, which is fixed at build time.
  struct NamedPlan {
    std::string positional;
    std::vector<std::string_view> names;
  };
  const NamedPlan& PlanFor(const Site* site);
  std::unordered_map<const Site*, NamedPlan> named_plans_;
  std::vector<Field> fields_;
  TickClock clock_;
  std::chrono::steady_clock::time_point last_resync_;
};

}  // namespace esper::log::detail
