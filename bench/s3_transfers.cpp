// esper bench s3, the transfer cases of issue 20, against s3rver 4.0.4 on loopback:
//
//  * 1,000 files of 4 KiB up (a local directory to a prefix) and down (the prefix to a fresh
//    directory): `esper s3 cp --recursive` vs `aws s3 cp --recursive` (Debian's awscli 2.9, its
//    default 10 concurrent requests) vs `rclone copy --transfers 16`.
//  * one large file up and down (1 GiB, the case; 64 MiB with --quick): `esper s3 cp` vs
//    `aws s3 cp` (multipart above 8 MiB, ranged parallel GETs) vs `rclone copyto`; down again
//    with no tool checking the bytes against the ETag (`--ignore-checksum` for ours and rclone;
//    aws never checks a multipart download) — the same work, so the engines alone; and the same
//    object down to stdout (into a file the bench compares): `esper s3 cp s3://b/k -` vs `aws s3
//    cp s3://b/k -` vs `rclone cat`. Disk: the source and one download at a time here, and each
//    tool's object is removed from the server (`esper s3 rm`) before the next tool runs, so at
//    most ~3 GiB is in use at once.
//  * the large file again on fauxqs 1.9 (in memory), uploaded by ours, downloaded by each tool to
//    a file and to stdout (rclone's multipart upload fails on fauxqs). s3rver gives a multipart object the MD5 of its whole
//    as ETag, which only a serial MD5 of the whole can check; fauxqs gives S3's "<MD5 of the
//    parts' MD5s>-N", as AWS does, which ours checks part by part, many parts at once.
// Each tool is a whole process, started the same way (posix_spawn, output to a file, none of
// this machine's AWS_* / RCLONE_* variables), one after the other in the same run. Measured per process: wall time, CPU (user +
// system of the process and what it reaped, wait4's rusage) and peak RSS of the whole process
// tree (the sum over the tree sampled every 10 ms, or wait4's ru_maxrss if that is higher); MB/s
// from the wall time. s3rver's own CPU during each run is read from /proc and given in the note:
// it serves on one node thread, so where it used most of a core it is the ceiling for every
// tool, and the client CPU column is what stays comparable. Every download is checked byte for
// byte against the source; a tool that failed or delivered other bytes gets a row that says so.
#include "s3_transfers.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "testing/http_server.h"
#include "testing/proc.h"
#include "testing/process.h"
#include "testing/s3_test_server.h"

extern char** environ;

