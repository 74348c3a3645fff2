#include "frame.h"

#include <fmt/format.h>
#include <signal.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "esper/core/json_escape.h"
#include "esper/core/version.h"

namespace esper::bench {
namespace {

std::string Num(double v) {
  if (!std::isfinite(v)) return "null";
  return fmt::format("{:.6g}", v);
}

std::string Human(double v) {
  if (v == 0) return "0";
  double a = std::fabs(v);
  if (a >= 1e9) return fmt::format("{:.2f}G", v / 1e9);
  if (a >= 1e6) return fmt::format("{:.2f}M", v / 1e6);
  if (a >= 1e4) return fmt::format("{:.1f}k", v / 1e3);
  if (a >= 100) return fmt::format("{:.0f}", v);
  if (a >= 1) return fmt::format("{:.2f}", v);
  return fmt::format("{:.3g}", v);
}

std::string ReadFirstMatch(const char* path, std::string_view key) {
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key, 0) == 0) {
      auto colon = line.find(':');
      if (colon == std::string::npos) return "";
      auto v = line.substr(colon + 1);
      v.erase(0, v.find_first_not_of(" \t"));
      return v;
    }
  }
  return "";
}

}  // namespace

std::optional<double> Row::ratio() const {
  if (!peer_value || *peer_value <= 0 || value <= 0) return std::nullopt;
  return lower_is_better ? *peer_value / value : value / *peer_value;
}

double Percentile(std::vector<double> s, double pct) {
  if (s.empty()) return 0;
  std::sort(s.begin(), s.end());
  double idx = pct / 100.0 * static_cast<double>(s.size() - 1);
  return s[static_cast<size_t>(std::llround(idx))];
}
double Median(std::vector<double> s) { return Percentile(std::move(s), 50); }

std::string RenderTable(const std::vector<Row>& rows) {
  struct Cells { std::array<std::string, 9> c; };
  std::vector<Cells> t;
  t.push_back({{"part", "metric", "case", "ours", "peer", "peer's", "ratio", "target", "meets"}});
  for (const auto& r : rows) {
    auto ratio = r.ratio();
    std::string peer_fig = r.peer_value ? fmt::format("{} {}", Human(*r.peer_value), r.unit)
                                        : (r.peer.empty() ? "" : "n/a");
    t.push_back({{r.part, r.metric, r.case_name, fmt::format("{} {}", Human(r.value), r.unit),
                  r.peer, peer_fig, ratio ? fmt::format("{:.2f}x", *ratio) : "",
                  r.target, r.pass ? (*r.pass ? "yes" : "NO") : ""}});
  }
  std::array<size_t, 9> w{};
  for (const auto& row : t)
    for (size_t i = 0; i < 9; ++i) w[i] = std::max(w[i], row.c[i].size());
  std::string out;
  for (size_t k = 0; k < t.size(); ++k) {
    for (size_t i = 0; i < 9; ++i) out += fmt::format("{:<{}}  ", t[k].c[i], w[i]);
    while (!out.empty() && out.back() == ' ') out.pop_back();
    out += '\n';
    if (k == 0) {
      size_t total = 0;
      for (auto x : w) total += x + 2;
      out += std::string(total - 2, '-') + '\n';
    }
  }
  std::string notes;
  for (const auto& r : rows)
    if (!r.note.empty()) notes += fmt::format("  - {} / {} / {}: {}\n", r.part, r.metric, r.case_name, r.note);
  if (!notes.empty()) out += "notes:\n" + notes;
  out += "ratio: how many times better than the peer measured in the same run (> 1 is better).\n";
  return out;
}

std::string RenderJson(const std::vector<Row>& rows) {
  utsname u{};
  uname(&u);
  std::string out = "{\n  \"machine\": {";
  out += fmt::format("\"cpu\": {}, \"cores\": {}, \"memory\": {}, \"kernel\": {}, \"compiler\": {}, "
                     "\"esper_version\": {}",
                     JsonQuote(ReadFirstMatch("/proc/cpuinfo", "model name")), sysconf(_SC_NPROCESSORS_ONLN),
                     JsonQuote(ReadFirstMatch("/proc/meminfo", "MemTotal")),
                     JsonQuote(fmt::format("{} {}", u.sysname, u.release)), JsonQuote(__VERSION__),
                     JsonQuote(kVersion));
  out += "},\n  \"rows\": [";
  auto quoted_or_null = [](const std::string& s) { return s.empty() ? std::string("null") : JsonQuote(s); };
  for (size_t i = 0; i < rows.size(); ++i) {
    const Row& r = rows[i];
    auto ratio = r.ratio();
    out += fmt::format(
        "{}\n    {{\"part\": {}, \"metric\": {}, \"case\": {}, \"unit\": {}, "
        "\"value\": {}, \"min\": {}, \"max\": {}, \"peer\": {}, \"peer_value\": {}, \"ratio\": {}, "
        "\"target\": {}, \"pass\": {}, \"note\": {}}}",
        i ? "," : "", JsonQuote(r.part), JsonQuote(r.metric), JsonQuote(r.case_name), JsonQuote(r.unit),
        Num(r.value), r.min ? Num(*r.min) : "null", r.max ? Num(*r.max) : "null", quoted_or_null(r.peer),
        r.peer_value ? Num(*r.peer_value) : "null", ratio ? Num(*ratio) : "null", quoted_or_null(r.target),
        r.pass ? (*r.pass ? "true" : "false") : "null", JsonQuote(r.note));
  }
  out += "\n  ]\n}\n";
  return out;
}

std::string FindProgram(const std::vector<std::string>& names) {
  for (const auto& n : names) {
    if (n.find('/') != std::string::npos) {
      if (access(n.c_str(), X_OK) == 0) return n;
      continue;
    }
    const char* path = std::getenv("PATH");
    std::stringstream ss(path ? path : "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin");
    std::string dir;
    while (std::getline(ss, dir, ':')) {
      std::string full = dir + "/" + n;
      if (access(full.c_str(), X_OK) == 0) return full;
    }
  }
  return "";
}

Result<std::string> RunProgram(const std::vector<std::string>& argv, int* exit_code) {
  int fds[2];
  if (pipe(fds) != 0) return Error::FromErrno(errno, "pipe");
  pid_t pid = fork();
  if (pid < 0) return Error::FromErrno(errno, "fork");
  if (pid == 0) {
    sigset_t no_signals;  // not the CLI's mask (SIGINT/SIGTERM blocked, tools/esper/interrupt.h)
    sigemptyset(&no_signals);
    sigprocmask(SIG_SETMASK, &no_signals, nullptr);
    dup2(fds[1], 1);
    dup2(fds[1], 2);
    close(fds[0]);
    close(fds[1]);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  close(fds[1]);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  int rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  if (exit_code) *exit_code = rc;
  if (rc == 127) return Error::NotFound(fmt::format("could not run {}", argv.empty() ? "" : argv[0]));
  return out;
}

}  // namespace esper::bench
