// esper/config/loader.h — load a configuration from its layers, validate it, get a Snapshot.
//
// Sources, lowest precedence first (a later one overrides an earlier one, key by key):
//   1. the schema's built-in defaults;
//   2. YAML files, merged in order: `files` (the CLI's repeatable --config), or, when `files` is
//      empty, ESPER_CONFIG=a.yaml:b.yaml from the environment; then `texts` (in-memory YAML).
//      Values may use ${VAR} and ${VAR:-default} (from the environment map); "$$" is a literal $.
//   3. the environment: ESPER_<SECTION>__<KEY> (levels separated by "__", lower-cased:
//      ESPER_S3__ENDPOINT_URL → s3.endpoint_url), and the variables users already set:
//      AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION (beats
//      AWS_DEFAULT_REGION), AWS_ENDPOINT_URL_S3 (beats AWS_ENDPOINT_URL, beats S3_ENDPOINT_URL),
//      ESPER_LOG_LEVEL (→ logging.level). An ESPER_ variable always beats a standard one.
//   4. explicit overrides (`--set key=value`, or `overrides` in code).
//
// Values are converted by the key's declared type, never guessed (see docs/config.md): booleans
// are true/false only; integers are decimal, 0x hex or 0o octal, and a leading zero ("0123") is
// an error, because YAML 1.1 and 1.2 disagree on it; durations need a unit (250ms, 30s, 5m, 1h).
// Merging: mappings merge key by key; a scalar or a sequence replaces what was there.
//
// Every problem of one load is reported together: YAML syntax errors (file:line:col), duplicate
// keys, aliases (unsupported), unknown keys (with "did you mean"), type errors, out-of-range
// values, missing required keys (service.name), unset ${VAR}s. Production checks (debug on, TLS
// verification off, example credentials, debug logging) are warnings, which do not fail a load.
//
// Thread safety: Load() is reentrant; it reads the process environment only when
// `environment` is empty (nullopt), and never modifies it.
// Blocking: reads the files.
// Errors: InvalidArgument whose message lists the errors (RenderDiagnostics) — at most
// LoadOptions::max_errors (100), then one "and N more errors" summary, so memory and output follow
// the input, not the number of problems in it; the structured list goes to `*diagnostics` when
// given (errors and warnings, in source order). A bad byte (invalid UTF-8, NUL, a control
// character) is reported at its own line:col and shown escaped (\xNN). A file that could not be
// read or parsed reports that, and not the required keys it might have held as "missing".
// Files, variables and --set share one depth limit: 64 levels.
//
// Example:
//   esper::config::LoadOptions opts;
//   opts.files = {"/etc/esper/base.yaml", "prod.yaml"};
//   opts.overrides.push_back({"logging.level", "debug"});
//   auto snap = esper::config::Load(opts);
//   if (!snap) { fmt::print(stderr, "{}\n", snap.error().message()); return 1; }
//   int port = (*snap)->database().port;
//   int batch = (*snap)->Get<int>("training.batch_size", 32).value();
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "esper/config/diagnostic.h"
#include "esper/config/snapshot.h"
#include "esper/core/result.h"

namespace esper::config {

/// YAML held in memory, merged like a file. `name` is what diagnostics call it.
struct YamlText {
  std::string name;
  std::string text;
};

/// One explicit override, the highest layer. `label` names it in diagnostics and provenance.
struct Override {
  std::string key;    // dotted key, e.g. "database.port"
  std::string value;  // text, converted by the key's declared type
  std::string label = "--set";
};

struct LoadOptions {
  /// YAML files, merged in order. Empty: use ESPER_CONFIG (colon-separated) if it is set.
  std::vector<std::string> files;
  /// In-memory YAML documents, merged after `files`.
  std::vector<YamlText> texts;
  /// The environment to read. nullopt (default): the process environment, read at each load.
  std::optional<std::map<std::string, std::string>> environment;
  /// Explicit overrides, applied last, in order.
  std::vector<Override> overrides;
  /// Top-level sections whose keys are free-form (read with Snapshot::Get<T>), not checked
  /// against the schema. Keys in them whose name is a secret's (esper::IsSecretKey:
  /// password, secret, token, api_key, private-key, …) are treated as secrets.
  std::vector<std::string> free_form_sections = {"training"};
  /// Files larger than this are refused (a config is not a data set). Default 64 MiB.
  std::size_t max_file_bytes = std::size_t{64} << 20;
  /// Errors (and, separately, warnings) listed at most; beyond, they are only counted and one
  /// summary Diagnostic says "and N more errors" (Diagnostic::omitted = N). Keeps a file of
  /// 500,000 bad lines from costing gigabytes of diagnostics. >= 1.
  std::size_t max_errors = 100;
};

/// Parses "key=value" (the CLI's --set). InvalidArgument when there is no '=' or no key; the
/// message shows the argument's key only (esper::RedactAfterKey): its value may be a secret.
Result<Override> ParseOverride(std::string_view key_equals_value, std::string label = "--set");

/// The process environment as a map (what `environment = nullopt` reads).
std::map<std::string, std::string> ProcessEnvironment();

/// Loads, merges, converts and validates. See the file comment.
Result<std::shared_ptr<const Snapshot>> Load(const LoadOptions& options,
                                             std::vector<Diagnostic>* diagnostics = nullptr);

}  // namespace esper::config