namespace esper::bench {
namespace {

namespace fs = std::filesystem;
using testing::S3TestServer;

constexpr int kSmallFiles = 1000;
constexpr size_t kSmallBytes = 4096;

struct Timed {
  bool ok = false;
  double wall_s = 0, cpu_s = 0, rss_mib = 0;
  double server_cpu_s = 0;  // s3rver's CPU meanwhile
  std::string failure;      // why not ok
};

std::string Tail(const std::string& path) {
  std::ifstream in(path);
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (all.size() > 400) all = "…" + all.substr(all.size() - 400);
  for (char& c : all) c = c == '\n' ? ' ' : c;
  return all;
}

// Runs argv to completion with `env` added, started by posix_spawn: glibc's runs the child in the
// bench's memory until it execs (CLONE_VM | CLONE_VFORK), so no sample and no ru_maxrss ever sees a
// copy of the bench — after a fork() the child's RSS, and the high-water mark exec hands on to
// wait4's ru_maxrss, would be the bench's own until the exec.
Timed RunTimed(const std::vector<std::string>& argv, const std::vector<std::string>& env,
               const std::string& output, pid_t server) {
  Timed t;
  // This machine's AWS_* and RCLONE_* settings stay out (an AWS_CA_BUNDLE makes rclone refuse a
  // plain-http endpoint); each tool gets only what `env` says.
  std::vector<std::string> env_all = env;
  for (char** e = environ; *e; ++e) {
    std::string_view v(*e);
    if (!v.starts_with("AWS_") && !v.starts_with("RCLONE_")) env_all.emplace_back(v);
  }
  std::vector<char*> envp, args;
  for (auto& e : env_all) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_copy = argv;
  for (auto& a : argv_copy) args.push_back(a.data());
  args.push_back(nullptr);
  // stdout and stderr into `output`, stdin from /dev/null, no signal blocked (not the CLI's
  // SIGINT/SIGTERM mask).
  posix_spawn_file_actions_t files;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&files);
  posix_spawn_file_actions_addopen(&files, 1, output.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&files, 1, 2);
  posix_spawn_file_actions_addopen(&files, 0, "/dev/null", O_RDONLY, 0);
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
  const double server_before = testing::ProcessTreeCpuSeconds(server);
  const auto t0 = std::chrono::steady_clock::now();
  pid_t pid = 0;
  const int spawned = ::posix_spawn(&pid, args[0], &files, &attr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&files);
  posix_spawnattr_destroy(&attr);
  if (spawned != 0) {
    t.failure = fmt::format("cannot start {}: {}", argv[0], std::strerror(spawned));
    return t;
  }
  // The tree's RSS, summed, until the child is reaped (a tool may run helpers: all of it is its cost).
  testing::RssSampler tree_rss({.pid = pid, .tree = true});
  int status = 0;
  rusage ru{};
  while (::wait4(pid, &status, 0, &ru) < 0 && errno == EINTR) {
  }
  const double sampled_mib = static_cast<double>(tree_rss.Stop()) / (1024.0 * 1024.0);
  t.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  t.server_cpu_s = testing::ProcessTreeCpuSeconds(server) - server_before;
  auto secs = [](const timeval& tv) { return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6; };
  t.cpu_s = secs(ru.ru_utime) + secs(ru.ru_stime);
  t.rss_mib = std::max(sampled_mib, static_cast<double>(ru.ru_maxrss) / 1024.0);  // ru_maxrss: KiB on Linux
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  t.ok = code == 0;
  if (!t.ok) t.failure = fmt::format("exit {}: {}", code, Tail(output));
  return t;
}

// The same bytes in both files (read in 1 MiB pieces).
bool SameFile(const std::string& a, const std::string& b) {
  std::ifstream fa(a, std::ios::binary), fb(b, std::ios::binary);
  if (!fa || !fb) return false;
  std::string ba(1 << 20, '\0'), bb(1 << 20, '\0');
  for (;;) {
    fa.read(ba.data(), static_cast<std::streamsize>(ba.size()));
    fb.read(bb.data(), static_cast<std::streamsize>(bb.size()));
    if (fa.gcount() != fb.gcount()) return false;
    if (fa.gcount() == 0) return true;
    if (ba.compare(0, static_cast<size_t>(fa.gcount()), bb, 0, static_cast<size_t>(fb.gcount())) != 0) return false;
  }
}

// Every file of `src` is in `dst` (searched recursively: tools differ in where they put a prefix)
// with the same bytes, and nothing else is.
std::string CompareTrees(const std::string& src, const std::string& dst) {
  std::map<std::string, std::string> found;  // file name -> path
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dst, ec); !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file()) found[it->path().filename().string()] = it->path().string();
  }
  size_t expected = 0;
  for (const auto& e : fs::directory_iterator(src)) {
    ++expected;
    auto f = found.find(e.path().filename().string());
    if (f == found.end()) return fmt::format("{} missing", e.path().filename().string());
    if (!SameFile(e.path().string(), f->second)) return fmt::format("{} differs", e.path().filename().string());
  }
  if (found.size() != expected) return fmt::format("{} files downloaded, {} expected", found.size(), expected);
  return "";
}

struct Tool {
  std::string name;   // "esper s3 cp"
  std::string label;  // short: "esper", "aws", "rclone": object prefixes
  std::string program;
  std::vector<std::string> env;
  // The argv that copies `src` to `dst`: a local directory to an s3:// prefix or back (recursive),
  // or one file to a key or back. `down` copies from S3 where the tool's download differs; empty:
  // `up` (a cp takes either direction).
  using Argv = std::function<std::vector<std::string>(bool recursive, const std::string& src, const std::string& dst)>;
  Argv up, down;
  // The argv that writes the object at an s3:// URI to stdout.
  std::function<std::vector<std::string>(const std::string& uri)> cat;
  // Added to a download's argv: skip checking the bytes against the ETag. Empty: the tool checks
  // nothing of a multipart download anyway (aws s3 cp), so its checked run is that run too.
  std::vector<std::string> ignore_checksum;
  std::vector<std::string> Down(bool recursive, const std::string& src, const std::string& dst) const {
    return (down ? down : up)(recursive, src, dst);
  }
};

std::string SelfExe() {
  std::error_code ec;
  auto p = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string() : p.string();
}

