// esper/metrics/exposition.h — the Prometheus text exposition format, version 0.0.4.
//
//   std::string page = metrics::prometheus_text();          // the default registry
//   std::string mine = metrics::prometheus_text(registry);
//
// Per family, sorted by name: `# HELP name text` (backslash and newline escaped), `# TYPE name
// counter|gauge|histogram`, then one line per sample: `name{label="value",…} number`. Label
// values escape backslash, double quote and newline; bytes that are not valid UTF-8 become
// U+FFFD (Prometheus rejects invalid UTF-8). Histograms give `name_bucket{…,le="bound"}` with
// cumulative counts (the last le="+Inf"), `name_sum` and `name_count`. Numbers are written in
// the shortest form that reads back exactly; infinities as +Inf / -Inf, NaN as NaN. No
// timestamps. The content type to serve it with is kPrometheusContentType.
//
// `promtool check metrics` (Prometheus 2.42) passes on the output (tests/integration/metrics).
//
// Thread safety: any thread (the registry's Gather runs its collectors). Blocking: as Gather.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "esper/metrics/registry.h"

namespace esper::metrics {

inline constexpr std::string_view kPrometheusContentType = "text/plain; version=0.0.4; charset=utf-8";

std::string prometheus_text(const Registry& registry = DefaultRegistry());
std::string prometheus_text(const std::vector<FamilySnapshot>& families);

}  // namespace esper::metrics
