#include "frame.h"

#include <fmt/format.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "esper/core/json_escape.h"
#include "esper/core/version.h"
#include "testing/process.h"

namespace esper::bench {
namespace {

std::string Num(double v) {
  if (!std::isfinite(v)) return "null";
  return fmt::format("{:.6g}", v);
}

}  // namespace

std::string HumanNumber(double v) {
  if (v == 0) return "0";
  double a = std::fabs(v);
  if (a >= 1e9) return fmt::format("{:.2f}G", v / 1e9);
  if (a >= 1e6) return fmt::format("{:.2f}M", v / 1e6);
  if (a >= 1e4) return fmt::format("{:.1f}k", v / 1e3);
  if (a >= 100) return fmt::format("{:.0f}", v);
  if (a >= 1) return fmt::format("{:.2f}", v);
  return fmt::format("{:.3g}", v);
}

namespace {

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

size_t Columns(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

namespace {

// The code points of `s` (UTF-8), each as its bytes.
std::vector<std::string_view> CodePoints(std::string_view s) {
  std::vector<std::string_view> out;
  for (size_t i = 0; i < s.size();) {
    size_t j = i + 1;
    while (j < s.size() && (static_cast<unsigned char>(s[j]) & 0xC0) == 0x80) ++j;
    out.push_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

}  // namespace

std::string Shorten(std::string_view s, size_t cols) {
  const auto cps = CodePoints(s);
  if (cps.size() <= cols) return std::string(s);
  if (cols == 0) return "";
  const size_t keep = cols - 1, tail = keep / 3, head = keep - tail;
  std::string out;
  for (size_t i = 0; i < head; ++i) out += cps[i];
  out += "\u2026";
  for (size_t i = cps.size() - tail; i < cps.size(); ++i) out += cps[i];
  return out;
}

namespace {

// `text` in lines of at most `width` columns (0: no limit), the first after `first`, the others
// after `indent`; a word longer than a line is shortened.
std::string Wrap(std::string_view text, size_t width, const std::string& first, const std::string& indent) {
  if (width == 0) width = SIZE_MAX;
  std::string out, line = first;
  size_t used = Columns(first);
  bool empty = true;
  std::istringstream words{std::string(text)};
  std::string w;
  while (words >> w) {
    if (!empty && used + 1 + Columns(w) > width) {
      out += line + "\n";
      line = indent;
      used = Columns(indent);
      empty = true;
    }
    if (width != SIZE_MAX && used + (empty ? 0 : 1) + Columns(w) > width) w = Shorten(w, width - used - (empty ? 0 : 1));
    if (!empty) {
      line += ' ';
      ++used;
    }
    line += w;
    used += Columns(w);
    empty = false;
  }
  return out + line + "\n";
}

}  // namespace

std::string RatioText(double ratio) {
  return ratio >= 100 ? HumanNumber(ratio) + "x" : fmt::format("{:.2f}x", ratio);
}

std::string RenderTable(const std::vector<Row>& rows, const std::vector<std::string>& missing, size_t width) {
  // The part is a heading line above its rows, not a column: the figures get the room.
  constexpr size_t kCols = 8;
  enum { kMetric, kCase, kOurs, kPeer, kPeers, kRatio, kTarget, kMeets };
  using Cells = std::array<std::string, kCols>;
  const Cells header = {"metric", "case", "ours", "peer", "peer's", "ratio", "target", "meets"};
  std::vector<Cells> cells;
  for (const auto& r : rows) {
    const auto ratio = r.ratio();
    cells.push_back({r.metric, r.case_name, fmt::format("{} {}", HumanNumber(r.value), r.unit), r.peer,
                     r.peer_value ? fmt::format("{} {}", HumanNumber(*r.peer_value), r.unit) : (r.peer.empty() ? "" : "n/a"),
                     ratio ? RatioText(*ratio) : "", r.target, r.pass ? (*r.pass ? "yes" : "NO") : ""});
  }
  std::array<size_t, kCols> w{};
  for (size_t i = 0; i < kCols; ++i) w[i] = Columns(header[i]);
  for (const auto& c : cells)
    for (size_t i = 0; i < kCols; ++i) w[i] = std::max(w[i], Columns(c[i]));
  auto total = [&] {
    size_t sum = 2 * (kCols - 1);
    for (size_t x : w) sum += x;
    return sum;
  };
  // Too wide: narrow the text columns (metric, case, peer, target) a column at a time, always the
  // one widest for its share (metric 3, case 5, peer 2, target 2), down to a floor each; the
  // figures are never cut.
  const std::array<size_t, kCols> floor = {14, 24, 10, 9, 0, 0, 9, 0};
  const std::array<size_t, kCols> share = {3, 5, 0, 2, 0, 0, 2, 0};
  while (width > 0 && total() > width) {
    size_t pick = kCols;
    for (size_t i = 0; i < kCols; ++i) {
      if (share[i] == 0 || w[i] <= floor[i]) continue;
      if (pick == kCols || w[i] * share[pick] > w[pick] * share[i]) pick = i;
    }
    if (pick == kCols) break;
    --w[pick];
  }
  auto line = [&](const Cells& c) {
    std::string out;
    for (size_t i = 0; i < kCols; ++i) {
      const std::string cell = Shorten(c[i], w[i]);
      const std::string pad(w[i] - Columns(cell), ' ');
      // Figures right-aligned, so their decimal places line up.
      out += (i == kOurs || i == kPeers || i == kRatio ? pad + cell : cell + pad) + "  ";
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out + '\n';
  };
  std::string out = line(header) + std::string(total(), '-') + '\n';
  for (size_t k = 0; k < rows.size(); ++k) {
    if (k == 0 || rows[k].part != rows[k - 1].part) out += fmt::format("[{}]\n", Shorten(rows[k].part, width ? width - 2 : SIZE_MAX));
    out += line(cells[k]);
  }
  std::string notes;
  for (const auto& r : rows)
    if (!r.note.empty()) notes += Wrap(fmt::format("{} / {} / {}: {}", r.part, r.metric, r.case_name, r.note), width, "  - ", "    ");
  if (!notes.empty()) out += "notes:\n" + notes;
  for (const auto& m : missing) out += Wrap(m, width, "", "    ");
  out += Wrap("ratio: how many times better than the peer measured in the same run (> 1 is better).", width, "", "");
  return out;
}

std::string MachineDescription() {
  utsname u{};
  uname(&u);
  const std::string mem = ReadFirstMatch("/proc/meminfo", "MemTotal");  // "24731400 kB"
  const double gib = std::atof(mem.c_str()) / (1024.0 * 1024.0);
  return fmt::format("{}, {} cores, {:.1f} GiB, {} {}, compiler {}, esper {}", ReadFirstMatch("/proc/cpuinfo", "model name"),
                     sysconf(_SC_NPROCESSORS_ONLN), gib, u.sysname, u.release, __VERSION__, kVersion);
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
        "\"value\": {}, \"min\": {}, \"max\": {}, \"lower_is_better\": {}, \"peer\": {}, \"peer_value\": {}, \"ratio\": {}, "
        "\"target\": {}, \"pass\": {}, \"note\": {}}}",
        i ? "," : "", JsonQuote(r.part), JsonQuote(r.metric), JsonQuote(r.case_name), JsonQuote(r.unit),
        Num(r.value), r.min ? Num(*r.min) : "null", r.max ? Num(*r.max) : "null", r.lower_is_better ? "true" : "false", quoted_or_null(r.peer),
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
  const testing::ProcessResult r = testing::RunProcess(argv);
  if (exit_code) *exit_code = r.exit_code;
  if (r.exit_code == 127) return Error::NotFound(fmt::format("could not run {}", argv.empty() ? "" : argv[0]));
  return r.out + r.err;
}

}  // namespace esper::bench
