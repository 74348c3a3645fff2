// The `esper s3` subcommands, one setup function each (cmd_s3.cpp puts them in a table). Each
// registers its flags — its own and CommonFlags (session.h) — on its CLI11 subcommand and returns
// the runner. Issue 20 adds `sync`, `uploads` and `abort-uploads` the same way.
#pragma once

#include "cli.h"

namespace esper::cli::s3cmd {

Runner SetupLs(CLI::App& cmd);                  // ls.cpp
Runner SetupCp(CLI::App& cmd, bool move);       // cp.cpp: cp, and mv (move = true)
Runner SetupRm(CLI::App& cmd);                  // rm.cpp
Runner SetupStat(CLI::App& cmd);                // stat.cpp
Runner SetupMb(CLI::App& cmd);                  // bucket.cpp
Runner SetupRb(CLI::App& cmd);                  // bucket.cpp
Runner SetupPresign(CLI::App& cmd);             // presign.cpp
Runner SetupHealth(CLI::App& cmd);              // health.cpp

class Session;
/// rm --recursive and rb --force: deletes every object under `prefix` ("" = the whole bucket),
/// a listing page per DeleteMany, printing "delete: s3://b/k" per key unless `quiet`.
Status DeleteUnder(Session& session, const std::string& bucket, const std::string& prefix, bool quiet);  // rm.cpp

}  // namespace esper::cli::s3cmd
