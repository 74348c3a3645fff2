// esper/service/from_config.h — a service's logger and http client from its configuration.
//
// One configuration drives every part: a service loads its files (plus ESPER_* and the standard
// variables, plus --set) once, and each part takes its options from its section —
//   log::FromConfig(snapshot)    the `logging` section as log::Options,
//   http::FromConfig(snapshot)   the `http` section (and `tls`) as http::ClientOptions,
//   s3::FromConfig(snapshot)     the `s3` section as s3::S3StoreOptions (esper/s3/s3_store.h).
// A section's keys have the names and units of the part's options (docs/config.md, "One
// configuration, every part"): logging.queue_bytes is Options::queue_bytes (bytes of each
// producer thread's queue), http.request_timeout is one attempt as ClientOptions::request_timeout
// is, max_attempts counts the first attempt as RetryOptions::max_attempts does. Start from what
// FromConfig returns and set what a file cannot hold (callbacks, a clock, a metrics registry).
//
// This part sits above config, log and http (config depends on none of the parts).
//
// Example (examples/service_from_config.cpp):
//   auto snap = esper::config::Load({.files = {"service.yaml"}});
//   if (!snap) { fmt::print(stderr, "{}\n", snap.error()); return 2; }   // file:line:col: …
//   auto logger = esper::log::setup_service_logging(**snap);
//   auto http_options = esper::http::FromConfig(**snap);
//   auto client = esper::http::Client::Create(std::move(*http_options));
//
// Errors: a value the loader accepted but the part cannot use (a log file that cannot be opened)
// is the part's error, naming the key and where its value came from ("logging.file (set at
// service.yaml:4:9): …"). Wrong types and units never get this far: Load() reports them at
// file:line:col.
// Thread safety: the functions read an immutable Snapshot; call them from any thread.
// Blocking: log::FromConfig opens the log file.
#pragma once

#include <memory>

#include "esper/config/snapshot.h"
#include "esper/core/result.h"
#include "esper/http/client.h"
#include "esper/log/logger.h"

namespace esper::log {

/// The `logging` section as logger options: name = service.name, level (ESPER_LOG_LEVEL is
/// already layered in by the loader, so Options::level_from_env is off), format, one sink —
/// logging.file (appended, created if missing) or stderr when it is empty — queue_policy,
/// queue_bytes, async.
Result<Options> FromConfig(const config::Snapshot& config);

/// setup_service_logging() from a configuration: Logger::Create(FromConfig(config)).
Result<std::unique_ptr<Logger>> setup_service_logging(const config::Snapshot& config);

}  // namespace esper::log

namespace esper::http {

/// The `http` section as client options: connect_timeout, request_timeout (one attempt),
/// overall_timeout (0: none), max_connections, max_attempts (retry.max_attempts), user_agent;
/// and from `tls`: verify (verify_tls) and ca_file (ca_bundle). Everything else keeps
/// ClientOptions' defaults.
Result<ClientOptions> FromConfig(const config::Snapshot& config);

}  // namespace esper::http
