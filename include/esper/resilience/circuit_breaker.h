// esper/resilience/circuit_breaker.h — stop calling a dependency that is failing, then probe it.
//
// A CircuitBreaker sits in front of calls to one dependency (one host, one service). While the
// dependency is healthy it is CLOSED and calls pass. When calls fail too much it trips OPEN and
// rejects calls at once, without touching the dependency, for `open_duration`; then it goes
// HALF_OPEN and lets `half_open_max_calls` probe calls through (others are rejected): if the
// probes do well it closes, otherwise it opens again for another `open_duration`.
//
// "Failing too much" is one of (CircuitBreakerOptions::window):
//  * kConsecutive (the default, the seed's form): `failure_threshold` (5) failures in a row.
//  * kCountBased: over the last `window_size` calls (resilience4j's count window), the failure
//    rate reaches `failure_rate_threshold` percent or the slow-call rate reaches
//    `slow_call_rate_threshold` percent — once at least `minimum_calls` are in the window.
//  * kTimeBased: the same rates over the calls of the last `window_duration` (in `time_buckets`
//    buckets, so old calls age out in steps of window_duration / time_buckets).
// A call is slow when it took longer than `slow_call_duration` between TryAcquire() and its
// outcome (0 = slow-call detection off, and no clock is read on the closed path).
//
// What counts as a failure is a predicate on esper::Error (`is_failure`); by default
// DefaultIsFailure(): errors with the retryable bit set, and HTTP 5xx. So a NotFound or an
// InvalidArgument counts as a success (the dependency answered; the caller was wrong).
//
// Operators can pin the breaker: ForceOpen() (FORCED_OPEN: reject everything until Reset()),
// Disable() (DISABLED: let everything through, record statistics only), Reset() (CLOSED, window
// cleared).
//
// Two ways to use it:
//
//   // 1. call(fn): fn returns Result<T>; rejected calls return the breaker's error.
//   esper::Result<Response> r = breaker.Call([&] { return client.Get(url); });
//
//   // 2. A guard: the permit records the outcome (failure if dropped without one).
//   auto permit = breaker.TryAcquire();
//   if (!permit) return permit.error();   // Unavailable, retryable: "circuit breaker 'users'
//                                          // is open; it half-opens in 41.5 s"
//   esper::Result<Response> r = client.Get(url);
//   permit->Record(r);                     // or RecordSuccess() / RecordFailure(error)
//
// Time comes from an injectable esper::Clock, so tests use a FakeClock and never sleep:
//   esper::FakeClock clock;
//   auto breaker = CircuitBreaker::Create({.failure_threshold = 3, .open_duration = 30s}, clock);
//   ...three failures...  → state() == kOpen;  clock.Advance(30s);  → state() == kHalfOpen
//
// Thread safety: every method may be called from any number of threads. When CLOSED or
// DISABLED, TryAcquire() is one atomic load, and recording a success in kConsecutive mode (with
// slow-call detection off) is a relaxed increment on a per-thread-striped counter plus a relaxed
// load — no lock, no clock read. A failure is one atomic increment. Recording into a window
// (kCountBased / kTimeBased), failures that trip, state transitions and the OPEN/HALF_OPEN paths
// take a mutex. Transition listeners run synchronously on the thread that caused the transition,
// after the state changed and with no breaker lock held, one at a time and in transition order;
// a listener may call any breaker method.
// Ownership: the Clock must outlive the breaker; a Permit must not outlive its breaker.
// Memory: the count window holds window_size bytes, the time window time_buckets small buckets,
// the history at most history_size transitions; nothing else grows.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "esper/core/clock.h"
#include "esper/core/result.h"
#include "esper/metrics/registry.h"

namespace esper::resilience {

enum class BreakerState : uint8_t {
  kClosed = 0,      // calls pass; outcomes recorded
  kOpen = 1,        // calls rejected until open_duration has passed
  kHalfOpen = 2,    // half_open_max_calls probes pass; others rejected
  kDisabled = 3,    // operator: everything passes, nothing trips (statistics still kept)
  kForcedOpen = 4,  // operator: everything rejected until Reset()
};

/// "CLOSED", "OPEN", "HALF_OPEN", "DISABLED", "FORCED_OPEN".
std::string_view BreakerStateName(BreakerState state) noexcept;

enum class WindowType : uint8_t {
  kConsecutive,  // trip on failure_threshold failures in a row (the seed's breaker)
  kCountBased,   // rates over the last window_size calls
  kTimeBased,    // rates over the calls of the last window_duration
};

/// The default failure predicate: `error.retryable() || error.http_status() >= 500`.
bool DefaultIsFailure(const Error& error) noexcept;

struct CircuitBreakerOptions {
  /// Names the breaker in errors, statistics and transitions ("s3.us-east-1", "users-api").
  std::string name = "default";
  WindowType window = WindowType::kConsecutive;
  /// kConsecutive: failures in a row that trip the breaker. >= 1.
  int failure_threshold = 5;
  /// How long the breaker stays OPEN before it half-opens. > 0.
  Clock::Duration open_duration = std::chrono::seconds(60);

