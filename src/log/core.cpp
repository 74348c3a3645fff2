// LoggerCore, the backend object of a Logger: its life (start, stop), Flush() and statistics.
// The backend thread's loop is in backend.cpp; crash and fork() handling in crash_handler.cpp
// and fork_handlers.cpp.
#include "log/core.h"

#include <pthread.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <mutex>

#include "esper/core/thread.h"
#include "log/crash_handler.h"
#include "log/fork_handlers.h"

namespace esper::log::detail {

LoggerCore::LoggerCore(Options options, uint64_t id)
    : opt_(std::move(options)),
      id_(id),
      idle_now_(opt_.idle_sleep) {
  ring_bytes_ = RoundUpPow2(std::max<size_t>(opt_.queue_bytes, 4096));
  const char* no_color = std::getenv("NO_COLOR");
  bool color_ok = !(no_color && *no_color);
  for (auto& spec : opt_.sinks) {
    SinkState s;
    s.sink = spec.sink;
    s.level = spec.level;
    s.formatter = spec.formatter ? spec.formatter
                                 : MakeFormatter(spec.format, color_ok && spec.sink->IsTerminal());
    sinks_.push_back(std::move(s));
  }
  for (auto& [k, v] : opt_.context) context_.push_back(Field{k, v, FieldKind::kString});
  contexts_->immediate = !opt_.async;  // a synchronous call has written its record when it returns
  last_resync_ = std::chrono::steady_clock::now();
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
}

LoggerCore::~LoggerCore() {
  Stop();
  UnregisterForFork(this);
  contexts_->Close();
  if (wake_fd_ >= 0) ::close(wake_fd_);
  std::lock_guard lk(qmu_);
  for (auto& q : queues_) q->logger_gone.store(true, std::memory_order_release);
}

void LoggerCore::Start() {
  if (opt_.crash_handler) InstallCrashHandler();
  if (opt_.drain_on_terminate) InstallTerminateHandler();
  RegisterCore(this);
  RegisterForFork(this);
  running_.store(true, std::memory_order_release);
  if (opt_.async) StartBackend();
}

void LoggerCore::StartBackend() {
  thread_ = std::thread([this] {
    NameThisThread("esper-log");
    if (opt_.backend_sched_batch && sched_getscheduler(0) == SCHED_OTHER) {
      const sched_param param{};  // best effort: a refusal leaves the inherited policy
      (void)pthread_setschedparam(pthread_self(), SCHED_BATCH, &param);
    }
    backend_tid_.store(pthread_self(), std::memory_order_release);
    clockid_t cid;
    if (pthread_getcpuclockid(pthread_self(), &cid) == 0) {
      backend_clock_.store(cid);
      backend_clock_valid_.store(true, std::memory_order_release);
    }
    Run();
    backend_cpu_final_.store(static_cast<uint64_t>(NowNs(CLOCK_THREAD_CPUTIME_ID)));
    backend_clock_valid_.store(false, std::memory_order_release);
  });
}

void LoggerCore::Stop() {
  if (stopped_.exchange(true)) return;
  if (thread_.joinable()) {
    stop_.store(true, std::memory_order_release);
    Wake();
    thread_.join();
  } else {
    std::lock_guard lk(sync_mu_);
    WriteAllSinks();
    FlushSinks();
  }
  UnregisterCore(this);
  running_.store(false, std::memory_order_release);
}

void LoggerCore::StopWithoutBackend() noexcept {
  stopped_.store(true, std::memory_order_release);
  running_.store(false, std::memory_order_release);
  UnregisterCore(this);  // as Stop() does: the crash handler has nothing to drain here
}

void LoggerCore::NudgeIfSleepingLong() noexcept {
  if (sleeping_long_.load(std::memory_order_relaxed) && sleeping_long_.exchange(false, std::memory_order_relaxed))
    Wake();
}

void LoggerCore::Wake() noexcept {
  uint64_t one = 1;
  ssize_t w = ::write(wake_fd_, &one, sizeof one);
  (void)w;
}

Status LoggerCore::Flush() {
  if (inherited_busy_)
    return Error::FailedPrecondition("logger '" + opt_.name +
                                     "' was inherited through fork() while it was writing to a sink for over a "
                                     "second; it is stopped in this process: create a new Logger here");
  if (stopped()) return Error::FailedPrecondition("logger '" + opt_.name + "' is stopped");
  RestartIfForked();
  if (!opt_.async) {
    std::lock_guard lk(sync_mu_);
    WriteAllSinks();
    FlushSinks();
  } else {
    std::unique_lock lk(mu_);
    uint64_t my = ++flush_req_;
    Wake();
    done_cv_.wait(lk, [&] { return flush_done_ >= my || !running_.load(); });
  }
  // Errors since the previous Flush, not since this call began: the backend may have written
  // (and lost) a record logged before this call before the call got here.
  std::lock_guard lk(err_mu_);
  if (error_seq_ == flushed_error_seq_ || !last_error_) return OkStatus();
  flushed_error_seq_ = error_seq_;
  return *last_error_;
}

void LoggerCore::Register(std::shared_ptr<ThreadQueue> q) {
  std::lock_guard lk(qmu_);
  queues_.push_back(std::move(q));
  qversion_.fetch_add(1, std::memory_order_release);
}

Stats LoggerCore::GetStats() const {
  Stats s;
  uint64_t enq = retired_enqueued_.load(std::memory_order_relaxed);
  s.dropped = retired_dropped_.load(std::memory_order_relaxed);
  s.truncated = retired_truncated_.load(std::memory_order_relaxed);
  {
    std::lock_guard lk(qmu_);
    for (auto& q : queues_) {
      enq += q->enqueued.load(std::memory_order_relaxed);
      s.dropped += q->dropped.load(std::memory_order_relaxed);
      s.truncated += q->truncated.load(std::memory_order_relaxed);
    }
  }
  s.processed = processed_.load(std::memory_order_relaxed);
  s.queue_depth = enq > s.processed ? enq - s.processed : 0;
  s.queue_bytes = depth_bytes_.load(std::memory_order_relaxed);
  s.high_water_bytes = high_water_.load(std::memory_order_relaxed);
  s.queue_capacity_bytes = capacity_bytes_.load(std::memory_order_relaxed);
  s.producer_threads = producers_.load(std::memory_order_relaxed);
  s.avg_backend_ns = s.processed ? static_cast<double>(backend_ns_.load(std::memory_order_relaxed)) /
                                       static_cast<double>(s.processed)
                                 : 0.0;
  s.backend_errors = errors_.load(std::memory_order_relaxed);
  s.backend_cpu_ns = backend_cpu_final_.load();
  if (backend_clock_valid_.load(std::memory_order_acquire)) {
    timespec ts;
    if (clock_gettime(backend_clock_.load(), &ts) == 0)
      s.backend_cpu_ns = static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(ts.tv_nsec);
  }
  s.running = running_.load(std::memory_order_relaxed);
  return s;
}

}  // namespace esper::log::detail
