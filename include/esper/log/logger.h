// esper/log/logger.h — the asynchronous structured logger (the seed's AsyncEsperLogger).
//
// A call site costs tens of nanoseconds: the level is checked before any argument is evaluated;
// the arguments are copied as binary into a lock-free queue owned by the calling thread; one
// backend thread (owned by the Logger) merges the per-thread queues in timestamp order, formats
// the records with {fmt} and writes them to the sinks in batches. Per-thread order is always
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
#pragma once

#include <fmt/format.h>

#include <cassert>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <iterator>
#include <memory>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "esper/core/result.h"
#include "esper/log/formatter.h"
#include "esper/log/level.h"
#include "esper/log/queue.h"
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
  // while it sleeps longer than idle_sleep. So a quiet logger wakes ~10 times a second, not
  // 2,000 (a wake costs tens of µs of CPU on a VM; docs/log.md), and a trickle of lines reaches
  // the sinks within idle_sleep_max.
  std::chrono::microseconds idle_sleep{500};
  std::chrono::microseconds idle_sleep_max{100'000};
  bool busy_spin = false;                       // backend never sleeps (burns a core; lowest latency)
  // Linux: the backend runs under SCHED_BATCH when it would run under SCHED_OTHER (a real-time or
  // idle policy the application set is kept). A waking batch thread never preempts a running
  // one: it takes an idle CPU at once, or waits for the scheduler's next switch (a tick, 4 ms at
  // HZ=250) when every CPU is busy. So the backend does not cut into a logging thread's work
  // when all cores are taken (measured on 2 vCPUs with 2 busy producers: 2.6-4.8x fewer 20-call
  // bursts over 1 µs a call; docs/log.md), at the price, only then, of lines reaching the sinks
  // up to a tick later. Its CPU share is unchanged (same weight as nice 0). false: inherited.
  bool backend_sched_batch = true;
  size_t batch_bytes = size_t{64} << 10;        // a sink gets a Write() at least this often
  bool crash_handler = true;                    // install the process crash handler (once)
  bool drain_on_terminate = false;              // SIGTERM/SIGINT drain too, then the previous action
  // Strict cross-thread order for causally related calls (~10 ns more per call: an lfence before
  // the TSC read). false, as in Quill and NanoLog: a call that follows another thread's call
  // through a lock or an atomic hand-off within ~100 ns may be written before it; per-thread
  // order is always kept. See docs/log.md "Ordering".
  bool causal_timestamps = false;
  std::function<void(const Error&)> on_error{}; // backend errors; default: one line to stderr
};

/// The seed's get_stats(), for one logger.
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

struct DecodeSink;
using DecodeFn = void (*)(const char* args, const char* format, DecodeSink& out);

// A call site's static metadata (made by the logging macros): records carry only its address.
struct alignas(8) Site {
  const char* format;
  const char* file;
  uint32_t line;
  bool named = false;  // the format uses named placeholders: "{layer_id}"
  DecodeFn decode;     // decodes and formats this call's argument types (DecoderFor)
  // The site's kv() keys, one slot per kv() argument (null for a site without kv()): set by the
  // site's first call, so records whose keys match leave them out (RecordHeader flag
  // kRecordKeysInSite) and a kv() field costs the queue only its value.
  std::atomic<const char*>* keys = nullptr;
};

