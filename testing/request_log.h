// The fault proxy's request log (esper/proxy/fault_proxy.h, "Request log") read back: one map of
// key=value fields per line, in file order, for tests that reconcile what the proxy forwarded.
//
//   for (auto& line : esper::testing::ReadRequestLog(path))
//     if (line["method"] == "PUT" && line["fault"] == "corrupt") ...
//
// Header-only; no GoogleTest. A missing file reads as no lines.
#pragma once

#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace esper::testing {

using RequestLogLine = std::map<std::string, std::string>;

inline std::vector<RequestLogLine> ReadRequestLog(const std::string& path) {
  std::vector<RequestLogLine> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    RequestLogLine fields;
    std::istringstream words(line);
    std::string word;
    while (words >> word) {
      size_t eq = word.find('=');
      if (eq != std::string::npos) fields[word.substr(0, eq)] = word.substr(eq + 1);
    }
    out.push_back(std::move(fields));
  }
  return out;
}

}  // namespace esper::testing
