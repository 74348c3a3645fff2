// libFuzzer target: ParseRetryAfter on arbitrary bytes — a server's Retry-After header, which
// the HTTP client obeys by waiting. Whatever the input, the answer is nothing or a wait in
// [0, 365 days] (a longer one is refused, never clamped into a hang), the same with surrounding
// blanks, and a date in the past is no wait at all.
//   build/fuzz/bin/resilience_retry_after_fuzz -max_total_time=60
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "esper/resilience/retry_policy.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using esper::resilience::ParseRetryAfter;
  const std::string in(reinterpret_cast<const char*>(data), size);
  // A fixed "now" (2026-01-01T00:00:00Z) so a run is reproducible.
  const auto now = std::chrono::system_clock::time_point(std::chrono::seconds(1767225600));
  const auto wait = ParseRetryAfter(in, now);
  auto fail = [&](const char* what) {
    std::fprintf(stderr, "broken: %s\ninput: '%s'\n", what, in.c_str());
    std::abort();
  };
  if (wait) {
    if (*wait < std::chrono::seconds(0) || *wait > std::chrono::hours(24 * 365)) fail("wait out of [0, 365 days]");
  }
  const auto padded = ParseRetryAfter(" \t" + in + "\t ", now);
  if (padded.has_value() != wait.has_value() || (wait && *padded != *wait)) fail("blanks around the value change it");
  // Ten years later every HTTP-date this accepts is in the past: no wait.
  const auto later = ParseRetryAfter(in, now + std::chrono::hours(24 * 365 * 10));
  if (later && wait && in.find_first_not_of("0123456789 \t") != std::string::npos && *later != later->zero()) {
    fail("a past HTTP-date gives a wait");
  }
  return 0;
}