// ---- named placeholders: "loaded {layer} in {ms:.1f} ms" ----
constexpr bool IsNameStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
constexpr bool IsNameChar(char c) { return IsNameStart(c) || (c >= '0' && c <= '9') || c == '.'; }
/// True when a placeholder of `format` starts with a name: the whole string is then in named form.
constexpr bool HasNamedPlaceholders(std::string_view format) {
  for (size_t i = 0; i + 1 < format.size(); ++i) {
    if (format[i] != '{') continue;
    if (format[i + 1] == '{') {
      ++i;
    } else if (IsNameStart(format[i + 1])) {
      return true;
    }
  }
  return false;
}
/// Calls `field(name, spec)` for each placeholder of a named format, and `lit(text)` for the text
/// between them ("{{" and "}}" stay escaped). Returns false when the string is not well formed.
template <class Lit, class Field>
constexpr bool ForEachNamed(std::string_view f, Lit&& lit, Field&& field) {
  size_t i = 0, start = 0;
  while (i < f.size()) {
    if ((f[i] == '{' || f[i] == '}') && i + 1 < f.size() && f[i + 1] == f[i]) {
      i += 2;
      continue;
    }
    if (f[i] != '{') {
      ++i;
      continue;
    }
    lit(f.substr(start, i - start));
    size_t j = i + 1;
    if (j >= f.size() || !IsNameStart(f[j])) return false;
    while (j < f.size() && IsNameChar(f[j])) ++j;
    std::string_view name = f.substr(i + 1, j - i - 1);
    size_t close = f.find('}', j);
    if (close == std::string_view::npos || (f[j] != '}' && f[j] != ':')) return false;
    field(name, f.substr(j, close - j));  // spec with its ':' (or empty)
    i = start = close + 1;
  }
  lit(f.substr(start));
  return true;
}
// Not constexpr: reaching one while checking a format at compile time is the compile error,
// and its name is the message.
inline void named_placeholder_format_is_malformed_or_mixes_in_positional_ones() {}
inline void named_placeholders_must_all_be_named_and_match_the_argument_count() {}
inline void named_placeholder_format_is_too_long() {}

/// fmt's own compile-time check (fmt 9's checker; called directly because clang 14 cannot call
/// fmt's consteval constructor from inside another consteval function).
template <class... P>
constexpr void CheckFmt(std::string_view s) {
  using Checker = fmt::detail::format_string_checker<char, fmt::detail::error_handler, fmt::remove_cvref_t<P>...>;
  const fmt::string_view fs(s.data(), s.size());
  fmt::detail::parse_format_string<true>(fs, Checker(fs, {}));
}

/// The format string of a logging call, checked at compile time against its positional
/// arguments P...: either fmt's syntax, or every placeholder named ("{layer}", "{ms:.1f}") —
/// one per argument, in order, each then also logged as a field of that name.
template <class... P>
struct CheckedFormat {
  template <class S, class = std::enable_if_t<std::is_convertible_v<const S&, std::string_view>>>
  consteval CheckedFormat(const S& s) {  // NOLINT(google-explicit-constructor): as fmt's
    const std::string_view f(s);
    if (!HasNamedPlaceholders(f)) {
      CheckFmt<P...>(f);
      return;
    }
    // Check the positional twin ("{name:spec}" -> "{:spec}") with fmt, so specs meet their types.
    char buf[1024] = {};
    size_t n = 0, count = 0;
    auto put = [&](std::string_view t) {
      if (n + t.size() > sizeof buf) named_placeholder_format_is_too_long();
      for (char c : t) buf[n++] = c;
    };
    bool ok = ForEachNamed(f, put, [&](std::string_view, std::string_view spec) {
      ++count;
      put("{");
      put(spec);
      put("}");
    });
    if (!ok) named_placeholder_format_is_malformed_or_mixes_in_positional_ones();
    if (count != sizeof...(P)) named_placeholders_must_all_be_named_and_match_the_argument_count();
    CheckFmt<P...>(std::string_view(buf, n));
  }
};

inline constexpr uint8_t kRecordHasContext = 1;  // record flag: a ContextBlob* follows the header
inline constexpr uint8_t kRecordKeysInSite = 2;  // record flag: kv() keys are the site's (Site::keys)
inline constexpr size_t kMaxContextBytes = 1024;  // encoded fields of one ContextLogger

/// Appends one context field to a ContextLogger's encoding: u32 key length, key, u8 FieldKind,
/// u32 value length, value. Keeps the whole under kMaxContextBytes (values cut to fit; a field
/// whose key does not fit is left out).
void AppendContextField(std::string& blob, std::string_view key, std::string_view value, FieldKind kind);

struct ContextRetirement;  // a logger's list of blobs waiting for the backend (logger.cpp)
/// A ContextLogger's encoded fields, immutable once made and shared by its copies. A record
/// carries a pointer to it, not the bytes; when the last copy dies the blob goes to its logger's
/// backend, which frees it once every record that can point to it is written (or at once when no
/// backend will read any: a synchronous or stopped logger).
struct ContextBlob {
  std::string bytes;
  std::shared_ptr<ContextRetirement> home;
};
/// The deleter of a ContextLogger's blob (see ContextBlob).
struct RetireContext {
  void operator()(const ContextBlob* blob) const noexcept;
};
/// ContextBlobs alive in the process (for tests: the backend frees them).
size_t LiveContextBlobs() noexcept;

