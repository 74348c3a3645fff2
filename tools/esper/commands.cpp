#include "commands.h"

namespace esper::cli {

const std::vector<Command>& Commands() {
  static const std::vector<Command> kCommands = {
      {"bench", "Run the benchmarks and print figures beside the peers measured in the same run",
       SetupBench},
      {"http", "Send an HTTP request (get, head, post, put, patch, delete) with retries and timeouts", SetupHttp},
      {"proxy", "Forward TCP/HTTP to an upstream, injecting faults reproducibly from a seed", SetupProxy},
  };
  return kCommands;
}

}  // namespace esper::cli
