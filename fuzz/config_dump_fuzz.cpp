// libFuzzer target: every configuration dump reads back, whatever bytes the configuration holds.
// The first input byte says where the rest goes: a YAML file of its own, the lines under a
// `training:` section, the value of `--set training.v=…` (any bytes: control characters,
// invalid UTF-8) or of ESPER_TRAINING__V. Whenever the configuration loads:
// - the JSON dump parses as JSON (nlohmann's strict parser: no raw control characters, valid
//   UTF-8), and every string in it is the value `esper config get` renders, read as the JSON
//   escaper reads it (invalid UTF-8 bytes as U+FFFD);
// - the YAML dump, parsed again (libyaml, through the loader, which also reads "${" and "$$"),
//   is the same tree: the same keys, each with the same rendered value, and it dumps again to
//   the same YAML and JSON.
// Any broken property aborts with the input, so libFuzzer reports it.
//   build/fuzz/bin/config_dump_fuzz -max_total_time=60
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>

#include "esper/config/loader.h"
#include "esper/core/json_escape.h"

namespace {

using esper::config::Snapshot;

void Check(bool ok, const char* what, const std::string& detail) {
  if (ok) return;
  std::fprintf(stderr, "broken: %s\n%s\n", what, detail.c_str());
  std::abort();
}

// `s` as a JSON reader sees it after the escaper: invalid UTF-8 bytes become U+FFFD.
std::string AsJsonReadsIt(const std::string& s) {
  return nlohmann::json::parse(esper::JsonQuote(s)).get<std::string>();
}

// Every string leaf of the JSON dump is what Render() gives for its path (where the path can be
// addressed: a key holding '[' or '.' cannot).
void CheckStrings(const nlohmann::json& j, const std::string& path, const Snapshot& s, const std::string& dump) {
  if (j.is_object()) {
    for (const auto& [k, v] : j.items()) CheckStrings(v, path.empty() ? k : path + "." + k, s, dump);
  } else if (j.is_array()) {
    for (std::size_t i = 0; i < j.size(); ++i) CheckStrings(j[i], path + "[" + std::to_string(i) + "]", s, dump);
  } else if (j.is_string()) {
    if (auto r = s.Render(path)) {
      Check(j.get<std::string>() == AsJsonReadsIt(*r), "a JSON string differs from the value", path + "\n" + dump);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  esper::config::LoadOptions o;
  o.texts = {{"base.yaml", "service:\n  name: fuzz\n"}};
  o.environment = std::map<std::string, std::string>{};
  switch (data[0] % 4) {
    case 0: o.texts.push_back({"fuzz.yaml", rest}); break;
    case 1: o.texts.push_back({"fuzz.yaml", "training:\n" + rest}); break;
    case 2: o.overrides.push_back({"training.v", rest}); break;
    default: (*o.environment)["ESPER_TRAINING__V"] = rest.substr(0, rest.find('\0')); break;
  }
  auto snap = esper::config::Load(o);
  if (!snap) return 0;
  const Snapshot& s = **snap;
  const std::string yaml = s.Dump(Snapshot::Format::kYaml);
  const std::string json = s.Dump(Snapshot::Format::kJson);

  auto j = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  Check(!j.is_discarded() && j.is_object(), "the JSON dump is not JSON", json);
  CheckStrings(j, "", s, json);

  esper::config::LoadOptions again;
  again.texts = {{"dump.yaml", yaml}};
  again.environment = std::map<std::string, std::string>{};
  auto back = esper::config::Load(again);
  Check(back.has_value(), "the YAML dump does not load", (back ? std::string() : back.error().message()) + "\n" + yaml);
  const Snapshot& b = **back;
  Check(b.Keys() == s.Keys(), "the YAML dump reads back with other keys", yaml);
  for (const auto& k : s.Keys()) {
    auto v1 = s.Render(k), v2 = b.Render(k);
    if (!v1) continue;  // a key holding '[' or '.' cannot be addressed by path
    Check(v2.has_value() && *v2 == AsJsonReadsIt(*v1), "a value reads back changed", k + "\n" + yaml);
  }
  Check(b.Dump(Snapshot::Format::kYaml) == yaml, "the YAML dump of the dump differs", yaml);
  Check(b.Dump(Snapshot::Format::kJson) == json, "the JSON dump of the YAML dump differs", yaml + "\n" + json);
  return 0;
}
