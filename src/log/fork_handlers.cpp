// fork(): the pthread_atfork handlers and what they do to every live logger, so that a logger
// keeps working in a forked child (docs/log.md, fork()).
#include "log/fork_handlers.h"

#include <pthread.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <mutex>
#include <new>
#include <system_error>
#include <vector>

#include "log/core.h"

namespace esper::log::detail {
namespace {

// fork(): every live core, under g_fork_mu (held from the prepare handler to the parent's or the
// child's, so no core is created or destroyed across a fork).
std::mutex g_fork_mu;
std::vector<LoggerCore*> g_fork_cores;

void ForkPrepare() {
  g_fork_mu.lock();
  for (LoggerCore* c : g_fork_cores) c->PrepareFork();
}
void ForkParent() {
  for (LoggerCore* c : g_fork_cores) c->ParentAfterFork();
  g_fork_mu.unlock();
}
void ForkChild() {
  tls_cache = {0, nullptr};  // this thread's next call to any logger takes the slow path
  for (LoggerCore* c : g_fork_cores) c->ChildAfterFork();
  g_fork_mu.unlock();
}

}  // namespace

void RegisterForFork(LoggerCore* c) {
  static std::once_flag once;
  std::call_once(once, [] { pthread_atfork(ForkPrepare, ForkParent, ForkChild); });
  std::lock_guard lk(g_fork_mu);
  g_fork_cores.push_back(c);
}

void UnregisterForFork(LoggerCore* c) {
  std::lock_guard lk(g_fork_mu);
  std::erase(g_fork_cores, c);
}

void LoggerCore::PrepareFork() noexcept {
  // Bounded: a backend blocked in a sink's write (a full pipe) must not hang fork().
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  auto wait_for = [&](auto done) {
    const timespec pause{0, 20'000};
    while (!done() && std::chrono::steady_clock::now() < until) nanosleep(&pause, nullptr);
    return done();
  };
  fork_safe_ = true;
  if (thread_.joinable() && running_.load(std::memory_order_acquire)) {
    if (pthread_equal(backend_tid_.load(std::memory_order_acquire), pthread_self())) {
      fork_safe_ = false;  // a sink of ours forks: the child gets this pass half done
    } else {
      fork_park_.store(1, std::memory_order_release);
      Wake();
      fork_safe_ = wait_for([&] {
        return fork_park_.load(std::memory_order_acquire) == 2 || !running_.load(std::memory_order_acquire);
      });
    }
  }
  // Every lock a thread of this core can hold, in one order (no path nests them otherwise).
  // sync_mu_ is held by a synchronous logger's caller while it writes to the sinks: bounded too.
  bool locked = false;
  fork_sync_locked_ = wait_for([&] { return locked || (locked = sync_mu_.try_lock()); });
  if (!fork_sync_locked_) fork_safe_ = false;
  qmu_.lock();
  mu_.lock();
  err_mu_.lock();
  contexts_->mu.lock();
  restart_mu_.lock();
}

void LoggerCore::UnlockAfterFork() noexcept {
  restart_mu_.unlock();
  contexts_->mu.unlock();
  err_mu_.unlock();
  mu_.unlock();
  qmu_.unlock();
  if (fork_sync_locked_) sync_mu_.unlock();
}

void LoggerCore::ParentAfterFork() noexcept {
  UnlockAfterFork();
  if (fork_park_.exchange(0, std::memory_order_acq_rel) != 0) Wake();
}

void LoggerCore::ChildAfterFork() noexcept {
  UnlockAfterFork();
  // The parent's backend, and the parent's threads waiting for it, do not exist here: their
  // handles are dropped without a destructor (std::thread's would terminate, and a condition
  // variable with waiters that are gone could block its next notify).
  new (&thread_) std::thread();
  new (&done_cv_) std::condition_variable();
  if (wake_fd_ >= 0) ::close(wake_fd_);  // shared with the parent: a wake here would wake it
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  fork_park_.store(0, std::memory_order_relaxed);
  crash_state_.store(0, std::memory_order_relaxed);
  sleeping_long_.store(false, std::memory_order_relaxed);
  backend_clock_valid_.store(false, std::memory_order_relaxed);
  if (!running_.load(std::memory_order_acquire)) return;  // stopped before the fork
  if (!fork_safe_) {
    // Mid-pass (a backend in a sink), or a synchronous caller's lock held by a thread that is not
    // here: nothing can be written safely. Records are dropped and counted; Flush() says why.
    inherited_busy_ = true;
    StopWithoutBackend();
    return;
  }
  if (!opt_.async) return;  // a synchronous logger writes on its callers: nothing to restart
  // The producers of the parent's other threads are not in this process.
  for (auto& q : queues_) {
    if (IsThisThreadsQueue(q.get())) {
      q->tid = CurrentTid();  // the forking thread has a new id here
    } else {
      q->producer_gone.store(true, std::memory_order_release);
    }
  }
  forked_.store(true, std::memory_order_release);
}

void LoggerCore::RestartIfForked() {
  if (!forked_.load(std::memory_order_acquire)) [[likely]] return;
  std::lock_guard lk(restart_mu_);
  if (!forked_.load(std::memory_order_acquire)) return;
  {
    // What the parent published before the fork is the parent's to write (it was counted as
    // enqueued there, so it is counted as processed here).
    std::lock_guard qlk(qmu_);
    for (auto& q : queues_) {
      while (const char* p = PeekQueue(q.get())) {
        q->cons_ring->Pop(RecordBytes(p));
        processed_.fetch_add(1, std::memory_order_relaxed);
      }
    }
  }
  try {
    StartBackend();
  } catch (const std::system_error& e) {
    ReportError(Error::ResourceExhausted(std::string("cannot start the log backend after fork(): ") + e.what()));
    StopWithoutBackend();
  }
  forked_.store(false, std::memory_order_release);
}

void LoggerCore::ParkForFork() {
  int expected = 1;  // not parked if the parent's after-fork handler already said go on
  if (!fork_park_.compare_exchange_strong(expected, 2, std::memory_order_acq_rel)) return;
  while (fork_park_.load(std::memory_order_acquire) == 2) SleepUntilWoken(std::chrono::milliseconds(1));
}

}  // namespace esper::log::detail
