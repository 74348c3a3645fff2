// The bench report: the HTML page (well-formed, self-contained, every JSON row in it, the charts
// the rows call for), the 120-column table, and `esper bench compare`, on rows of every shape the
// suites write (and S3 rows beside awscli and rclone, as a suite may add them).
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <pugixml.hpp>
#include <sstream>

#include "frame.h"
#include "report.h"
#include "testing/process.h"

namespace esper::bench {
namespace {

using esper::testing::EsperBinary;
using esper::testing::RunProcess;

std::vector<Row> SampleRows() {
  std::vector<Row> rows;
  const char* pct[] = {"p50", "p99", "p99.9"};
  const double ours[] = {15, 27, 60}, spdlog[] = {2000, 230000, 260000};
  for (int i = 0; i < 3; ++i)
    rows.push_back(Row{.part = "log", .metric = fmt::format("latency {}", pct[i]), .case_name = "int,int,double, 1 thread",
                       .unit = "ns", .value = ours[i], .peer = "spdlog async", .peer_value = spdlog[i],
                       .target = i == 0 ? "<= 25 ns" : "", .pass = i == 0 ? std::optional(true) : std::nullopt,
                       .note = "1000 samples x 20-call bursts"});
  rows.push_back(Row{.part = "log", .metric = "backend throughput", .case_name = "text lines into a file, wall clock",
                     .unit = "lines/s", .value = 1.2e6, .lower_is_better = false, .peer = "spdlog async file",
                     .peer_value = 7e5, .target = ">= 2M lines/s", .pass = false});
  rows.push_back(Row{.part = "config", .metric = "load+override+validate", .case_name = "1,000 keys (0.02 MB)", .unit = "ms",
                     .value = 0.45, .min = 0.41, .max = 0.52, .peer = "PyYAML CSafeLoader (parse only)", .peer_value = 15});
  rows.push_back(Row{.part = "config", .metric = "load+override+validate", .case_name = "100,000 keys (1.68 MB)",
                     .unit = "ms", .value = 140, .min = 130, .max = 150, .peer = "PyYAML CSafeLoader (parse only)",
                     .peer_value = 2900});
  for (int level : {1, 64}) {
    const std::string c = fmt::format("GET 1 KiB from nginx, {} in flight", level);
    rows.push_back(Row{.part = "http", .metric = "throughput", .case_name = c, .unit = "req/s", .value = 17000.0 + level,
                       .lower_is_better = false, .peer = "wrk -t1", .peer_value = 37000});
    rows.push_back(Row{.part = "http", .metric = "throughput, vs libcurl alone", .case_name = c, .unit = "req/s",
                       .value = 17000.0 + level, .lower_is_better = false, .peer = "libcurl multi alone", .peer_value = 20000});
  }
  // S3 rows as another suite may write them: one row per peer, the same case.
  for (const char* peer : {"awscli", "rclone"})
    rows.push_back(Row{.part = "s3", .metric = "upload throughput", .case_name = "64 MiB object, multipart", .unit = "MiB/s",
                       .value = 180, .lower_is_better = false, .peer = peer, .peer_value = peer[0] == 'a' ? 95.0 : 140.0});
  rows.push_back(Row{.part = "s3", .metric = "success rate", .case_name = "1,000 operations through the fault proxy",
                     .unit = "%", .value = 100, .lower_is_better = false, .target = ">= 99.9 %", .pass = true});
  // Text a page must escape, and UTF-8.
  rows.push_back(Row{.part = "resilience", .metric = "closed breaker, per call", .case_name = "consecutive mode, 1 thread <&\"'>",
                     .unit = "ns", .value = 6.3, .peer = "naive mutex breaker × 2", .peer_value = 27,
                     .note = "a < b && c > d — \"quoted\""});
  return rows;
}

// Every cell's text of a <tr>, descending into nested elements.
std::vector<std::string> Cells(const pugi::xml_node& tr) {
  std::vector<std::string> out;
  for (auto td : tr.children("td")) {
    std::string s;
    for (auto t : td.select_nodes(".//text()")) s += t.node().value();
    out.push_back(s);
  }
  return out;
}

bool ValidUtf8(const std::string& s) {
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    const size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    i += n;
  }
  return true;
}

// A figure as the page shows it ("1.23k req/s", "-0.0476 ns") back to a number.
double FigureValue(const std::string& cell) {
  char* end = nullptr;
  double v = std::strtod(cell.c_str(), &end);
  switch (*end) {
    case 'k': v *= 1e3; break;
    case 'M': v *= 1e6; break;
    case 'G': v *= 1e9; break;
    default: break;
  }
  return v;
}

// The figure `cell` shows `value` in `unit`, to the page's precision (3-4 significant digits).
void ExpectFigure(const std::string& cell, double value, const std::string& unit, const std::string& what) {
  EXPECT_NEAR(FigureValue(cell), value, std::fabs(value) * 0.01 + 1e-9) << what << ": " << cell;
  EXPECT_TRUE(cell.size() >= unit.size() && cell.compare(cell.size() - unit.size(), unit.size(), unit) == 0)
      << what << ": " << cell;
}

// The page is well-formed UTF-8 XML, fetches nothing, and shows every row of the JSON file under
// its part's heading with its figures, pass/fail and note.
void ExpectPageHoldsEveryJsonRow(const std::string& html, const std::string& json_text) {
  ASSERT_TRUE(ValidUtf8(html));
  pugi::xml_document doc;
  const auto parsed = doc.load_buffer(html.data(), html.size(), pugi::parse_default | pugi::parse_doctype);
  ASSERT_TRUE(parsed) << parsed.description() << " at byte " << parsed.offset << ": "
                      << html.substr(static_cast<size_t>(std::max<ptrdiff_t>(0, parsed.offset - 80)), 160);
  ASSERT_TRUE(doc.child("html").child("body"));

  // Self-contained: nothing the browser would fetch.
  for (const char* fetch : {"<script", "<link", "<img", "<iframe", "src=", "href=", "@import", "url("})
    EXPECT_EQ(html.find(fetch), std::string::npos) << fetch;

  const auto json = nlohmann::json::parse(json_text);
  for (const auto& r : json["rows"]) {
    const std::string part = r["part"], metric = r["metric"], case_name = r["case"], unit = r["unit"];
    const std::string peer = r["peer"].is_string() ? r["peer"].get<std::string>() : "";
    const std::string what = part + " / " + metric + " / " + case_name;
    const auto table = doc.select_node(fmt::format("//h3[@id='{}']/following-sibling::table[1]", part).c_str()).node();
    ASSERT_TRUE(table) << part;
    bool found = false;
    for (auto tr : table.children("tr")) {
      const auto c = Cells(tr);
      if (c.size() < 9 || c[0] != metric || c[1] != case_name || c[4] != peer) continue;
      found = true;
      ExpectFigure(c[2], r["value"].get<double>(), unit, what);
      if (r["peer_value"].is_number()) {
        ExpectFigure(c[5], r["peer_value"].get<double>(), unit, what);
      }
      if (r["ratio"].is_number()) {
        EXPECT_NEAR(FigureValue(c[6]), r["ratio"].get<double>(), r["ratio"].get<double>() * 0.01) << what;
      }
      if (r["min"].is_number()) {
        EXPECT_NE(c[3].find(" – "), std::string::npos) << what;
      }
      if (r["pass"].is_boolean()) {
        EXPECT_EQ(c[8], r["pass"].get<bool>() ? "pass" : "FAIL") << what;
      }
      if (!r["note"].get<std::string>().empty()) {
        const auto note = Cells(tr.next_sibling("tr"));
        ASSERT_EQ(note.size(), 2u) << what;
        EXPECT_EQ(note[1], r["note"].get<std::string>());
      }
    }
    EXPECT_TRUE(found) << what;
  }
}

TEST(BenchReport, PageIsWellFormedSelfContainedAndHoldsEveryJsonRow) {
  const auto rows = SampleRows();
  const std::string html = RenderHtml(rows, {"proxy: not measured — no suite"});
  const std::string json = RenderJson(rows);
  ASSERT_EQ(nlohmann::json::parse(json)["rows"].size(), rows.size());
  ExpectPageHoldsEveryJsonRow(html, json);
  EXPECT_NE(html.find("proxy: not measured"), std::string::npos);
  // Exact figures where the row is known.
  EXPECT_NE(html.find("<td class=\"num\">0.45 ms</td><td class=\"num\">0.41 – 0.52</td>"), std::string::npos);
  EXPECT_NE(html.find("consecutive mode, 1 thread &lt;&amp;&quot;&apos;&gt;"), std::string::npos);
}

TEST(BenchReport, SummaryGivesEachSeedTargetOurFigureAndThePeers) {
  const std::string html = RenderHtml(SampleRows(), {});
  pugi::xml_document doc;
  ASSERT_TRUE(doc.load_buffer(html.data(), html.size(), pugi::parse_default | pugi::parse_doctype));
  std::map<std::string, std::vector<std::string>> by_target;
  for (auto tr : doc.select_node("//table[@class='summary']").node().children("tr")) {
    auto c = Cells(tr);
    if (!c.empty()) by_target[c[0]] = c;
  }
  ASSERT_EQ(by_target.size(), 7u);
  // Logging latency: p99.9 against < 0.1 ms.
  EXPECT_EQ(by_target["Logging latency"][3], "60.00 ns");
  EXPECT_EQ(by_target["Logging latency"][4], "spdlog async");
  EXPECT_EQ(by_target["Logging latency"][5], "260.0k ns");
  EXPECT_EQ(by_target["Logging latency"][6], "pass");
  // The seed's bar (> 100,000 lines/s), not the row's own (>= 2M), decides.
  EXPECT_EQ(by_target["Logging throughput"][6], "pass");
  // The largest file decides, and 140 ms misses < 100 ms.
  EXPECT_NE(by_target["Configuration"][2].find("1.68 MB"), std::string::npos);
  EXPECT_EQ(by_target["Configuration"][6], "FAIL");
  EXPECT_EQ(by_target["S3 reliability"][3], "100 %");
  EXPECT_EQ(by_target["Circuit breaker"][6], "pass");
  EXPECT_EQ(by_target["No credential in any log"][3], "not measured");
}

TEST(BenchReport, ChartsForLoggerHttpS3AndConfigAsInlineSvg) {
  const std::string html = RenderHtml(SampleRows(), {});
  pugi::xml_document doc;
  ASSERT_TRUE(doc.load_buffer(html.data(), html.size(), pugi::parse_default | pugi::parse_doctype));
  std::map<std::string, std::string> charts;  // title → every text and tooltip in it
  for (auto svg : doc.select_nodes("//svg")) {
    std::string all;
    for (auto t : svg.node().select_nodes(".//text()")) all += std::string(t.node().value()) + "\n";
    charts[svg.node().attribute("aria-label").as_string()] = all;
  }
  auto chart = [&](const std::string& prefix) -> std::string {
    for (const auto& [title, text] : charts)
      if (title.rfind(prefix, 0) == 0) return text;
    ADD_FAILURE() << "no chart " << prefix;
    return "";
  };
  const std::string log = chart("Logging: latency");
  for (const char* s : {"p50", "p99.9", "esper", "spdlog async", "esper: 15.00 ns", "spdlog async: 260.0k ns"})
    EXPECT_NE(log.find(s), std::string::npos) << s;
  const std::string http = chart("HTTP: requests/s");
  for (const char* s : {"1 in flight", "64 in flight", "wrk", "libcurl multi alone", "libcurl multi alone: 20.0k req/s"})
    EXPECT_NE(http.find(s), std::string::npos) << s;
  const std::string s3 = chart("S3: upload throughput");
  for (const char* s : {"awscli: 95.00 MiB/s", "rclone: 140 MiB/s", "esper: 180 MiB/s"})
    EXPECT_NE(s3.find(s), std::string::npos) << s;
  const std::string config = chart("Configuration");
  for (const char* s : {"0.02 MB", "1.68 MB", "PyYAML CSafeLoader (parse only)"})
    EXPECT_NE(config.find(s), std::string::npos) << s;
}

TEST(BenchReport, TableFitsInItsWidthAndWideShowsEverything) {
  auto rows = SampleRows();
  rows.push_back(Row{.part = "log", .metric = "latency p50",
                     .case_name = "a case name long enough that no 120-column table can hold it whole, ending in 2 threads",
                     .unit = "ns", .value = 1,
                     .note = std::string(300, 'x') + " and a note of many words that has to be wrapped below the table"});
  const std::string narrow = RenderTable(rows, {"proxy: not measured — " + std::string(150, 'y')}, 120);
  std::istringstream lines(narrow);
  std::string line;
  int n = 0;
  while (std::getline(lines, line)) {
    ++n;
    EXPECT_LE(Columns(line), 120u) << line;
  }
  EXPECT_GT(n, static_cast<int>(rows.size()));
  const std::string table = narrow.substr(0, narrow.find("notes:"));
  EXPECT_EQ(table.find(rows.back().case_name), std::string::npos);
  EXPECT_NE(table.find("2 threads"), std::string::npos);  // the end of a shortened case is kept
  EXPECT_NE(narrow.find("[log]"), std::string::npos);
  EXPECT_NE(narrow.find("notes:"), std::string::npos);

  const std::string wide = RenderTable(rows, {}, 0);
  for (const Row& r : rows) {
    EXPECT_NE(wide.find(r.case_name), std::string::npos) << r.case_name;
    if (!r.peer.empty()) {
      EXPECT_NE(wide.find(r.peer), std::string::npos) << r.peer;
    }
  }
  EXPECT_NE(wide.find(std::string(300, 'x')), std::string::npos);
}

TEST(BenchReport, ShortenKeepsHeadAndTailByCodePoint) {
  EXPECT_EQ(Shorten("short", 10), "short");
  EXPECT_EQ(Shorten("abcdefghij", 7), "abcd…ij");
  EXPECT_EQ(Columns(Shorten("××××××××××", 5)), 5u);
  EXPECT_EQ(Shorten("××××××××××", 5), "×××…×");
}

std::string RunJson(const std::vector<Row>& rows) { return RenderJson(rows); }

Row Timed(const std::string& case_name, double value, std::optional<double> lo, std::optional<double> hi, bool lower = true) {
  return Row{.part = "p", .metric = "latency", .case_name = case_name, .unit = lower ? "ns" : "ops/s", .value = value,
             .min = lo, .max = hi, .lower_is_better = lower};
}

// The line of `table` about `case_name`, or "".
std::string LineOf(const std::string& table, const std::string& case_name) {
  std::istringstream in(table);
  std::string line;
  while (std::getline(in, line))
    if (line.find(" / " + case_name + " ") != std::string::npos) return line;
  return "";
}

TEST(BenchCompare, OverlappingRangesAreTheSameOthersFasterOrSlower) {
  const std::string before = RunJson({
      Timed("overlap", 100, 90, 110), Timed("quicker", 100, 95, 105), Timed("slower", 100, 95, 105),
      Timed("more ops", 1000, 950, 1050, false), Timed("no spread", 100, std::nullopt, std::nullopt),
      Timed("dropped", 1, 1, 1)});
  const std::string after = RunJson({
      Timed("overlap", 104, 101, 112), Timed("quicker", 80, 75, 85), Timed("slower", 130, 120, 140),
      Timed("more ops", 1500, 1400, 1600, false), Timed("no spread", 90, std::nullopt, std::nullopt),
      Timed("added", 1, 1, 1)});
  auto out = CompareJson(before, after);
  ASSERT_TRUE(out) << out.error().message();
  EXPECT_NE(LineOf(*out, "overlap").find(" same"), std::string::npos) << *out;
  EXPECT_NE(LineOf(*out, "quicker").find("FASTER"), std::string::npos) << *out;
  EXPECT_NE(LineOf(*out, "quicker").find("-20.0%"), std::string::npos) << *out;
  EXPECT_NE(LineOf(*out, "slower").find("SLOWER"), std::string::npos) << *out;
  EXPECT_NE(LineOf(*out, "more ops").find("FASTER"), std::string::npos) << *out;  // higher is better
  EXPECT_NE(LineOf(*out, "no spread").find("faster?"), std::string::npos) << *out;
  EXPECT_NE(LineOf(*out, "dropped").find("gone"), std::string::npos) << *out;
  EXPECT_NE(LineOf(*out, "added").find("new"), std::string::npos) << *out;
  EXPECT_NE(out->find("2 faster, 1 slower, 1 same"), std::string::npos) << *out;

  EXPECT_FALSE(CompareJson("{\"rows\": 3}", after));
  EXPECT_FALSE(CompareJson(before, "not json"));
}

class BenchCli : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "esper_bench_report_XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string Write(const std::string& name, const std::string& text) {
    const auto path = (dir_ / name).string();
    std::ofstream(path) << text;
    return path;
  }
  std::filesystem::path dir_;
};

