// The rules a family's description must follow (registry.h lists them): Prometheus's data model
// and the conventions its linter (`promtool check metrics`) enforces.
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <set>

#include "esper/metrics/registry.h"

namespace esper::metrics {
namespace {

bool IsSnakeName(std::string_view s) {
  if (s.empty()) return false;
  if (!(s[0] == '_' || (s[0] >= 'a' && s[0] <= 'z'))) return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return c == '_' || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); });
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// Units that are not base units: Prometheus wants seconds and bytes.
constexpr std::array<std::string_view, 16> kNonBaseUnits = {
    "_milliseconds", "_microseconds", "_nanoseconds", "_millis", "_ms", "_us", "_ns", "_minutes",
    "_hours", "_days", "_kilobytes", "_megabytes", "_gigabytes", "_kb", "_mb", "_gb"};

}  // namespace

Status ValidateDesc(const MetricDesc& d) {
  auto bad = [&](std::string_view why) {
    return Error::InvalidArgument(fmt::format("metric '{}': {}", d.name, why));
  };
  if (!IsSnakeName(d.name)) {
    return bad("a metric name is lower snake_case: [a-z_][a-z0-9_]* (no upper case, no colon)");
  }
  std::string_view stem = d.name;
  if (EndsWith(stem, "_total")) stem.remove_suffix(6);
  for (std::string_view unit : kNonBaseUnits) {
    if (EndsWith(stem, unit) || stem.find(std::string(unit) + "_") != std::string_view::npos) {
      return bad(fmt::format("'{}' is not a base unit: use _seconds or _bytes", unit.substr(1)));
    }
  }
  const bool total = EndsWith(d.name, "_total");
  if (d.type == MetricType::kCounter && !total) return bad("a counter's name ends in _total");
  if (d.type != MetricType::kCounter && total) return bad("only a counter's name ends in _total");
  if (d.type == MetricType::kHistogram &&
      (EndsWith(d.name, "_bucket") || EndsWith(d.name, "_sum") || EndsWith(d.name, "_count"))) {
    return bad("a histogram's name does not end in _bucket, _sum or _count (its series do)");
  }
  if (d.help.empty()) return bad("help text is required");
  if (d.help.find('\n') != std::string::npos) return bad("help text is one line");
  std::set<std::string_view> seen;
  for (const std::string& l : d.labels) {
    if (!IsSnakeName(l)) return bad(fmt::format("label '{}': a label name is lower snake_case", l));
    if (l.rfind("__", 0) == 0) return bad(fmt::format("label '{}': names starting with __ are reserved", l));
    if (!seen.insert(l).second) return bad(fmt::format("label '{}' appears twice", l));
    if (d.type == MetricType::kHistogram && l == "le") return bad("a histogram cannot have a label 'le'");
  }
  if (d.type == MetricType::kHistogram) {
    if (d.buckets.empty()) return bad("a histogram needs at least one bucket bound");
    for (size_t i = 0; i < d.buckets.size(); ++i) {
      if (!std::isfinite(d.buckets[i])) return bad("bucket bounds are finite (+Inf is implied)");
      if (i > 0 && !(d.buckets[i] > d.buckets[i - 1])) return bad("bucket bounds are strictly increasing");
    }
  } else if (!d.buckets.empty()) {
    return bad("only a histogram has buckets");
  }
  if (d.max_series == 1) return bad("max_series is at least 2 (one is the overflow series)");
  return OkStatus();
}

}  // namespace esper::metrics
