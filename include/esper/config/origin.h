// esper/config/origin.h — where a configuration value came from (its provenance).
//
// Every value in a configuration Snapshot remembers the chain of sources that set it, lowest
// precedence first, the last one being the winner:
//
//   default  →  base.yaml:12:9  →  env ESPER_DATABASE__PORT  →  --set
//
// `Snapshot::Provenance(key)` returns that chain as Origins; `Snapshot::Explain(key)` renders it.
// An Origin of a secret value carries "***" in `value`, never the secret.
//
// Thread safety: a value type.
//
// Example:
//   for (const esper::config::Origin& o : *snap->Provenance("database.port"))
//     fmt::print("{} set {}\n", o.ToString(), o.value);   // "env ESPER_DATABASE__PORT set 6000"
#pragma once

#include <cstdint>
#include <string>

namespace esper::config {

struct Origin {
  enum class Kind : std::uint8_t {
    kNone = 0,   // no source (e.g. a required key nobody set)
    kDefault,    // the schema's built-in default
    kFile,       // a YAML file (file, line, column are set)
    kEnv,        // an environment variable (name is set)
    kOverride,   // an explicit override: --set on the CLI or LoadOptions::overrides (name = label)
  };
  Kind kind = Kind::kNone;
  std::string file;   // kFile: the path as given
  int line = 0;       // kFile: 1-based
  int column = 0;     // kFile: 1-based
  std::string name;   // kEnv: the variable ("ESPER_S3__REGION"); kOverride: the label ("--set")
  std::string value;  // the value as that source wrote it ("***" for secrets; "" for a section)

  /// "default", "base.yaml:12:9", "env ESPER_S3__REGION", "--set".
  std::string ToString() const;
};

}  // namespace esper::config
