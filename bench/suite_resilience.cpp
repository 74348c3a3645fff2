// esper bench resilience — what the resilience layer costs on the hot path.
//
//  * A closed circuit breaker per call (TryAcquire + RecordSuccess), 1 and 2 threads, beside the
//    naive baseline below (the seed's breaker ported literally: one mutex around every check and
//    every outcome) measured in the same run. Target from issue #5: <= 20 ns a call.
//  * The same for a count-window breaker (outcomes go into a window under a mutex) — for scale.
//  * The retry decision: RetryPolicy::Start + OnFailure (budget, deadline) + OnSuccess.
//
// Method (measure.h): each figure is the median of several runs of `iters` calls per thread, in
// thread CPU time; with 2 threads both hammer the same breaker at once.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <ctime>
#include <mutex>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "esper/resilience/circuit_breaker.h"
#include "esper/resilience/retry_policy.h"
#include "frame.h"
#include "measure.h"

namespace esper::bench {
namespace {

using namespace std::chrono_literals;
namespace res = esper::resilience;

// ---------------------------------------------------------------------------------------------
// NAIVE BASELINE (the peer): the seed's CircuitBreaker design in C++ — a mutex taken to check the
// state before each call and again to record its outcome; counters and the consecutive-failure
// count live under that mutex; the clock is read only when OPEN. This is what a straightforward
// port looks like; it is not esper's implementation.
// ---------------------------------------------------------------------------------------------
class NaiveBreaker {
 public:
  enum class State { kClosed, kOpen, kHalfOpen };
  NaiveBreaker(int failure_threshold, Clock::Duration timeout)
      : threshold_(failure_threshold), timeout_(timeout) {}

  bool Acquire() {
    std::lock_guard<std::mutex> lock(mu_);
    ++total_calls_;
    if (state_ == State::kOpen) {
      if (SystemClock().Now() - last_failure_ >= timeout_) {
        state_ = State::kHalfOpen;
      } else {
        ++rejections_;
        return false;
      }
    }
    return true;
  }
  void RecordSuccess() {
    std::lock_guard<std::mutex> lock(mu_);
    ++successes_;
    failure_count_ = 0;
    if (state_ == State::kHalfOpen) state_ = State::kClosed;
  }
  void RecordFailure() {
    std::lock_guard<std::mutex> lock(mu_);
    ++failures_;
    last_failure_ = SystemClock().Now();
    if (++failure_count_ >= threshold_ || state_ == State::kHalfOpen) state_ = State::kOpen;
  }
  uint64_t successes() {
    std::lock_guard<std::mutex> lock(mu_);
    return successes_;
  }

 private:
  std::mutex mu_;
  State state_ = State::kClosed;
  int failure_count_ = 0;
  const int threshold_;
  const Clock::Duration timeout_;
  Clock::TimePoint last_failure_{};
  uint64_t total_calls_ = 0, successes_ = 0, failures_ = 0, rejections_ = 0;
};

}  // namespace

Status RunResilienceSuite(Context& ctx) {
  const int runs = ctx.quick() ? 5 : 11;
  const int64_t iters = ctx.quick() ? 2'000'000 : 10'000'000;
  const std::string target = "<= 20 ns";
  const std::string method =
      fmt::format("median of {} runs x {} calls per thread, thread CPU time; TryAcquire + RecordSuccess",
                  runs, iters);

  for (int threads : {1, 2}) {
    ctx.Progress(fmt::format("closed breaker, {} thread(s)", threads));
    auto ours = res::CircuitBreaker::Create({.name = "bench"});
    if (!ours) return ours.error();
    res::CircuitBreaker& b = **ours;
    std::atomic<uint64_t> rejected{0};
    const double esper_ns = MedianNsPerCall(runs, threads, iters, [&](int) {
      auto permit = b.TryAcquire();
      if (!permit) [[unlikely]] {
        rejected.fetch_add(1, std::memory_order_relaxed);
        return;
      }
      permit->RecordSuccess();
    });
    NaiveBreaker naive(5, 60s);
    const double naive_ns = MedianNsPerCall(runs, threads, iters, [&](int) {
      if (naive.Acquire()) naive.RecordSuccess();
    });
    if (rejected.load() != 0 || b.stats().successes == 0 || naive.successes() == 0) {
      return Error::Internal("closed-breaker benchmark: a closed breaker rejected calls");
    }
    Row row;
    row.part = "resilience";
    row.metric = "closed breaker, per call";
    row.case_name = fmt::format("consecutive mode, {} thread{}", threads, threads == 1 ? "" : "s");
    row.unit = "ns";
    row.value = esper_ns;
    row.lower_is_better = true;
    row.peer = "naive mutex breaker (seed design)";
    row.peer_value = naive_ns;
    row.target = target;
    row.pass = esper_ns <= 20.0;
    row.note = method;
    ctx.Add(row);
  }

  for (int threads : {1, 2}) {
    ctx.Progress(fmt::format("closed count-window breaker, {} thread(s)", threads));
    auto ours = res::CircuitBreaker::Create(
        {.name = "bench-window", .window = res::WindowType::kCountBased, .window_size = 100});
    if (!ours) return ours.error();
    res::CircuitBreaker& b = **ours;
    const double esper_ns = MedianNsPerCall(runs, threads, iters / 2, [&](int) {
      auto permit = b.TryAcquire();
      if (permit) permit->RecordSuccess();
    });
    NaiveBreaker naive(5, 60s);
    const double naive_ns = MedianNsPerCall(runs, threads, iters / 2, [&](int) {
      if (naive.Acquire()) naive.RecordSuccess();
    });
    Row row;
    row.part = "resilience";
    row.metric = "closed breaker, per call";
    row.case_name = fmt::format("count window 100, {} thread{}", threads, threads == 1 ? "" : "s");
    row.unit = "ns";
    row.value = esper_ns;
    row.peer = "naive mutex breaker (seed design)";
    row.peer_value = naive_ns;
    row.note = "the window is updated under a mutex (one lock per outcome; acquire is lock-free); "
               "the naive peer keeps no window, so it does less work";
    ctx.Add(row);
  }

  {
    ctx.Progress("retry decision");
    auto policy = res::RetryPolicy::Create({.max_attempts = 3, .seed = 1});
    if (!policy) return policy.error();
    res::RetryBudget budget;
    const Error cause = Error::Unavailable("503");
    const res::Deadline deadline = res::Deadline::After(24h);
    std::atomic<uint64_t> granted{0};
    const double ns = MedianNsPerCall(runs, 1, iters / 10, [&](int) {
      res::RetryState state = policy->Start(&budget, deadline);
      auto delay = state.OnFailure(cause);
      if (delay) granted.fetch_add(1, std::memory_order_relaxed);
      state.OnSuccess();  // refunds the retry's tokens, so the bucket never drains
    });
    if (granted.load() == 0) return Error::Internal("retry-decision benchmark: no retry was granted");
    Row row;
    row.part = "resilience";
    row.metric = "retry decision";
    row.case_name = "Start + OnFailure + OnSuccess (token bucket, deadline)";
    row.unit = "ns";
    row.value = ns;
    row.peer = "";
    row.note = "no peer: no C++ retry library with budgets is installed here; "
               "includes one jitter draw, two clock reads for the deadline, budget CAS and refund";
    ctx.Add(row);
  }
  return OkStatus();
}

}  // namespace esper::bench
