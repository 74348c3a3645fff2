// How a service reads its configuration: layered sources, typed sections, free-form keys,
// provenance, and a reload that swaps the snapshot under concurrent readers.
//
//   example_config_service                 # built-in example YAML
//   example_config_service a.yaml b.yaml   # your files (ESPER_* variables apply too)
#include <fmt/format.h>

#include "esper/config/config.h"

int main(int argc, char** argv) {
  esper::config::LoadOptions opts;
  for (int i = 1; i < argc; ++i) opts.files.emplace_back(argv[i]);
  if (opts.files.empty()) {
    opts.texts.push_back({"example.yaml",
                          "service:\n"
                          "  name: tamiyo\n"
                          "  environment: staging\n"
                          "database:\n"
                          "  host: ${DB_HOST:-localhost}\n"
                          "  password: example-only\n"
                          "s3:\n"
                          "  endpoint_url: http://127.0.0.1:9000\n"
                          "  request_timeout: 15s\n"
                          "features:\n"
                          "  fast_path: true\n"
                          "training:\n"
                          "  batch_size: 64\n"
                          "  layers: [conv, relu, pool]\n"});
  }
  opts.overrides.push_back({"logging.level", "debug", "example code"});

  auto cfg = esper::config::Config::Create(opts);
  if (!cfg) {
    // Every problem of the load, each with file:line:col (or the variable, or the override).
    fmt::print(stderr, "{}\n", cfg.error().message());
    return 1;
  }
  std::shared_ptr<const esper::config::Snapshot> snap = (*cfg)->snapshot();
  for (const auto& w : snap->warnings()) fmt::print(stderr, "{}\n", w.ToString());

  // Typed sections are plain structs: no lookup, no conversion at the point of use.
  fmt::print("service {} ({}), database {}:{} password {}\n", snap->service().name, snap->service().environment,
             snap->database().host, snap->database().port, snap->database().password);  // prints ***
  fmt::print("s3 endpoint {} timeout {} ms, tamiyo at {}\n", snap->s3().endpoint_url,
             snap->s3().request_timeout.count(), snap->service_url("tamiyo").value_or("?"));
  fmt::print("fast_path feature: {}\n", snap->feature("fast_path"));

  // Free-form sections: the reader declares the type; a bad value is an error naming its source.
  int batch = snap->Get<int>("training.batch_size", 32).value_or(32);
  auto layers = snap->Get<std::vector<std::string>>("training.layers");
  fmt::print("batch {} layers {}\n", batch, layers ? fmt::format("{}", fmt::join(*layers, ",")) : "-");

  // Where did a value come from?
  fmt::print("{}", snap->Explain("logging.level").value_or(""));

  // Reload: readers keep their snapshot; subscribers see old and new.
  (*cfg)->Subscribe([](const auto& old_snap, const auto& new_snap) {
    fmt::print("reloaded: level {} -> {}\n", old_snap->logging().level, new_snap->logging().level);
  });
  if (auto st = (*cfg)->Reload(); !st) fmt::print(stderr, "reload failed: {}\n", st.error().message());
  return 0;
}
