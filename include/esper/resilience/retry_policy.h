// esper/resilience/retry_policy.h — when to retry, how long to wait, and a Retry() helper.
//
// A RetryPolicy decides, for one failed attempt, whether to try again and after what delay:
//  * only errors whose retryable bit is set (esper::Error::retryable(); override with `retry_on`),
//  * only calls that are safe to repeat: a call marked non-idempotent (an HTTP POST, say) is not
//    retried unless the caller says it is safe (RetryCallOptions::idempotent = true, which the
//    http layer sets for GET/HEAD/PUT/DELETE/OPTIONS or when told) or the policy allows it,
//  * at most `max_attempts` attempts in all,
//  * exponential backoff from `base_delay` capped at `max_delay`, with full jitter by default
//    (delay of retry n, n = 1, 2, … is uniform in [0, min(max_delay, base_delay * 2^(n-1))]),
//    or decorrelated jitter (uniform in [base_delay, 3 * previous delay], capped), or none,
//  * a server's Retry-After (seconds or an HTTP-date, see ParseRetryAfter) replaces the backoff,
//    capped at `max_retry_after`,
//  * never sleeping past the Deadline: if the next delay would end at or after the deadline the
//    call stops now with DeadlineExceeded saying how many attempts were made,
//  * never beyond a shared RetryBudget (retry_budget.h), so retries cannot multiply load.
//
// The RNG is deterministic when `seed` is non-zero: the same seed and the same sequence of
// Start() calls give the same delays (tests, reproducible fault runs).
//
// Blocking use — Retry() runs fn (returning Result<T>) and sleeps between attempts through the
// Clock (a FakeClock in tests):
//
//   using namespace std::chrono_literals;
//   namespace res = esper::resilience;
//   auto policy = res::RetryPolicy::Create({.max_attempts = 4, .base_delay = 50ms});
//   res::RetryBudget budget;                                   // AWS standard-mode bucket
//   auto deadline = res::Deadline::After(2s);
//   esper::Result<std::string> body = res::Retry(*policy, &budget, deadline, esper::SystemClock(),
//       [&](res::Attempt& attempt) -> esper::Result<std::string> {
//         auto r = FetchOnce(url, attempt.deadline());           // per-try deadline
//         if (!r && r.error().http_status() == 503) attempt.SetRetryAfter(hint);  // optional
//         return r;
//       });
//
// Event-loop use (no thread may block) — drive a RetryState by hand:
//
//   auto state = policy.Start(&budget, deadline, {.idempotent = method_is_idempotent});
//   ... attempt fails with `err` ...
//   esper::Result<esper::Clock::Duration> next = state.OnFailure(err, retry_after_hint);
//   if (!next) return finish(next.error());   // why we stopped: the last error, or
//                                             // DeadlineExceeded / budget exhausted
//   schedule_timer(*next, start_next_attempt);
//   ... attempt succeeds ...   state.OnSuccess();
//
// Thread safety: RetryPolicy is immutable after Create() and may be shared by any number of
// threads (Start() is lock-free). A RetryState belongs to one logical call: use it from one thread
// at a time. Retry() blocks the calling thread in Clock::SleepFor between attempts.
// Ownership: the RetryBudget (optional, may be null) and the Deadline's Clock must outlive every
// RetryState using them.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>
#include <type_traits>
#include <utility>

#include "esper/core/clock.h"
#include "esper/core/result.h"
#include "esper/resilience/deadline.h"
#include "esper/resilience/retry_budget.h"

