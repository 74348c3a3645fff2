// esper/log/logger.h — the asynchronous structured logger (the seed's AsyncEsperLogger).
//
// A call costs tens of nanoseconds (docs/log.md, "Measured"): the level is checked before any
// argument is evaluated; the arguments are copied as binary into a lock-free queue owned by the
// calling thread; one backend thread (owned by the Logger) merges the per-thread queues in
// timestamp order, formats the records with {fmt} and writes them to the sinks in batches. Per-thread order is always
// kept; for strict order of causally related calls across threads set
// Options::causal_timestamps (see docs/log.md, Ordering).
//
// Example:
//   #include "esper/log/logger.h"
//   using esper::log::kv;
//   auto logger = esper::log::Logger::Create({
//       .name = "tamiyo",
//       .sinks = {{.sink = esper::log::FileSink::Create("/tmp/tamiyo.log").value(),
//                  .format = esper::log::Format::kJson}},
//       .context = {{"service", "tamiyo"}, {"region", "eu-west-1"}}});
//   if (!logger) { fmt::print(stderr, "{}\n", logger.error()); return 1; }
//   ESPER_LOG_INFO(*logger, "Processing health signal for {}", name,
//                  kv("layer_id", 5), kv("health_score", 0.85));
//   (*logger)->Flush();   // everything logged before this line is written
//
// Macros: ESPER_LOG_TRACE / _DEBUG / _INFO / _WARN / _ERROR / _CRITICAL(logger, "fmt", args...)
// and ESPER_LOG(logger, level, "fmt", args...) for a level known only at run time. `logger` may
// be a Logger&, Logger*, unique_ptr<Logger>, shared_ptr<Logger> or Result<unique_ptr<Logger>>.
//  * The format string must be a string literal; it is checked at compile time against the
//    positional arguments ({fmt} syntax).
//  * Structured fields: `kv("key", value)` arguments, after all positional ones. The key must be
//    a string literal (it is kept by pointer, by the call site, so the queue holds only the
//    value). They become JSON keys, logfmt pairs, or a "[k=v …]" suffix in text.
//  * Named placeholders: ESPER_LOG_INFO(l, "loaded {layer} in {ms:.1f} ms", name, elapsed) writes
//    "loaded conv1 in 12.3 ms" and the fields layer="conv1", ms=12.25 (full value; the spec only
//    shapes the message). When one placeholder is named all must be, one per positional
//    argument, in order; specs are checked against the types at compile time as with {fmt}.
//    Order of fields on a line: the logger's context, the named ones, then kv().
//  * Arguments: arithmetic types, strings (std::string, string_view, const char*) and
//    std::vector of those are copied as binary and formatted on the backend (a vector needs
//    <fmt/ranges.h>, as with {fmt}). Every other type {fmt} can format (other containers via
//    <fmt/ranges.h>, std::chrono types, esper::Error, esper::Secret → "***", your types with a
//    fmt::formatter) is formatted to text on the calling thread into a reused thread-local buffer
//    and then queued as a string — correct for any type, slower than binary (documented cost:
//    one fmt::format_to on the caller).
//  * Strings longer than Options::max_string_bytes are cut to that length (Stats::truncated);
//    so are the strings of a record that would not fit half the thread's queue or 128 KiB − 8
//    (halved until it fits).
//  * Compile-time floor: define ESPER_LOG_ACTIVE_LEVEL (0 trace … 5 critical, 6 off) before
//    including this header (or with -D) to remove lower calls entirely (no code, args unevaluated).
//
// Queue policies (Options::policy), per producer thread:
//  * kBlock (default): a full queue makes the producer wait; nothing is ever lost.
//  * kDrop: a full queue drops the record and counts it (Stats::dropped); records at kError and
//    above are never dropped — they wait like kBlock.
//  * kUnbounded: a full queue is replaced by one twice as large, up to
//    Options::unbounded_max_bytes per thread; past the cap the producer waits (kBlock). The old
//    queue is freed once drained, so a thread's queues stay below 2 × unbounded_max_bytes.
//
// Thread safety: every method and macro may be called from any thread concurrently. Each thread
// that logs gets its own queue (Options::queue_bytes, pre-faulted so later calls never page-fault)
// on its first call; it is drained and freed after the thread exits. Blocking: the macros block only in kBlock (or kError+ in kDrop) when the
// queue is full; Flush() blocks until written; Stop() and the destructor drain and join.
//
// fork(): a logger keeps working in the child. fork() waits (at most 1 s) for each backend to
// finish its pass; the child writes only what it logs itself (the parent writes what was queued
// before the fork) through a backend it starts at its first record. See docs/log.md, fork().
// Ownership: the Logger owns its backend thread and queues; sinks are shared.
// Crash handler: with Options::crash_handler, SIGSEGV/SIGABRT/SIGBUS/SIGFPE/SIGILL make the
// backend drain every live logger's queues to its sinks, then the signal is re-raised with the
// handler that was installed before (normally the default: core dump / exit status 128+sig).
// With Options::drain_on_terminate (off by default: a service may own these signals), SIGTERM
// and SIGINT do the same: drain, then the action installed before — the default ends the process
// by that signal; an application handler installed earlier still runs. The drain happens for the
// first such signal of the process only.
//
// Internals of the inlined call site (format checks, argument codecs, the record header, the
// per-thread queue) are in esper/log/detail/, namespace esper::log::detail: not API.
#pragma once

