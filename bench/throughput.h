// A closed loop's figure, as the suites' loops report it (the http client, libcurl alone, wrk,
// a store's operations): operations per second and CPU per operation, and the median of rounds.
// The CPU comes from testing/proc.h (CpuMeter: this process; ProcessTreeCpuSeconds: a peer run
// as a child process).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <vector>

#include "frame.h"

namespace esper::bench {

struct Throughput {
  double per_second = 0;     // completed operations (requests) per second
  double cpu_us_per_op = 0;  // user + system CPU of the measured process(es), per completed operation
};

/// `done` operations completed in `elapsed` using `cpu_seconds` (0 operations count as 1).
inline Throughput FromCounts(uint64_t done, std::chrono::steady_clock::duration elapsed, double cpu_seconds) {
  const double ops = static_cast<double>(std::max<uint64_t>(1, done));
  return Throughput{.per_second = static_cast<double>(done) / std::chrono::duration<double>(elapsed).count(),
                    .cpu_us_per_op = cpu_seconds * 1e6 / ops};
}

/// The median rate and the median CPU per operation of `runs` (not empty).
inline Throughput MedianOf(const std::vector<Throughput>& runs) {
  std::vector<double> rate, cpu;
  for (const Throughput& r : runs) {
    rate.push_back(r.per_second);
    cpu.push_back(r.cpu_us_per_op);
  }
  return Throughput{.per_second = Median(rate), .cpu_us_per_op = Median(cpu)};
}

}  // namespace esper::bench
