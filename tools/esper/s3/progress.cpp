#include "s3/progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include "esper/core/thread.h"
#include "output.h"

namespace esper::cli::s3cmd {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr auto kFirst = 1s;          // a transfer over before this shows nothing
constexpr auto kBarPeriod = 250ms;   // redraw
constexpr auto kLinePeriod = 2s;     // -v without a terminal

constexpr std::string_view kClearLine = "\r\033[K";

}  // namespace

Progress::Style Progress::StyleFor(int verbose, bool quiet) {
  if (quiet) return Style::kNone;
  if (isatty(STDERR_FILENO) == 1) return Style::kBar;
  return verbose > 0 ? Style::kLines : Style::kNone;
}

Progress::Progress(Style style) : style_(style) {
  if (style_ == Style::kNone) return;
  ticker_ = std::thread([this] {
    NameThisThread("esper-progress");
    Run();
  });
}

Progress::~Progress() {
  if (!ticker_.joinable()) return;
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  ticker_.join();
  if (drawn_) WriteErr(kClearLine);
}

void Progress::Expect(uint64_t files, uint64_t bytes) {
  std::lock_guard lock(mu_);
  files_total_ += files;
  bytes_total_ += bytes;
}

void Progress::Bytes(uint64_t n) {
  std::lock_guard lock(mu_);
  bytes_done_ += n;
}

void Progress::FileDone(uint64_t uncounted) {
  std::lock_guard lock(mu_);
  bytes_done_ += uncounted;
  ++files_done_;
}

void Progress::Say(std::string_view line) {
  std::lock_guard lock(mu_);
  if (drawn_) {
    WriteErr(kClearLine);
    drawn_ = false;
  }
  Write(line);
  Flush();
}

std::string Progress::HumanBytes(uint64_t n) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  if (n < 1024) return fmt::format("{} B", n);
  double v = static_cast<double>(n);
  int u = 0;
  while (v >= 1024 && u < 6) {
    v /= 1024;
    ++u;
  }
  return fmt::format("{:.1f} {}", v, kUnits[u]);
}

std::string Progress::LineLocked(Clock::time_point now) const {
  const double secs = std::chrono::duration<double>(now - start_).count();
  const double rate = secs > 0 ? static_cast<double>(bytes_done_) / secs : 0;
  std::string line = HumanBytes(bytes_done_);
  if (bytes_total_ > 0) {
    line += fmt::format(" of {} ({}%)", HumanBytes(bytes_total_),
                        bytes_done_ >= bytes_total_ ? 100 : bytes_done_ * 100 / bytes_total_);
  }
  line += fmt::format(", {}/s, {} of {} file{}, {:.0f} s", HumanBytes(static_cast<uint64_t>(rate)), files_done_,
                      files_total_, files_total_ == 1 ? "" : "s", secs);
  if (bytes_total_ > bytes_done_ && rate > 0) {
    line += fmt::format(", about {:.0f} s left", static_cast<double>(bytes_total_ - bytes_done_) / rate);
  }
  return line;
}

void Progress::Run() {
  std::unique_lock lock(mu_);
  Clock::time_point next = start_ + kFirst;
  for (;;) {
    if (cv_.wait_until(lock, next, [this] { return stop_; })) return;
    const Clock::time_point now = Clock::now();
    if (style_ == Style::kBar) {
      WriteErr(fmt::format("{}{}", kClearLine, LineLocked(now)));
      drawn_ = true;
      next = now + kBarPeriod;
    } else {
      WriteErr(fmt::format("progress: {}\n", LineLocked(now)));
      next = now + kLinePeriod;
    }
  }
}

}  // namespace esper::cli::s3cmd
