#include "commands.h"

namespace esper::cli {

const std::vector<Command>& Commands() {
  static const std::vector<Command> kCommands = {
      {"bench", "Run the benchmarks and print figures beside the peers measured in the same run",
       SetupBench},
      {"config", "Show, validate and explain the layered configuration (files < env < --set)", SetupConfig},
  };
  return kCommands;
}

}  // namespace esper::cli