#include <fmt/format.h>

#include <atomic>
#include <cassert>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "esper/core/result.h"
#include "esper/log/detail/byte_ring.h"
#include "esper/log/detail/codec.h"
#include "esper/log/detail/context_blob.h"
#include "esper/log/detail/decode.h"
#include "esper/log/detail/field_value.h"
#include "esper/log/detail/format_check.h"
#include "esper/log/detail/kv.h"
#include "esper/log/detail/record_header.h"
#include "esper/log/detail/site.h"
#include "esper/log/detail/slow_path_arg.h"
#include "esper/log/detail/thread_queue.h"
#include "esper/log/detail/ticks.h"
#include "esper/log/formatter.h"
#include "esper/log/level.h"
#include "esper/log/record.h"
#include "esper/log/sink.h"

#ifndef ESPER_LOG_ACTIVE_LEVEL
#define ESPER_LOG_ACTIVE_LEVEL 0
#endif

namespace esper::log {

/// One sink of a logger with its own level and format.
struct SinkSpec {
  std::shared_ptr<Sink> sink{};                 // required
  Format format = Format::kText;                // ignored when `formatter` is set
  Level level = Level::kTrace;                  // records below are not written to this sink
  std::shared_ptr<const Formatter> formatter{};   // optional custom formatter
};

enum class QueuePolicy : uint8_t { kBlock, kDrop, kUnbounded };

struct Options {
  std::string name = "esper";                   // "logger" in every line
  Level level = Level::kInfo;                   // runtime level (set_level() changes it)
  bool level_from_env = true;                   // ESPER_LOG_LEVEL, when set, overrides `level`
  std::vector<SinkSpec> sinks{};                // empty: one text sink on stderr
  std::vector<std::pair<std::string, std::string>> context{};  // string fields on every line
  QueuePolicy policy = QueuePolicy::kBlock;
  size_t queue_bytes = size_t{1} << 20;         // per producer thread; rounded up to a power of 2
  size_t unbounded_max_bytes = size_t{64} << 20;// kUnbounded: largest queue of one thread
  size_t max_string_bytes = size_t{16} << 10;   // longer strings are cut (Stats::truncated)
  bool async = true;                            // false: format + write on the caller, under a lock
  // The backend's sleep when a pass finds nothing: idle_sleep, doubled on each further empty
  // pass up to idle_sleep_max (taken as at least idle_sleep), back to idle_sleep once a pass finds
  // records. Flush() and Stop() wake it at once, and so does a producer whose queue passes a half
  // while it sleeps longer than idle_sleep. So a quiet logger wakes 1 / idle_sleep_max times a
  // second (10 at the defaults) rather than 1 / idle_sleep (2,000), and a trickle of lines reaches
  // the sinks within idle_sleep_max. What a wake costs: docs/log.md, "Measured".
  std::chrono::microseconds idle_sleep{500};
  std::chrono::microseconds idle_sleep_max{100'000};
  bool busy_spin = false;                       // backend never sleeps (burns a core; lowest latency)
  // Linux: the backend runs under SCHED_BATCH when it would run under SCHED_OTHER (a real-time or
  // idle policy the application set is kept). A waking batch thread never preempts a running
  // one: it takes an idle CPU at once, or waits for the scheduler's next switch (a tick, 4 ms at
  // HZ=250) when every CPU is busy. So the backend does not cut into a logging thread's work
  // when all cores are taken (docs/log.md has what that was measured to save), at the price,
  // only then, of lines reaching the sinks up to a tick later. Its CPU share is unchanged (same
  // weight as nice 0). false: inherited.
  bool backend_sched_batch = true;
  size_t batch_bytes = size_t{64} << 10;        // a sink gets a Write() at least this often
  bool crash_handler = true;                    // install the process crash handler (once)
  bool drain_on_terminate = false;              // SIGTERM/SIGINT drain too, then the previous action
  // Strict cross-thread order for causally related calls: an lfence before the TSC read on every
  // call (its price: docs/log.md, "Ordering"). false, as in Quill and NanoLog: a call that
  // closely follows another thread's call through a lock or an atomic hand-off may be written
  // before it; per-thread order is always kept.
  bool causal_timestamps = false;
  std::function<void(const Error&)> on_error{}; // backend errors; default: one line to stderr
};

/// One logger's counters: what Logger::get_stats() returns.
struct Stats {
  uint64_t processed = 0;          // records formatted and handed to the sinks
  uint64_t dropped = 0;            // records dropped by QueuePolicy::kDrop
  uint64_t truncated = 0;          // string arguments cut at max_string_bytes
  uint64_t queue_depth = 0;        // records queued, not yet processed (all threads)
  uint64_t queue_bytes = 0;        // bytes queued now (all threads)
  uint64_t high_water_bytes = 0;   // max bytes queued at once, sampled by the backend per pass
  uint64_t queue_capacity_bytes = 0;  // total capacity of the live per-thread queues
  uint32_t producer_threads = 0;   // threads with a live queue
  double avg_backend_ns = 0;       // backend wall time per record (decode + format + write)
  uint64_t backend_cpu_ns = 0;     // CPU time the backend thread has used (what logging costs)
  uint64_t backend_errors = 0;     // failed sink writes/flushes and formatting errors
  bool running = false;
};

namespace detail {
class LoggerCore;
}  // namespace detail

/// A structured field for a logging call: `kv("layer_id", 5)`. `key` must be a string literal
/// (the backend reads it up to its NUL; the call site keeps its address from its first call, so
/// a record carries only the value unless a call passes a different array); `value` any
/// loggable type.
template <size_t N, class T>
detail::KV<T> kv(const char (&key)[N], const T& value) {
  return detail::KV<T>{key, value};
}

class ContextLogger;

class Logger {
 public:
  /// Validates `options` (InvalidArgument naming the field: queue_bytes < 4096 or too small for
  /// max_string_bytes, a null sink, an empty name, a bad ESPER_LOG_LEVEL), then starts the backend.
  static Result<std::unique_ptr<Logger>> Create(Options options);
  /// Stop(): drains every queue to the sinks and joins the backend.
  ~Logger();
  Logger(const Logger&) = delete;
  Logger& operator=(const Logger&) = delete;

