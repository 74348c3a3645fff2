// A closed loop's figure, as the http suite's loops report it (ours, libcurl alone, wrk):
// requests per second and CPU per request, and the median of several rounds.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <vector>

#include "frame.h"

namespace esper::bench {

struct Throughput {
  double rps = 0;
  double cpu_us_per_request = 0;  // user + system CPU of the process, per completed request
};

/// `done` requests completed in `elapsed` using `cpu_seconds` of the process.
inline Throughput FromCounts(uint64_t done, std::chrono::steady_clock::duration elapsed, double cpu_seconds) {
  const double reqs = static_cast<double>(std::max<uint64_t>(1, done));
  return Throughput{.rps = reqs / std::chrono::duration<double>(elapsed).count(),
                    .cpu_us_per_request = cpu_seconds * 1e6 / reqs};
}

/// The median requests/s and the median CPU per request of `runs` (not empty).
inline Throughput MedianOf(const std::vector<Throughput>& runs) {
  std::vector<double> rps, cpu;
  for (const Throughput& r : runs) {
    rps.push_back(r.rps);
    cpu.push_back(r.cpu_us_per_request);
  }
  return Throughput{.rps = Median(rps), .cpu_us_per_request = Median(cpu)};
}

}  // namespace esper::bench