// A record is a 16-byte header, then its arguments (ContextBlob* first when kRecordHasContext).
// The header's first word packs the record's size, level, flags and call site, so that a call
// stores two words, not four (on this project's VM a call's cost follows the ring lines it
// writes: int,int,double is 32 bytes instead of 40):
//   bits  0..13  size / 8 (whole record, a multiple of 8, at most kMaxRecordBytes)
//   bits 14..16  Level
//   bits 17..18  flags (kRecordHasContext, kRecordKeysInSite)
//   bits 19..63  the Site's address / 8 (a Site is 8-aligned, and static: in the program's or a
//                library's image, which Linux maps below 2^47 on x86-64 and 2^48 on arm64, also
//                with 5-level / 52-bit address spaces, whose upper part a process gets only by
//                asking mmap() for it)
// The word is never 0 (a record has at least its header), so its first 4 bytes tell a record
// from the ring's wrap marker.
struct RecordHeader {
  uint64_t word;   // PackRecordWord()
  uint64_t ticks;  // Ticks() at the call
};
static_assert(sizeof(RecordHeader) == 16 && offsetof(RecordHeader, ticks) == 8);
// The word's fields, as laid out above.
inline constexpr unsigned kLevelShift = 14, kFlagsShift = 17, kSiteShift = 19;
inline constexpr uint64_t kSizeUnitsMask = (uint64_t{1} << kLevelShift) - 1;
/// The largest record a header can describe (14 bits of size in 8-byte units): 128 KiB − 8.
inline constexpr size_t kMaxRecordBytes = kSizeUnitsMask * 8;
static_assert(alignof(Site) >= 8);

[[gnu::always_inline]] inline uint64_t PackRecordWord(size_t size, Level level, uint32_t flags,
                                                       const Site* site) noexcept {
  const auto addr = static_cast<uint64_t>(reinterpret_cast<uintptr_t>(site));
  assert(size % 8 == 0 && size >= sizeof(RecordHeader) && size <= kMaxRecordBytes);
  assert(addr % 8 == 0 && addr >> 48 == 0);
  // addr / 8 << kSiteShift, written so that the compiler folds it into one shift
  return addr << (kSiteShift - 3) | uint64_t{flags} << kFlagsShift |
         uint64_t{static_cast<uint8_t>(level)} << kLevelShift | size >> 3;
}
/// A record's header without its size (RecordBytes): the backend's view.
struct RecordInfo {
  Level level;
  uint32_t flags;
  const Site* site;
  uint64_t ticks;
};
inline size_t RecordBytes(const char* record) noexcept {
  uint64_t w;
  std::memcpy(&w, record, sizeof w);
  return static_cast<size_t>(w & kSizeUnitsMask) << 3;
}
inline RecordInfo ReadRecordHeader(const char* record) noexcept {
  RecordHeader h;
  std::memcpy(&h, record, sizeof h);
  return {static_cast<Level>(h.word >> kLevelShift & 7), static_cast<uint32_t>(h.word >> kFlagsShift & 3),
          reinterpret_cast<const Site*>(static_cast<uintptr_t>(h.word >> kSiteShift << 3)), h.ticks};
}

/// The smallest ThreadQueue::max_record: half the smallest queue (Options::queue_bytes >= 4096).
inline constexpr size_t kMinMaxRecord = 2048;

/// One producer thread's queue for one logger.
struct ThreadQueue {
  ByteRing* ring = nullptr;                   // producer's current ring
  size_t max_string = 0;
  size_t max_record = 0;                      // largest record the queue accepts (bytes):
                                              // kMinMaxRecord..kMaxRecordBytes
  bool sync = false;                          // synchronous logger: the caller processes
  bool causal_ticks = false;                  // Options::causal_timestamps
  uint32_t tid = 0;                           // the producer's gettid(): Record::thread_id
  std::atomic<uint64_t> enqueued{0};          // written by the producer only
  std::atomic<uint64_t> dropped{0};
  std::atomic<uint64_t> truncated{0};
  std::atomic<bool> producer_gone{false};
  std::atomic<bool> logger_gone{false};
  ByteRing* cons_ring = nullptr;              // consumer's current ring
  ~ThreadQueue();
};

