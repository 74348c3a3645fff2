// The bench report page (report.h): summary of the seed's targets, inline SVG charts, every row.
#include "report.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <ctime>
#include <functional>
#include <map>
#include <optional>
#include <regex>

#include "esper/core/xml_escape.h"

namespace esper::bench {
namespace {

std::string Fig(double v, std::string_view unit) { return fmt::format("{} {}", HumanNumber(v), unit); }

// ---- the seed's targets ----

struct Target {
  std::string what;    // "Logging latency"
  std::string bar;     // "< 0.1 ms per call"
  std::string source;  // which row stands for it, in words
  std::function<bool(const Row&)> match;
  std::function<bool(double)> meets;  // on our value, in the row's unit; null: the row's own pass
};

bool CaseHas(const Row& r, std::string_view s) { return r.case_name.find(s) != std::string::npos; }

// "12,345 keys (1.23 MB)" → 1.23
std::optional<double> MegabytesOf(const std::string& case_name) {
  static const std::regex re(R"(\(([0-9.]+) MB\))");
  std::smatch m;
  if (!std::regex_search(case_name, m, re)) return std::nullopt;
  return std::stod(m[1]);
}

std::vector<Target> SeedTargets(const std::vector<Row>& rows) {
  // The largest config file measured.
  double largest = -1;
  for (const Row& r : rows) {
    if (r.part == "config" && r.metric == "load+override+validate") largest = std::max(largest, MegabytesOf(r.case_name).value_or(-1));
  }
  // Whether a soak measured memory growth: its row stands for "No memory growth" when there is one.
  const bool growth_row =
      std::any_of(rows.begin(), rows.end(), [](const Row& x) { return x.metric.find("growth") != std::string::npos; });
  return {
      {"Logging latency", "< 0.1 ms per call", "log latency p99.9, int,int,double, 1 thread",
       [](const Row& r) { return r.part == "log" && r.metric == "latency p99.9" && r.case_name == "int,int,double, 1 thread"; },
       [](double ns) { return ns < 100'000; }},
      {"Logging throughput", "> 100,000 messages/s", "log backend throughput, text lines into a file",
       [](const Row& r) { return r.part == "log" && r.metric == "backend throughput" && CaseHas(r, "text lines"); },
       [](double v) { return v > 100'000; }},
      {"S3 reliability", "99.9 % success under 1,000+ concurrent operations", "an s3 success-rate row",
       [](const Row& r) { return r.part == "s3" && (r.metric.find("success") != std::string::npos || r.unit == "%"); },
       [](double pct) { return pct >= 99.9; }},
      {"Configuration", "< 100 ms for the largest file", "config load+override+validate, the largest file",
       [largest](const Row& r) {
         return r.part == "config" && r.metric == "load+override+validate" && largest > 0 &&
                MegabytesOf(r.case_name).value_or(-2) == largest;
       },
       [](double ms) { return ms < 100; }},
      {"Circuit breaker", "< 1 ms", "closed breaker per call, 1 thread",
       [](const Row& r) { return r.part == "resilience" && r.metric == "closed breaker, per call" && CaseHas(r, "consecutive mode, 1 thread"); },
       [](double ns) { return ns < 1e6; }},
      {"No memory growth", "memory bounded under sustained load",
       "a memory-growth row (soak), else log peak RSS with producers outrunning the backend (kBlock)",
       [growth_row](const Row& r) {
         return growth_row ? r.metric.find("growth") != std::string::npos
                           : r.part == "log" && r.metric == "peak RSS delta" && CaseHas(r, "kBlock");
       },
       nullptr},
      {"No credential in any log", "none", "a bench row on credentials",
       [](const Row& r) { return r.metric.find("credential") != std::string::npos; }, nullptr},
  };
}

// ---- inline SVG charts ----

struct Series {
  std::string name;
  std::vector<std::optional<double>> values;  // one per category
};

constexpr const char* kColors[] = {"#2b6cb0", "#dd6b20", "#38a169", "#805ad5", "#718096"};

// `label` in at most 3 lines of at most `chars` characters (by words; the last shortened).
std::vector<std::string> LabelLines(const std::string& label, size_t chars) {
  std::vector<std::string> lines;
  std::string line;
  size_t start = 0;
  while (start < label.size()) {
    size_t end = label.find(' ', start);
    if (end == std::string::npos) end = label.size();
    const std::string word = label.substr(start, end - start);
    start = end + 1;
    if (!line.empty() && line.size() + 1 + word.size() > chars) {
      lines.push_back(line);
      line.clear();
    }
    line += (line.empty() ? "" : " ") + word;
  }
  if (!line.empty()) lines.push_back(line);
  const bool more = lines.size() > 3;
  if (more) lines.resize(3);
  for (size_t i = 0; i < lines.size(); ++i) {
    // Cut by code points (a case may hold "×" or "–"), a "…" where something was left out.
    std::string& l = lines[i];
    size_t cps = 0, cut = l.size();
    for (size_t b = 0; b < l.size(); ++b)
      if ((static_cast<unsigned char>(l[b]) & 0xC0) != 0x80 && ++cps > chars) {
        cut = b;
        break;
      }
    if (cut < l.size() || (more && i == 2)) l = l.substr(0, cut) + "\u2026";
  }
  return lines;
}

// Grouped vertical bars; log10 y axis when the values span more than ~30x.
std::string BarChart(const std::string& title, const std::vector<std::string>& categories,
                     const std::vector<Series>& series, const std::string& unit, bool lower_is_better) {
  double lo = INFINITY, hi = 0;
  for (const auto& s : series)
    for (const auto& v : s.values)
      if (v && *v > 0) lo = std::min(lo, *v), hi = std::max(hi, *v);
  if (!(hi > 0)) return "";
  const bool log = hi / lo > 30;
  const double W = 560, H = 320, left = 62, right = 12, top = 40, bottom = 90;
  const double plot_w = W - left - right, plot_h = H - top - bottom;
  double ymin = 0, ymax = hi * 1.15;
  if (log) {
    ymin = std::pow(10, std::floor(std::log10(lo)));
    ymax = std::pow(10, std::ceil(std::log10(hi * 1.5)));
  }
  auto y_of = [&](double v) {
    double f = log ? (std::log10(v) - std::log10(ymin)) / (std::log10(ymax) - std::log10(ymin)) : v / ymax;
    return top + plot_h * (1 - std::clamp(f, 0.0, 1.0));
  };
  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" "
      "role=\"img\" aria-label=\"{2}\">\n",
      W, H, XmlEscape(title));
  svg += fmt::format("<text x=\"{}\" y=\"22\" class=\"ct\">{}</text>\n", left, XmlEscape(title));
  // Y axis ticks and grid.
  std::vector<double> ticks;
  if (log) {
    for (double t = ymin; t <= ymax * 1.0001; t *= 10) ticks.push_back(t);
  } else {
    const double step = std::pow(10, std::floor(std::log10(ymax / 4)));
    const double nice = ymax / step > 20 ? step * 5 : ymax / step > 8 ? step * 2 : step;
    for (double t = 0; t <= ymax; t += nice) ticks.push_back(t);
  }
  for (double t : ticks) {
    const double y = y_of(log ? t : std::max(t, 0.0));
    svg += fmt::format("<line x1=\"{}\" x2=\"{}\" y1=\"{:.1f}\" y2=\"{:.1f}\" class=\"grid\"/>\n", left, W - right, y, y);
    svg += fmt::format("<text x=\"{}\" y=\"{:.1f}\" class=\"yl\">{}</text>\n", left - 6, y + 4, XmlEscape(t >= 1e4 ? HumanNumber(t) : fmt::format("{:g}", t)));
  }
  svg += fmt::format("<text x=\"14\" y=\"{:.1f}\" class=\"yl\" transform=\"rotate(-90 14 {:.1f})\">{}{}</text>\n",
                     top + plot_h / 2, top + plot_h / 2, XmlEscape(unit), log ? " (log scale)" : "");
  const double group_w = plot_w / static_cast<double>(categories.size());
  const double bar_w = std::min(40.0, group_w * 0.8 / static_cast<double>(series.size()));
  for (size_t c = 0; c < categories.size(); ++c) {
    const double gx = left + group_w * static_cast<double>(c) + (group_w - bar_w * static_cast<double>(series.size())) / 2;
    for (size_t s = 0; s < series.size(); ++s) {
      const auto& v = series[s].values[c];
      const double x = gx + bar_w * static_cast<double>(s);
      if (!v || *v <= 0) {
        svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" class=\"na\">n/a</text>\n", x + bar_w / 2, top + plot_h - 4);
        continue;
      }
      const double y = y_of(*v);
      svg += fmt::format("<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"{}\"><title>{}: {}</title></rect>\n",
                         x, y, bar_w - 2, top + plot_h - y, kColors[s % 5], XmlEscape(series[s].name), XmlEscape(Fig(*v, unit)));
      svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" class=\"vl\">{}</text>\n", x + (bar_w - 2) / 2, y - 3, XmlEscape(HumanNumber(*v)));
    }
    const double cx = left + group_w * (static_cast<double>(c) + 0.5);
    svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" class=\"xl\">", cx, top + plot_h + 16);
    const auto lines = LabelLines(categories[c], static_cast<size_t>(std::max(6.0, (group_w - 10) / 6.6)));
    for (size_t l = 0; l < lines.size(); ++l)
      svg += fmt::format("<tspan x=\"{:.1f}\" dy=\"{}\">{}</tspan>", cx, l ? 13 : 0, XmlEscape(lines[l]));
    svg += "</text>\n";
  }
  svg += fmt::format("<line x1=\"{}\" x2=\"{}\" y1=\"{}\" y2=\"{}\" class=\"axis\"/>\n", left, W - right, top + plot_h, top + plot_h);
  // Legend.
  double lx = left;
  for (size_t s = 0; s < series.size(); ++s) {
    svg += fmt::format("<rect x=\"{:.1f}\" y=\"{}\" width=\"12\" height=\"12\" fill=\"{}\"/>", lx, H - 24, kColors[s % 5]);
    svg += fmt::format("<text x=\"{:.1f}\" y=\"{}\" class=\"lg\">{}</text>\n", lx + 16, H - 14, XmlEscape(series[s].name));
    lx += 24 + 7.0 * static_cast<double>(series[s].name.size());
  }
  svg += fmt::format("<text x=\"{}\" y=\"{}\" class=\"lg\" text-anchor=\"end\">{}</text>\n", W - right, H - 14,
                     lower_is_better ? "lower is better" : "higher is better");
  svg += "</svg>\n";
  return svg;
}

const Row* Find(const std::vector<Row>& rows, std::string_view part, std::string_view metric, std::string_view case_name) {
  for (const Row& r : rows)
    if (r.part == part && r.metric == metric && r.case_name == case_name) return &r;
  return nullptr;
}

std::string Figure(const std::string& svg, const std::string& caption) {
  if (svg.empty()) return "";
  return "<figure>\n" + svg + "<figcaption>" + XmlEscape(caption) + "</figcaption>\n</figure>\n";
}

std::string Charts(const std::vector<Row>& rows) {
  std::string out;
  // Logger latency percentiles, ours beside spdlog.
  {
    std::vector<std::string> cats;
    Series ours{"esper", {}}, spdlog{"spdlog async", {}};
    for (const char* p : {"p50", "p99", "p99.9"}) {
      const Row* r = Find(rows, "log", fmt::format("latency {}", p), "int,int,double, 1 thread");
      if (!r) continue;
      cats.push_back(p);
      ours.values.push_back(r->value);
      spdlog.values.push_back(r->peer_value);
    }
    if (!cats.empty())
      out += Figure(BarChart("Logging: latency per call (int, int, double; 1 thread)", cats, {ours, spdlog}, "ns", true),
                    "The caller's cost of one log call, by percentile, beside spdlog's async logger measured in the same run.");
  }
  // HTTP requests/s per in-flight level.
  {
    static const std::regex level(R"(, ([0-9]+) in flight$)");
    std::vector<std::string> cats;
    Series ours{"esper http::Client", {}}, curl{"libcurl multi alone", {}}, wrk{"wrk", {}};
    for (const Row& r : rows) {
      std::smatch m;
      if (r.part != "http" || r.metric != "throughput" || !std::regex_search(r.case_name, m, level)) continue;
      cats.push_back(m[1].str() + " in flight");
      ours.values.push_back(r.value);
      wrk.values.push_back(r.peer_value);
      const Row* c = Find(rows, "http", "throughput, vs libcurl alone", r.case_name);
      curl.values.push_back(c ? c->peer_value : std::nullopt);
    }
    if (!cats.empty())
      out += Figure(BarChart("HTTP: requests/s against nginx on loopback", cats, {ours, curl, wrk}, "req/s", false),
                    "GET 1 KiB; the same server, the same run; libcurl alone is a bare curl-multi loop with none of our client around it.");
  }
  // S3 rates (throughput, operations/s) beside whichever peers the rows name (awscli, rclone):
  // one chart per metric and unit, a group per case, a bar for us and for each peer.
  {
    std::vector<std::pair<std::string, std::string>> charts;  // metric, unit
    for (const Row& r : rows)
      if (r.part == "s3" && r.unit.find("/s") != std::string::npos &&
          std::find(charts.begin(), charts.end(), std::pair(r.metric, r.unit)) == charts.end())
        charts.emplace_back(r.metric, r.unit);
    for (const auto& [metric, unit] : charts) {
      std::vector<std::string> cats;
      Series ours{"esper", {}};
      std::vector<Series> peers;
      for (const Row& r : rows) {
        if (r.part != "s3" || r.metric != metric || r.unit != unit) continue;
        auto c = std::find(cats.begin(), cats.end(), r.case_name);
        const size_t at = static_cast<size_t>(c - cats.begin());
        if (c == cats.end()) {
          cats.push_back(r.case_name);
          ours.values.push_back(r.value);
          for (auto& p : peers) p.values.emplace_back();
        }
        if (r.peer.empty()) continue;
        auto p = std::find_if(peers.begin(), peers.end(), [&](const Series& x) { return x.name == r.peer; });
        if (p == peers.end()) {
          peers.push_back(Series{r.peer, std::vector<std::optional<double>>(cats.size())});
          p = peers.end() - 1;
        }
        p->values[at] = r.peer_value;
      }
      std::vector<Series> all{ours};
      all.insert(all.end(), peers.begin(), peers.end());
      out += Figure(BarChart(fmt::format("S3: {}", metric), cats, all, unit, false),
                    peers.empty() ? "Against the same S3 server in the same run (no peer measured for these rows)."
                                  : "Against the same S3 server, each peer measured in the same run.");
    }
  }
  // Config load time by file size.
  {
    std::vector<std::pair<double, const Row*>> by_size;
    for (const Row& r : rows)
      if (r.part == "config" && r.metric == "load+override+validate")
        if (auto mb = MegabytesOf(r.case_name)) by_size.emplace_back(*mb, &r);
    std::sort(by_size.begin(), by_size.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<std::string> cats;
    Series ours{"esper config", {}}, peer{"", {}};
    for (const auto& [mb, r] : by_size) {
      cats.push_back(fmt::format("{} MB", HumanNumber(mb)));
      ours.values.push_back(r->value);
      peer.values.push_back(r->peer_value);
      if (!r->peer.empty()) peer.name = r->peer;
    }
    if (peer.name.empty()) peer.name = "peer";
    if (!cats.empty())
      out += Figure(BarChart("Configuration: load + override + validate, by file size", cats, {ours, peer}, "ms", true),
                    "A whole Load() of a YAML file of that size, beside the peer measured in the same run.");
  }
  // Metrics update cost.
  {
    std::vector<std::string> cats;
    Series ours{"esper metrics", {}}, mutex{"mutex-guarded", {}};
    for (const Row& r : rows) {
      if (r.part != "metrics" || r.unit != "ns" || r.metric.find("vs one shared atomic") != std::string::npos) continue;
      cats.push_back(r.metric + ", " + r.case_name);
      ours.values.push_back(r.value);
      mutex.values.push_back(r.peer_value);
    }
    if (!cats.empty())
      out += Figure(BarChart("Metrics: cost of one update", cats, {ours, mutex}, "ns", true),
                    "A counter increment and a histogram observation, beside the same guarded by a mutex, in the same run.");
  }
  return out;
}

std::string PassCell(const std::optional<bool>& pass) {
  if (!pass) return "<td class=\"nb\">no bar</td>";
  return *pass ? "<td class=\"pass\">pass</td>" : "<td class=\"fail\">FAIL</td>";
}

constexpr const char* kStyle = R"(
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: #1a202c;
       margin: 24px auto; max-width: 1180px; padding: 0 16px; }
h1 { font-size: 24px; margin-bottom: 4px; } h2 { font-size: 19px; margin-top: 32px; border-bottom: 1px solid #e2e8f0; }
h3 { font-size: 16px; margin: 20px 0 6px; }
.machine { color: #4a5568; font-size: 13px; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #edf2f7; vertical-align: top; }
th { background: #f7fafc; font-weight: 600; white-space: nowrap; }
th.num { text-align: right; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.pass { color: #22543d; background: #f0fff4; font-weight: 600; }
td.fail { color: #742a2a; background: #fff5f5; font-weight: 700; }
td.nm { color: #718096; font-style: italic; }
td.nb { color: #a0aec0; }
table.rows { table-layout: fixed; }  /* the same columns in every part's table */
table.rows td { overflow-wrap: anywhere; }
table.rows th:nth-child(1) { width: 15%; } table.rows th:nth-child(2) { width: 26%; }
table.rows th:nth-child(3), table.rows th:nth-child(4), table.rows th:nth-child(6) { width: 9%; }
table.rows th:nth-child(5) { width: 14%; } table.rows th:nth-child(7) { width: 6%; }
table.rows th:nth-child(8) { width: 8%; } table.rows th:nth-child(9) { width: 4%; }
table.rows tr:has(+ tr.note) td { border-bottom: none; }
tr.note td { color: #4a5568; font-size: 12px; padding-top: 0; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(560px, 1fr)); gap: 8px 24px; }
figure { margin: 8px 0 16px; } figure svg { max-width: 100%; height: auto; }
figcaption { color: #4a5568; font-size: 12px; margin-top: 4px; max-width: 560px; }
svg text { font: 11px system-ui, "DejaVu Sans", sans-serif; fill: #2d3748; }
svg .ct { font-size: 14px; font-weight: 600; } svg .yl { text-anchor: end; } svg .xl, svg .vl, svg .na { text-anchor: middle; }
svg .vl { font-size: 10px; } svg .na { fill: #a0aec0; } svg .lg { font-size: 12px; }
svg .grid { stroke: #edf2f7; } svg .axis { stroke: #4a5568; }
.missing li { color: #4a5568; }
)";

}  // namespace

std::string RenderHtml(const std::vector<Row>& rows, const std::vector<std::string>& missing) {
  std::string h = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n"
                  "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n"
                  "<title>esper bench report</title>\n<style>";
  h += kStyle;
  h += "</style>\n</head>\n<body>\n<h1>esper-utils — validation report</h1>\n";
  const std::time_t now = std::time(nullptr);
  char when[64];
  std::strftime(when, sizeof when, "%Y-%m-%d %H:%M UTC", std::gmtime(&now));
  h += fmt::format("<p class=\"machine\">{} · {} · every peer measured in the same run on the same machine</p>\n",
                   XmlEscape(MachineDescription()), when);

  h += "<h2>The seed's targets</h2>\n<table class=\"summary\">\n<tr><th>target</th><th>bar</th><th>measured by</th>"
       "<th class=\"num\">ours</th><th>peer</th><th class=\"num\">peer's</th><th>meets</th></tr>\n";
  for (const Target& t : SeedTargets(rows)) {
    const Row* r = nullptr;
    for (const Row& row : rows)
      if (t.match(row)) { r = &row; break; }
    h += fmt::format("<tr><td>{}</td><td>{}</td>", XmlEscape(t.what), XmlEscape(t.bar));
    if (!r) {
      h += fmt::format("<td class=\"nm\">{}</td><td class=\"nm\" colspan=\"4\">not measured</td></tr>\n", XmlEscape(t.source));
      continue;
    }
    std::optional<bool> pass = t.meets ? std::optional<bool>(t.meets(r->value)) : r->pass;
    h += fmt::format("<td>{} / {} / {}</td><td class=\"num\">{}</td><td>{}</td><td class=\"num\">{}</td>{}</tr>\n",
                     XmlEscape(r->part), XmlEscape(r->metric), XmlEscape(r->case_name), XmlEscape(Fig(r->value, r->unit)), XmlEscape(r->peer),
                     r->peer_value ? XmlEscape(Fig(*r->peer_value, r->unit)) : "", PassCell(pass));
  }
  h += "</table>\n";

  const std::string charts = Charts(rows);
  if (!charts.empty()) h += "<h2>Charts</h2>\n<div class=\"charts\">\n" + charts + "</div>\n";

  h += "<h2>Every figure, by part</h2>\n";
  std::vector<std::string> parts;
  for (const Row& r : rows)
    if (std::find(parts.begin(), parts.end(), r.part) == parts.end()) parts.push_back(r.part);
  for (const std::string& part : parts) {
    int pass = 0, fail = 0;
    for (const Row& r : rows)
      if (r.part == part && r.pass) (*r.pass ? pass : fail)++;
    h += fmt::format("<h3 id=\"{0}\">{0} <small>({1} pass, {2} fail)</small></h3>\n", XmlEscape(part), pass, fail);
    h += "<table class=\"rows\">\n<tr><th>metric</th><th>case</th><th class=\"num\">ours</th><th class=\"num\">min–max</th>"
         "<th>peer</th><th class=\"num\">peer's</th><th class=\"num\">ratio</th><th>target</th><th>meets</th></tr>\n";
    for (const Row& r : rows) {
      if (r.part != part) continue;
      const auto ratio = r.ratio();
      h += fmt::format(
          "<tr><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td><td class=\"num\">{}</td>"
          "<td class=\"num\">{}</td><td>{}</td>{}</tr>\n",
          XmlEscape(r.metric), XmlEscape(r.case_name), XmlEscape(Fig(r.value, r.unit)),
          r.min && r.max ? XmlEscape(fmt::format("{} – {}", HumanNumber(*r.min), HumanNumber(*r.max))) : "",
          XmlEscape(r.peer), r.peer_value ? XmlEscape(Fig(*r.peer_value, r.unit)) : (r.peer.empty() ? "" : "n/a"),
          ratio ? RatioText(*ratio) : "", XmlEscape(r.target),
          r.pass ? PassCell(r.pass) : std::string("<td></td>"));
      if (!r.note.empty()) h += fmt::format("<tr class=\"note\"><td></td><td colspan=\"8\">{}</td></tr>\n", XmlEscape(r.note));
    }
    h += "</table>\n";
  }
  if (!missing.empty()) {
    h += "<h2>Not measured</h2>\n<ul class=\"missing\">\n";
    for (const auto& m : missing) h += "<li>" + XmlEscape(m) + "</li>\n";
    h += "</ul>\n";
  }
  h += "<p class=\"machine\">ratio: how many times better than the peer measured in the same run (&gt; 1 is better).</p>\n";
  h += "</body>\n</html>\n";
  return h;
}

}  // namespace esper::bench