  /// kCountBased: the window is the last `window_size` calls. 1..1,000,000.
  int window_size = 100;
  /// kTimeBased: the window is the last `window_duration`, in `time_buckets` buckets.
  /// window_duration >= time_buckets nanoseconds; time_buckets 1..10,000.
  Clock::Duration window_duration = std::chrono::seconds(60);
  int time_buckets = 10;
  /// Window modes: no rate is judged until the window holds this many calls. >= 1.
  int minimum_calls = 20;
  /// Window modes: failure rate (percent of calls in the window) that trips. (0, 100].
  double failure_rate_threshold = 50.0;
  /// Window modes: slow-call rate (percent) that trips. (0, 100].
  double slow_call_rate_threshold = 100.0;
  /// A call slower than this (acquire → outcome) is slow. 0 = detection off. >= 0.
  Clock::Duration slow_call_duration = Clock::Duration::zero();

  /// Probe calls let through in HALF_OPEN. In kConsecutive mode any probe failure re-opens and
  /// all of them succeeding closes; in window modes, once all probes reported, the failure and
  /// slow rates of the probes are judged against the thresholds. >= 1.
  int half_open_max_calls = 1;
  /// If the probes have not all reported this long after the breaker half-opened (a probe permit
  /// kept alive and never reported), the breaker re-opens on the next call instead of waiting
  /// forever. 0 = wait forever. >= 0.
  Clock::Duration half_open_max_wait = Clock::Duration::zero();

  /// Whether an error counts as a failure. Empty = DefaultIsFailure. Errors that are not
  /// failures count as successes. Must be thread-safe and must not call the breaker.
  std::function<bool(const Error&)> is_failure{};

  /// Transitions kept by history(). 0..100,000.
  int history_size = 32;

  /// Where stats() are published as metrics, labelled with `name` (docs/resilience.md,
  /// Metrics); nullptr: nowhere. Must outlive the breaker.
  metrics::Registry* metrics = &metrics::DefaultRegistry();
};

/// One state change.
struct BreakerTransition {
  BreakerState from = BreakerState::kClosed;
  BreakerState to = BreakerState::kClosed;
  Clock::TimePoint at{};  // on the breaker's clock
  std::string reason;     // "5 consecutive failures", "failure rate 62.0% >= 50.0% over 100 calls"
};

/// A snapshot (counters are totals since creation; rates are over the current window).
struct CircuitBreakerStats {
  std::string name;
  BreakerState state = BreakerState::kClosed;
  uint64_t calls = 0;          // outcomes recorded: successes + failures
  uint64_t successes = 0;      // including errors the predicate does not count as failures
  uint64_t failures = 0;
  uint64_t slow_calls = 0;     // of the calls above, how many were slow
  uint64_t rejections = 0;     // TryAcquire() refused (OPEN, FORCED_OPEN, HALF_OPEN full)
  uint64_t transitions = 0;
  int consecutive_failures = 0;
  /// Window modes: percent of failed / slow calls in the window, or -1 while the window holds
  /// fewer than minimum_calls. kConsecutive: over all calls so far (-1 before the first).
  double failure_rate = -1;
  double slow_call_rate = -1;
  int window_calls = 0;        // calls in the current window (window modes)
  /// OPEN: time until half-open; otherwise zero.
  Clock::Duration open_remaining{};
};

namespace detail {
class BreakerWindow;
inline constexpr unsigned kStripes = 8;
/// Assigns the calling thread its stripe (round robin) and returns it.
unsigned AssignThreadStripe() noexcept;
/// The calling thread's stripe + 1, or 0 before the first call. Constant-initialised, so
/// reading it is a plain TLS load (no guard, no wrapper call).
inline thread_local unsigned tls_stripe_plus_one = 0;
/// The counter stripe of the calling thread (0..kStripes-1).
inline unsigned ThisThreadStripe() noexcept {
  const unsigned s = tls_stripe_plus_one;
  return s != 0 ? s - 1 : AssignThreadStripe();
}
struct alignas(64) CounterStripe {
  std::atomic<uint64_t> successes{0};
  std::atomic<uint64_t> failures{0};
  std::atomic<uint64_t> slow{0};
  std::atomic<uint64_t> rejections{0};
};
}  // namespace detail

class CircuitBreaker {
 public:
  class Permit;
  using Listener = std::function<void(const BreakerTransition&)>;

