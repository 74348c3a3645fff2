// esper bench soak in a build without every part it drives (bench/soak.cpp).
#include "soak.h"

namespace esper::bench {

Status RunSoak(Context&, std::chrono::seconds, std::stop_token) {
  return Error::Unavailable("soak: this build lacks one of the parts it drives (log, http, proxy, config, s3)");
}

}  // namespace esper::bench
