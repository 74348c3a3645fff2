// Memory and CPU of this process or of another (a peer run as a child: nginx, s3rver, wrk), as
// /proc and getrusage report them, for the bench and for tests that bound a resource. Threads
// by name are in testing/threads.h.
//
//   esper::testing::CpuMeter cpu;                        // this process, from now
//   ... run n operations ...
//   double us = cpu.MicrosPer(n);                        // user + system CPU per operation
//
//   esper::testing::RssSampler rss({.pid = server.pid(), .tree = true});
//   ... load the server ...
//   uint64_t peak = rss.Stop();                          // highest RSS seen, bytes
//
// Linux only. A pid of 0 means this process. A process that has gone reads as 0 bytes / 0 s.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>
#include <vector>

namespace esper::testing {

/// `pid` and every live process descended from it (children, grandchildren, …), `pid` first.
std::vector<pid_t> ProcessTree(pid_t pid);

// ---------------------------------------------------------------- memory

/// Resident set size of `pid`, bytes (/proc/<pid>/statm).
uint64_t RssBytes(pid_t pid = 0);
/// Peak resident set size of `pid` since it started or since ResetPeakRss, bytes (VmHWM).
uint64_t PeakRssBytes(pid_t pid = 0);
/// Makes `pid`'s peak RSS its current RSS (writes 5 to /proc/<pid>/clear_refs); false if refused.
bool ResetPeakRss(pid_t pid = 0);

/// Samples the RSS of a process (or of its whole tree, summed) on a thread of its own and keeps
/// the highest figure: for a peer whose VmHWM is not ours to reset, or a tree of processes.
class RssSampler {
 public:
  struct Options {
    pid_t pid = 0;  // 0: this process
    bool tree = false;  // sum the RSS of pid and its descendants
    std::chrono::milliseconds interval{10};
  };
  explicit RssSampler(Options options);
  RssSampler() : RssSampler(Options{}) {}
  ~RssSampler() { Stop(); }
  RssSampler(const RssSampler&) = delete;
  RssSampler& operator=(const RssSampler&) = delete;

  /// The highest RSS sampled so far, bytes (the first sample is taken before the constructor returns).
  uint64_t peak() const { return peak_.load(std::memory_order_relaxed); }
  /// Takes a last sample, joins the thread, and returns peak(). Idempotent.
  uint64_t Stop();

 private:
  void Sample();

  Options options_;
  std::atomic<uint64_t> peak_{0};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// ---------------------------------------------------------------- CPU

/// User + system CPU seconds (getrusage): RUSAGE_SELF for this process, RUSAGE_CHILDREN for the
/// children it has reaped (a peer run to completion, e.g. wrk).
double CpuSeconds(int who);
/// User + system CPU seconds used so far by `pid` and its live descendants, plus what they have
/// reaped (/proc/<pid>/stat utime, stime, cutime, cstime): a peer server run as a child process.
double ProcessTreeCpuSeconds(pid_t pid);

/// CPU used from construction on, by this process (getrusage) or by a child's process tree.
class CpuMeter {
 public:
  /// This process.
  CpuMeter();
  /// `pid` and its descendants (ProcessTreeCpuSeconds).
  explicit CpuMeter(pid_t tree);

  /// CPU seconds since construction (or the last Restart).
  double Seconds() const;
  /// CPU microseconds per operation, for `operations` done since construction (at least 1 counted).
  double MicrosPer(uint64_t operations) const;
  void Restart() { start_ = Now(); }

 private:
  double Now() const;

  pid_t tree_ = 0;
  bool self_ = true;
  double start_ = 0;
};

}  // namespace esper::testing
