// The frame of `esper bench`: suites add rows; the frame prints the table and the JSON.
//
// A row is one measured figure with, where the part's issue names one, the peer's figure measured
// in the same run, the ratio, the target and whether ours meets it. A row whose peer could not be
// measured says why in `note` (peer_value empty) — never dropped, never faked.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "esper/core/result.h"

namespace esper::bench {

struct Row {
  std::string part;                   // "log", "config", "http", …
  std::string metric;                 // "latency p50", "throughput", …
  std::string case_name;              // "int,int,double 1 thread"
  std::string unit;                   // "ns", "ms", "lines/s", "req/s", "MiB"
  double value = 0;                   // our figure
  std::optional<double> min, max;     // our figure's fastest / slowest repeat, where the suite repeats
  bool lower_is_better = true;        // latency: true; throughput: false
  std::string peer;                   // "spdlog async", "wrk", "" when the metric has no peer
  std::optional<double> peer_value;   // the peer's figure, same run; empty = not measured (note says why)
  std::string target;                 // the bar from the part's issue, e.g. "<= 25 ns"
  std::optional<bool> pass;           // whether `value` meets `target`; empty = no bar
  std::string note;                   // why a peer is missing, or anything the reader must know

  /// How many times better than the peer we are (> 1 is better), or empty without a peer figure.
  std::optional<double> ratio() const;
};

/// What a suite gets: the --quick flag, a progress line, and the sink for its rows.
class Context {
 public:
  Context(bool quick, std::function<void(std::string_view)> progress)
      : quick_(quick), progress_(std::move(progress)) {}
  bool quick() const { return quick_; }
  void Progress(std::string_view what) const { if (progress_) progress_(what); }
  void Add(Row row) { rows_.push_back(std::move(row)); }
  const std::vector<Row>& rows() const { return rows_; }

 private:
  bool quick_;
  std::function<void(std::string_view)> progress_;
  std::vector<Row> rows_;
};

struct Suite {
  std::string name;         // "log"
  std::string description;  // one line
  std::function<Status(Context&)> run;  // nullptr: the part has not landed yet
  std::string missing;      // when run is null: what is missing, e.g. "the log part (issue #3)"
};

/// Every suite, in the order `all` runs them.
const std::vector<Suite>& Suites();

/// The table `esper bench` prints, rows under a heading per part: at most `width` columns (long
/// metric, case, peer and target cells shortened in the middle with "…"; figures never), 0 for no
/// limit; below it the notes and `missing` (suites that measured nothing, with the reason), wrapped.
std::string RenderTable(const std::vector<Row>& rows, const std::vector<std::string>& missing, size_t width = 120);
/// Display columns of UTF-8 text: one per code point (the tables hold no wide characters).
size_t Columns(std::string_view s);
/// `s` in at most `cols` columns (code points): its head and its tail with "…" between them
/// (cases differ as often at the end, "… 1 thread" / "… 2 threads", as at the start).
std::string Shorten(std::string_view s, size_t cols);
/// A ratio for people: "1.31x", "2807x", "13.8kx".
std::string RatioText(double ratio);

/// {"machine": {...}, "rows": [{"part", "metric", "case", "unit", "value", "min", "max",
///  "lower_is_better", "peer", "peer_value", "ratio", "target", "pass", "note"}]}
std::string RenderJson(const std::vector<Row>& rows);

/// "Intel(R) Xeon(R) …, 2 cores, 23.6 GiB, Linux 6.1, gcc 12.2.0, esper 0.1.0".
std::string MachineDescription();
/// A figure for people: 1.23k, 4.56M, 0.123, 12.3.
std::string HumanNumber(double v);

/// Percentile (0..100) of samples, by sorting a copy; 0 when empty.
double Percentile(std::vector<double> samples, double pct);
double Median(std::vector<double> samples);

/// Runs `argv` (no shell; testing::RunProcess): its stdout, then its stderr; NotFound when it
/// could not start.
Result<std::string> RunProgram(const std::vector<std::string>& argv, int* exit_code = nullptr);
/// The first of `names` found on PATH (or as an absolute path), or "".
std::string FindProgram(const std::vector<std::string>& names);

}  // namespace esper::bench
