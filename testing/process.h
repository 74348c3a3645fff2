// Test helper: run a program, capture stdout and stderr separately, get its exit code.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <vector>

#include "testing/wait.h"

namespace esper::testing {

struct ProcessResult {
  int exit_code = -1;  // 128 + signal when killed by a signal
  std::string out;
  std::string err;
};

/// Runs argv[0] with argv (no shell). `env` entries ("K=V") are added to the environment;
/// `stdin_data` is written to its standard input.
inline ProcessResult RunProcess(const std::vector<std::string>& argv,
                                const std::vector<std::string>& env = {},
                                const std::string& stdin_data = "") {
  int out_p[2], err_p[2], in_p[2];
  if (pipe(out_p) || pipe(err_p) || pipe(in_p)) return {};
  pid_t pid = fork();
  if (pid == 0) {
    dup2(in_p[0], 0);
    dup2(out_p[1], 1);
    dup2(err_p[1], 2);
    for (int fd : {out_p[0], out_p[1], err_p[0], err_p[1], in_p[0], in_p[1]}) close(fd);
    for (const auto& e : env) putenv(const_cast<char*>(e.c_str()));
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  close(out_p[1]);
  close(err_p[1]);
  close(in_p[0]);
  if (!stdin_data.empty()) {
    ssize_t w = write(in_p[1], stdin_data.data(), stdin_data.size());
    (void)w;
  }
  close(in_p[1]);
  ProcessResult r;
  pollfd fds[2] = {{out_p[0], POLLIN, 0}, {err_p[0], POLLIN, 0}};
  int open_fds = 2;
  char buf[8192];
  while (open_fds > 0) {
    if (poll(fds, 2, -1) < 0) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP))) continue;
      ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n <= 0) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      } else {
        (i == 0 ? r.out : r.err).append(buf, static_cast<size_t>(n));
      }
    }
  }
  int status = 0;
  waitpid(pid, &status, 0);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

/// Waits for the child `pid` (of a test's own fork()) for at most `limit`, then kills it: its exit
/// code, 128 + signal when a signal ended it, or -1 when it had to be killed (it hung).
inline int WaitForChild(pid_t pid, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  int status = 0;
  if (WaitUntil([&] { return waitpid(pid, &status, WNOHANG) == pid; }, limit))
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
  return -1;
}

/// The built esper binary.
inline std::string EsperBinary() { return std::string(ESPER_BINARY_DIR) + "/bin/esper"; }

}  // namespace esper::testing
