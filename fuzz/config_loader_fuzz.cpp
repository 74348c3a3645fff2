// libFuzzer target: the configuration loader on arbitrary bytes as a YAML file. It must never
// crash, hang or leak, whatever the input: every outcome is a Snapshot or a list of diagnostics.
// Every output path (dumps, explain, typed reads) is exercised on what loads.
//   build/fuzz/bin/config_loader_fuzz -max_total_time=60
#include <cstddef>
#include <cstdint>
#include <string>

#include "esper/config/loader.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  esper::config::LoadOptions o;
  o.texts = {{"base.yaml", "service:\n  name: fuzz\n"},
             {"fuzz.yaml", std::string(reinterpret_cast<const char*>(data), size)}};
  o.environment = std::map<std::string, std::string>{{"HOME", "/root"}, {"ESPER_S3__REGION", "x"}};
  std::vector<esper::config::Diagnostic> diags;
  auto snap = esper::config::Load(o, &diags);
  std::size_t n = 0;
  for (const auto& d : diags) n += d.ToString().size();
  if (snap) {
    const auto& s = **snap;
    n += s.Dump(esper::config::Snapshot::Format::kYaml).size();
    n += s.Dump(esper::config::Snapshot::Format::kJson).size();
    std::size_t i = 0;
    for (const auto& k : s.Keys()) {
      if (++i > 64) break;
      if (auto e = s.Explain(k)) n += e->size();
      if (auto v = s.Get<std::int64_t>(k)) n += static_cast<std::size_t>(*v & 1);
      if (auto v = s.Get<double>(k)) n += *v > 0 ? 1 : 0;
      if (auto v = s.Get<esper::config::milliseconds>(k)) n += static_cast<std::size_t>(v->count() & 1);
      if (auto v = s.Render(k)) n += v->size();
    }
  }
  return n == static_cast<std::size_t>(-1) ? 1 : 0;
}