  bool ShouldLog(Level level) const noexcept {
    return level >= level_.load(std::memory_order_relaxed);
  }
  void set_level(Level level) noexcept { level_.store(level, std::memory_order_relaxed); }
  Level level() const noexcept { return level_.load(std::memory_order_relaxed); }
  const std::string& name() const noexcept;

  /// Blocks until every record logged (by any thread) before the call is written and the sinks
  /// are flushed. Returns the last backend error that happened since the previous Flush() (so
  /// since creation for the first), if any — it was also reported to on_error, and records may
  /// have been lost to it; FailedPrecondition after Stop().
  Status Flush();
  /// Drains all queues, flushes the sinks, joins the backend. Idempotent. Records logged after
  /// Stop() are not written (they stay in Stats::queue_depth, or count as dropped once the
  /// thread's queue is full — a stopped logger never blocks a producer).
  void Stop();
  /// A snapshot of this logger's Stats. get_stats() is the seed's name and the library's one
  /// spelling of the statistics accessor (http::Client, Config, the resilience parts have it
  /// too). Safe from any thread at any time.
  Stats get_stats() const;

  /// The logging call behind the macros. Use the macros (they check the level first and keep
  /// the call-site metadata in static storage).
  template <class... A>
  [[gnu::always_inline]] void Log(Level level, const detail::Site& site,
                                   detail::FmtFor<A...> /*checked at compile time*/, const A&... args) {
    LogImpl<false>(level, site, {}, args...);
  }

