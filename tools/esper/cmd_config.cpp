// esper config show|validate|get|explain — the effective configuration, its errors, its sources.
//
//   esper config show     [--config F …] [--set k=v …] [--format yaml|json]
//   esper config validate [--config F …] [--set k=v …]
//   esper config get KEY  [--config F …] [--set k=v …]
//   esper config explain KEY [--config F …] [--set k=v …]
//
// Without --config, ESPER_CONFIG=a.yaml:b.yaml is read. The environment (ESPER_*, AWS_*) applies
// as in any service. Secrets are printed as ***. Errors: every problem of the load on stderr,
// exit 1; a malformed --set is a usage error (exit 2). Warnings go to stderr and do not fail.
#include <fmt/format.h>

#include <cstdio>
#include <memory>

#include "commands.h"
#include "esper/config/loader.h"

namespace esper::cli {

Runner SetupConfig(CLI::App& cmd) {
  struct Flags {
    std::vector<std::string> files;
    std::vector<std::string> sets;
    std::string format = "yaml";
    std::string key;
  };
  auto f = std::make_shared<Flags>();
  cmd.require_subcommand(1, 1);
  auto common = [f](CLI::App* sub) {
    sub->add_option("--config,-c", f->files, "YAML file, merged in order (repeatable); default: $ESPER_CONFIG")
        ->allow_extra_args(false);
    sub->add_option("--set,-s", f->sets, "Override KEY=VALUE, applied last (repeatable)")->allow_extra_args(false);
  };
  CLI::App* show = cmd.add_subcommand("show", "Print the effective configuration (secrets redacted)");
  common(show);
  show->add_option("--format,-f", f->format, "yaml or json")->check(CLI::IsMember({"yaml", "json"}));
  CLI::App* validate = cmd.add_subcommand("validate", "Check the configuration; exit 1 listing every error");
  common(validate);
  CLI::App* get = cmd.add_subcommand("get", "Print one value (or a section as YAML)");
  get->add_option("key", f->key, "Dotted key, e.g. database.port or training.layers[0]")->required();
  common(get);
  CLI::App* explain = cmd.add_subcommand("explain", "Show where a value came from: default → file → env → --set");
  explain->add_option("key", f->key, "Dotted key")->required();
  common(explain);

  return [f, show, validate, get, explain]() -> Status {
    config::LoadOptions opts;
    opts.files = f->files;
    for (const auto& s : f->sets) {
      auto o = config::ParseOverride(s);
      if (!o) return UsageError(o.error().message());
      opts.overrides.push_back(std::move(*o));
    }
    std::vector<config::Diagnostic> diags;
    auto snap = config::Load(opts, &diags);
    std::size_t errors = 0;
    for (const auto& d : diags) {
      if (d.is_error()) errors += d.problems();
      PrintErr("{}\n", d.ToString());
    }
    Flush();
    if (!snap) {
      if (errors == 0) return snap.error();
      return Error::InvalidArgument(
          fmt::format("the configuration is invalid ({} error{})", errors, errors == 1 ? "" : "s"));
    }
    const config::Snapshot& s = **snap;
    if (show->parsed()) {
      Print("{}", s.Dump(f->format == "json" ? config::Snapshot::Format::kJson : config::Snapshot::Format::kYaml));
    } else if (validate->parsed()) {
      std::string from = s.sources().empty() ? std::string("defaults and the environment")
                                             : fmt::format("{}", fmt::join(s.sources(), ", "));
      std::size_t warnings = 0;
      for (const auto& w : s.warnings()) warnings += w.problems();
      Print("configuration is valid: {} values from {}{}\n", s.size(), from,
            warnings == 0 ? "" : fmt::format(" ({} warning{})", warnings, warnings == 1 ? "" : "s"));
    } else if (get->parsed()) {
      ESPER_ASSIGN_OR_RETURN(std::string v, s.Render(f->key));
      Print("{}", v);
      if (v.empty() || v.back() != '\n') Print("\n");
    } else if (explain->parsed()) {
      ESPER_ASSIGN_OR_RETURN(std::string v, s.Explain(f->key));
      Print("{}", TerminalSafe(v));  // for a person: a value's ESC or CR cannot drive the terminal
    }
    Flush();
    return OkStatus();
  };
}

}  // namespace esper::cli
