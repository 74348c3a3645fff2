// The Logger front end: Create(), a thread's first call (AttachThread) and the slow path of a
// call that finds its queue full (ReserveSlow). The inlined call itself is in logger.h.
#include "esper/log/logger.h"

#include <sched.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include "log/core.h"

namespace esper::log {
namespace detail {
namespace {

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

uint32_t CurrentTid() { return static_cast<uint32_t>(::syscall(SYS_gettid)); }

bool IsThisThreadsQueue(const ThreadQueue* q) {
  return std::any_of(tls_holder.list.begin(), tls_holder.list.end(),
                     [&](const auto& entry) { return entry.second.get() == q; });
}

}  // namespace detail

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
