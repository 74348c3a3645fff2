// esper bench [all|log|config|…] [--quick] [--json FILE]
#include <fmt/format.h>

#include <cstdio>
#include <fstream>
#include <memory>

#include "commands.h"
#include "frame.h"
#include "metrics_listen.h"

namespace esper::cli {

Runner SetupBench(CLI::App& cmd) {
  struct Flags {
    std::string which = "all";
    bool quick = false;
    std::string json;
    std::string metrics_listen;
  };
  auto f = std::make_shared<Flags>();
  std::vector<std::string> names{"all"};
  for (const auto& s : bench::Suites()) names.push_back(s.name);
  cmd.add_option("part", f->which, "Which suite to run")
      ->check(CLI::IsMember(names))
      ->default_str("all");
  cmd.add_flag("--quick", f->quick, "Fewer samples: 'all' finishes in under two minutes");
  cmd.add_option("--json", f->json, "Also write the rows as JSON to FILE");
  AddMetricsListenFlag(cmd, f->metrics_listen);

  return [f]() -> Status {
    // What the suites' clients, proxies and breakers publish, while they run.
    ESPER_ASSIGN_OR_RETURN(auto metrics_server, StartMetricsListen(f->metrics_listen));
    bench::Context ctx(f->quick, [](std::string_view what) {
      PrintErr("  … {}\n", what);
      Flush();
    });
    std::vector<std::string> missing;
    for (const auto& s : bench::Suites()) {
      if (f->which != "all" && f->which != s.name) continue;
      if (Interrupted()) return Error::Cancelled("interrupted");
      if (!s.run) {
        missing.push_back(fmt::format("{}: not measured — {}", s.name, s.missing));
        continue;
      }
      PrintErr("[{}] {}\n", s.name, s.description);
      Flush();
      if (Status st = s.run(ctx); !st) {
        return Error(st.error()).Wrap(fmt::format("bench {}", s.name));
      }
    }
    Print("{}", bench::RenderTable(ctx.rows()));
    for (const auto& m : missing) Print("{}\n", m);
    Flush();
    if (!f->json.empty()) {
      std::ofstream out(f->json);
      out << bench::RenderJson(ctx.rows());
      if (!out) return Error::FromErrno(errno, fmt::format("write {}", f->json));
    }
    return OkStatus();
  };
}

}  // namespace esper::cli