  /// InvalidArgument naming the bad field, or OK.
  static Status Validate(const CircuitBreakerOptions& options);
  static Result<std::unique_ptr<CircuitBreaker>> Create(CircuitBreakerOptions options = {},
                                                       Clock& clock = SystemClock());
  /// Direct construction; `options` must be valid (a programmer error aborts with the reason).
  explicit CircuitBreaker(CircuitBreakerOptions options = {}, Clock& clock = SystemClock());
  ~CircuitBreaker();
  CircuitBreaker(const CircuitBreaker&) = delete;
  CircuitBreaker& operator=(const CircuitBreaker&) = delete;

  /// Permission for one call, or Unavailable (retryable) naming the breaker and when it will
  /// half-open. Never blocks. An OPEN breaker whose open_duration has passed half-opens here.
  Result<Permit> TryAcquire();

  /// Acquires, runs fn (returning Result<T>), records its outcome and returns it; a rejected
  /// call returns the rejection without running fn.
  template <class F>
  std::invoke_result_t<F&> Call(F&& fn);

  /// The current state; an OPEN breaker whose open_duration has passed half-opens here.
  BreakerState state() const;
  const std::string& name() const noexcept { return options_.name; }
  const CircuitBreakerOptions& options() const noexcept { return options_; }
  Clock& clock() const noexcept { return clock_; }
  CircuitBreakerStats stats() const;
  /// The seed's spelling of stats().
  CircuitBreakerStats get_stats() const { return stats(); }
  /// The last history_size transitions, oldest first.
  std::vector<BreakerTransition> history() const;

  // Operator overrides (each records a transition with `reason`).
  /// FORCED_OPEN: reject every call until Reset().
  void ForceOpen(std::string_view reason = "forced open by operator");
  /// DISABLED: let every call through and never trip, until Reset().
  void Disable(std::string_view reason = "disabled by operator");
  /// CLOSED with an empty window, from any state.
  void Reset(std::string_view reason = "reset by operator");

  /// Adds a listener for transitions; returns an id for RemoveListener().
  int AddListener(Listener listener);
  void RemoveListener(int id);

 private:
  friend class Permit;
  static constexpr uint64_t kStateMask = 0xff;
  static BreakerState StateOf(uint64_t word) noexcept { return static_cast<BreakerState>(word & kStateMask); }

  Result<Permit> AcquireSlow(uint64_t word);
  void OnSuccess(uint64_t ticket, Clock::TimePoint start) noexcept;
  void OnFailure(uint64_t ticket, Clock::TimePoint start, const Error* error) noexcept;
  void OnRelease(uint64_t ticket) noexcept;
  // Window / half-open / tripping bookkeeping for one outcome (takes mu_).
  void RecordSlow(uint64_t ticket, bool failure, bool slow) noexcept;
  bool IsSlow(Clock::TimePoint start) const noexcept;
  void MaybeHalfOpen() noexcept;
  // Caller holds mu_. Changes the state, records history, queues listener calls.
  void TransitionLocked(BreakerState to, std::string reason, Clock::TimePoint now);
  void DeliverTransitions();
  Error Rejection(uint64_t word) const;
  detail::CounterStripe& Stripe() const noexcept { return stripes_[detail::ThisThreadStripe()]; }

  const CircuitBreakerOptions options_;
  Clock& clock_;
  const bool fast_closed_;  // kConsecutive and no slow-call detection: lock-free success path
  const bool track_time_;   // slow_call_duration > 0

  // The state word: epoch (transition count) << 8 | state. Read on every TryAcquire().
  alignas(64) std::atomic<uint64_t> word_;
  std::atomic<int64_t> open_until_ns_{0};        // OPEN: clock time (ns since epoch) to half-open
  Clock::TimePoint half_open_since_{};           // guarded by mu_
  alignas(64) std::atomic<int> consecutive_failures_{0};
  mutable detail::CounterStripe stripes_[detail::kStripes];

  mutable std::mutex mu_;  // transitions, window, probes, history
  std::unique_ptr<detail::BreakerWindow> window_;
  int probes_permitted_ = 0;
  int probe_successes_ = 0;
  int probe_failures_ = 0;
  int probe_slow_ = 0;
  uint64_t transitions_ = 0;
  std::deque<BreakerTransition> history_;
  std::deque<BreakerTransition> pending_;  // transitions not yet delivered to listeners

