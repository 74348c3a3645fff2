// WorkerPool (worker_pool.h).
#include "storage/worker_pool.h"

#include <fmt/format.h>

#include "esper/core/thread.h"

namespace esper::storage::detail {
namespace {
thread_local const WorkerPool* tls_pool = nullptr;
}  // namespace

WorkerPool::WorkerPool(int threads, int max_in_flight, std::string thread_name)
    : max_in_flight_(max_in_flight), thread_name_(std::move(thread_name)) {
  threads_.reserve(static_cast<size_t>(threads));
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { Run(); });
}

WorkerPool::~WorkerPool() { Stop(); }

Status WorkerPool::Submit(Task task) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_.load(std::memory_order_relaxed)) {
      return Error::Cancelled("the store is shutting down");
    }
    if (in_flight_ >= max_in_flight_) {
      return Error::ResourceExhausted(fmt::format(
          "{} operations are in flight already (max_in_flight)", max_in_flight_));
    }
    ++in_flight_;
    queue_.push_back(std::move(task));
  }
  cv_.notify_one();
  return OkStatus();
}

void WorkerPool::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_.load(std::memory_order_relaxed) && threads_.empty()) return;
    stopping_.store(true, std::memory_order_relaxed);
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
  threads_.clear();
}

bool WorkerPool::OnWorkerThread() const noexcept { return tls_pool == this; }

void WorkerPool::Run() {
  NameThisThread(thread_name_);
  tls_pool = this;
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return !queue_.empty() || stopping_.load(std::memory_order_relaxed); });
    if (queue_.empty()) return;  // stopping, nothing left
    Task task = std::move(queue_.front());
    queue_.pop_front();
    const bool cancelled = stopping_.load(std::memory_order_relaxed);
    lock.unlock();
    task(cancelled);
    task = nullptr;  // release what it captured before the count drops
    lock.lock();
    --in_flight_;
  }
}

}  // namespace esper::storage::detail
