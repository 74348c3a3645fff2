#include "esper/resilience/circuit_breaker.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <optional>

#include "breaker_window.h"
#include "esper/resilience/deadline.h"
#include "metrics.h"

namespace esper::resilience {
namespace {

int64_t Nanos(Clock::TimePoint t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

double Percent(int64_t part, int64_t whole) {
  return whole == 0 ? 0.0 : 100.0 * static_cast<double>(part) / static_cast<double>(whole);
}

// Breakers whose listeners this thread is running now (a listener that makes its own breaker
// transition must not re-enter delivery; the outer loop delivers the new transition).
thread_local std::vector<const CircuitBreaker*> tls_delivering;

}  // namespace

namespace detail {

unsigned AssignThreadStripe() noexcept {
  static std::atomic<unsigned> next{0};
  const unsigned stripe = next.fetch_add(1, std::memory_order_relaxed) % kStripes;
  tls_stripe_plus_one = stripe + 1;
  return stripe;
}

}  // namespace detail

std::string_view BreakerStateName(BreakerState state) noexcept {
  switch (state) {
    case BreakerState::kClosed: return "CLOSED";
    case BreakerState::kOpen: return "OPEN";
    case BreakerState::kHalfOpen: return "HALF_OPEN";
    case BreakerState::kDisabled: return "DISABLED";
    case BreakerState::kForcedOpen: return "FORCED_OPEN";
  }
  return "UNKNOWN";
}

bool DefaultIsFailure(const Error& error) noexcept {
  return error.retryable() || error.http_status() >= 500;
}

Status CircuitBreaker::Validate(const CircuitBreakerOptions& o) {
  auto bad = [&](std::string msg) {
    return Status(Error::InvalidArgument(fmt::format("CircuitBreakerOptions '{}': {}", o.name, msg)));
  };
  if (o.name.empty()) return bad("name must not be empty");
  if (o.window != WindowType::kConsecutive && o.window != WindowType::kCountBased &&
      o.window != WindowType::kTimeBased)
    return bad("window is not kConsecutive, kCountBased or kTimeBased");
  if (o.failure_threshold < 1) return bad(fmt::format("failure_threshold must be >= 1, got {}", o.failure_threshold));
  if (o.open_duration <= Clock::Duration::zero())
    return bad(fmt::format("open_duration must be > 0, got {}", FormatDuration(o.open_duration)));
  if (o.window_size < 1 || o.window_size > 1'000'000)
    return bad(fmt::format("window_size must be in [1, 1000000], got {}", o.window_size));
  if (o.time_buckets < 1 || o.time_buckets > 10'000)
    return bad(fmt::format("time_buckets must be in [1, 10000], got {}", o.time_buckets));
  if (o.window_duration < Clock::Duration(o.time_buckets))
    return bad(fmt::format("window_duration ({}) must be at least time_buckets ({}) ns",
                           FormatDuration(o.window_duration), o.time_buckets));
  if (o.minimum_calls < 1) return bad(fmt::format("minimum_calls must be >= 1, got {}", o.minimum_calls));
  if (!(o.failure_rate_threshold > 0.0 && o.failure_rate_threshold <= 100.0))
    return bad(fmt::format("failure_rate_threshold must be in (0, 100], got {}", o.failure_rate_threshold));
  if (!(o.slow_call_rate_threshold > 0.0 && o.slow_call_rate_threshold <= 100.0))
    return bad(fmt::format("slow_call_rate_threshold must be in (0, 100], got {}", o.slow_call_rate_threshold));
  if (o.slow_call_duration < Clock::Duration::zero())
    return bad(fmt::format("slow_call_duration must be >= 0 (0 = off), got {}", FormatDuration(o.slow_call_duration)));
  if (o.half_open_max_calls < 1)
    return bad(fmt::format("half_open_max_calls must be >= 1, got {}", o.half_open_max_calls));
  if (o.half_open_max_wait < Clock::Duration::zero())
    return bad(fmt::format("half_open_max_wait must be >= 0 (0 = forever), got {}",
                           FormatDuration(o.half_open_max_wait)));
  if (o.history_size < 0 || o.history_size > 100'000)
    return bad(fmt::format("history_size must be in [0, 100000], got {}", o.history_size));
  return OkStatus();
}

Result<std::unique_ptr<CircuitBreaker>> CircuitBreaker::Create(CircuitBreakerOptions options, Clock& clock) {
  ESPER_RETURN_IF_ERROR(Validate(options));
  return std::make_unique<CircuitBreaker>(std::move(options), clock);
}

namespace {
const CircuitBreakerOptions& CheckedOptions(const CircuitBreakerOptions& o) {
  if (Status s = CircuitBreaker::Validate(o); !s) {
    std::fprintf(stderr, "esper::resilience::CircuitBreaker: invalid options: %s\n", s.error().ToString().c_str());
    std::abort();
  }
  return o;
}
}  // namespace

CircuitBreaker::CircuitBreaker(CircuitBreakerOptions options, Clock& clock)
    : options_(std::move(CheckedOptions(options))),
      clock_(clock),
      fast_closed_(options_.window == WindowType::kConsecutive &&
                   options_.slow_call_duration == Clock::Duration::zero()),
      track_time_(options_.slow_call_duration > Clock::Duration::zero()),
      word_(static_cast<uint64_t>(BreakerState::kClosed)) {
  if (options_.window == WindowType::kCountBased) {
    window_ = std::make_unique<detail::CountWindow>(options_.window_size);
  } else if (options_.window == WindowType::kTimeBased) {
    window_ = std::make_unique<detail::TimeWindow>(options_.window_duration, options_.time_buckets);
  }
  if (options_.metrics) metrics_ = detail::PublishBreaker(*this, *options_.metrics);
}

CircuitBreaker::~CircuitBreaker() = default;

bool CircuitBreaker::IsSlow(Clock::TimePoint start) const noexcept {
  return clock_.Now() - start > options_.slow_call_duration;
}

Error CircuitBreaker::Rejection(uint64_t word) const {
  switch (StateOf(word)) {
    case BreakerState::kForcedOpen:
      return Error::Unavailable(fmt::format("circuit breaker '{}' is forced open by an operator", name()));
    case BreakerState::kHalfOpen:
      return Error::Unavailable(fmt::format(
          "circuit breaker '{}' is half-open and waiting for the outcome of its {} probe call{}",
          name(), options_.half_open_max_calls, options_.half_open_max_calls == 1 ? "" : "s"));
    default: {
      const int64_t left = open_until_ns_.load(std::memory_order_acquire) - Nanos(clock_.Now());
      return Error::Unavailable(fmt::format("circuit breaker '{}' is open; it half-opens in {}", name(),
                                            FormatDuration(std::chrono::nanoseconds(std::max<int64_t>(0, left)))));
    }
  }
}

Result<CircuitBreaker::Permit> CircuitBreaker::AcquireSlow(uint64_t word) {
  for (;;) {
    const BreakerState s = StateOf(word);
    if (s == BreakerState::kClosed || s == BreakerState::kDisabled) {
      return Permit(this, word, track_time_ ? clock_.Now() : Clock::TimePoint{});
    }
    if (s == BreakerState::kForcedOpen) {
      Stripe().rejections.fetch_add(1, std::memory_order_relaxed);
      return Rejection(word);
    }
    const Clock::TimePoint now = clock_.Now();
    if (s == BreakerState::kOpen && Nanos(now) < open_until_ns_.load(std::memory_order_acquire)) {
      Stripe().rejections.fetch_add(1, std::memory_order_relaxed);
      return Rejection(word);
    }
    std::unique_lock<std::mutex> lock(mu_);
    const uint64_t current = word_.load(std::memory_order_relaxed);
    if (current != word) {  // someone else moved the state; look again
      word = current;
      continue;
    }
    if (s == BreakerState::kOpen) {
      TransitionLocked(BreakerState::kHalfOpen,
                       fmt::format("open for {}; letting {} probe call{} through",
                                   FormatDuration(options_.open_duration), options_.half_open_max_calls,
                                   options_.half_open_max_calls == 1 ? "" : "s"),
                       now);
      word = word_.load(std::memory_order_relaxed);
    }
    if (probes_permitted_ >= options_.half_open_max_calls &&
        options_.half_open_max_wait > Clock::Duration::zero() &&
        now - half_open_since_ >= options_.half_open_max_wait) {
      TransitionLocked(BreakerState::kOpen,
                       fmt::format("{} of {} probe outcome{} missing after {} half-open",
                                   options_.half_open_max_calls - probe_successes_ - probe_failures_,
                                   options_.half_open_max_calls,
                                   options_.half_open_max_calls == 1 ? "" : "s",
                                   FormatDuration(now - half_open_since_)),
                       now);
      word = word_.load(std::memory_order_relaxed);
      lock.unlock();
      DeliverTransitions();
      Stripe().rejections.fetch_add(1, std::memory_order_relaxed);
      return Rejection(word);
    }
    if (probes_permitted_ < options_.half_open_max_calls) {
      ++probes_permitted_;
      Permit permit(this, word, track_time_ ? now : Clock::TimePoint{});
      lock.unlock();
      DeliverTransitions();
      return permit;
    }
    lock.unlock();
    DeliverTransitions();
    Stripe().rejections.fetch_add(1, std::memory_order_relaxed);
    return Rejection(word);
  }
}

void CircuitBreaker::OnFailure(uint64_t ticket, Clock::TimePoint start, const Error* error) noexcept {
  const auto& pred = options_.is_failure;
  const bool failure = error == nullptr || (pred ? pred(*error) : DefaultIsFailure(*error));
  if (!failure) {
    OnSuccess(ticket, start);
    return;
  }
  const bool slow = track_time_ && IsSlow(start);
  detail::CounterStripe& st = Stripe();
  st.failures.fetch_add(1, std::memory_order_relaxed);
  if (slow) st.slow.fetch_add(1, std::memory_order_relaxed);
  const BreakerState s = StateOf(ticket);
  if (s == BreakerState::kDisabled) return;
  if (s == BreakerState::kClosed && !window_) {
    // Consecutive mode: count without the lock; only the failure that trips takes it.
    if (word_.load(std::memory_order_acquire) != ticket) return;  // stale
    const int n = consecutive_failures_.fetch_add(1, std::memory_order_acq_rel) + 1;
    if (n < options_.failure_threshold) return;
  }
  RecordSlow(ticket, /*failure=*/true, slow);
}

void CircuitBreaker::OnRelease(uint64_t ticket) noexcept {
  if (StateOf(ticket) != BreakerState::kHalfOpen) return;
  std::lock_guard<std::mutex> lock(mu_);
  if (word_.load(std::memory_order_relaxed) == ticket && probes_permitted_ > 0) --probes_permitted_;
}

void CircuitBreaker::RecordSlow(uint64_t ticket, bool failure, bool slow) noexcept {
  bool transitioned = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const uint64_t transitions_before = transitions_;
    if (word_.load(std::memory_order_relaxed) != ticket) return;  // outcome of an older state
    // The clock is read only when needed (a time window, or a transition): on some machines a
    // read costs ~100 ns, more than the rest of this function.
    std::optional<Clock::TimePoint> now_cache;
    auto now = [&] {
      if (!now_cache) now_cache = clock_.Now();
      return *now_cache;
    };
    const auto& o = options_;
    const BreakerState s = StateOf(ticket);
    if (s == BreakerState::kClosed) {
      if (!window_) {
        if (!failure) {
          consecutive_failures_.store(0, std::memory_order_relaxed);
        } else {
          // The failure was already counted by OnFailure (lock-free); judge it here.
          const int n = consecutive_failures_.load(std::memory_order_relaxed);
          if (n >= o.failure_threshold) {
            TransitionLocked(BreakerState::kOpen, fmt::format("{} consecutive failures", n), now());
          }
        }
      } else {
        window_->Record(failure, slow, o.window == WindowType::kTimeBased ? now() : Clock::TimePoint{});
        const detail::WindowTotals t = window_->Totals(o.window == WindowType::kTimeBased ? now() : Clock::TimePoint{});
        const int64_t min_calls =
            o.window == WindowType::kCountBased ? std::min(o.minimum_calls, o.window_size) : o.minimum_calls;
        // In a count window a plain success cannot raise either rate (it displaces the oldest
        // call), so it is judged only when it completes minimum_calls. A time window is judged
        // on every call, since old successes age out.
        const bool can_trip = failure || slow || o.window == WindowType::kTimeBased || t.calls == min_calls;
        if (can_trip && t.calls >= min_calls) {
          const double fr = Percent(t.failures, t.calls);
          const double sr = Percent(t.slow, t.calls);
          if (fr >= o.failure_rate_threshold) {
            TransitionLocked(BreakerState::kOpen,
                             fmt::format("failure rate {:.1f}% >= {:.1f}% over {} calls", fr,
                                         o.failure_rate_threshold, t.calls),
                             now());
          } else if (sr >= o.slow_call_rate_threshold) {
            TransitionLocked(BreakerState::kOpen,
                             fmt::format("slow-call rate {:.1f}% >= {:.1f}% over {} calls (slower than {})",
                                         sr, o.slow_call_rate_threshold, t.calls,
                                         FormatDuration(o.slow_call_duration)),
                             now());
          }
        }
      }
    } else if (s == BreakerState::kHalfOpen) {
      (failure ? probe_failures_ : probe_successes_)++;
      probe_slow_ += slow ? 1 : 0;
      const int done = probe_failures_ + probe_successes_;
      if (!window_) {
        if (failure) {
          TransitionLocked(BreakerState::kOpen, "a probe call failed while half-open", now());
        } else if (probe_successes_ >= o.half_open_max_calls) {
          TransitionLocked(BreakerState::kClosed,
                           fmt::format("{} probe call{} succeeded", probe_successes_,
                                       probe_successes_ == 1 ? "" : "s"),
                           now());
        }
      } else if (done >= o.half_open_max_calls) {
        const double fr = Percent(probe_failures_, done);
        const double sr = Percent(probe_slow_, done);
        if (fr >= o.failure_rate_threshold) {
          TransitionLocked(BreakerState::kOpen,
                           fmt::format("probe failure rate {:.1f}% >= {:.1f}% over {} probes", fr,
                                       o.failure_rate_threshold, done),
                           now());
        } else if (sr >= o.slow_call_rate_threshold) {
          TransitionLocked(BreakerState::kOpen,
                           fmt::format("probe slow-call rate {:.1f}% >= {:.1f}% over {} probes", sr,
                                       o.slow_call_rate_threshold, done),
                           now());
        } else {
          TransitionLocked(BreakerState::kClosed,
                           fmt::format("probe failure rate {:.1f}% < {:.1f}% over {} probes", fr,
                                       o.failure_rate_threshold, done),
                           now());
        }
      }
    }
    transitioned = transitions_ != transitions_before;
  }
  if (transitioned) DeliverTransitions();  // skip the second lock on the common path
}

void CircuitBreaker::TransitionLocked(BreakerState to, std::string reason, Clock::TimePoint now) {
  const uint64_t old = word_.load(std::memory_order_relaxed);
  const BreakerState from = StateOf(old);
  if (to == BreakerState::kOpen) {
    open_until_ns_.store(Nanos(now + options_.open_duration), std::memory_order_release);
  }
  if (to == BreakerState::kClosed) {
    if (window_) window_->Clear();
  }
  consecutive_failures_.store(0, std::memory_order_relaxed);
  probes_permitted_ = probe_successes_ = probe_failures_ = probe_slow_ = 0;
  if (to == BreakerState::kHalfOpen) half_open_since_ = now;
  const uint64_t epoch = (old >> 8) + 1;
  word_.store((epoch << 8) | static_cast<uint64_t>(to), std::memory_order_release);
  ++transitions_;
  BreakerTransition t{from, to, now, std::move(reason)};
  if (options_.history_size > 0) {
    if (history_.size() >= static_cast<size_t>(options_.history_size)) history_.pop_front();
    history_.push_back(t);
  }
  pending_.push_back(std::move(t));
}

void CircuitBreaker::DeliverTransitions() {
  if (std::find(tls_delivering.begin(), tls_delivering.end(), this) != tls_delivering.end()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (pending_.empty()) return;
  }
  tls_delivering.push_back(this);
  {
    std::lock_guard<std::recursive_mutex> deliver(listener_mu_);
    for (;;) {
      BreakerTransition t;
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (pending_.empty()) break;
        t = std::move(pending_.front());
        pending_.pop_front();
      }
      const auto listeners = listeners_;  // a listener may add or remove listeners
      for (const auto& [id, fn] : listeners) (*fn)(t);
    }
  }
  tls_delivering.pop_back();
}

void CircuitBreaker::MaybeHalfOpen() noexcept {
  const uint64_t word = word_.load(std::memory_order_acquire);
  if (StateOf(word) != BreakerState::kOpen) return;
  const Clock::TimePoint now = clock_.Now();
  if (Nanos(now) < open_until_ns_.load(std::memory_order_acquire)) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (word_.load(std::memory_order_relaxed) != word) return;
    TransitionLocked(BreakerState::kHalfOpen,
                     fmt::format("open for {}; letting {} probe call{} through",
                                 FormatDuration(options_.open_duration), options_.half_open_max_calls,
                                 options_.half_open_max_calls == 1 ? "" : "s"),
                     now);
  }
  DeliverTransitions();
}

BreakerState CircuitBreaker::state() const {
  const_cast<CircuitBreaker*>(this)->MaybeHalfOpen();
  return StateOf(word_.load(std::memory_order_acquire));
}

CircuitBreakerStats CircuitBreaker::stats() const {
  const_cast<CircuitBreaker*>(this)->MaybeHalfOpen();
  CircuitBreakerStats s;
  s.name = options_.name;
  for (const detail::CounterStripe& st : stripes_) {
    s.successes += st.successes.load(std::memory_order_relaxed);
    s.failures += st.failures.load(std::memory_order_relaxed);
    s.slow_calls += st.slow.load(std::memory_order_relaxed);
    s.rejections += st.rejections.load(std::memory_order_relaxed);
  }
  s.calls = s.successes + s.failures;
  const Clock::TimePoint now = clock_.Now();
  std::lock_guard<std::mutex> lock(mu_);
  const uint64_t word = word_.load(std::memory_order_relaxed);
  s.state = StateOf(word);
  s.transitions = transitions_;
  s.consecutive_failures = consecutive_failures_.load(std::memory_order_relaxed);
  if (window_) {
    const detail::WindowTotals t = window_->Totals(now);
    s.window_calls = static_cast<int>(t.calls);
    const int64_t min_calls = options_.window == WindowType::kCountBased
                                  ? std::min(options_.minimum_calls, options_.window_size)
                                  : options_.minimum_calls;
    if (t.calls >= min_calls) {
      s.failure_rate = Percent(t.failures, t.calls);
      s.slow_call_rate = Percent(t.slow, t.calls);
    }
  } else if (s.calls > 0) {
    s.failure_rate = Percent(static_cast<int64_t>(s.failures), static_cast<int64_t>(s.calls));
    s.slow_call_rate = Percent(static_cast<int64_t>(s.slow_calls), static_cast<int64_t>(s.calls));
  }
  if (s.state == BreakerState::kOpen) {
    const int64_t left = open_until_ns_.load(std::memory_order_relaxed) - Nanos(now);
    s.open_remaining = std::chrono::nanoseconds(std::max<int64_t>(0, left));
  }
  return s;
}

std::vector<BreakerTransition> CircuitBreaker::history() const {
  std::lock_guard<std::mutex> lock(mu_);
  return {history_.begin(), history_.end()};
}

void CircuitBreaker::ForceOpen(std::string_view reason) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (StateOf(word_.load(std::memory_order_relaxed)) != BreakerState::kForcedOpen)
      TransitionLocked(BreakerState::kForcedOpen, std::string(reason), clock_.Now());
  }
  DeliverTransitions();
}

void CircuitBreaker::Disable(std::string_view reason) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (StateOf(word_.load(std::memory_order_relaxed)) != BreakerState::kDisabled)
      TransitionLocked(BreakerState::kDisabled, std::string(reason), clock_.Now());
  }
  DeliverTransitions();
}

void CircuitBreaker::Reset(std::string_view reason) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (StateOf(word_.load(std::memory_order_relaxed)) != BreakerState::kClosed) {
      TransitionLocked(BreakerState::kClosed, std::string(reason), clock_.Now());
    } else {
      if (window_) window_->Clear();
      consecutive_failures_.store(0, std::memory_order_relaxed);
    }
  }
  DeliverTransitions();
}

int CircuitBreaker::AddListener(Listener listener) {
  std::lock_guard<std::recursive_mutex> lock(listener_mu_);
  const int id = next_listener_id_++;
  listeners_.emplace_back(id, std::make_shared<Listener>(std::move(listener)));
  return id;
}

void CircuitBreaker::RemoveListener(int id) {
  std::lock_guard<std::recursive_mutex> lock(listener_mu_);
  std::erase_if(listeners_, [id](const auto& p) { return p.first == id; });
}

}  // namespace esper::resilience
