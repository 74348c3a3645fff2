// esper bench [all|log|metrics|config|…] [--quick] [--json FILE] [--html FILE] [--wide]
//   [--metrics-listen HOST:PORT]
// esper bench compare OLD.json NEW.json
// esper bench soak [--seconds N]
#include <fmt/format.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "commands.h"
#include "frame.h"
#include "interrupt.h"
#include "metrics_listen.h"
#include "report.h"
#include "soak.h"

namespace esper::cli {
namespace {

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Error::FromErrno(errno, fmt::format("read {}", path));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Status WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
  out.close();
  if (!out) return Error::FromErrno(errno, fmt::format("write {}", path));
  return OkStatus();
}

// Where a written file is, for the line that says so.
std::string Absolute(const std::string& path) {
  std::error_code ec;
  auto p = std::filesystem::absolute(path, ec);
  return ec ? path : p.lexically_normal().string();
}

}  // namespace

Runner SetupBench(CLI::App& cmd) {
  struct Flags {
    std::string which = "all";
    bool quick = false;
    bool wide = false;
    std::string json;
    std::string html;
    std::string metrics_listen;
    std::string old_json, new_json;
    int seconds = 60;
  };
  auto f = std::make_shared<Flags>();
  std::vector<std::string> names{"all"};
  for (const auto& s : bench::Suites()) names.push_back(s.name);
  names.push_back("soak");  // not part of `all`: it runs for --seconds
  cmd.add_option("part", f->which, "Which suite to run")
      ->check(CLI::IsMember(names))
      ->default_str("all");
  cmd.add_flag("--quick", f->quick, "Fewer samples: 'all' finishes in under two minutes");
  cmd.add_option("--json", f->json, "Also write the rows as JSON to FILE");
  cmd.add_option("--html", f->html, "Also write the report as one self-contained HTML page to FILE");
  cmd.add_flag("--wide", f->wide, "Print the table at full width (default: at most 120 columns)");
  cmd.add_option("--seconds", f->seconds, "soak: how long every part runs under load")
      ->check(CLI::Range(1, 7 * 24 * 3600))
      ->default_str("60");
  AddMetricsListenFlag(cmd, f->metrics_listen);
  CLI::App* compare = cmd.add_subcommand(
      "compare", "What got faster or slower between two --json files (min-max ranges that overlap are the same)");
  compare->add_option("old", f->old_json, "The earlier run's JSON")->required();
  compare->add_option("new", f->new_json, "The later run's JSON")->required();

  return [f, compare]() -> Status {
    if (compare->parsed()) {
      ESPER_ASSIGN_OR_RETURN(std::string before, ReadFile(f->old_json));
      ESPER_ASSIGN_OR_RETURN(std::string after, ReadFile(f->new_json));
      auto table = bench::CompareJson(before, after);
      if (!table) return UsageError(table.error().message());
      Print("{}", *table);
      return OkStatus();
    }
    // What the suites' clients, proxies and breakers publish, while they run.
    ESPER_ASSIGN_OR_RETURN(auto metrics_server, StartMetricsListen(f->metrics_listen));
    bench::Context ctx(f->quick, [](std::string_view what) {
      PrintErr("  … {}\n", what);
      Flush();
    });
    std::vector<std::string> missing;
    if (f->which == "soak") {
      PrintErr("[soak] every part under load for {} s; RSS and open fds sampled once a second\n", f->seconds);
      Flush();
      ESPER_RETURN_IF_ERROR(bench::RunSoak(ctx, std::chrono::seconds(f->seconds), InterruptToken()));
    }
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
    Print("{}", bench::RenderTable(ctx.rows(), missing, f->wide ? 0 : 120));
    if (!f->json.empty()) {
      ESPER_RETURN_IF_ERROR(WriteFile(f->json, bench::RenderJson(ctx.rows())));
      Print("rows as JSON: {}\n", Absolute(f->json));
    }
    if (!f->html.empty()) {
      ESPER_RETURN_IF_ERROR(WriteFile(f->html, bench::RenderHtml(ctx.rows(), missing)));
      Print("report page: {}\n", Absolute(f->html));
    }
    Flush();
    return OkStatus();
  };
}

}  // namespace esper::cli
