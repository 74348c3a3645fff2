// esper/metrics/counter.h — a counter: a number that only goes up (requests served, bytes sent).
//
// One series of a counter family (family.h): get it once with `family->With({...})`, keep the
// reference, and call Increment() on the hot path. The name of a counter family ends in `_total`
// (registry.h checks it): `myservice_requests_total`, `myservice_sent_bytes_total`.
//
//   metrics::Counter& served = (*requests)->With({"GET", "2xx"});
//   served.Increment();
//   served.Add(body.size());
//
// Thread safety: Increment/Add/Value from any thread at once. Increment is wait-free: an add to
// the calling thread's own cell, on a cache line no other thread writes (shard.h) — about a
// nanosecond, with no locked instruction, as cheap with two threads on two cores
// (`esper bench metrics`). Value() adds the cells up; taken during updates it is some value the
// counter had in between.
// Ownership: the family owns its series; a reference stays valid as long as the registry.
// Blocking: never. Errors: none (wraps around past 2^64, which takes centuries).
#pragma once

#include <cstdint>

#include "esper/metrics/shard.h"

namespace esper::metrics {

class Counter {
 public:
  Counter() : cells_(1) {}
  Counter(const Counter&) = delete;
  Counter& operator=(const Counter&) = delete;

  void Increment() noexcept { Add(1); }
  void Add(uint64_t n) noexcept { cells_.Add(0, n); }
  /// The sum over the shards.
  uint64_t Value() const noexcept { return cells_.Sum(0); }

 private:
  detail::ShardedWords cells_;
};

}  // namespace esper::metrics
