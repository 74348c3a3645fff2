// esper bench soak: every part under load at once for a while, this process's RSS and open file
// descriptors sampled once a second and their growth after warm-up reported (bench/soak.cpp).
// Not one of Suites(): `esper bench all` does not run it; `esper bench soak --seconds N` does.
#pragma once

#include <chrono>
#include <stop_token>

#include "frame.h"

namespace esper::bench {

/// Runs the soak for `duration` (>= 1 s) and adds its rows to `ctx`; Cancelled when `stop` is
/// requested meanwhile (every thread it started is joined first). Unavailable in a build without
/// every part it drives (log, http, proxy, config, s3).
Status RunSoak(Context& ctx, std::chrono::seconds duration, std::stop_token stop);

}  // namespace esper::bench
