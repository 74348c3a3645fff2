// The `esper s3` subcommands, one setup function each (cmd_s3.cpp puts them in a table). Each
// registers its flags — its own and CommonFlags (session.h) — on its CLI11 subcommand and returns
// the runner. `sync` (sync.cpp) shares cp's transfers (transfer.h).
#pragma once

#include <string>
#include <vector>

#include "cli.h"
#include "s3/session.h"

namespace esper::cli::s3cmd {

Runner SetupLs(CLI::App& cmd);                  // ls.cpp
Runner SetupCp(CLI::App& cmd, bool move);       // cp.cpp: cp, and mv (move = true)
Runner SetupRm(CLI::App& cmd);                  // rm.cpp
Runner SetupStat(CLI::App& cmd);                // stat.cpp
Runner SetupMb(CLI::App& cmd);                  // bucket.cpp
Runner SetupRb(CLI::App& cmd);                  // bucket.cpp
Runner SetupPresign(CLI::App& cmd);             // presign.cpp
Runner SetupHealth(CLI::App& cmd);              // health.cpp
Runner SetupSync(CLI::App& cmd);                // sync.cpp
Runner SetupUploads(CLI::App& cmd);             // uploads.cpp
Runner SetupAbortUploads(CLI::App& cmd);        // uploads.cpp

class Session;
/// Pages deleted at once by rm --recursive, rb --force and sync --delete: each is one
/// DeleteObjects request of up to 1,000 keys.
inline constexpr int kDeleteConcurrency = 4;
/// Transfers of cp --recursive and sync in flight at once unless --concurrency says otherwise.
inline constexpr int kDefaultConcurrency = 32;
/// One DeleteMany of `keys` in `bucket`, as a Job: "delete: s3://b/k" per key unless `quiet`,
/// each key that could not be deleted said on stderr. `session` must outlive the job.
Job DeleteKeys(Session& session, std::string bucket, std::vector<std::string> keys, bool quiet);  // rm.cpp
/// rm --recursive and rb --force: deletes every object under `prefix` ("" = the whole bucket),
/// a listing page per DeleteMany, printing "delete: s3://b/k" per key unless `quiet`.
Status DeleteUnder(Session& session, const std::string& bucket, const std::string& prefix, bool quiet);  // rm.cpp

}  // namespace esper::cli::s3cmd