struct TlsCache {
  uint64_t logger_id;  // a synchronous logger's id with kSyncTag: its calls all take the slow path
  ThreadQueue* queue;
};
inline constexpr uint64_t kSyncTag = uint64_t{1} << 63;  // logger ids count from 1
// initial-exec: a direct %fs-relative access instead of a __tls_get_addr call in code built with
// -fPIC (as this project's is). Valid for executables and for shared libraries loaded at start;
// a library dlopen()ed later takes these 16 bytes from glibc's static TLS reserve.
[[gnu::tls_model("initial-exec")]] inline thread_local constinit TlsCache tls_cache{0, nullptr};

// ---- structured fields ----
template <class T>
struct KV {
  const char* key;  // a string literal
  // Numbers by value, so the compiler can keep them in registers (a reference makes the caller
  // store each one and the call read it back); anything else by reference, never copied.
  std::conditional_t<std::is_arithmetic_v<T> || std::is_enum_v<T>, T, const T&> value;
};
template <class T> struct IsKV : std::false_type {};
template <class T> struct IsKV<KV<T>> : std::true_type {};

/// What the inlined logging call hands its out-of-line slow path: a copy of a number, pointer or
/// kv() number, made there; anything else by reference. Were the arguments themselves handed
/// over, their addresses would escape and the fast path would have to store each one (kv() keys
/// included) on every call. (Taken by value, a kv() int is packed into a register on every call
/// instead: worse.)
template <class T>
inline constexpr bool kSmallArg = std::is_arithmetic_v<T> || std::is_enum_v<T> || std::is_pointer_v<T>;
template <class T>
inline constexpr bool kSmallArg<KV<T>> = std::is_arithmetic_v<T> || std::is_enum_v<T>;
template <class T>
[[gnu::always_inline]] inline decltype(auto) SlowPathArg(const T& v) {
  if constexpr (kSmallArg<T>) {
    return T(v);
  } else {
    return (v);
  }
}

template <class V>
struct DecodedKV {
  std::string_view key;
  V value;
};

template <class V>
inline constexpr bool kIsPlainInt = std::is_integral_v<V> && !std::is_same_v<V, bool> && !std::is_same_v<V, char> &&
                                    !std::is_same_v<V, wchar_t> && !std::is_same_v<V, char8_t> &&
                                    !std::is_same_v<V, char16_t> && !std::is_same_v<V, char32_t>;
/// Appends `v` exactly as fmt's "{}" would, with the common types on a short path.
template <class V>
void AppendPlain(const V& v, fmt::memory_buffer& out) {
  if constexpr (std::is_same_v<V, std::string_view>) {
    AppendRaw(v, out);
  } else if constexpr (kIsPlainInt<V>) {
    fmt::format_int s(v);
    AppendRaw(std::string_view(s.data(), s.size()), out);
  } else {
    fmt::format_to(fmt::appender(out), "{}", v);  // fmt's own fast path for a lone "{}"
  }
}

/// Appends a field's value as {fmt}'s "{}" would and says how formatters must treat it: numbers
/// bare (but NaN and infinities, which JSON has no number for, as strings), booleans bare,
/// everything else as a string. For kv() values, named arguments and ContextLogger fields alike.
template <class T>
FieldKind AppendFieldValue(const T& v, fmt::memory_buffer& out) {
  if constexpr (std::is_same_v<T, bool>) {
    AppendRaw(v ? "true" : "false", out);
    return FieldKind::kBool;
  } else if constexpr (std::is_same_v<T, char>) {
    out.push_back(v);
    return FieldKind::kString;
  } else if constexpr (std::is_arithmetic_v<T>) {
    AppendPlain(v, out);
    if constexpr (std::is_floating_point_v<T>)
      if (!(v == v) || v - v != 0) return FieldKind::kString;  // NaN, ±inf
    return FieldKind::kNumber;
  } else {
    AppendPlain(v, out);  // strings as they are; other types (a decoded vector) formatted
    return FieldKind::kString;
  }
}

