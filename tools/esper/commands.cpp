#include "commands.h"

namespace esper::cli {

const std::vector<Command>& Commands() {
  static const std::vector<Command> kCommands = {
      {"config", "Show, validate and explain the layered configuration (files < env < --set)",
       SetupConfig},
      {"http", "Send an HTTP request (get, head, post, put, patch, delete) with retries and timeouts",
       SetupHttp},
      {"s3", "Object storage shaped like aws s3: ls, cp, mv, rm, stat, mb, rb, presign, health, sync (S3 or file://)",
       SetupS3},
      {"proxy", "Forward TCP/HTTP to an upstream, injecting faults reproducibly from a seed",
       SetupProxy},
      {"bench", "Run the benchmarks and print figures beside the peers measured in the same run",
       SetupBench},
  };
  return kCommands;
}

}  // namespace esper::cli
