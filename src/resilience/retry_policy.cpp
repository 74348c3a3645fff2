#include "esper/resilience/retry_policy.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <random>
#include <string>

namespace esper::resilience {

std::string_view JitterName(Jitter jitter) noexcept {
  switch (jitter) {
    case Jitter::kFull: return "full";
    case Jitter::kDecorrelated: return "decorrelated";
    case Jitter::kNone: return "none";
  }
  return "unknown";
}

// ---- JitterRng ----

uint64_t JitterRng::Next() noexcept {
  // splitmix64 (Vigna): passes BigCrush, one add and three multiply-xorshifts.
  uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

int64_t JitterRng::UniformInclusive(int64_t lo, int64_t hi) noexcept {
  if (hi <= lo) return lo;
  const auto span = static_cast<uint64_t>(hi - lo) + 1;  // may wrap to 0 for the full range
  if (span == 0) return static_cast<int64_t>(Next());
  // Lemire's multiply-shift; the bias is below 2^-64 * span, irrelevant for delays.
  __extension__ using U128 = unsigned __int128;
  const U128 wide = static_cast<U128>(Next()) * span;
  return lo + static_cast<int64_t>(static_cast<uint64_t>(wide >> 64));
}

// ---- RetryPolicy ----

namespace {
// Seeds for policies created without one: std::random_device once per process (it may read
// /dev/urandom), then a distinct stream per policy, so creating a policy per request stays cheap.
uint64_t UnseededPolicySeed() {
  static const uint64_t base = [] {
    std::random_device rd;
    return (static_cast<uint64_t>(rd()) << 32) ^ rd();
  }();
  static std::atomic<uint64_t> counter{0};
  JitterRng mix(base ^ (counter.fetch_add(1, std::memory_order_relaxed) * 0x9E3779B97F4A7C15ULL));
  const uint64_t seed = mix.Next();
  return seed != 0 ? seed : 1;
}
}  // namespace

Status RetryPolicy::Validate(const RetryOptions& o) {
  auto bad = [](std::string msg) { return Status(Error::InvalidArgument("RetryOptions: " + msg)); };
  if (o.max_attempts < 1 || o.max_attempts > 100)
    return bad(fmt::format("max_attempts must be in [1, 100], got {}", o.max_attempts));
  if (o.base_delay <= Clock::Duration::zero())
    return bad(fmt::format("base_delay must be > 0, got {}", FormatDuration(o.base_delay)));
  if (o.max_delay < o.base_delay)
    return bad(fmt::format("max_delay ({}) must be >= base_delay ({})", FormatDuration(o.max_delay),
                           FormatDuration(o.base_delay)));
  if (o.max_retry_after < Clock::Duration::zero())
    return bad(fmt::format("max_retry_after must be >= 0, got {}", FormatDuration(o.max_retry_after)));
  if (o.per_try_timeout < Clock::Duration::zero())
    return bad(fmt::format("per_try_timeout must be >= 0 (0 = none), got {}",
                           FormatDuration(o.per_try_timeout)));
  if (o.jitter != Jitter::kFull && o.jitter != Jitter::kDecorrelated && o.jitter != Jitter::kNone)
    return bad("jitter is not kFull, kDecorrelated or kNone");
  return OkStatus();
}

Result<RetryPolicy> RetryPolicy::Create(RetryOptions options) {
  ESPER_RETURN_IF_ERROR(Validate(options));
  return RetryPolicy(std::move(options));
}

RetryPolicy::RetryPolicy(RetryOptions options) : options_(std::move(options)) {
  if (Status s = Validate(options_); !s) {
    std::fprintf(stderr, "esper::resilience::RetryPolicy: invalid options: %s\n", s.error().ToString().c_str());
    std::abort();
  }
  seed_ = options_.seed != 0 ? options_.seed : UnseededPolicySeed();
}

RetryPolicy::RetryPolicy(const RetryPolicy& other)
    : options_(other.options_), seed_(other.seed_), sequence_(other.sequence_.load(std::memory_order_relaxed)) {}

RetryPolicy& RetryPolicy::operator=(const RetryPolicy& other) {
  if (this != &other) {
    options_ = other.options_;
    seed_ = other.seed_;
    sequence_.store(other.sequence_.load(std::memory_order_relaxed), std::memory_order_relaxed);
  }
  return *this;
}

bool RetryPolicy::ShouldRetry(const Error& error, const RetryCallOptions& call) const {
  if (!call.idempotent && !options_.retry_non_idempotent) return false;
  return options_.retry_on ? options_.retry_on(error) : error.retryable();
}

Clock::Duration RetryPolicy::Backoff(int retry, Clock::Duration previous, JitterRng& rng) const noexcept {
  const int64_t base = options_.base_delay.count();
  const int64_t cap = options_.max_delay.count();
  if (options_.jitter == Jitter::kDecorrelated) {
    // sleep = min(cap, uniform(base, 3 * previous))
    const int64_t prev = std::max<int64_t>(previous.count(), base);
    const int64_t hi = prev > cap / 3 ? cap : std::min(cap, prev * 3);
    return Clock::Duration(std::min(cap, rng.UniformInclusive(base, std::max(base, hi))));
  }
  // Exponential ceiling min(cap, base * 2^(retry-1)), computed without overflow.
  int64_t ceiling = base;
  for (int i = 1; i < retry && ceiling < cap; ++i) ceiling = ceiling > cap / 2 ? cap : ceiling * 2;
  ceiling = std::min(ceiling, cap);
  if (options_.jitter == Jitter::kNone) return Clock::Duration(ceiling);
  return Clock::Duration(rng.UniformInclusive(0, ceiling));
}

uint64_t RetryPolicy::NextSeed() const noexcept {
  // Each call gets its own stream: seed mixed with a sequence number.
  JitterRng mix(seed_ ^ (sequence_.fetch_add(1, std::memory_order_relaxed) * 0xD1B54A32D192ED03ULL));
  return mix.Next();
}

RetryState RetryPolicy::Start(RetryBudget* budget, const Deadline& deadline, RetryCallOptions call) const {
  return RetryState(this, budget, deadline, call, NextSeed());
}

// ---- RetryState ----

RetryState::RetryState(const RetryPolicy* policy, RetryBudget* budget, Deadline deadline,
                       RetryCallOptions call, uint64_t seed)
    : policy_(policy), budget_(budget), deadline_(deadline), call_(call), rng_(seed) {
  if (budget_) budget_->BeginRequest();
}

RetryState::RetryState(RetryState&& o) noexcept
    : policy_(o.policy_),
      budget_(std::exchange(o.budget_, nullptr)),
      deadline_(o.deadline_),
      call_(o.call_),
      rng_(o.rng_),
      attempts_(o.attempts_),
      current_cost_(o.current_cost_),
      attempt_open_(std::exchange(o.attempt_open_, false)),
      last_delay_(o.last_delay_) {}

RetryState& RetryState::operator=(RetryState&& o) noexcept {
  if (this != &o) {
    this->~RetryState();
    new (this) RetryState(std::move(o));
  }
  return *this;
}

RetryState::~RetryState() {
  if (!budget_) return;
  // An attempt abandoned without a verdict counts as failed (no refund), and frees its slot.
  if (attempt_open_) budget_->OnAttemptDone(current_cost_, false);
  budget_->EndRequest();
}

void RetryState::FinishAttempt(bool success) noexcept {
  if (!attempt_open_) return;
  attempt_open_ = false;
  if (budget_) budget_->OnAttemptDone(current_cost_, success);
  current_cost_ = 0;
}

void RetryState::OnSuccess() noexcept { FinishAttempt(true); }

Result<Clock::Duration> RetryState::OnFailure(const Error& error, std::optional<Clock::Duration> retry_after) {
  FinishAttempt(false);
  const RetryOptions& o = policy_->options();
  const int n = attempts_;
  auto plural = [](int k) { return k == 1 ? "attempt" : "attempts"; };

  if (!policy_->ShouldRetry(error, call_)) return error;
  if (n >= o.max_attempts) {
    if (o.max_attempts == 1) return error;
    return Error(error).Wrap(fmt::format("gave up after {} {}", n, plural(n)));
  }
  // One clock read for both deadline checks (a read can cost ~100 ns on a virtual machine).
  Clock::Duration left = Clock::Duration::max();
  if (!deadline_.infinite()) {
    const Clock::TimePoint now = deadline_.clock().Now();
    if (now >= deadline_.when()) {
      return deadline_.ExceededError(fmt::format("after {} {}; last error: {}", n, plural(n), error.ToString()));
    }
    left = deadline_.when() - now;
  }

  Clock::Duration delay;
  if (retry_after && o.honor_retry_after) {
    delay = std::clamp(*retry_after, Clock::Duration::zero(), o.max_retry_after);
  } else {
    delay = policy_->Backoff(n, attempts_ == 1 ? o.base_delay : last_delay_, rng_);
  }
  if (!deadline_.infinite()) {
    if (delay >= left) {
      return Error::DeadlineExceeded(
          fmt::format("deadline exceeded after {} {}: the next retry would wait {} with {} left; last "
                      "error: {}",
                      n, plural(n), FormatDuration(delay), FormatDuration(left), error.ToString()));
    }
  }
  if (budget_) {
    Result<int> cost = budget_->TryAcquireRetry(error);
    if (!cost) {
      return Error(error).Wrap(
          fmt::format("{} after {} {}", cost.error().message(), n, plural(n)));
    }
    current_cost_ = *cost;
  }
  ++attempts_;
  attempt_open_ = true;
  last_delay_ = delay;
  return delay;
}

// ---- Retry-After ----

std::optional<Clock::Duration> ParseRetryAfter(std::string_view value, std::chrono::system_clock::time_point now) {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  constexpr int64_t kMaxSeconds = 365LL * 24 * 3600;  // anything longer is nonsense
  if (std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    int64_t secs = 0;
    auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), secs);
    if (ec != std::errc() || ptr != value.data() + value.size() || secs > kMaxSeconds) return std::nullopt;
    return std::chrono::duration_cast<Clock::Duration>(std::chrono::seconds(secs));
  }
  // HTTP-date, IMF-fixdate form: "Sun, 06 Nov 1994 08:49:37 GMT" (the only form servers must send).
  if (value.size() != 29 || value.substr(25) != " GMT") return std::nullopt;
  std::string text(value);
  std::tm tm{};
  const char* end = strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (end == nullptr || *end != '\0') return std::nullopt;
  const time_t when = timegm(&tm);
  if (when == static_cast<time_t>(-1)) return std::nullopt;
  // Compared in whole seconds before any time_point is made: one holds nanoseconds, which
  // overflow past the year 2262 ("Sun, 06 Nov 4052 ..." is a valid date; found by
  // fuzz/resilience_retry_after_fuzz.cpp).
  const int64_t ahead =
      static_cast<int64_t>(when) - std::chrono::floor<std::chrono::seconds>(now).time_since_epoch().count();
  if (ahead <= 0) return Clock::Duration::zero();
  if (ahead > kMaxSeconds) return std::nullopt;
  return std::chrono::duration_cast<Clock::Duration>(std::chrono::system_clock::from_time_t(when) - now);
}

}  // namespace esper::resilience
