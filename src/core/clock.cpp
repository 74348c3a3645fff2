#include "esper/core/clock.h"

#include <thread>

namespace esper {
namespace {

class SteadyClock final : public Clock {
 public:
  TimePoint Now() const override { return std::chrono::steady_clock::now(); }
  void SleepFor(Duration d) override { std::this_thread::sleep_for(d); }
};

}  // namespace

Clock& SystemClock() {
  static SteadyClock* clock = new SteadyClock();  // never destroyed: usable during exit
  return *clock;
}

FakeClock::FakeClock(TimePoint start) : now_(start) {}

Clock::TimePoint FakeClock::Now() const {
  std::lock_guard<std::mutex> lock(mu_);
  return now_;
}

void FakeClock::SleepFor(Duration d) {
  std::unique_lock<std::mutex> lock(mu_);
  const TimePoint wake = now_ + d;
  ++sleepers_;
  cv_.wait(lock, [&] { return now_ >= wake; });
  --sleepers_;
}

void FakeClock::Advance(Duration d) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    now_ += d;
  }
  cv_.notify_all();
}

int FakeClock::sleepers() const {
  std::lock_guard<std::mutex> lock(mu_);
  return sleepers_;
}

}  // namespace esper
