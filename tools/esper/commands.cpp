#include "commands.h"

namespace esper::cli {

const std::vector<Command>& Commands() {
  static const std::vector<Command> kCommands = {
      {"config", "Show, validate and explain the layered configuration (files < env < --set)",
       SetupConfig},
      {"proxy", "Forward TCP/HTTP to an upstream, injecting faults reproducibly from a seed",
       SetupProxy},
      {"bench", "Run the benchmarks and print figures beside the peers measured in the same run",
       SetupBench},
  };
  return kCommands;
}

}  // namespace esper::cli