void AddRows(Context& ctx, const std::string& case_name, const Timed& ours, const std::map<std::string, Timed>& peers,
             double bytes, bool large, const std::string& server_name = "s3rver 4.0.4", bool unchecked = false) {
  const std::string short_name = server_name.substr(0, server_name.find(' '));
  auto server_note = [short_name](const Timed& t) {
    return t.wall_s > 0 ? fmt::format("{} used {:.0f}% of a core", short_name, 100 * t.server_cpu_s / t.wall_s)
                        : std::string();
  };
  // "At least as fast as the faster peer": every throughput row is judged against the best of both.
  double best = 0;
  for (const auto& [n, p] : peers) best = std::max(best, p.ok ? bytes / 1e6 / p.wall_s : 0.0);
  std::string base = fmt::format(
      "{}; esper s3 cp{} vs aws s3 cp{} (awscli 2.9, 10 concurrent requests) vs rclone {}; {} "
      "on loopback, one run of each tool, one after the other; CPU of each whole process (wait4), peak RSS of "
      "its process tree (sampled every 10 ms, or wait4's if higher); {}"
      "ours: {}",
      case_name, large ? "" : " --recursive", large ? "" : " --recursive",
      !large ? "copy --transfers 16" : case_name.find("stdout") != std::string::npos ? "cat" : "copyto", server_name,
      unchecked ? "no tool checks the bytes against the ETag here (esper s3 cp and rclone with --ignore-checksum, aws "
                  "s3 cp as always for a multipart object): the same work, so the transfer engines side by side; "
      : large && case_name.find("down") != std::string::npos
          ? "ours checks every byte it downloads against the ETag (s3rver's: one MD5 of the whole, hashed in one "
            "line; S3's and fauxqs': the MD5 of the parts' MD5s, parts hashed many at once), which aws s3 cp does not "
            "do for a multipart object (docs/s3.md, Benchmarks); "
          : "",
      server_note(ours));
  if (!ours.ok) base = "ours FAILED: " + ours.failure + "; " + base;
  for (const auto& entry : peers) {  // not a structured binding: clang 14 cannot capture one
    const std::string& peer_name = entry.first;
    const Timed& peer = entry.second;
    std::string note = fmt::format("{}; {}: {}", base, peer_name, peer.ok ? server_note(peer) : "not measured: " + peer.failure);
    auto peer_value = [&](double v) { return peer.ok ? std::optional<double>(v) : std::nullopt; };
    auto add = [&](std::string metric, std::string unit, double v, double pv, bool lower, std::string target,
                   std::optional<bool> pass) {
      ctx.Add(Row{.part = "s3", .metric = std::move(metric), .case_name = case_name, .unit = std::move(unit),
                  .value = ours.ok ? v : 0, .lower_is_better = lower, .peer = peer_name, .peer_value = peer_value(pv),
                  .target = std::move(target), .pass = ours.ok && peer.ok ? pass : std::optional<bool>(false),
                  .note = note});
    };
    if (!large) {
      add("wall time", "s", ours.wall_s, peer.wall_s, true, "faster than both peers (issue 20)", ours.wall_s < peer.wall_s);
      add("client CPU", "s", ours.cpu_s, peer.cpu_s, true, "less CPU than both peers (issue 20)", ours.cpu_s < peer.cpu_s);
    } else {
      double mbs = bytes / 1e6 / ours.wall_s, pmbs = bytes / 1e6 / peer.wall_s;
      add("throughput", "MB/s", mbs, pmbs, false, "at least the faster peer's (issue 20)", mbs >= best);
      add("client CPU", "s", ours.cpu_s, peer.cpu_s, true, "", std::nullopt);
      add("peak RSS", "MiB", ours.rss_mib, peer.rss_mib, true, "lower than both peers (issue 20)", ours.rss_mib < peer.rss_mib);
    }
  }
}

}  // namespace

