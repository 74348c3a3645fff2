#include "testing/proc.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

namespace esper::testing {
namespace {

std::string ProcDir(pid_t pid) { return pid == 0 ? "/proc/self" : "/proc/" + std::to_string(pid); }

// The fields of /proc/<pid>/stat after the command name (which may hold spaces): [0] is the
// state (field 3), so field k of proc(5) is at [k - 3].
std::vector<std::string> StatFields(pid_t pid) {
  std::ifstream in(ProcDir(pid) + "/stat");
  std::string line;
  std::getline(in, line);
  std::vector<std::string> fields;
  const size_t close = line.rfind(')');
  if (close == std::string::npos) return fields;
  std::istringstream rest(line.substr(close + 1));
  for (std::string f; rest >> f;) fields.push_back(f);
  return fields;
}

uint64_t StatusKb(pid_t pid, std::string_view key) {
  std::ifstream in(ProcDir(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.size() > key.size() && line.compare(0, key.size(), key) == 0 && line[key.size()] == ':')
      return std::stoull(line.substr(key.size() + 1));
  }
  return 0;
}

double TicksToSeconds(const std::string& ticks) {
  static const double hz = static_cast<double>(sysconf(_SC_CLK_TCK));
  return static_cast<double>(std::stoull(ticks)) / hz;
}

}  // namespace

std::vector<pid_t> ProcessTree(pid_t pid) {
  if (pid == 0) pid = getpid();
  std::multimap<pid_t, pid_t> children;  // parent → child, for every process on the machine
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename();
    if (name.empty() || !std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; })) continue;
    const pid_t p = static_cast<pid_t>(std::stol(name));
    const auto f = StatFields(p);
    if (f.size() > 1) children.emplace(static_cast<pid_t>(std::stol(f[1])), p);  // field 4: ppid
  }
  std::vector<pid_t> tree{pid};
  for (size_t i = 0; i < tree.size(); ++i) {
    auto [from, to] = children.equal_range(tree[i]);
    for (auto it = from; it != to; ++it) tree.push_back(it->second);
  }
  return tree;
}

uint64_t RssBytes(pid_t pid) {
  std::ifstream in(ProcDir(pid) + "/statm");
  uint64_t total = 0, resident = 0;
  if (!(in >> total >> resident)) return 0;
  return resident * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

uint64_t PeakRssBytes(pid_t pid) { return StatusKb(pid, "VmHWM") * 1024; }

bool ResetPeakRss(pid_t pid) {
  std::ofstream f(ProcDir(pid) + "/clear_refs");
  f << "5";
  f.flush();
  return static_cast<bool>(f);
}

RssSampler::RssSampler(Options options) : options_(options) {
  Sample();
  thread_ = std::thread([this] {
    while (!stop_.load(std::memory_order_relaxed)) {
      std::this_thread::sleep_for(options_.interval);
      Sample();
    }
  });
}

void RssSampler::Sample() {
  uint64_t rss = 0;
  if (options_.tree) {
    for (pid_t p : ProcessTree(options_.pid)) rss += RssBytes(p);
  } else {
    rss = RssBytes(options_.pid);
  }
  if (rss > peak_.load(std::memory_order_relaxed)) peak_.store(rss, std::memory_order_relaxed);
}

uint64_t RssSampler::Stop() {
  if (thread_.joinable()) {
    stop_.store(true);
    thread_.join();
    Sample();
  }
  return peak();
}

double CpuSeconds(int who) {
  rusage ru{};
  getrusage(who, &ru);
  auto sec = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
  return sec(ru.ru_utime) + sec(ru.ru_stime);
}

double ProcessTreeCpuSeconds(pid_t pid) {
  double total = 0;
  for (pid_t p : ProcessTree(pid)) {
    const auto f = StatFields(p);
    if (f.size() < 15) continue;  // gone meanwhile
    // fields 14-17: utime, stime, cutime, cstime (clock ticks)
    for (size_t k = 14; k <= 17; ++k) total += TicksToSeconds(f[k - 3]);
  }
  return total;
}

CpuMeter::CpuMeter() : self_(true) { start_ = Now(); }
CpuMeter::CpuMeter(pid_t tree) : tree_(tree), self_(false) { start_ = Now(); }

double CpuMeter::Now() const { return self_ ? CpuSeconds(RUSAGE_SELF) : ProcessTreeCpuSeconds(tree_); }
double CpuMeter::Seconds() const { return Now() - start_; }
double CpuMeter::MicrosPer(uint64_t operations) const {
  return Seconds() * 1e6 / static_cast<double>(std::max<uint64_t>(1, operations));
}

}  // namespace esper::testing