/// Backend-side buffers one record is decoded into.
struct DecodeSink {
  fmt::memory_buffer message;
  fmt::memory_buffer scratch;
  struct Pending {
    std::string_view key;
    std::string_view direct;  // when not in scratch
    size_t off, len;
    FieldKind kind;
    bool in_scratch;
  };
  std::vector<Pending> pending;
  const std::string_view* names = nullptr;  // the call site's placeholder names, when named
  const std::atomic<const char*>* site_keys = nullptr;  // the record's kv() keys, when kept by the site

  void Clear() { message.clear(); scratch.clear(); pending.clear(); }
  void AddString(std::string_view k, std::string_view v) {
    pending.push_back({k, v, 0, 0, FieldKind::kString, false});
  }
  template <class T>
  void AddValue(std::string_view k, const T& v) {
    if constexpr (std::is_same_v<T, bool>) {
      pending.push_back({k, v ? "true" : "false", 0, 0, FieldKind::kBool, false});
    } else if constexpr (std::is_convertible_v<const T&, std::string_view>) {
      AddString(k, std::string_view(v));
    } else {
      size_t off = scratch.size();
      FieldKind kind = AppendFieldValue(v, scratch);
      pending.push_back({k, {}, off, scratch.size() - off, kind, true});
    }
  }
};

// ---- argument codecs: Size (caller), Encode (caller), Decode (backend) ----
inline constexpr size_t kMaxArgs = 24;

struct EncodeState {
  EncodeState(size_t max, bool keys) : max_string(max), keys_in_site(keys) {}
  size_t max_string;
  bool keys_in_site;  // the call's kv() keys are the site's: the record leaves them out (KeysInSite)
  fmt::memory_buffer* tmp = nullptr;
  uint32_t spans[kMaxArgs][2];
  unsigned sized = 0, encoded = 0;
  bool truncated = false;
};
inline thread_local fmt::memory_buffer tls_fallback_buffer;

template <class T, class = void>
struct Codec {  // fallback: format on the caller thread into text
  using Decoded = std::string_view;
  static constexpr bool kFallback = true;
  static size_t Size(const T& v, EncodeState& s) {
    if (!s.tmp) {
      s.tmp = &tls_fallback_buffer;
      s.tmp->clear();
    }
    size_t start = s.tmp->size();
    fmt::format_to(fmt::appender(*s.tmp), "{}", v);
    size_t len = s.tmp->size() - start;
    if (len > s.max_string) { len = s.max_string; s.truncated = true; }
    s.spans[s.sized][0] = static_cast<uint32_t>(start);
    s.spans[s.sized][1] = static_cast<uint32_t>(len);
    ++s.sized;
    return sizeof(uint32_t) + len;
  }
  static void Encode(char*& w, const T&, EncodeState& s) {
    uint32_t start = s.spans[s.encoded][0], len = s.spans[s.encoded][1];
    ++s.encoded;
    std::memcpy(w, &len, sizeof len);
    std::memcpy(w + sizeof len, s.tmp->data() + start, len);
    w += sizeof len + len;
  }
  static std::string_view Decode(const char*& r) {
    uint32_t len;
    std::memcpy(&len, r, sizeof len);
    std::string_view sv(r + sizeof len, len);
    r += sizeof len + len;
    return sv;
  }
};

template <class T>
struct Codec<T, std::enable_if_t<std::is_arithmetic_v<T>>> {
  using Decoded = T;
  static constexpr bool kFallback = false;
  static size_t Size(const T&, EncodeState&) { return sizeof(T); }
  static void Encode(char*& w, const T& v, EncodeState&) {
    std::memcpy(w, &v, sizeof v);
    w += sizeof v;
  }
  static T Decode(const char*& r) {
    T v;
    std::memcpy(&v, r, sizeof v);
    r += sizeof v;
    return v;
  }
};