// The three tools, their commands aimed at `endpoint`.
std::vector<Tool> MakeTools(const std::string& endpoint, const std::vector<std::string>& aws_env) {
  std::vector<Tool> tools;
  const std::string self = SelfExe();
  // `head`, then --recursive when asked, then `tail`: esper's and aws's cp.
  auto cp = [](std::vector<std::string> head, bool recursive, std::initializer_list<std::string> tail) {
    if (recursive) head.emplace_back("--recursive");
    head.insert(head.end(), tail);
    return head;
  };
  tools.push_back(Tool{.name = "esper s3 cp", .label = "esper", .program = self, .env = aws_env,
                       .up = [=](bool r, const std::string& s, const std::string& d) {
                         return cp({self, "s3", "cp", "-q"}, r, {"--endpoint-url", endpoint, s, d});
                       },
                       .cat = [=](const std::string& uri) {
                         return std::vector<std::string>{self, "s3", "cp", "-q", "--endpoint-url", endpoint, uri, "-"};
                       },
                       .ignore_checksum = {"--ignore-checksum"}});
  const std::string aws = fs::exists("/usr/bin/aws") ? "/usr/bin/aws" : FindProgram({"aws"});
  tools.push_back(Tool{.name = "aws s3 cp", .label = "aws", .program = aws, .env = aws_env,
                       .up = [=](bool r, const std::string& s, const std::string& d) {
                         return cp({aws, "s3", "cp"}, r, {"--only-show-errors", "--endpoint-url", endpoint, s, d});
                       },
                       .cat = [=](const std::string& uri) {
                         return std::vector<std::string>{aws, "s3", "cp", "--only-show-errors", "--endpoint-url", endpoint, uri, "-"};
                       }});
  const std::string rclone = FindProgram({"rclone"});
  // rclone's remote "bench" entirely from the environment; s3:// URIs become bench:bucket/key.
  auto rc = [](const std::string& uri) { return uri.rfind("s3://", 0) == 0 ? "bench:" + uri.substr(5) : uri; };
  tools.push_back(Tool{
      .name = "rclone", .label = "rclone", .program = rclone,
      .env = {"RCLONE_CONFIG=/nonexistent/esper-bench.conf", "RCLONE_CONFIG_BENCH_TYPE=s3",
              "RCLONE_CONFIG_BENCH_PROVIDER=Other", "RCLONE_CONFIG_BENCH_ENDPOINT=" + endpoint,
              fmt::format("RCLONE_CONFIG_BENCH_ACCESS_KEY_ID={}", S3TestServer::kAccessKey),
              fmt::format("RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY={}", S3TestServer::kSecretKey),
              fmt::format("RCLONE_CONFIG_BENCH_REGION={}", S3TestServer::kRegion),
              "RCLONE_CONFIG_BENCH_FORCE_PATH_STYLE=true"},
      .up = [=](bool r, const std::string& s, const std::string& d) {
        return r ? std::vector<std::string>{rclone, "copy", "-q", "--transfers", "16", "--s3-no-check-bucket", s, rc(d)}
                 : std::vector<std::string>{rclone, "copyto", "-q", "--s3-no-check-bucket", s, rc(d)};
      },
      .down = [=](bool r, const std::string& s, const std::string& d) {
        return r ? std::vector<std::string>{rclone, "copy", "-q", "--transfers", "16", rc(s), d}
                 : std::vector<std::string>{rclone, "copyto", "-q", rc(s), d};
      },
      .cat = [=](const std::string& uri) { return std::vector<std::string>{rclone, "cat", "-q", rc(uri)}; },
      .ignore_checksum = {"--ignore-checksum"}});

  return tools;
}

// A download `t` of `source` into `copy`: not ok when the copy is not the source; the copy goes.
Timed Compared(Timed t, const std::string& source, const std::string& copy, const char* differs) {
  if (t.ok && !SameFile(source, copy)) {
    t.ok = false;
    t.failure = differs;
  }
  fs::remove(copy);
  return t;
}

