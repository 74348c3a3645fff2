// Private: the seeded fault decisions. splitmix64 is tiny, fast, fully specified (so a seed means
// the same thing on every platform and compiler, unlike std::uniform_real_distribution), and
// passes BigCrush when used as a stream.
#pragma once

#include <cstdint>

#include "esper/proxy/fault_proxy.h"

namespace esper::proxy::detail {

class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed = 0) noexcept : state_(seed) {}
  uint64_t Next() noexcept {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  /// Uniform in [0, 1), 53 bits.
  double NextUnit() noexcept { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }

 private:
  uint64_t state_;
};

/// The generator of connection number `connection` under `seed`.
inline SplitMix64 ConnectionRng(uint64_t seed, uint64_t connection) noexcept {
  SplitMix64 mix(seed ^ (connection * 0xD1B54A32D192ED03ULL));
  mix.Next();
  return SplitMix64(mix.Next());
}

struct Decision {
  FaultKind kind = FaultKind::kNone;
  double variant = 0;  // in [0, 1): where a truncation cuts
};

/// Draws exactly two numbers: the first picks the fault by cumulative ranges
/// [reset | stall | error | truncate | corrupt | none], the second the variant (reset
/// before/after upstream in http mode: < 0.5 before; the truncation point; the flipped byte).
inline Decision Decide(SplitMix64& rng, const Options& o) noexcept {
  double u = rng.NextUnit();
  double v = rng.NextUnit();
  Decision d{FaultKind::kNone, v};
  double acc = o.reset_rate;
  if (u < acc) {
    d.kind = (o.mode == Mode::kHttp && v >= 0.5) ? FaultKind::kResetAfterUpstream : FaultKind::kReset;
    return d;
  }
  if (u < (acc += o.stall_rate)) {
    d.kind = FaultKind::kStall;
  } else if (u < (acc += o.error_rate)) {
    d.kind = FaultKind::kError;
  } else if (u < (acc += o.truncate_rate)) {
    d.kind = FaultKind::kTruncate;
  } else if (u < (acc += o.corrupt_rate)) {
    d.kind = FaultKind::kCorrupt;
  }
  return d;
}

}  // namespace esper::proxy::detail
