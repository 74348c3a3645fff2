// Formatters on arbitrary bytes: every output is exactly one line, JSON output is valid JSON and
// logfmt output parses back (strict readers from the tests).
#include <cstdint>
#include <cstdlib>
#include <string>

#include "esper/log/formatter.h"
#include "log/test_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string in(reinterpret_cast<const char*>(data + 1), size - 1);
  size_t cut = in.size() / 2;
  std::string key = in.substr(0, cut), value = in.substr(cut);
  esper::log::Field fields[] = {{key, value, esper::log::FieldKind::kString}};
  esper::log::Record r;
  r.time_ns = static_cast<int64_t>(size) * 1'000'003'001;
  r.logger = "fuzz";
  r.message = in;
  r.fields = fields;
  fmt::memory_buffer out;
  switch (data[0] % 3) {
    case 0: esper::log::JsonFormatter().Format(r, out); break;
    case 1: esper::log::LogfmtFormatter().Format(r, out); break;
    default: esper::log::TextFormatter(data[0] & 4).Format(r, out); break;
  }
  std::string line = fmt::to_string(out);
  if (line.empty() || line.back() != '\n' || line.find('\n') != line.size() - 1) std::abort();
  line.pop_back();
  if (data[0] % 3 == 0 && !esper::log::testing::ParseFlatJson(line)) std::abort();
  if (data[0] % 3 == 1 && !esper::log::testing::ParseLogfmt(line)) std::abort();
  return 0;
}
