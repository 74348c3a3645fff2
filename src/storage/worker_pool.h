// A fixed set of owned, named, joined worker threads running queued tasks (LocalStore's threads).
//
// Submit() queues a task, or refuses it when `max_in_flight` tasks are queued or running
// (ResourceExhausted) or the pool is stopping (Cancelled). Stop() — also the destructor — refuses
// new tasks, lets the running ones finish, runs every task still queued with cancelled = true
// (on the workers, so a task's completion always runs on a worker thread), and joins.
//
// Thread safety: Submit, stopping and OnWorkerThread from any thread; Stop from any thread but a
// worker.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "esper/core/result.h"

namespace esper::storage::detail {

class WorkerPool {
 public:
  /// Runs the operation, or only reports its cancellation when `cancelled`.
  using Task = std::function<void(bool cancelled)>;

  WorkerPool(int threads, int max_in_flight, std::string thread_name);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  Status Submit(Task task);
  void Stop();
  /// True once Stop() has begun: long tasks poll it and end early with Cancelled.
  bool stopping() const noexcept { return stopping_.load(std::memory_order_relaxed); }
  bool OnWorkerThread() const noexcept;

 private:
  void Run();

  const int max_in_flight_;
  const std::string thread_name_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Task> queue_;
  int in_flight_ = 0;  // queued + running
  std::atomic<bool> stopping_{false};
  std::vector<std::thread> threads_;
};

}  // namespace esper::storage::detail