  /// A view of this logger with one more context field: every line logged through it carries
  /// `key` = `value` after Options::context (a request id, a layer). See ContextLogger.
  template <class T>
  ContextLogger With(std::string_view key, const T& value);

  /// Internal (the backend object); exposed for the crash handler and tests.
  detail::LoggerCore* core() const noexcept { return core_.get(); }

 private:
  friend class ContextLogger;
  // kCtx: `ctx` (a ContextLogger's encoded fields) is copied into the record after the header.
  // The fast path is always inlined (in a caller with many log calls the compiler would otherwise
  // call one out-of-line copy) and makes no call (so it saves no registers): a thread already
  // attached, a record that fits the queue's limit and the ring's space before its end. Anything
  // else — the thread's first call, huge strings, a wrap, a full queue, a synchronous logger —
  // goes to LogSlow.
  template <bool kCtx, class... A>
  [[gnu::always_inline]] void LogImpl(Level level, const detail::Site& site,
                                       [[maybe_unused]] const detail::ContextBlob* ctx, const A&... args) {
    static_assert(sizeof...(A) <= detail::kMaxArgs, "too many arguments in one log call");
    static_assert(detail::KvAreTrailing<A...>(), "kv() fields must follow all positional arguments");
    // A call with kv() whose keys are not its site's (rare: keys that vary between calls) takes
    // the slow path, so this one is compiled with keys_in_site constant: no branch per field.
    constexpr bool kHasKv = (detail::IsKV<A>::value || ...);
    const bool keys_in_site = detail::KeysInSite(site.keys, args...);  // false at compile time without kv()
    if (detail::tls_cache.logger_id == id_ && keys_in_site == kHasKv) [[likely]] {
      detail::ThreadQueue* q = detail::tls_cache.queue;
      detail::EncodeState st{q->max_string, kHasKv};
      const size_t n = RecordSize<kCtx>(st, args...);
      // A record whose size the compiler knows (numbers only) skips the check when every queue
      // takes it.
      if ((__builtin_constant_p(n) && n <= detail::kMinMaxRecord) || n <= q->max_record) [[likely]] {
        if (q->ring->FitsFast(n)) [[likely]] {
          WriteRecord<kCtx>(q, q->ring->WritePointer(), n, st, level, site, ctx, args...);
          return;
        }
      }
    }
    LogSlow<kCtx, A...>(level, site, keys_in_site, ctx, detail::SlowPathArg(args)...);
  }

  // `keys_in_site`: LogImpl's KeysInSite() answer for this call.
  template <bool kCtx, class... A>
  [[gnu::noinline]] void LogSlow(Level level, const detail::Site& site, bool keys_in_site,
                                 const detail::ContextBlob* ctx, const A&... args) {
    detail::ThreadQueue* q =
        (detail::tls_cache.logger_id & ~detail::kSyncTag) == id_ ? detail::tls_cache.queue : AttachThread();
    detail::EncodeState st{q->max_string, keys_in_site};
    size_t n = RecordSize<kCtx>(st, args...);
    while (n > q->max_record) {  // only with huge strings: cut them until it fits
      st = detail::EncodeState{st.max_string / 2, st.keys_in_site};
      st.truncated = true;
      n = RecordSize<kCtx>(st, args...);
    }
    char* p = Stopped() ? nullptr : q->ring->Reserve(n);
    if (!p) {
      p = ReserveSlow(q, n, level);
      if (!p) return;  // dropped (counted)
    }
    WriteRecord<kCtx>(q, p, n, st, level, site, ctx, args...);
    if (q->sync) {
      ProcessSync(q);  // a synchronous logger (only this path sees one): format now
    } else {
      NudgeBackend();  // this path is taken at least every half queue (ByteRing::SetLimit)
    }
  }

  template <bool kCtx, class... A>
  [[gnu::always_inline]] static size_t RecordSize(detail::EncodeState& st, const A&... args) {
    constexpr size_t kFixed = sizeof(detail::RecordHeader) + (kCtx ? sizeof(const detail::ContextBlob*) : 0);
    return detail::Aligned8(kFixed + (size_t{0} + ... + detail::Codec<std::decay_t<A>>::Size(args, st)));
  }