namespace esper::resilience {

enum class Jitter : uint8_t {
  kFull,          // uniform in [0, min(cap, base * 2^(n-1))] — the default (AWS "full jitter")
  kDecorrelated,  // uniform in [base, 3 * previous], capped (AWS "decorrelated jitter")
  kNone,          // min(cap, base * 2^(n-1)) exactly; for tests and callers that must not jitter
};

std::string_view JitterName(Jitter jitter) noexcept;

struct RetryOptions {
  /// Attempts in all, the first included (AWS standard mode: 3). 1 = never retry. 1..100.
  int max_attempts = 3;
  /// Backoff base (the first retry waits up to this). > 0.
  Clock::Duration base_delay = std::chrono::milliseconds(100);
  /// Backoff cap (AWS: 20 s). >= base_delay.
  Clock::Duration max_delay = std::chrono::seconds(20);
  Jitter jitter = Jitter::kFull;
  /// Use a server's Retry-After hint (Attempt::SetRetryAfter / OnFailure's hint) as the delay.
  bool honor_retry_after = true;
  /// A Retry-After above this is cut to this. >= 0.
  Clock::Duration max_retry_after = std::chrono::seconds(30);
  /// Per-attempt limit: Attempt::deadline() = overall deadline.Child(per_try_timeout). 0 = none.
  Clock::Duration per_try_timeout = Clock::Duration::zero();
  /// Retry calls marked non-idempotent too (RetryCallOptions::idempotent = false). Off: a POST
  /// that may have reached the server is not sent twice unless the caller says it is safe.
  bool retry_non_idempotent = false;
  /// Which errors are worth retrying. Empty (the default) = `error.retryable()`.
  std::function<bool(const Error&)> retry_on{};
  /// RNG seed for the jitter. 0 = seeded from std::random_device (non-reproducible).
  uint64_t seed = 0;
};

/// What one call tells the policy about itself.
struct RetryCallOptions {
  /// Whether repeating the call is safe (GET, PUT, DELETE… or a POST the caller vouches for).
  bool idempotent = true;
};

/// A small deterministic RNG (splitmix64) for jitter; not for cryptography.
class JitterRng {
 public:
  explicit JitterRng(uint64_t seed) noexcept : state_(seed) {}
  uint64_t Next() noexcept;
  /// Uniform in [lo, hi] (inclusive); lo when hi <= lo.
  int64_t UniformInclusive(int64_t lo, int64_t hi) noexcept;

 private:
  uint64_t state_;
};

class RetryState;

class RetryPolicy {
 public:
  /// InvalidArgument naming the bad field, or OK.
  static Status Validate(const RetryOptions& options);
  static Result<RetryPolicy> Create(RetryOptions options = {});
  /// Direct construction; `options` must be valid (a programmer error aborts with the reason).
  explicit RetryPolicy(RetryOptions options = {});

  RetryPolicy(const RetryPolicy& other);
  RetryPolicy& operator=(const RetryPolicy& other);

  const RetryOptions& options() const noexcept { return options_; }

  /// Whether `error` is of a kind this policy retries (ignores attempts, budget and deadline).
  bool ShouldRetry(const Error& error, const RetryCallOptions& call = {}) const;

  /// The jittered backoff before retry number `retry` (1 = the first retry), given the previous
  /// delay (decorrelated jitter uses it; pass base_delay for the first retry).
  Clock::Duration Backoff(int retry, Clock::Duration previous, JitterRng& rng) const noexcept;

  /// Begins one logical call: the first attempt is number 1. Registers the call with `budget`
  /// (may be null = no budget) until the RetryState is destroyed.
  RetryState Start(RetryBudget* budget, const Deadline& deadline = Deadline::Infinite(),
                   RetryCallOptions call = {}) const;

 private:
  uint64_t NextSeed() const noexcept;

  RetryOptions options_;
  uint64_t seed_;
  mutable std::atomic<uint64_t> sequence_{0};
};

/// The retry bookkeeping of one logical call (see the event-loop example above). Movable.
class RetryState {
 public:
  RetryState(RetryState&& other) noexcept;
  RetryState& operator=(RetryState&& other) noexcept;
  RetryState(const RetryState&) = delete;
  RetryState& operator=(const RetryState&) = delete;
  ~RetryState();

  /// Attempts started so far (1 right after Start()).
  int attempts() const noexcept { return attempts_; }
  /// Retries granted so far (attempts() - 1).
  int retries() const noexcept { return attempts_ - 1; }
  const Deadline& deadline() const noexcept { return deadline_; }
  /// The deadline of the current attempt: deadline().Child(per_try_timeout).
  Deadline AttemptDeadline() const { return deadline_.Child(policy_->options().per_try_timeout); }
  /// The delay granted by the last successful OnFailure() (zero before any).
  Clock::Duration last_delay() const noexcept { return last_delay_; }

