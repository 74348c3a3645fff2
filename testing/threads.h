// Test helper: this process's threads by name. The library's threads name themselves
// (esper/core/thread.h: esper-log, esper-http, esper-proxy), so a test can count them or read
// their kernel state from /proc/self/task/<tid>/.
#pragma once

#include <chrono>
#include <filesystem>
#include <iterator>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "testing/wait.h"

namespace esper::testing {

/// How many threads this process has (/proc/self/task). A joined thread can stay listed for a
/// moment: compare after a WaitUntil.
inline long ThreadCount() {
  return std::distance(std::filesystem::directory_iterator("/proc/self/task"), std::filesystem::directory_iterator());
}

/// /proc/self/task/<tid> of each thread whose name (comm) is `name`.
inline std::vector<std::filesystem::path> TasksNamed(std::string_view name) {
  std::vector<std::filesystem::path> tasks;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream comm(task.path() / "comm");
    std::string comm_name;
    if (std::getline(comm, comm_name) && comm_name == name) tasks.push_back(task.path());
  }
  return tasks;
}

/// The one thread named `name`, waiting up to `timeout` for there to be exactly one. A thread
/// that was joined can stay in /proc/self/task for a moment after pthread_join returns (the
/// kernel clears its tid before it unlinks the task), so a count taken right after one object's
/// thread was joined and another's started can read two. Empty if never exactly one.
inline std::filesystem::path OnlyTaskNamed(std::string_view name,
                                           std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  std::vector<std::filesystem::path> tasks;
  if (!WaitUntil([&] { return (tasks = TasksNamed(name)).size() == 1; }, timeout)) return {};
  return tasks[0];
}

/// A numeric field of /proc/self/task/<tid>/status ("voluntary_ctxt_switches"), 0 if absent.
inline unsigned long long TaskStatus(const std::filesystem::path& task, std::string_view field) {
  std::ifstream status(task / "status");
  for (std::string line; std::getline(status, line);)
    if (line.size() > field.size() && line.compare(0, field.size(), field) == 0 && line[field.size()] == ':')
      return std::stoull(line.substr(field.size() + 1));
  return 0;
}

}  // namespace esper::testing
