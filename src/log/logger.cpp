// The Logger front end's slow paths and the backend thread.
#include "esper/log/logger.h"

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <mutex>
#include <new>

#include "esper/core/thread.h"
#include "log/core.h"

namespace esper::log {
namespace detail {

// ---------------------------------------------------------------- ByteRing / ThreadQueue

ByteRing::ByteRing(size_t capacity)
    : buf_(static_cast<char*>(::operator new(capacity, std::align_val_t{kCacheLine}))),
      cap_(capacity),
      mask_(capacity - 1),
      wbuf_(buf_),
      wmask_(mask_) {
  SetLimit();
  // Touch every page now (on the thread's first call) so no page fault lands in a later call.
  std::memset(buf_, 0, cap_);
}

ByteRing::~ByteRing() { ::operator delete(buf_, std::align_val_t{kCacheLine}); }

char* ByteRing::ReserveSlow(size_t n) noexcept {
  uint64_t pos = w_;
  size_t off = static_cast<size_t>(pos & mask_);
  size_t pad = (off + n > cap_) ? cap_ - off : 0;
  if (pos + pad + n - r_cache_ > cap_) {
    r_cache_ = read_.load(std::memory_order_acquire);
    SetLimit();
    if (pos + pad + n - r_cache_ > cap_) return nullptr;
  }
  if (pad) {
    uint32_t zero = 0;
    std::memcpy(buf_ + off, &zero, sizeof zero);  // wrap marker
    w_ = pos + pad;
  }
  SetLimit();
  return buf_ + (w_ & mask_);
}

ThreadQueue::~ThreadQueue() {
  ByteRing* r = cons_ring;
  while (r) {
    ByteRing* next = r->next.load(std::memory_order_acquire);
    delete r;
    r = next;
  }
}

namespace {

size_t RoundUpPow2(size_t v) {
  size_t p = 1;
  while (p < v) p <<= 1;
  return p;
}

int64_t NowNs(clockid_t id) {
  timespec ts;
  clock_gettime(id, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// Process-wide tick rate, measured once (a few ms of busy-wait on the first Logger::Create).
double MeasureNsPerTick() {
#if defined(__x86_64__) || defined(__i386__)
  static const double rate = [] {
    int64_t m0 = NowNs(CLOCK_MONOTONIC_RAW);
    uint64_t t0 = Ticks();
    int64_t m1;
    do {
      m1 = NowNs(CLOCK_MONOTONIC_RAW);
    } while (m1 - m0 < 5'000'000);
    uint64_t t1 = Ticks();
    return static_cast<double>(m1 - m0) / static_cast<double>(t1 - t0);
  }();
  return rate;
#else
  return 1.0;
#endif
}

// ---------------------------------------------------------------- crash handler registry

constexpr int kMaxCores = 64;
std::atomic<LoggerCore*> g_cores[kMaxCores];
std::atomic<bool> g_in_crash{false};
struct sigaction g_old_actions[32];

void CrashHandler(int sig, siginfo_t*, void*) {
  if (!g_in_crash.exchange(true)) {
    for (auto& slot : g_cores) {
      LoggerCore* c = slot.load(std::memory_order_acquire);
      if (c) c->CrashDrain();
    }
  }
  // Re-raise with the handler that was there before us (normally SIG_DFL). The signal is blocked
  // while we run, so it is delivered when we return (a real fault re-executes and re-faults).
  sigaction(sig, &g_old_actions[sig], nullptr);
  raise(sig);
}

// Puts CrashHandler on `signals`, keeping the previous actions for the re-raise.
void InstallDrainHandler(std::initializer_list<int> signals) {
  for (int sig : signals) {
    struct sigaction sa {};
    sa.sa_sigaction = CrashHandler;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    sigaction(sig, &sa, &g_old_actions[sig]);
  }
}

void InstallCrashHandler() {
  static std::once_flag once;
  std::call_once(once, [] { InstallDrainHandler({SIGSEGV, SIGABRT, SIGBUS, SIGFPE, SIGILL}); });
}

// SIGTERM / SIGINT (Options::drain_on_terminate): the same drain, then the previous action —
// the default (the process ends by that signal) or the application's own handler.
void InstallTerminateHandler() {
  static std::once_flag once;
  std::call_once(once, [] { InstallDrainHandler({SIGTERM, SIGINT}); });
}

void RegisterCore(LoggerCore* c) {
  for (auto& slot : g_cores) {
    LoggerCore* expected = nullptr;
    if (slot.compare_exchange_strong(expected, c)) return;
  }
  // More than kMaxCores live loggers: this one is not drained by the crash handler (documented).
}

void UnregisterCore(LoggerCore* c) {
  for (auto& slot : g_cores) {
    LoggerCore* expected = c;
    if (slot.compare_exchange_strong(expected, nullptr)) return;
  }
}

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

uint32_t CurrentTid() { return static_cast<uint32_t>(::syscall(SYS_gettid)); }

// The calling thread's queues, one per logger it has logged to. Marks them gone at thread exit.
struct TlsHolder {
  std::vector<std::pair<uint64_t, std::shared_ptr<ThreadQueue>>> list;
  ~TlsHolder() {
    tls_cache = {0, nullptr};
    for (auto& [id, q] : list) q->producer_gone.store(true, std::memory_order_release);
  }
};
thread_local TlsHolder tls_holder;

std::atomic<uint64_t> g_next_id{1};

}  // namespace

// ---------------------------------------------------------------- TickClock

TickClock::TickClock() {
  ns_per_tick_ = MeasureNsPerTick();
  start_ticks_ = Ticks();
  start_mono_ns_ = NowNs(CLOCK_MONOTONIC_RAW);
  Resync();
}

void TickClock::Resync() {
#if defined(__x86_64__) || defined(__i386__)
  uint64_t t = Ticks();
  int64_t real = NowNs(CLOCK_REALTIME);
  int64_t mono = NowNs(CLOCK_MONOTONIC_RAW);
  if (mono - start_mono_ns_ > 200'000'000 && t > start_ticks_)
    ns_per_tick_ = static_cast<double>(mono - start_mono_ns_) / static_cast<double>(t - start_ticks_);
  base_ticks_ = t;
  base_ns_ = real;
#endif
}

int64_t TickClock::ToUnixNs(uint64_t ticks) const {
#if defined(__x86_64__) || defined(__i386__)
  auto diff = static_cast<int64_t>(ticks - base_ticks_);
  return base_ns_ + static_cast<int64_t>(static_cast<double>(diff) * ns_per_tick_);
#else
  return static_cast<int64_t>(ticks);
#endif
}

// ---------------------------------------------------------------- LoggerCore

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

void LoggerCore::CrashDrain() noexcept {
  if (!opt_.async || !running_.load(std::memory_order_acquire)) return;
  if (forked_.load(std::memory_order_acquire)) return;  // a child that has logged nothing yet
  if (pthread_equal(backend_tid_.load(std::memory_order_acquire), pthread_self())) return;
  crash_state_.store(1, std::memory_order_release);
  Wake();
  // Bounded wait (async-signal-safe: atomics + nanosleep): Wake() ended the backend's sleep.
  timespec ts{0, 200'000};
  for (int i = 0; i < 25'000 && crash_state_.load(std::memory_order_acquire) != 2; ++i) nanosleep(&ts, nullptr);
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
    const bool mine = std::any_of(tls_holder.list.begin(), tls_holder.list.end(),
                                  [&](const auto& entry) { return entry.second == q; });
    if (mine) {
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

void LoggerCore::SleepUntilWoken(std::chrono::microseconds limit) {
  pollfd pfd{wake_fd_, POLLIN, 0};
  const auto us = limit.count();
  timespec ts{static_cast<time_t>(us / 1'000'000), static_cast<long>(us % 1'000'000) * 1000};
  if (::ppoll(&pfd, 1, &ts, nullptr) > 0) {
    uint64_t v;
    ssize_t r = ::read(wake_fd_, &v, sizeof v);
    (void)r;
  }
}

void LoggerCore::Register(std::shared_ptr<ThreadQueue> q) {
  std::lock_guard lk(qmu_);
  queues_.push_back(std::move(q));
  qversion_.fetch_add(1, std::memory_order_release);
}

void LoggerCore::RefreshQueues() {
  uint64_t v = qversion_.load(std::memory_order_acquire);
  if (v == local_version_) return;
  std::lock_guard lk(qmu_);
  local_ = queues_;
  local_version_ = qversion_.load(std::memory_order_relaxed);
}

const char* LoggerCore::PeekQueue(ThreadQueue* q) {
  for (;;) {
    const char* p = q->cons_ring->Peek();
    if (p) return p;
    ByteRing* next = q->cons_ring->next.load(std::memory_order_acquire);
    if (!next) return nullptr;
    p = q->cons_ring->Peek();  // the producer finished with this ring before publishing next
    if (p) return p;
    delete q->cons_ring;
    q->cons_ring = next;
  }
}

size_t LoggerCore::Drain(uint64_t cutoff) {
  heads_.clear();
  for (auto& q : local_) {
    if (const char* p = PeekQueue(q.get())) {
      uint64_t t;
      std::memcpy(&t, p + offsetof(RecordHeader, ticks), sizeof t);
      heads_.push_back({q.get(), p, t});
    }
  }
  size_t n = 0;
  while (!heads_.empty()) {
    size_t best = 0;
    for (size_t i = 1; i < heads_.size(); ++i)
      if (heads_[i].ticks < heads_[best].ticks) best = i;
    Head& h = heads_[best];
    if (h.ticks > cutoff) break;
    // Process this queue's run while it stays the oldest (cheap path for one busy producer).
    uint64_t limit = ~uint64_t{0};
    for (size_t i = 0; i < heads_.size(); ++i)
      if (i != best && heads_[i].ticks < limit) limit = heads_[i].ticks;
    limit = std::min(limit, cutoff);
    for (;;) {
      const size_t size = RecordBytes(h.p);
      Process(h.p, h.q->tid);
      h.q->cons_ring->Pop(size);  // free the space before a sink write can block
      ++n;
      for (auto& s : sinks_)
        if (s.buf.size() >= opt_.batch_bytes) WriteSink(s);
      h.p = PeekQueue(h.q);
      if (!h.p) break;
      std::memcpy(&h.ticks, h.p + offsetof(RecordHeader, ticks), sizeof h.ticks);
      if (h.ticks > limit) break;
    }
    if (!h.p) {
      heads_[best] = heads_.back();
      heads_.pop_back();
    }
  }
  return n;
}

bool FormatPlain(fmt::memory_buffer& out, const char* format, const ArgWriter* writers, size_t n,
                 const void* tuple) {
  size_t next = 0;
  const char* p = format;
  for (;;) {
    const char* q = p + std::strcspn(p, "{}");
    AppendRaw(std::string_view(p, static_cast<size_t>(q - p)), out);
    if (*q == '\0') return true;
    if (q[0] == q[1]) {  // "{{" or "}}"
      out.push_back(q[0]);
    } else if (q[0] == '{' && q[1] == '}' && next < n) {
      writers[next++](out, tuple);
    } else {
      return false;
    }
    p = q + 2;
  }
}

void AppendContextField(std::string& blob, std::string_view key, std::string_view value, FieldKind kind) {
  const size_t fixed = 2 * sizeof(uint32_t) + 1 + key.size();
  if (blob.size() + fixed > kMaxContextBytes) return;  // no room even for the key
  value = value.substr(0, kMaxContextBytes - blob.size() - fixed);
  auto put32 = [&](size_t v) {
    const auto v32 = static_cast<uint32_t>(v);
    blob.append(reinterpret_cast<const char*>(&v32), sizeof v32);
  };
  put32(key.size());
  blob.append(key);
  blob.push_back(static_cast<char>(kind));
  put32(value.size());
  blob.append(value);
}

namespace {
std::atomic<size_t> g_live_context_blobs{0};
void DeleteContextBlob(const ContextBlob* blob) noexcept {
  delete blob;
  g_live_context_blobs.fetch_sub(1, std::memory_order_relaxed);
}
}  // namespace

size_t LiveContextBlobs() noexcept { return g_live_context_blobs.load(std::memory_order_relaxed); }

void FreeContextBlobs(std::vector<const ContextBlob*>& blobs) noexcept {
  for (const ContextBlob* b : blobs) DeleteContextBlob(b);
  blobs.clear();
}

void RetireContext::operator()(const ContextBlob* blob) const noexcept {
  const std::shared_ptr<ContextRetirement> home = blob->home;  // outlives the blob's own reference
  {
    std::lock_guard lk(home->mu);
    if (!home->immediate) {
      try {
        home->pending.push_back(blob);
      } catch (...) {
        // Out of memory: a record may still point to it, so it is kept (leaked), not freed.
      }
      return;
    }
  }
  DeleteContextBlob(blob);
}

void ContextRetirement::Take(std::vector<const ContextBlob*>& out) {
  // Never waits: a producer that crashed inside RetireContext must not stop the crash drain
  // (what it holds stays pending, for a later pass).
  std::unique_lock lk(mu, std::try_to_lock);
  if (!lk.owns_lock() || pending.empty()) return;
  out.insert(out.end(), pending.begin(), pending.end());
  pending.clear();
}

void ContextRetirement::Close() {
  std::vector<const ContextBlob*> now;
  {
    std::lock_guard lk(mu);
    immediate = true;
    now.swap(pending);
  }
  FreeContextBlobs(now);  // outside the lock: a blob's end may release the last reference to this
}

// Reads the fields AppendContextField wrote (views into `blob`).
static void ParseContext(std::string_view blob, std::vector<Field>& out) {
  auto get32 = [&](uint32_t& v) {
    if (blob.size() < sizeof v) return false;
    std::memcpy(&v, blob.data(), sizeof v);
    blob.remove_prefix(sizeof v);
    return true;
  };
  uint32_t klen, vlen;
  while (get32(klen) && blob.size() >= klen + 1) {
    std::string_view key = blob.substr(0, klen);
    auto kind = static_cast<FieldKind>(blob[klen]);
    blob.remove_prefix(klen + 1);
    if (!get32(vlen) || blob.size() < vlen) break;
    out.push_back(Field{key, blob.substr(0, vlen), kind});
    blob.remove_prefix(vlen);
  }
}

const LoggerCore::NamedPlan& LoggerCore::PlanFor(const Site* site) {
  auto it = named_plans_.find(site);
  if (it != named_plans_.end()) return it->second;
  NamedPlan plan;
  // Checked at compile time, so it parses.
  ForEachNamed(
      site->format, [&](std::string_view text) { plan.positional.append(text); },
      [&](std::string_view name, std::string_view spec) {
        plan.names.push_back(name);
        plan.positional.append("{").append(spec).append("}");
      });
  return named_plans_.emplace(site, std::move(plan)).first->second;
}

void LoggerCore::Process(const char* p, uint32_t tid) {
  const RecordInfo h = ReadRecordHeader(p);
  ds_.Clear();
  const char* format = h.site->format;
  ds_.names = nullptr;
  ds_.site_keys = (h.flags & kRecordKeysInSite) ? h.site->keys : nullptr;
  if (h.site->named) {
    const NamedPlan& plan = PlanFor(h.site);
    format = plan.positional.c_str();
    ds_.names = plan.names.data();
  }
  const char* args = p + sizeof(RecordHeader);
  std::string_view ctx;
  if (h.flags & kRecordHasContext) {
    const ContextBlob* blob;
    std::memcpy(&blob, args, sizeof blob);
    args += sizeof blob;
    if (blob) ctx = blob->bytes;
  }
  try {
    h.site->decode(args, format, ds_);
  } catch (const std::exception& e) {
    ds_.message.clear();
    fmt::format_to(fmt::appender(ds_.message), "<format error: {}> {}", e.what(), h.site->format);
    ReportError(Error::Internal(fmt::format("formatting a record from {}:{}: {}", h.site->file, h.site->line, e.what())));
  }
  fields_.assign(context_.begin(), context_.end());
  if (!ctx.empty()) ParseContext(ctx, fields_);
  for (auto& f : ds_.pending) {
    std::string_view v = f.in_scratch ? std::string_view(ds_.scratch.data() + f.off, f.len) : f.direct;
    fields_.push_back(Field{f.key, v, f.kind});
  }
  Record rec;
  rec.time_ns = clock_.ToUnixNs(h.ticks);
  rec.level = h.level;
  rec.logger = opt_.name;
  rec.message = std::string_view(ds_.message.data(), ds_.message.size());
  rec.file = h.site->file;
  rec.line = h.site->line;
  rec.thread_id = tid;
  rec.fields = fields_;
  for (auto& s : sinks_) {
    if (h.level < s.level) continue;
    s.formatter->Format(rec, s.buf);
    s.last_ns = rec.time_ns;
  }
  processed_.store(processed_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

void LoggerCore::WriteSink(SinkState& s) {
  if (s.buf.size() == 0) return;
  auto tp = std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::nanoseconds(s.last_ns)));
  Status st = s.sink->Write(std::string_view(s.buf.data(), s.buf.size()), tp);
  s.buf.clear();
  if (!st) ReportError(std::move(st.error()).Wrap("log sink write"));
}

void LoggerCore::WriteAllSinks() {
  for (auto& s : sinks_) WriteSink(s);
}

void LoggerCore::FlushSinks() {
  for (auto& s : sinks_) {
    Status st = s.sink->Flush();
    if (!st) ReportError(std::move(st.error()).Wrap("log sink flush"));
  }
}

void LoggerCore::ReportError(Error e) {
  errors_.fetch_add(1, std::memory_order_relaxed);
  {
    std::lock_guard lk(err_mu_);
    last_error_ = e;
    ++error_seq_;
  }
  if (opt_.on_error) {
    opt_.on_error(e);
  } else {
    auto line = fmt::format("esper log '{}': backend error: {}\n", opt_.name, e.ToString());
    ssize_t w = ::write(2, line.data(), line.size());
    (void)w;
  }
}

void LoggerCore::SampleDepth() {
  uint64_t bytes = 0, cap = 0;
  for (auto& q : local_) {
    for (ByteRing* r = q->cons_ring; r; r = r->next.load(std::memory_order_acquire)) {
      bytes += r->Depth();
      cap += r->capacity();
    }
  }
  depth_bytes_.store(bytes, std::memory_order_relaxed);
  capacity_bytes_.store(cap, std::memory_order_relaxed);
  producers_.store(static_cast<uint32_t>(local_.size()), std::memory_order_relaxed);
  if (bytes > high_water_.load(std::memory_order_relaxed)) high_water_.store(bytes, std::memory_order_relaxed);
}

void LoggerCore::RetireGoneQueues() {
  bool any = false;
  for (auto& q : local_) {
    if (q->producer_gone.load(std::memory_order_acquire) && !PeekQueue(q.get())) any = true;
  }
  if (!any) return;
  std::lock_guard lk(qmu_);
  auto gone = [&](const std::shared_ptr<ThreadQueue>& q) {
    if (!q->producer_gone.load(std::memory_order_acquire) || PeekQueue(q.get())) return false;
    retired_enqueued_.fetch_add(q->enqueued.load(std::memory_order_relaxed), std::memory_order_relaxed);
    retired_dropped_.fetch_add(q->dropped.load(std::memory_order_relaxed), std::memory_order_relaxed);
    retired_truncated_.fetch_add(q->truncated.load(std::memory_order_relaxed), std::memory_order_relaxed);
    return true;
  };
  queues_.erase(std::remove_if(queues_.begin(), queues_.end(), gone), queues_.end());
  local_ = queues_;
  local_version_ = qversion_.fetch_add(1, std::memory_order_acq_rel) + 1;
}

void LoggerCore::Run() {
  for (;;) {
    if (fork_park_.load(std::memory_order_acquire) == 1) [[unlikely]] {
      ParkForFork();  // between two passes: nothing half done, no lock held
      continue;
    }
    bool stopping = stop_.load(std::memory_order_acquire);
    int crash = crash_state_.load(std::memory_order_acquire);
    uint64_t flush_target;
    {
      std::lock_guard lk(mu_);
      flush_target = flush_req_;
    }
    bool drain_all = stopping || crash == 1 || flush_target != flush_done_;
    // Context blobs retired before the cut-off: every record that can point to one was published
    // before it was retired, so with a timestamp below the cut-off — written by this pass.
    contexts_->Take(freeable_);
    uint64_t cutoff = drain_all ? ~uint64_t{0} : TicksFenced();
    RefreshQueues();
    SampleDepth();
    auto t0 = std::chrono::steady_clock::now();
    size_t n = Drain(cutoff);
    FreeContextBlobs(freeable_);
    if (n > 0 || drain_all) WriteAllSinks();
    auto now = std::chrono::steady_clock::now();
    if (n > 0)  // backend time per record: timed per pass (decode + format + write), not per record
      backend_ns_.fetch_add(static_cast<uint64_t>((now - t0).count()), std::memory_order_relaxed);
    if (now - last_resync_ > std::chrono::seconds(1)) {
      clock_.Resync();
      last_resync_ = now;
      RetireGoneQueues();
    }
    if (crash == 1) {
      FlushSinks();
      crash_state_.store(2, std::memory_order_release);
    }
    if (flush_target != flush_done_) {
      FlushSinks();
      {
        std::lock_guard lk(mu_);
        flush_done_ = flush_target;
      }
      done_cv_.notify_all();
    }
    if (stopping) {
      // One more full pass found nothing: everything logged before Stop() is written.
      RefreshQueues();
      if (Drain(~uint64_t{0}) == 0) {
        FlushSinks();
        break;
      }
      WriteAllSinks();
      continue;
    }
    if (n > 0) {
      idle_now_ = opt_.idle_sleep;
    } else if (opt_.busy_spin) {
      sched_yield();
    } else {
      // Longer than idle_sleep: a producer passing half its queue wakes us (NudgeIfSleepingLong).
      // The flag's line is written only around long sleeps, not at every wake of a busy logger.
      const bool long_sleep = idle_now_ > opt_.idle_sleep;
      if (long_sleep) sleeping_long_.store(true, std::memory_order_relaxed);
      SleepUntilWoken(idle_now_);
      if (long_sleep) sleeping_long_.store(false, std::memory_order_relaxed);
      idle_now_ = std::min(idle_now_ * 2, std::max(opt_.idle_sleep, opt_.idle_sleep_max));
    }
  }
  contexts_->Close();  // no record will be read any more
  FreeContextBlobs(freeable_);
  {
    std::lock_guard lk(mu_);
    running_.store(false, std::memory_order_release);
    flush_done_ = flush_req_;
  }
  done_cv_.notify_all();
}

void LoggerCore::ProcessSync(ThreadQueue* q) {
  std::lock_guard lk(sync_mu_);
  while (const char* p = PeekQueue(q)) {
    const size_t size = RecordBytes(p);
    Process(p, q->tid);
    q->cons_ring->Pop(size);
  }
  WriteAllSinks();
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

}  // namespace detail

// ---------------------------------------------------------------- Logger

Result<std::unique_ptr<Logger>> Logger::Create(Options options) {
  if (options.name.empty()) return Error::InvalidArgument("log Options.name must not be empty");
  if (options.queue_bytes < 4096 || options.queue_bytes > (size_t{1} << 31))
    return Error::InvalidArgument(
        fmt::format("log Options.queue_bytes = {} must be between 4096 and 2^31", options.queue_bytes));
  if (options.policy == QueuePolicy::kUnbounded && options.unbounded_max_bytes < options.queue_bytes)
    return Error::InvalidArgument("log Options.unbounded_max_bytes must be >= queue_bytes");
  if (options.unbounded_max_bytes > (size_t{1} << 31))
    return Error::InvalidArgument("log Options.unbounded_max_bytes must be <= 2^31");
  if (options.batch_bytes == 0) return Error::InvalidArgument("log Options.batch_bytes must be > 0");
  for (size_t i = 0; i < options.sinks.size(); ++i)
    if (!options.sinks[i].sink)
      return Error::InvalidArgument(fmt::format("log Options.sinks[{}].sink is null", i));
  if (options.level_from_env) {
    if (const char* env = std::getenv("ESPER_LOG_LEVEL"); env && *env) {
      auto lvl = ParseLevel(env);
      if (!lvl) return std::move(lvl.error()).Wrap("environment variable ESPER_LOG_LEVEL");
      options.level = *lvl;
    }
  }
  if (options.sinks.empty())
    options.sinks.push_back({.sink = std::make_shared<StreamSink>(StreamSink::Stream::kStderr)});
  Level level = options.level;
  uint64_t id = detail::g_next_id.fetch_add(1);  // never reaches detail::kSyncTag
  auto core = std::make_unique<detail::LoggerCore>(std::move(options), id);
  core->Start();
  return std::unique_ptr<Logger>(new Logger(std::move(core), level, id));
}

Logger::Logger(std::unique_ptr<detail::LoggerCore> core, Level level, uint64_t id)
    : level_(level), id_(id), core_(std::move(core)) {}

Logger::~Logger() { Stop(); }

const std::string& Logger::name() const noexcept { return core_->options().name; }
Status Logger::Flush() { return core_->Flush(); }
void Logger::Stop() { core_->Stop(); }
Stats Logger::get_stats() const { return core_->GetStats(); }
void Logger::ProcessSync(detail::ThreadQueue* q) { core_->ProcessSync(q); }
void Logger::NudgeBackend() noexcept { core_->NudgeIfSleepingLong(); }

std::shared_ptr<const detail::ContextBlob> Logger::NewContext(std::string bytes) const {
  auto* blob = new detail::ContextBlob{std::move(bytes), core_->contexts()};
  detail::g_live_context_blobs.fetch_add(1, std::memory_order_relaxed);
  return std::shared_ptr<const detail::ContextBlob>(blob, detail::RetireContext{});
}

detail::ThreadQueue* Logger::AttachThread() {
  core_->RestartIfForked();  // before this thread's first record in a forked child
  // The thread's cache entry; a synchronous logger's id is tagged so the inlined path never
  // matches it (LogSlow processes its records).
  auto cache = [this](detail::ThreadQueue* q) {
    if (core_->stopped()) return q;  // not cached: each call takes LogSlow, which counts the drop
    detail::tls_cache = {q->sync ? id_ | detail::kSyncTag : id_, q};
    return q;
  };
  auto& list = detail::tls_holder.list;
  std::erase_if(list, [](auto& e) { return e.second->logger_gone.load(std::memory_order_acquire); });
  for (auto& [id, q] : list) {
    if (id == id_) return cache(q.get());
  }
  const Options& o = core_->options();
  auto q = std::make_shared<detail::ThreadQueue>();
  q->ring = q->cons_ring = new detail::ByteRing(core_->ring_bytes());
  q->max_string = o.max_string_bytes;
  q->max_record = std::min(o.policy == QueuePolicy::kUnbounded ? detail::RoundUpPow2(o.unbounded_max_bytes) / 2
                                                                : core_->ring_bytes() / 2,
                            detail::kMaxRecordBytes);
  assert(q->max_record >= detail::kMinMaxRecord);
  q->sync = !o.async;
  q->causal_ticks = o.causal_timestamps;
  q->tid = detail::CurrentTid();
  core_->Register(q);
  list.emplace_back(id_, q);
  return cache(q.get());
}

bool Logger::Stopped() const noexcept { return core_->stopped(); }

char* Logger::ReserveSlow(detail::ThreadQueue* q, size_t n, Level level) {
  const Options& o = core_->options();
  auto count_drop = [q] {
    q->dropped.store(q->dropped.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  };
  if (core_->stopped()) {
    count_drop();
    return nullptr;
  }
  if (o.policy == QueuePolicy::kUnbounded) {
    size_t cap = q->ring->capacity();
    size_t want = cap * 2;
    while (want < 2 * n) want *= 2;
    if (want <= detail::RoundUpPow2(o.unbounded_max_bytes)) {
      auto* bigger = new detail::ByteRing(want);
      q->ring->next.store(bigger, std::memory_order_release);
      q->ring = bigger;
      return q->ring->Reserve(n);
    }
  }
  if (o.policy == QueuePolicy::kDrop && level < Level::kError) {
    count_drop();
    return nullptr;
  }
  // Block until the backend makes room (kBlock, kError+ under kDrop, kUnbounded at its cap).
  for (int i = 0;; ++i) {
    if (char* p = q->ring->Reserve(n)) return p;
    if (core_->stopped()) {
      count_drop();
      return nullptr;
    }
    if (i % 64 == 0) core_->Wake();
    if (i < 16) {
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#endif
    } else if (i < 64) {
      sched_yield();
    } else {
      timespec ts{0, 20'000};
      nanosleep(&ts, nullptr);
    }
  }
}

}  // namespace esper::log
