#include "esper/resilience/deadline.h"

#include <fmt/format.h>

#include <cstdint>

namespace esper::resilience {

std::string FormatDuration(Clock::Duration d) {
  using namespace std::chrono;
  if (d == Clock::Duration::max()) return "forever";
  const bool neg = d < Clock::Duration::zero();
  const int64_t ns = neg ? -duration_cast<nanoseconds>(d).count() : duration_cast<nanoseconds>(d).count();
  const char* sign = neg ? "-" : "";
  if (ns < 1'000) return fmt::format("{}{} ns", sign, ns);
  if (ns < 1'000'000) return fmt::format("{}{:.3g} us", sign, static_cast<double>(ns) / 1e3);
  if (ns < 1'000'000'000) return fmt::format("{}{:.4g} ms", sign, static_cast<double>(ns) / 1e6);
  if (ns < 120'000'000'000) return fmt::format("{}{:.4g} s", sign, static_cast<double>(ns) / 1e9);
  return fmt::format("{}{:.4g} min", sign, static_cast<double>(ns) / 60e9);
}

Error Deadline::ExceededError(std::string_view what) const {
  std::string detail;
  if (infinite()) {
    detail = "deadline exceeded";
  } else {
    const TimePoint now = clock_->Now();
    if (now >= when_) {
      detail = fmt::format("deadline exceeded (expired {} ago)", FormatDuration(now - when_));
    } else {
      detail = fmt::format("deadline exceeded ({} left)", FormatDuration(when_ - now));
    }
  }
  if (what.empty()) return Error::DeadlineExceeded(std::move(detail));
  return Error::DeadlineExceeded(fmt::format("{}: {}", what, detail));
}

}  // namespace esper::resilience
