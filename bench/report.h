// The page `esper bench --html FILE` writes, and `esper bench compare`.
//
// The page is one self-contained HTML file (no script, no external style sheet, font or image:
// it opens the same without a network): the seed's own targets at the top, each with our figure
// and the peer's (a target no suite measured says "not measured"); charts as inline SVG where a
// picture says more (latency percentiles per logger, requests/s per in-flight level, S3
// throughput when measured, config load time by file size, the metrics update cost); then every
// row by part, with pass / fail marked. It is well-formed XML (tests parse it).
#pragma once

#include <string>
#include <vector>

#include "esper/core/result.h"
#include "frame.h"

namespace esper::bench {

/// The report page. `missing`: suites that measured nothing, with the reason.
std::string RenderHtml(const std::vector<Row>& rows, const std::vector<std::string>& missing);

/// What got faster or slower between two `--json` files: rows matched by part, metric and case;
/// a figure whose min–max ranges overlap is "same" (rows without a spread are compared by value
/// and say so).
Result<std::string> CompareJson(const std::string& old_json, const std::string& new_json);

}  // namespace esper::bench
