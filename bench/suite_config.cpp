// esper bench config — load + override + validate, beside PyYAML's C loader on the same file.
//
// Rows (medians of several runs, each a complete Load(): read the file, parse with libyaml,
// merge over the schema defaults, apply the environment and --set overrides, convert and
// validate every value, build the snapshot):
//   * 1,000-key file (the seed's test: a training.model_config of 1,000 params) — bar ≤ 1 ms;
//   * 100,000-key file (~1.9 MB, 100 groups × 1,000 keys) — bar ≤ 100 ms;
//   * 100 environment overrides (ESPER_TRAINING__…, no file) — bar ≤ 0.1 ms;
//   * a typed lookup by path on a loaded snapshot (no peer).
// Peers, measured in this run by Debian's /usr/bin/python3 (which has python3-yaml with libyaml):
//   * yaml.load(f, Loader=yaml.CSafeLoader) on the same file, timing open+load in-process — only
//     parsing, no defaults, overrides or validation;
//   * the seed's _apply_environment_overrides (config.py) over the same 100 variables.
#include <fmt/format.h>
#include <stdlib.h>
#include <unistd.h>
#include <yaml.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "esper/config/loader.h"
#include "frame.h"

namespace esper::bench {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

// The seed's 1,000-key test file: training.model_config.param_I: value_I.
// The 100,000-key file the issue measured (1.9 MB): training.gG.pI: vN, 100 groups of 1,000.
std::string MakeYaml(int keys) {
  std::string y = "service:\n  name: bench\n  environment: staging\ndatabase:\n  port: 5433\n"
                  "s3:\n  region: eu-west-1\n  request_timeout: 10s\ntraining:\n  batch_size: 32\n";
  y.reserve(static_cast<std::size_t>(keys) * 24);
  if (keys <= 1000) {
    y += "  model_config:\n";
    for (int i = 0; i < keys; ++i) y += fmt::format("    param_{}: value_{}\n", i, i);
    return y;
  }
  for (int n = 0; n < keys; ++n) {
    if (n % 1000 == 0) y += fmt::format("  g{}:\n", n / 1000);
    y += fmt::format("    p{}: v{}\n", n % 1000, n);
  }
  return y;
}

// libyaml's event parse of the same bytes, nothing built: the floor under any libyaml loader.
double LibyamlFloorMs(const std::string& path, int runs) {
  std::ifstream in(path, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<double> samples;
  for (int r = 0; r < runs; ++r) {
    auto t = Clock::now();
    yaml_parser_t p;
    yaml_parser_initialize(&p);
    yaml_parser_set_input_string(&p, reinterpret_cast<const unsigned char*>(text.data()), text.size());
    bool done = false;
    while (!done) {
      yaml_event_t e;
      if (!yaml_parser_parse(&p, &e)) break;
      done = e.type == YAML_STREAM_END_EVENT;
      yaml_event_delete(&e);
    }
    yaml_parser_delete(&p);
    samples.push_back(Ms(Clock::now() - t));
  }
  return Median(samples);
}

const char* kPython = R"PY(
import os, sys, time, statistics
mode, arg, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
if mode == "yaml":
    import yaml
    if not getattr(yaml, "__with_libyaml__", False) or not hasattr(yaml, "CSafeLoader"):
        print("no-libyaml"); sys.exit(3)
    samples = []
    for _ in range(runs):
        t = time.perf_counter()
        with open(arg, "r") as f:
            yaml.load(f, Loader=yaml.CSafeLoader)
        samples.append((time.perf_counter() - t) * 1000)
    print(statistics.median(samples))
else:
    # The seed's OptimizedEsperConfig._apply_environment_overrides (config.py), verbatim logic.
    for i in range(int(arg)):
        os.environ["ESPER_TRAINING__PARAM_%d" % i] = "value_%d" % i
    def convert(value):
        if value.lower() in ('true', '1', 'yes', 'on'): return True
        elif value.lower() in ('false', '0', 'no', 'off'): return False
        try:
            return float(value) if '.' in value else int(value)
        except ValueError:
            return value
    def set_nested(d, key_path, value):
        keys = key_path.split('.')
        cur = d
        for k in keys[:-1]:
            if k not in cur: cur[k] = {}
            cur = cur[k]
        cur[keys[-1]] = convert(value)
    def apply(config_data):
        env_overrides = {k[6:].lower().replace('_', '.'): v for k, v in os.environ.items() if k.startswith('ESPER_')}
        if not env_overrides: return config_data
        for key, value in env_overrides.items():
            set_nested(config_data, key, value)
        return config_data
    samples = []
    for _ in range(runs):
        t = time.perf_counter()
        apply({'name': 'env_test', 'training': {'services': {}}})
        samples.append((time.perf_counter() - t) * 1000)
    print(statistics.median(samples))
)PY";

// Runs the peer script; the median in ms, or the reason it could not be measured.
Result<double> Python(const std::string& script, const std::vector<std::string>& args) {
  const std::string py = "/usr/bin/python3";
  if (access(py.c_str(), X_OK) != 0) return Error::NotFound("/usr/bin/python3 is not installed");
  std::vector<std::string> argv = {py, script};
  argv.insert(argv.end(), args.begin(), args.end());
  int rc = 0;
  auto out = RunProgram(argv, &rc);
  if (!out) return out.error();
  if (rc == 3) return Error::NotFound("python3-yaml lacks the libyaml C loader (CSafeLoader)");
  if (rc != 0) return Error::Unavailable(fmt::format("python3 exited {}: {}", rc, *out));
  try {
    return std::stod(*out);
  } catch (...) {
    return Error::Internal(fmt::format("unexpected peer output: {}", *out));
  }
}

Result<double> MedianLoadMs(const config::LoadOptions& o, int runs) {
  std::vector<double> samples;
  for (int i = 0; i < runs; ++i) {
    auto t = Clock::now();
    auto s = config::Load(o);
    auto d = Clock::now() - t;
    if (!s) return s.error();
    samples.push_back(Ms(d));
  }
  return Median(samples);
}

}  // namespace

