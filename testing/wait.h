// WaitUntil: the one bounded poll for tests — "until this holds, or give up after a while".
//
//   ASSERT_TRUE(esper::testing::WaitUntil([&] { return proxy->statistics().stalls > 0; }));
//
// The timeout is a hang guard, never a performance bar: a test asserts on the condition (or on
// the value after the wait), not on how long it took. The condition is checked at once, then
// every `poll` (a millisecond unless a test needs to catch a state sooner); it runs on the calling
// thread.
#pragma once

#include <chrono>
#include <thread>

namespace esper::testing {

/// Polls `condition` until it returns true (→ true) or `timeout` has passed (→ its last answer).
template <class Condition>
[[nodiscard]] bool WaitUntil(Condition&& condition, std::chrono::milliseconds timeout = std::chrono::seconds(10),
                             std::chrono::microseconds poll = std::chrono::milliseconds(1)) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (condition()) return true;
    if (std::chrono::steady_clock::now() >= until) return static_cast<bool>(condition());
    std::this_thread::sleep_for(poll);
  }
}

}  // namespace esper::testing
