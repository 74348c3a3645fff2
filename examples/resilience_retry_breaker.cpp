// A dependency that fails for a while, called through a circuit breaker and a retry policy with a
// budget and a deadline — the layering the http client uses. Runs in about a second.
//
//   $ ./bin/example_resilience_retry_breaker
//   breaker 'inventory': CLOSED -> OPEN (3 consecutive failures)
//   call 1: Unavailable: gave up after 3 attempts: inventory: connection refused
//   call 2: Unavailable: circuit breaker 'inventory' is open; it half-opens in 250 ms
//   ...
#include <fmt/format.h>

#include <chrono>
#include <thread>

#include "esper/resilience/circuit_breaker.h"
#include "esper/resilience/deadline.h"
#include "esper/resilience/retry_budget.h"
#include "esper/resilience/retry_policy.h"

using namespace std::chrono_literals;
namespace res = esper::resilience;

int main() {
  // The dependency: down for its first 400 ms, then healthy.
  const auto healthy_at = std::chrono::steady_clock::now() + 400ms;
  auto inventory = [&]() -> esper::Result<int> {
    if (std::chrono::steady_clock::now() < healthy_at)
      return esper::Error::Unavailable("inventory: connection refused");
    return 42;
  };

  auto breaker = res::CircuitBreaker::Create({.name = "inventory",
                                              .failure_threshold = 3,
                                              .open_duration = 250ms});
  auto policy = res::RetryPolicy::Create({.max_attempts = 3, .base_delay = 20ms, .max_delay = 100ms});
  auto budget = res::RetryBudget::Create({});  // AWS standard mode: 500 tokens, 5 a retry
  if (!breaker || !policy || !budget) {
    fmt::print(stderr, "bad options\n");
    return 1;
  }
  (*breaker)->AddListener([&](const res::BreakerTransition& t) {
    fmt::print("breaker '{}': {} -> {} ({})\n", (*breaker)->name(), res::BreakerStateName(t.from),
               res::BreakerStateName(t.to), t.reason);
  });

  int successes = 0;
  for (int call = 1; call <= 20 && successes < 3; ++call) {
    // Each call has 2 s in all; each attempt goes through the breaker.
    const auto deadline = res::Deadline::After(2s);
    esper::Result<int> r = res::Retry(*policy, budget->get(), deadline, esper::SystemClock(),
                                      [&] { return (*breaker)->Call(inventory); });
    if (r) {
      ++successes;
      fmt::print("call {}: {}\n", call, *r);
    } else {
      fmt::print("call {}: {}\n", call, r.error());
    }
    std::this_thread::sleep_for(100ms);
  }

  const auto s = (*breaker)->stats();
  const auto b = (*budget)->stats();
  fmt::print("breaker: {} calls, {} failures, {} rejected, state {}\n", s.calls, s.failures,
             s.rejections, res::BreakerStateName(s.state));
  fmt::print("budget: {} retries granted, {} denied, {} tokens left\n", b.retries_granted,
             b.retries_denied, b.tokens);
  return s.state == res::BreakerState::kClosed ? 0 : 1;
}