  mutable std::recursive_mutex listener_mu_;  // serialises delivery; guards listeners_
  std::vector<std::pair<int, std::shared_ptr<Listener>>> listeners_;
  int next_listener_id_ = 1;

  metrics::Collector metrics_;  // declared last: removed before what it reads goes
};

/// Permission for one call. Movable, not copyable. Report the outcome exactly once with
/// Record(result), RecordSuccess() or RecordFailure(error); Release() gives the permission back
/// without an outcome (the call was never made). Dropping an unreported permit records a failure
/// (the call's fate is unknown — say, an exception unwound past it).
class CircuitBreaker::Permit {
 public:
  Permit(Permit&& other) noexcept
      : breaker_(std::exchange(other.breaker_, nullptr)), ticket_(other.ticket_), start_(other.start_) {}
  Permit& operator=(Permit&& other) noexcept {
    if (this != &other) {
      Drop();
      breaker_ = std::exchange(other.breaker_, nullptr);
      ticket_ = other.ticket_;
      start_ = other.start_;
    }
    return *this;
  }
  Permit(const Permit&) = delete;
  Permit& operator=(const Permit&) = delete;
  ~Permit() { Drop(); }

  void RecordSuccess() noexcept {
    if (CircuitBreaker* b = std::exchange(breaker_, nullptr)) b->OnSuccess(ticket_, start_);
  }
  /// A failure if the breaker's predicate says so, else a success.
  void RecordFailure(const Error& error) noexcept {
    if (CircuitBreaker* b = std::exchange(breaker_, nullptr)) b->OnFailure(ticket_, start_, &error);
  }
  /// Success or RecordFailure(error) by the result.
  template <class T>
  void Record(const Result<T>& result) noexcept {
    if (result) {
      RecordSuccess();
    } else {
      RecordFailure(result.error());
    }
  }
  /// Gives the permission back without an outcome (e.g. cancelled before the call was sent).
  void Release() noexcept {
    if (CircuitBreaker* b = std::exchange(breaker_, nullptr)) b->OnRelease(ticket_);
  }
  /// Whether an outcome is still owed.
  bool pending() const noexcept { return breaker_ != nullptr; }
  /// The state the breaker was in when this permit was granted (kHalfOpen = a probe).
  BreakerState granted_in() const noexcept { return StateOf(ticket_); }

 private:
  friend class CircuitBreaker;
  Permit(CircuitBreaker* b, uint64_t ticket, Clock::TimePoint start) noexcept
      : breaker_(b), ticket_(ticket), start_(start) {}
  void Drop() noexcept {
    if (CircuitBreaker* b = std::exchange(breaker_, nullptr)) b->OnFailure(ticket_, start_, nullptr);
  }
  CircuitBreaker* breaker_;
  uint64_t ticket_;
  Clock::TimePoint start_;
};

// ---- inline fast paths ----

inline Result<CircuitBreaker::Permit> CircuitBreaker::TryAcquire() {
  const uint64_t word = word_.load(std::memory_order_acquire);
  const BreakerState s = StateOf(word);
  if (s == BreakerState::kClosed || s == BreakerState::kDisabled) [[likely]] {
    return Permit(this, word, track_time_ ? clock_.Now() : Clock::TimePoint{});
  }
  return AcquireSlow(word);
}

inline void CircuitBreaker::OnSuccess(uint64_t ticket, Clock::TimePoint start) noexcept {
  const BreakerState s = StateOf(ticket);
  if (fast_closed_ && (s == BreakerState::kClosed || s == BreakerState::kDisabled)) [[likely]] {
    Stripe().successes.fetch_add(1, std::memory_order_relaxed);
    // Only write the shared line when there is something to reset (keeps it shared-clean).
    if (s == BreakerState::kClosed && consecutive_failures_.load(std::memory_order_relaxed) != 0 &&
        word_.load(std::memory_order_relaxed) == ticket) {
      consecutive_failures_.store(0, std::memory_order_relaxed);
    }
    return;
  }
  const bool slow = track_time_ && IsSlow(start);
  detail::CounterStripe& st = Stripe();
  st.successes.fetch_add(1, std::memory_order_relaxed);
  if (slow) st.slow.fetch_add(1, std::memory_order_relaxed);
  if (s == BreakerState::kDisabled) return;
  RecordSlow(ticket, /*failure=*/false, slow);
}

template <class F>
std::invoke_result_t<F&> CircuitBreaker::Call(F&& fn) {
  using R = std::invoke_result_t<F&>;
  Result<Permit> permit = TryAcquire();
  if (!permit) return R(std::move(permit).error());
  R result = fn();
  permit->Record(result);
  return result;
}

}  // namespace esper::resilience
