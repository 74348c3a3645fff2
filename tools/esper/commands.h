// One setup function per top-level command; each lives in cmd_<name>.cpp.
#pragma once

#include "cli.h"

namespace esper::cli {

Runner SetupBench(CLI::App& cmd);
Runner SetupConfig(CLI::App& cmd);
Runner SetupHttp(CLI::App& cmd);
Runner SetupProxy(CLI::App& cmd);
Runner SetupS3(CLI::App& cmd);

}  // namespace esper::cli