struct StringCodecBase {
  using Decoded = std::string_view;
  static constexpr bool kFallback = false;
  static size_t SizeOf(std::string_view v, EncodeState& s) {
    size_t len = v.size();
    if (len > s.max_string) { len = s.max_string; s.truncated = true; }
    return sizeof(uint32_t) + len;
  }
  static void EncodeSv(char*& w, std::string_view v, EncodeState& s) {
    uint32_t len = static_cast<uint32_t>(v.size() > s.max_string ? s.max_string : v.size());
    std::memcpy(w, &len, sizeof len);
    std::memcpy(w + sizeof len, v.data(), len);
    w += sizeof len + len;
  }
  static std::string_view Decode(const char*& r) {
    uint32_t len;
    std::memcpy(&len, r, sizeof len);
    std::string_view sv(r + sizeof len, len);
    r += sizeof len + len;
    return sv;
  }
};
template <>
struct Codec<std::string_view> : StringCodecBase {
  static size_t Size(std::string_view v, EncodeState& s) { return SizeOf(v, s); }
  static void Encode(char*& w, std::string_view v, EncodeState& s) { EncodeSv(w, v, s); }
};
template <>
struct Codec<std::string> : StringCodecBase {
  static size_t Size(const std::string& v, EncodeState& s) { return SizeOf(v, s); }
  static void Encode(char*& w, const std::string& v, EncodeState& s) { EncodeSv(w, v, s); }
};
template <>
struct Codec<const char*> : StringCodecBase {
  static std::string_view Sv(const char* v) { return v ? std::string_view(v) : std::string_view("(null)"); }
  static size_t Size(const char* v, EncodeState& s) { return SizeOf(Sv(v), s); }
  static void Encode(char*& w, const char* v, EncodeState& s) { EncodeSv(w, Sv(v), s); }
};
template <>
struct Codec<char*> : Codec<const char*> {};

/// Backend view of a binary-encoded std::vector<E>: a forward range decoding elements on the fly,
/// so {fmt} prints it exactly as it prints the vector ([1, 2], ["a", "b"]).
template <class E>
class EncodedSeq {
 public:
  class iterator {
   public:
    using value_type = typename Codec<E>::Decoded;
    using difference_type = std::ptrdiff_t;
    using reference = value_type;
    using pointer = void;
    using iterator_category = std::forward_iterator_tag;
    iterator() = default;
    iterator(const char* p, uint32_t i) : p_(p), i_(i) {}
    value_type operator*() const {
      const char* q = p_;
      return Codec<E>::Decode(q);
    }
    iterator& operator++() {
      Codec<E>::Decode(p_);
      ++i_;
      return *this;
    }
    iterator operator++(int) {
      iterator t = *this;
      ++*this;
      return t;
    }
    bool operator==(const iterator& o) const { return i_ == o.i_; }

   private:
    const char* p_ = nullptr;
    uint32_t i_ = 0;
  };
  EncodedSeq(const char* data, uint32_t count) : data_(data), count_(count) {}
  iterator begin() const { return iterator(data_, 0); }
  iterator end() const { return iterator(nullptr, count_); }
  size_t size() const { return count_; }

 private:
  const char* data_;
  uint32_t count_;
};

// std::vector of arithmetic or string elements: copied as binary (count + elements) and
// formatted on the backend. Other element types use the caller-side fallback.
template <class E>
struct Codec<std::vector<E>, std::enable_if_t<!Codec<E>::kFallback && !std::is_same_v<E, bool>>> {
  using Decoded = EncodedSeq<E>;
  static constexpr bool kFallback = false;
  static size_t Size(const std::vector<E>& v, EncodeState& s) {
    size_t n = sizeof(uint32_t);
    if constexpr (std::is_arithmetic_v<E>) {
      n += v.size() * sizeof(E);
    } else {
      for (const auto& e : v) n += Codec<E>::Size(e, s);
    }
    return n;
  }
  static void Encode(char*& w, const std::vector<E>& v, EncodeState& s) {
    auto count = static_cast<uint32_t>(v.size());
    std::memcpy(w, &count, sizeof count);
    w += sizeof count;
    if constexpr (std::is_arithmetic_v<E>) {
      if (count) std::memcpy(w, v.data(), v.size() * sizeof(E));
      w += v.size() * sizeof(E);
    } else {
      for (const auto& e : v) Codec<E>::Encode(w, e, s);
    }
  }
  static Decoded Decode(const char*& r) {
    uint32_t count;
    std::memcpy(&count, r, sizeof count);
    r += sizeof count;
    Decoded d(r, count);
    for (uint32_t i = 0; i < count; ++i) Codec<E>::Decode(r);  // skip to the next argument
    return d;
  }
};