  /// The current attempt failed with `error`. Returns the delay to wait before the next attempt
  /// (which then counts as started), or the error to give the caller:
  ///  * `error` itself when it is not retryable or the call is not safe to repeat;
  ///  * `error` prefixed "gave up after N attempts" when max_attempts is reached;
  ///  * `error` prefixed "retry budget exhausted after N attempts (…)" when the budget refuses;
  ///  * DeadlineExceeded "deadline exceeded after N attempts …; last error: …" when the
  ///    deadline has passed or the delay would reach it (no sleep past a deadline).
  /// `retry_after` is the server's hint, if any (capped at max_retry_after).
  Result<Clock::Duration> OnFailure(const Error& error,
                                    std::optional<Clock::Duration> retry_after = std::nullopt);
  /// The current attempt succeeded (refunds the budget). Call once, at the end.
  void OnSuccess() noexcept;

 private:
  friend class RetryPolicy;
  RetryState(const RetryPolicy* policy, RetryBudget* budget, Deadline deadline,
             RetryCallOptions call, uint64_t seed);
  void FinishAttempt(bool success) noexcept;

  const RetryPolicy* policy_;
  RetryBudget* budget_;
  Deadline deadline_;
  RetryCallOptions call_;
  JitterRng rng_;
  int attempts_ = 1;
  int current_cost_ = 0;      // budget cost of the current attempt (0 = first attempt)
  bool attempt_open_ = true;  // the current attempt has not reported yet
  Clock::Duration last_delay_{};
};

/// What Retry() tells fn about the attempt it is making.
class Attempt {
 public:
  Attempt(int number, Deadline deadline) : number_(number), deadline_(deadline) {}
  /// 1 for the first attempt.
  int number() const noexcept { return number_; }
  /// This attempt's deadline (the overall one, or sooner with per_try_timeout). fn should pass it
  /// down (e.g. as the HTTP request timeout).
  const Deadline& deadline() const noexcept { return deadline_; }
  /// The server asked to wait this long before retrying (HTTP Retry-After). Replaces the backoff.
  void SetRetryAfter(Clock::Duration d) noexcept { retry_after_ = d; }
  std::optional<Clock::Duration> retry_after() const noexcept { return retry_after_; }

 private:
  int number_;
  Deadline deadline_;
  std::optional<Clock::Duration> retry_after_;
};

/// Runs fn until it succeeds or the policy, the budget (may be null) or the deadline says stop;
/// sleeps between attempts with clock.SleepFor (pass the deadline's clock). fn is either
/// `Result<T>()` or `Result<T>(Attempt&)`. Returns fn's success, or the error OnFailure() gave.
/// A deadline already expired before the first attempt gives DeadlineExceeded without calling fn.
template <class F>
auto Retry(const RetryPolicy& policy, RetryBudget* budget, const Deadline& deadline, Clock& clock,
           F&& fn, RetryCallOptions call = {}) {
  constexpr bool kTakesAttempt = std::is_invocable_v<F&, Attempt&>;
  using R = typename std::conditional_t<kTakesAttempt, std::invoke_result<F&, Attempt&>,
                                        std::invoke_result<F&>>::type;
  if (deadline.expired()) return R(deadline.ExceededError("before the first attempt (0 attempts made)"));
  RetryState state = policy.Start(budget, deadline, call);
  for (;;) {
    Attempt attempt(state.attempts(), state.AttemptDeadline());
    R result = [&]() -> R {
      if constexpr (kTakesAttempt) {
        return fn(attempt);
      } else {
        return fn();
      }
    }();
    if (result) {
      state.OnSuccess();
      return result;
    }
    Result<Clock::Duration> delay = state.OnFailure(result.error(), attempt.retry_after());
    if (!delay) return R(std::move(delay).error());
    if (*delay > Clock::Duration::zero()) clock.SleepFor(*delay);
  }
}

/// Parses an HTTP Retry-After value: delta-seconds ("120") or an HTTP-date
/// ("Wed, 21 Oct 2015 07:28:00 GMT", relative to `now`; a past date gives zero). Empty on
/// anything else (garbage, negative, absurdly large).
std::optional<Clock::Duration> ParseRetryAfter(
    std::string_view value,
    std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

}  // namespace esper::resilience