Status RunS3Transfers(Context& ctx, const S3TestServer& server) {
  const std::string endpoint = server.endpoint();
  const std::string bucket = "bench";
  const std::vector<std::string> aws_env = {
      fmt::format("AWS_ACCESS_KEY_ID={}", S3TestServer::kAccessKey),
      fmt::format("AWS_SECRET_ACCESS_KEY={}", S3TestServer::kSecretKey),
      fmt::format("AWS_REGION={}", S3TestServer::kRegion),
      fmt::format("AWS_DEFAULT_REGION={}", S3TestServer::kRegion),
      "AWS_EC2_METADATA_DISABLED=true",
      "AWS_CONFIG_FILE=/nonexistent/esper-bench",
      "AWS_SHARED_CREDENTIALS_FILE=/nonexistent/esper-bench",
      "AWS_PAGER="};
  const std::vector<Tool> tools = MakeTools(endpoint, aws_env);
  const std::string& self = tools.front().program;  // esper s3 cp: this executable

  const std::string dir = fmt::format("{}/esper-bench-s3-{}", fs::temp_directory_path().string(), ::getpid());
  fs::remove_all(dir);
  fs::create_directories(dir + "/small");
  for (int i = 0; i < kSmallFiles; ++i) {
    std::ofstream(fmt::format("{}/small/f{:04}", dir, i), std::ios::binary)
        << testing::PatternBytes(kSmallBytes, static_cast<uint32_t>(i + 1));
  }
  const size_t large_bytes = (ctx.quick() ? size_t{64} : size_t{1024}) << 20;
  const std::string large = dir + "/large.bin";
  {
    std::ofstream out(large, std::ios::binary);
    const std::string piece = testing::PatternBytes(size_t{1} << 20, 77);
    for (size_t i = 0; i < large_bytes >> 20; ++i) {
      std::string p = piece;
      p[0] = static_cast<char>(i);  // no two MiB alike
      out << p;
    }
  }

  struct Results {
    Timed up_small, down_small, up_large, down_large, down_unchecked, cat_large;
  };
  std::map<std::string, Results> results;
  for (const Tool& tool : tools) {
    Results& r = results[tool.name];
    if (tool.program.empty() || !fs::exists(tool.program)) {
      r.up_small.failure = r.down_small.failure = r.up_large.failure = r.down_large.failure = r.down_unchecked.failure =
          r.cat_large.failure = tool.name + " is not installed (scripts/setup)";
      continue;
    }
    const std::string out = fmt::format("{}/{}.out", dir, tool.label);
    ctx.Progress(fmt::format("s3: {}: 1,000 files of 4 KiB up", tool.name));
    const std::string prefix = fmt::format("s3://{}/{}-small/", bucket, tool.label);
    r.up_small = RunTimed(tool.up(true, dir + "/small", prefix), tool.env, out, server.pid());
    ctx.Progress(fmt::format("s3: {}: 1,000 files of 4 KiB down", tool.name));
    const std::string down = fmt::format("{}/down-{}", dir, tool.label);
    fs::create_directories(down);
    r.down_small = RunTimed(tool.Down(true, prefix, down + "/"), tool.env, out, server.pid());
    if (r.down_small.ok) {
      if (std::string bad = CompareTrees(dir + "/small", down); !bad.empty()) {
        r.down_small.ok = false;
        r.down_small.failure = "the downloaded files are not the uploaded ones: " + bad;
      }
    }
    fs::remove_all(down);
    ctx.Progress(fmt::format("s3: {}: {} MiB file up and down", tool.name, large_bytes >> 20));
    const std::string key = fmt::format("s3://{}/{}-large.bin", bucket, tool.label);
    r.up_large = RunTimed(tool.up(false, large, key), tool.env, out, server.pid());
    const std::string large_down = fmt::format("{}/large-{}.bin", dir, tool.label);
    r.down_large = Compared(RunTimed(tool.Down(false, key, large_down), tool.env, out, server.pid()), large, large_down,
                            "the downloaded file is not the uploaded one");
    if (tool.ignore_checksum.empty()) {
      r.down_unchecked = r.down_large;
    } else {
      std::vector<std::string> argv = tool.Down(false, key, large_down);
      argv.insert(argv.end(), tool.ignore_checksum.begin(), tool.ignore_checksum.end());
      r.down_unchecked = Compared(RunTimed(argv, tool.env, out, server.pid()), large, large_down,
                                  "the downloaded file is not the uploaded one");
    }
    // To stdout: the output file is what the tool wrote (its stderr too, which -q / the quiet
    // options keep empty unless it fails).
    ctx.Progress(fmt::format("s3: {}: {} MiB object to stdout", tool.name, large_bytes >> 20));
    r.cat_large = Compared(RunTimed(tool.cat(key), tool.env, large_down, server.pid()), large, large_down,
                           "what it wrote to stdout is not the uploaded file");
    // The server's copy goes too (s3rver keeps objects on disk until it stops).
    if (!self.empty()) {
      RunTimed({self, "s3", "rm", "-q", "--endpoint-url", endpoint, key}, aws_env, out, server.pid());
    }
  }

  // The large file on fauxqs, uploaded once by ours (rclone 1.60's multipart uploads fail on
  // fauxqs 1.9.2: InvalidPart at the complete), downloaded by every tool, to a file and to stdout.
  std::map<std::string, Timed> fauxqs_down, fauxqs_cat;
  auto fauxqs = S3TestServer::Start({.kind = testing::S3ServerKind::kFauxqs, .buckets = {bucket}});
  std::string fauxqs_failure = fauxqs ? "" : "fauxqs did not start: " + fauxqs.error().message();
  const std::string fauxqs_key = fmt::format("s3://{}/large.bin", bucket);
  std::vector<Tool> on_fauxqs;
  if (fauxqs) {
    on_fauxqs = MakeTools((*fauxqs)->endpoint(), aws_env);
    ctx.Progress(fmt::format("s3: {} MiB file up to fauxqs", large_bytes >> 20));
    Timed up = RunTimed(on_fauxqs.front().up(false, large, fauxqs_key), aws_env, dir + "/fauxqs-up.out", (*fauxqs)->pid());
    if (!up.ok) fauxqs_failure = "the upload (esper s3 cp) failed: " + up.failure;
  }
  for (const Tool& tool : fauxqs_failure.empty() ? on_fauxqs : tools) {
    Timed& t = fauxqs_down[tool.name];
    Timed& c = fauxqs_cat[tool.name];
    if (!fauxqs_failure.empty()) {
      t.failure = c.failure = fauxqs_failure;
      continue;
    }
    if (tool.program.empty() || !fs::exists(tool.program)) {
      t.failure = c.failure = tool.name + " is not installed (scripts/setup)";
      continue;
    }
    ctx.Progress(fmt::format("s3: {}: {} MiB file down from fauxqs, and to stdout", tool.name, large_bytes >> 20));
    const std::string large_down = fmt::format("{}/large-{}.bin", dir, tool.label);
    t = Compared(RunTimed(tool.Down(false, fauxqs_key, large_down), tool.env, fmt::format("{}/{}.out", dir, tool.label),
                          (*fauxqs)->pid()),
                 large, large_down, "the downloaded file is not the uploaded one");
    c = Compared(RunTimed(tool.cat(fauxqs_key), tool.env, large_down, (*fauxqs)->pid()), large, large_down,
                 "what it wrote to stdout is not the uploaded file");
  }
  fs::remove_all(dir);

  const Results& ours = results["esper s3 cp"];
  auto peers = [&](Timed Results::*which) {
    std::map<std::string, Timed> m;
    for (const auto& [name, r] : results) {
      if (name != "esper s3 cp") m[name] = r.*which;
    }
    return m;
  };
  const double small_total = static_cast<double>(kSmallFiles * kSmallBytes);
  // Short case names: the table cuts long ones in the middle, where up and down differ.
  AddRows(ctx, "up 1,000 x 4 KiB", ours.up_small, peers(&Results::up_small), small_total, false);
  AddRows(ctx, "down 1,000 x 4 KiB", ours.down_small, peers(&Results::down_small), small_total, false);
  const std::string mib = fmt::format("{} MiB", large_bytes >> 20);
  AddRows(ctx, "up 1 x " + mib, ours.up_large, peers(&Results::up_large), static_cast<double>(large_bytes), true);
  AddRows(ctx, "down 1 x " + mib, ours.down_large, peers(&Results::down_large), static_cast<double>(large_bytes), true);
  AddRows(ctx, "down 1 x " + mib + ", no checksum", ours.down_unchecked, peers(&Results::down_unchecked),
          static_cast<double>(large_bytes), true, "s3rver 4.0.4", true);
  AddRows(ctx, "down 1 x " + mib + " to stdout", ours.cat_large, peers(&Results::cat_large), static_cast<double>(large_bytes),
          true);
  const Timed ours_fauxqs = fauxqs_down["esper s3 cp"];
  fauxqs_down.erase("esper s3 cp");
  AddRows(ctx, "down 1 x " + mib + ", fauxqs", ours_fauxqs, fauxqs_down, static_cast<double>(large_bytes), true,
          "fauxqs 1.9.2 (S3's -N multipart ETags)");
  const Timed ours_fauxqs_cat = fauxqs_cat["esper s3 cp"];
  fauxqs_cat.erase("esper s3 cp");
  AddRows(ctx, "down 1 x " + mib + " to stdout, fauxqs", ours_fauxqs_cat, fauxqs_cat, static_cast<double>(large_bytes),
          true, "fauxqs 1.9.2 (S3's -N multipart ETags)");
  return OkStatus();
}

}  // namespace esper::bench