template <class T>
struct Codec<KV<T>> {
  using Inner = Codec<std::decay_t<T>>;
  using Decoded = DecodedKV<typename Inner::Decoded>;
  static constexpr bool kFallback = Inner::kFallback;
  // At most the key's address is queued (8 bytes): kv() takes string literals, which are
  // NUL-terminated and live as long as the program; the backend measures them. When the call's
  // keys are the ones its site keeps (the usual case: the same literals every call) not even that.
  static size_t Size(const KV<T>& v, EncodeState& s) {
    return (s.keys_in_site ? 0 : sizeof(const char*)) + Inner::Size(v.value, s);
  }
  static void Encode(char*& w, const KV<T>& v, EncodeState& s) {
    if (!s.keys_in_site) {
      std::memcpy(w, &v.key, sizeof v.key);
      w += sizeof v.key;
    }
    Inner::Encode(w, v.value, s);
  }
  /// `site_key`: the key kept by the call site, or null when the record carries it.
  static Decoded Decode(const char*& r, const char* site_key) {
    const char* key = site_key;
    if (!key) {
      std::memcpy(&key, r, sizeof key);
      r += sizeof key;
    }
    return Decoded{std::string_view(key), Inner::Decode(r)};
  }
};

// ---- argument-list helpers ----
template <class... A>
constexpr size_t PositionalCount() {
  constexpr bool kv[] = {IsKV<A>::value..., false};
  size_t n = 0;
  while (n < sizeof...(A) && !kv[n]) ++n;
  return n;
}
template <class... A>
constexpr bool KvAreTrailing() {
  constexpr bool kv[] = {IsKV<A>::value..., false};
  for (size_t i = PositionalCount<A...>(); i < sizeof...(A); ++i)
    if (!kv[i]) return false;
  return true;
}

template <class Tuple, class Seq> struct FmtOfImpl;
template <class Tuple, size_t... I>
struct FmtOfImpl<Tuple, std::index_sequence<I...>> {
  using type = CheckedFormat<std::tuple_element_t<I, Tuple>...>;
};
/// The compile-time-checked format string for the positional arguments of A...
template <class... A>
using FmtFor = typename FmtOfImpl<std::tuple<A...>, std::make_index_sequence<PositionalCount<A...>()>>::type;

/// Writes argument I of a decoded tuple as a plain `{}` would.
using ArgWriter = void (*)(fmt::memory_buffer& out, const void* tuple);
template <size_t I, class Tuple>
void WriteArg(fmt::memory_buffer& out, const void* tuple) {
  const auto& v = std::get<I>(*static_cast<const Tuple*>(tuple));
  AppendPlain(v, out);
}
/// The backend's fast path for format strings made of text, `{{`, `}}` and plain `{}` only (the
/// common case): no run-time parse by fmt. Returns false, having written a partial message, when
/// the string has anything else (specs, indices); the caller then clears it and uses fmt.
bool FormatPlain(fmt::memory_buffer& out, const char* format, const ArgWriter* writers, size_t n,
                 const void* tuple);

template <class Tuple, size_t... I>
void FormatMessage(DecodeSink& out, const char* format, Tuple& vals, std::index_sequence<I...>) {
  static constexpr ArgWriter kWriters[] = {&WriteArg<I, Tuple>..., nullptr};
  if (FormatPlain(out.message, format, kWriters, sizeof...(I), &vals)) return;
  out.message.clear();
  fmt::vformat_to(fmt::appender(out.message), fmt::string_view(format),
                  fmt::make_format_args(std::get<I>(vals)...));
}
template <class Tuple, size_t... I>
void AddNamedFields(DecodeSink& out, Tuple& vals, std::index_sequence<I...>) {
  (out.AddValue(out.names[I], std::get<I>(vals)), ...);
}
template <size_t P, class Tuple, size_t... I>
void AddFields(DecodeSink& out, Tuple& vals, std::index_sequence<I...>) {
  (out.AddValue(std::get<P + I>(vals).key, std::get<P + I>(vals).value), ...);
}

