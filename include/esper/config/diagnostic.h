// esper/config/diagnostic.h — one configuration error or warning, pointing at its source.
//
// Loading collects every problem of one load (it does not stop at the first) as Diagnostics.
// Each names the key, the source (Origin) and what is wrong; for a YAML file it also carries the
// offending line, rendered with a caret under the column:
//
//   base.yaml:3:9: error: database.port: 70000 is out of range [1, 65535]
//       3 |   port: 70000
//         |         ^
//   env ESPER_DATABASE__HOST: error: database.hots: unknown key (did you mean "host"?)
//   --set: error: logging.level: "loud" is not one of trace, debug, info, warn, error, critical, off
//
// A diagnostic never shows a secret: a message about a secret says "(value redacted)", and the
// source line shows "***" in place of every secret value on it — whatever the diagnostic is
// about (a syntax error, a duplicate key, an error on another key of a flow mapping): values of
// keys named like secrets (esper::IsSecretKey), URLs with credentials, and, past a syntax error,
// anything that might be one.
//
// Thread safety: a value type.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "esper/config/origin.h"

namespace esper::config {

struct Diagnostic {
  enum class Severity { kError, kWarning };
  Severity severity = Severity::kError;
  std::string key;          // dotted key ("database.port"); empty for a syntax error
  Origin origin;            // where the offending value (or text) came from
  std::string message;      // what is wrong, without the location or key
  std::string source_line;  // YAML sources: the offending line (secrets masked); else empty
  int caret_column = 0;     // 1-based byte offset of the caret in source_line (0: origin.column)
  // A summary of diagnostics left out (LoadOptions::max_errors): how many; 0 for a real one.
  // Its message is "and N more errors, not listed (…)"; count it as `omitted` problems.
  std::size_t omitted = 0;

  bool is_error() const { return severity == Severity::kError; }
  /// How many problems this diagnostic stands for: 1, or `omitted` for a summary.
  std::size_t problems() const { return omitted > 0 ? omitted : 1; }
  /// The rendered form shown above (one or three lines, no trailing newline).
  std::string ToString() const;
};

/// Renders diagnostics one after another, each on its own line(s).
std::string RenderDiagnostics(const std::vector<Diagnostic>& diagnostics);

}  // namespace esper::config