  // Writes the record into the `n` reserved bytes at `p` and publishes it.
  template <bool kCtx, class... A>
  [[gnu::always_inline]] void WriteRecord(detail::ThreadQueue* q, char* p, size_t n, detail::EncodeState& st,
                                           Level level, const detail::Site& site,
                                           [[maybe_unused]] const detail::ContextBlob* ctx, const A&... args) {
    detail::ByteRing* ring = q->ring;
    const uint64_t end = ring->WriteEnd(n);
    // The timestamp is taken once the space is ours, so a producer that waited for room does not
    // carry an old timestamp into the queue (the backend merges queues by it).
    // The header's two words stored one by one (building the struct on the stack and copying it
    // costs a store-forwarding stall).
    const uint32_t flags = (kCtx ? uint32_t{detail::kRecordHasContext} : 0u) |
                           (st.keys_in_site ? uint32_t{detail::kRecordKeysInSite} : 0u);
    const uint64_t word = detail::PackRecordWord(n, level, flags, &site);
    const uint64_t ticks = q->causal_ticks ? detail::TicksCausal() : detail::Ticks();
    // The macro chose the site's decoder from the same argument expressions.
    assert(site.decode == &detail::DecodeArgs<std::decay_t<A>...>);
    std::memcpy(p + offsetof(detail::RecordHeader, word), &word, sizeof word);
    std::memcpy(p + offsetof(detail::RecordHeader, ticks), &ticks, sizeof ticks);
    [[maybe_unused]] char* w = p + sizeof(detail::RecordHeader);
    if constexpr (kCtx) {  // the bound context, before the arguments: a pointer to its blob
      std::memcpy(w, &ctx, sizeof ctx);
      w += sizeof ctx;
    }
    (detail::Codec<std::decay_t<A>>::Encode(w, args, st), ...);
    ring->Publish(end);
    q->enqueued.store(q->enqueued.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    if (st.truncated) [[unlikely]]
      q->truncated.store(q->truncated.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }

  Logger(std::unique_ptr<detail::LoggerCore> core, Level level, uint64_t id);
  detail::ThreadQueue* AttachThread();
  /// A ContextLogger's blob of `bytes`, freed through this logger's backend (ContextBlob).
  std::shared_ptr<const detail::ContextBlob> NewContext(std::string bytes) const;
  char* ReserveSlow(detail::ThreadQueue* q, size_t n, Level level);
  bool Stopped() const noexcept;
  void ProcessSync(detail::ThreadQueue* q);
  // Wakes the backend if it is in an idle sleep longer than Options::idle_sleep.
  void NudgeBackend() noexcept;

  std::atomic<Level> level_;
  uint64_t id_;
  std::unique_ptr<detail::LoggerCore> core_;
};

/// The seed's name for the logger.
using AsyncEsperLogger = Logger;

/// A Logger with context fields bound to it — a request id, a layer — that every line logged
/// through it carries (after Options::context, before the call's own fields):
///
///   auto req = logger->With("request_id", id).With("attempt", 2);
///   ESPER_LOG_INFO(req, "fetched {}", key);   // ... "request_id":"…","attempt":2 ...
///
/// Cheap: With() formats the value once into a small buffer (at most kMaxContextBytes = 1 KiB in
/// all; values are cut to fit), shared by the view's copies; each call then queues a pointer to
/// it (8 bytes, whatever the fields), and the backend frees the buffer once the last copy is gone
/// and every record that points to it is written (while the backend is stalled in a sink, such
/// buffers wait for it). Same queue, level and backend as the Logger,
/// which must outlive every call through a ContextLogger made from it (a view may be destroyed
/// after the Logger). Copyable (a reference count); thread-safe as the Logger is (With() returns
/// a new object, never changes this one).
class ContextLogger {
 public:
  template <class T>
  ContextLogger With(std::string_view key, const T& value) const {
    fmt::memory_buffer text;
    FieldKind kind;
    if constexpr (std::is_convertible_v<const T&, std::string_view>) {
      kind = detail::AppendFieldValue(std::string_view(value), text);
    } else {
      kind = detail::AppendFieldValue(value, text);
    }
    std::string bytes = ctx_ ? ctx_->bytes : std::string();
    detail::AppendContextField(bytes, key, std::string_view(text.data(), text.size()), kind);
    ContextLogger c(*logger_);
    c.ctx_ = logger_->NewContext(std::move(bytes));
    return c;
  }
  bool ShouldLog(Level level) const noexcept { return logger_->ShouldLog(level); }
  /// The call behind the macros, as Logger::Log.
  template <class... A>
  [[gnu::always_inline]] void Log(Level level, const detail::Site& site,
                                   detail::FmtFor<A...> /*checked at compile time*/, const A&... args) const {
    logger_->LogImpl<true>(level, site, ctx_.get(), args...);
  }
  Logger& logger() const noexcept { return *logger_; }

 private:
  friend class Logger;
  explicit ContextLogger(Logger& l) : logger_(&l) {}
  Logger* logger_;
  std::shared_ptr<const detail::ContextBlob> ctx_;  // null until the first With()
};

template <class T>
ContextLogger Logger::With(std::string_view key, const T& value) {
  return ContextLogger(*this).With(key, value);
}

namespace detail {
inline Logger& Deref(Logger& l) { return l; }
inline Logger& Deref(Logger* l) { return *l; }
inline Logger& Deref(const std::unique_ptr<Logger>& l) { return *l; }
inline Logger& Deref(const std::shared_ptr<Logger>& l) { return *l; }
inline Logger& Deref(const Result<std::unique_ptr<Logger>>& l) { return **l; }
inline const ContextLogger& Deref(const ContextLogger& l) { return l; }
// A temporary view — ESPER_LOG_INFO(logger->With("k", v), …) — is moved into the macro's own
// variable, so it lives until the call is done.
inline ContextLogger Deref(ContextLogger&& l) { return std::move(l); }
}  // namespace detail

}  // namespace esper::log

#define ESPER_LOG_IMPL_(logger_, level_, fmt_, ...)                                          \
  do {                                                                                       \
    auto&& esper_log_l_ = ::esper::log::detail::Deref(logger_);                              \
    const ::esper::log::Level esper_log_lvl_ = (level_);                                     \
    if (esper_log_l_.ShouldLog(esper_log_lvl_)) {                                            \
      using esper_log_dec_ = decltype(::esper::log::detail::DecoderFor(__VA_ARGS__));        \
      static constinit ::std::atomic<const char*> esper_log_keys_[esper_log_dec_::kKv + 1]{}; \
      static constexpr ::esper::log::detail::Site esper_log_site_{                           \
          fmt_, __FILE__, __LINE__, ::esper::log::detail::HasNamedPlaceholders(fmt_),        \
          esper_log_dec_::fn, esper_log_dec_::kKv > 0 ? esper_log_keys_ : nullptr};          \
      esper_log_l_.Log(esper_log_lvl_, esper_log_site_, fmt_ __VA_OPT__(, ) __VA_ARGS__);    \
    }                                                                                        \
  } while (0)

#define ESPER_LOG_AT_(n_, level_, logger_, fmt_, ...)                                         \
  do {                                                                                       \
    if constexpr ((n_) >= ESPER_LOG_ACTIVE_LEVEL)                                            \
      ESPER_LOG_IMPL_(logger_, level_, fmt_ __VA_OPT__(, ) __VA_ARGS__);                     \
  } while (0)

/// ESPER_LOG(logger, level, "format {}", args..., kv("k", v)...) — level chosen at run time.
#define ESPER_LOG(logger, level, fmt, ...) ESPER_LOG_IMPL_(logger, level, fmt __VA_OPT__(, ) __VA_ARGS__)
#define ESPER_LOG_TRACE(logger, fmt, ...) \
  ESPER_LOG_AT_(0, ::esper::log::Level::kTrace, logger, fmt __VA_OPT__(, ) __VA_ARGS__)
#define ESPER_LOG_DEBUG(logger, fmt, ...) \
  ESPER_LOG_AT_(1, ::esper::log::Level::kDebug, logger, fmt __VA_OPT__(, ) __VA_ARGS__)
#define ESPER_LOG_INFO(logger, fmt, ...) \
  ESPER_LOG_AT_(2, ::esper::log::Level::kInfo, logger, fmt __VA_OPT__(, ) __VA_ARGS__)
#define ESPER_LOG_WARN(logger, fmt, ...) \
  ESPER_LOG_AT_(3, ::esper::log::Level::kWarn, logger, fmt __VA_OPT__(, ) __VA_ARGS__)
#define ESPER_LOG_ERROR(logger, fmt, ...) \
  ESPER_LOG_AT_(4, ::esper::log::Level::kError, logger, fmt __VA_OPT__(, ) __VA_ARGS__)
#define ESPER_LOG_CRITICAL(logger, fmt, ...) \
  ESPER_LOG_AT_(5, ::esper::log::Level::kCritical, logger, fmt __VA_OPT__(, ) __VA_ARGS__)