// Argument I of a record; kv() arguments (I >= P) take their key from the site when it keeps them.
template <class A, size_t I, size_t P>
typename Codec<A>::Decoded DecodeAt(const char*& r, [[maybe_unused]] const DecodeSink& out) {
  if constexpr (IsKV<A>::value) {
    return Codec<A>::Decode(r, out.site_keys ? out.site_keys[I - P].load(std::memory_order_relaxed) : nullptr);
  } else {
    return Codec<A>::Decode(r);
  }
}

template <class... A, size_t... I>
void DecodeArgsImpl([[maybe_unused]] const char* r, const char* format, DecodeSink& out, std::index_sequence<I...>) {
  constexpr size_t P = PositionalCount<A...>();
  // Braced initialisation: decoded left to right, as encoded.
  std::tuple<typename Codec<A>::Decoded...> vals{DecodeAt<A, I, P>(r, out)...};
  FormatMessage(out, format, vals, std::make_index_sequence<P>{});
  if (out.names) AddNamedFields(out, vals, std::make_index_sequence<P>{});
  AddFields<P>(out, vals, std::make_index_sequence<sizeof...(A) - P>{});
}

template <class... A>
void DecodeArgs(const char* r, const char* format, DecodeSink& out) {
  DecodeArgsImpl<A...>(r, format, out, std::index_sequence_for<A...>{});
}

/// KeysInSite's rare path: some slot differs from `keys` (an empty slot is filled with its key).
/// Keys are compared by address.
[[gnu::noinline]] inline bool KeysInSiteSlow(std::atomic<const char*>* slots, const char* const* keys, size_t n) {
  bool same = true;
  for (size_t j = 0; j < n; ++j) {
    // An empty slot takes this call's key; a filled one never changes.
    const char* kept = slots[j].load(std::memory_order_acquire);
    if (kept == nullptr && slots[j].compare_exchange_strong(kept, keys[j], std::memory_order_acq_rel)) {
      kept = keys[j];
    }
    same = same && kept == keys[j];
  }
  return same;
}

/// Whether this call's kv() keys are the ones its site keeps; the site's first call (or the
/// first to reach an empty slot) stores its own. Keys are compared by address: the usual call
/// costs one load and compare per key. False, at compile time, for a call without kv().
template <class... A>
[[gnu::always_inline]] inline bool KeysInSite([[maybe_unused]] std::atomic<const char*>* slots,
                                              [[maybe_unused]] const A&... args) {
  if constexpr (!(IsKV<A>::value || ...)) {
    return false;
  } else {
    if (slots == nullptr) return false;  // a Site made by hand, without slots (the macros always give them)
    // Relaxed is enough: a filled slot never changes, the backend reads it after acquiring this
    // call's record (so it sees at least what was read here), and a key is a string literal, with
    // nothing behind it to publish. Straight-line code: the differences OR-ed, one branch.
    size_t j = 0;
    uintptr_t diff = 0;
    auto compare = [&](const auto& a) {
      if constexpr (IsKV<std::decay_t<decltype(a)>>::value) {
        diff |= reinterpret_cast<uintptr_t>(slots[j].load(std::memory_order_relaxed)) ^
                reinterpret_cast<uintptr_t>(a.key);
        ++j;
      }
    };
    (compare(args), ...);
    if (diff == 0) [[likely]] return true;
    const char* keys[sizeof...(A)];
    size_t n = 0;
    auto collect = [&](const auto& a) {
      if constexpr (IsKV<std::decay_t<decltype(a)>>::value) keys[n++] = a.key;
    };
    (collect(args), ...);
    return KeysInSiteSlow(slots, keys, n);
  }
}

/// The decoder for a call's argument types, named unevaluated by the logging macros
/// (`decltype(DecoderFor(args...))::fn`) so the call site's Site carries it, not every record.
template <class... A>
struct Decoder {
  static constexpr DecodeFn fn = &DecodeArgs<std::decay_t<A>...>;
  static constexpr size_t kKv = sizeof...(A) - PositionalCount<std::decay_t<A>...>();  // kv() arguments
};
template <class... A>
Decoder<A...> DecoderFor(const A&...);  // declared only

template <class T>
constexpr size_t Aligned8(T n) { return (static_cast<size_t>(n) + 7) & ~size_t{7}; }

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
  /// The seed's get_stats(). Safe from any thread at any time.
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