TEST_F(BenchCli, CompareReadsTwoJsonFiles) {
  const auto old_path = Write("old.json", RunJson({Timed("quicker", 100, 95, 105)}));
  const auto new_path = Write("new.json", RunJson({Timed("quicker", 50, 45, 55)}));
  auto r = RunProcess({EsperBinary(), "bench", "compare", old_path, new_path});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(LineOf(r.out, "quicker").find("FASTER"), std::string::npos) << r.out;

  auto missing = RunProcess({EsperBinary(), "bench", "compare", old_path, (dir_ / "absent.json").string()});
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_NE(missing.err.find("absent.json"), std::string::npos) << missing.err;
  auto garbage = RunProcess({EsperBinary(), "bench", "compare", old_path, Write("bad.json", "[1, 2")});
  EXPECT_EQ(garbage.exit_code, 2);
  EXPECT_NE(garbage.err.find("not an `esper bench --json` file"), std::string::npos) << garbage.err;
}

// A real run: the page and the JSON of the same `esper bench config --quick` (a few seconds; in a
// build without the benchmarks every suite is "not measured" and the page says so).
TEST_F(BenchCli, HtmlPageOfARealRunHoldsEveryRowOfItsJson) {
  const auto json_path = (dir_ / "bench.json").string(), html_path = (dir_ / "bench.html").string();
  auto r = RunProcess({EsperBinary(), "bench", "config", "--quick", "--json", json_path, "--html", html_path});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("rows as JSON: " + json_path + "\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("report page: " + html_path + "\n"), std::string::npos) << r.out;
  std::ifstream j(json_path), h(html_path);
  std::stringstream json, html;
  json << j.rdbuf();
  html << h.rdbuf();
  ExpectPageHoldsEveryJsonRow(html.str(), json.str());
  if (nlohmann::json::parse(json.str())["rows"].empty()) {
    EXPECT_NE(html.str().find("config: not measured"), std::string::npos);
  }
}

TEST_F(BenchCli, HelpNamesTheReportFlags) {
  auto r = RunProcess({EsperBinary(), "bench", "--help"});
  EXPECT_EQ(r.exit_code, 0);
  for (const char* flag : {"--html", "--wide", "compare"}) EXPECT_NE(r.out.find(flag), std::string::npos) << flag;
}

}  // namespace
}  // namespace esper::bench