Status RunConfigSuite(Context& ctx) {
  char tmpl[] = "/tmp/esper_bench_config_XXXXXX";
  if (!mkdtemp(tmpl)) return Error::FromErrno(errno, "mkdtemp");
  fs::path dir(tmpl);
  struct Cleanup {
    fs::path d;
    ~Cleanup() {
      std::error_code ec;
      fs::remove_all(d, ec);
    }
  } cleanup{dir};
  std::string script = (dir / "peer.py").string();
  std::ofstream(script) << kPython;

  // The same small set of overrides on every file load: two variables and one --set.
  std::map<std::string, std::string> env = {{"ESPER_DATABASE__HOST", "db.bench"},
                                            {"AWS_REGION", "eu-central-1"}};
  const std::vector<config::Override> sets = {{"logging.level", "warn"}};

  struct Case {
    int keys;
    const char* bar;
    double bar_ms;
    int runs;
    int quick_runs;
    int peer_runs;
    int quick_peer_runs;
  };
  for (const Case& c : {Case{1000, "<= 1 ms", 1.0, 200, 50, 50, 20}, Case{100000, "<= 100 ms", 100.0, 9, 3, 5, 1}}) {
    ctx.Progress(fmt::format("{} keys: generating and loading", c.keys));
    std::string path = (dir / fmt::format("config_{}.yaml", c.keys)).string();
    std::string yaml = MakeYaml(c.keys);
    std::ofstream(path) << yaml;
    config::LoadOptions o;
    o.files = {path};
    o.environment = env;
    o.overrides = sets;
    // Check once that it loaded everything, so the figure is for the real work.
    auto first = config::Load(o);
    if (!first) return first.error();
    if ((*first)->Keys("training").size() != static_cast<std::size_t>(c.keys) + 1) {
      return Error::Internal("the generated file did not load every key");
    }
    ESPER_ASSIGN_OR_RETURN(double ours, MedianLoadMs(o, ctx.quick() ? c.quick_runs : c.runs));
    Row r;
    r.part = "config";
    r.metric = "load+override+validate";
    r.case_name = fmt::format("{} keys ({:.2f} MB)", c.keys, static_cast<double>(yaml.size()) / 1e6);
    r.unit = "ms";
    r.value = ours;
    r.peer = "PyYAML CSafeLoader (parse only)";
    r.target = c.bar;
    r.pass = ours <= c.bar_ms;
    ctx.Progress(fmt::format("{} keys: PyYAML", c.keys));
    const int peer_runs = ctx.quick() ? c.quick_peer_runs : c.peer_runs;
    auto peer = Python(script, {"yaml", path, std::to_string(peer_runs)});
    if (peer) r.peer_value = *peer;
    else r.note = peer.error().message() + "; ";
    r.note += fmt::format("libyaml's event parse alone (the floor): {:.3g} ms", LibyamlFloorMs(path, peer_runs));
    ctx.Add(std::move(r));
  }

  {
    ctx.Progress("100 environment overrides");
    config::LoadOptions o;
    o.environment = std::map<std::string, std::string>{{"ESPER_SERVICE__NAME", "bench"}};
    for (int i = 0; i < 100; ++i) {
      (*o.environment)[fmt::format("ESPER_TRAINING__PARAM_{}", i)] = fmt::format("value_{}", i);
    }
    auto first = config::Load(o);
    if (!first) return first.error();
    if ((*first)->Keys("training").size() != 100) return Error::Internal("overrides did not all land");
    ESPER_ASSIGN_OR_RETURN(double ours, MedianLoadMs(o, ctx.quick() ? 200 : 1000));
    Row r;
    r.part = "config";
    r.metric = "load+override+validate";
    r.case_name = "100 env overrides, no file";
    r.unit = "ms";
    r.value = ours;
    r.peer = "seed _apply_environment_overrides (no validation)";
    r.target = "<= 0.1 ms";
    r.pass = ours <= 0.1;
    auto peer = Python(script, {"env", "100", ctx.quick() ? "200" : "1000"});
    if (peer) r.peer_value = *peer;
    else r.note = peer.error().message();
    ctx.Add(std::move(r));
  }

  {
    ctx.Progress("typed lookup by path");
    config::LoadOptions o;
    o.texts = {{"b.yaml", MakeYaml(1000)}};
    o.environment = std::map<std::string, std::string>{};
    auto snap = config::Load(o);
    if (!snap) return snap.error();
    const int n = ctx.quick() ? 200000 : 1000000;
    std::vector<double> samples;
    long sink = 0;
    for (int rep = 0; rep < 5; ++rep) {
      auto t = Clock::now();
      for (int i = 0; i < n; ++i) sink += (*snap)->Get<int>("training.batch_size").value_or(0);
      samples.push_back(std::chrono::duration<double, std::nano>(Clock::now() - t).count() / n);
    }
    Row r;
    r.part = "config";
    r.metric = "lookup";
    r.case_name = "Get<int>(\"training.batch_size\")";
    r.unit = "ns";
    r.value = Median(samples);
    r.note = sink == 0 ? "no value read" : "no peer: typed sections are plain struct fields (no lookup)";
    ctx.Add(std::move(r));
  }
  return OkStatus();
}

}  // namespace esper::bench
