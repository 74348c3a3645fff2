#include "testing/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string>
#include <vector>

#include "testing/wait.h"

namespace esper::testing {
namespace {

int ExitCode(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status); }

// What the child execs, made before fork(): after fork() in a process with other threads, the
// child may only call async-signal-safe functions — a thread that held the allocator's lock at the
// fork never releases it in the child, and a malloc there waits for ever (an ASan CI run hung
// 300 s in a child that built its argv vector and called putenv + execvp).
struct ExecPlan {
  std::string path;                   // argv[0], found in PATH (the child's) as execvp would
  std::vector<std::string> env;       // this process's environment with `env` applied
  std::vector<char*> argv, envp;      // pointers into the above and the caller's argv
};

ExecPlan Plan(const std::vector<std::string>& argv, const std::vector<std::string>& env) {
  ExecPlan plan;
  for (char** e = environ; e && *e; ++e) plan.env.emplace_back(*e);
  // As putenv: "NAME=value" sets NAME, "NAME" alone removes it.
  for (const std::string& e : env) {
    const std::string name = e.substr(0, e.find('='));
    std::erase_if(plan.env, [&](const std::string& have) {
      return have.size() > name.size() && have.compare(0, name.size(), name) == 0 && have[name.size()] == '=';
    });
    if (e.find('=') != std::string::npos) plan.env.push_back(e);
  }
  plan.path = argv.empty() ? std::string() : argv[0];
  if (!plan.path.empty() && plan.path.find('/') == std::string::npos) {
    std::string dirs = "/usr/local/bin:/usr/bin:/bin";
    for (const std::string& e : plan.env)
      if (e.rfind("PATH=", 0) == 0) dirs = e.substr(5);
    for (size_t at = 0; at <= dirs.size();) {
      size_t end = dirs.find(':', at);
      if (end == std::string::npos) end = dirs.size();
      const std::string dir = end > at ? dirs.substr(at, end - at) : ".";
      const std::string candidate = dir + "/" + argv[0];
      if (access(candidate.c_str(), X_OK) == 0) {
        plan.path = candidate;
        break;
      }
      at = end + 1;
    }
  }
  for (const auto& a : argv) plan.argv.push_back(const_cast<char*>(a.c_str()));
  plan.argv.push_back(nullptr);
  for (auto& e : plan.env) plan.envp.push_back(e.data());
  plan.envp.push_back(nullptr);
  return plan;
}

// In the child after fork(), async-signal-safe calls only: the signal mask, fds 0, 1, 2 (-1:
// /dev/null), exec. `exec_fd` (O_CLOEXEC, or -1) stays open until the exec closes it.
[[noreturn]] void Exec(const ExecPlan& plan, int in, int out, int err, int exec_fd = -1) {
  ResetSignalMask();
  const int null = open("/dev/null", O_RDWR);
  dup2(in >= 0 ? in : null, 0);
  dup2(out >= 0 ? out : null, 1);
  dup2(err >= 0 ? err : null, 2);
  for (int fd = 3; fd < 1024; ++fd) {  // no test fds leak into the program
    if (fd != exec_fd) close(fd);
  }
  if (!plan.path.empty()) execve(plan.path.c_str(), plan.argv.data(), plan.envp.data());
  _exit(127);
}

// Appends what `fd` holds now to `to`; closes it and sets it to -1 at EOF or on an error.
void ReadAvailable(int& fd, std::string& to) {
  char buf[8192];
  while (fd >= 0) {
    const ssize_t n = read(fd, buf, sizeof buf);
    if (n > 0) {
      to.append(buf, static_cast<size_t>(n));
    } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      return;
    } else {
      close(fd);
      fd = -1;
    }
  }
}

}  // namespace

void ResetSignalMask() {
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
}

ProcessResult RunProcess(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                         const std::string& stdin_data) {
  int out_p[2], err_p[2], in_p[2];
  if (pipe2(out_p, O_CLOEXEC) || pipe2(err_p, O_CLOEXEC) || pipe2(in_p, O_CLOEXEC)) return {};
  const ExecPlan plan = Plan(argv, env);
  const pid_t pid = fork();
  if (pid == 0) Exec(plan, in_p[0], out_p[1], err_p[1]);
  close(out_p[1]);
  close(err_p[1]);
  close(in_p[0]);
  // stdin is fed while stdout and stderr are read (a program may answer before it has read all
  // of it), and a program that exits without reading it all must not kill us with SIGPIPE: the
  // signal is blocked on this thread while we write, and one it raised is taken back (EPIPE).
  sigset_t pipe_set, old_set;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_set, &old_set);
  fcntl(in_p[1], F_SETFL, O_NONBLOCK);
  size_t written = 0;
  int in_fd = in_p[1];
  if (stdin_data.empty()) {
    close(in_fd);
    in_fd = -1;
  }
  ProcessResult r;
  pollfd fds[3] = {{out_p[0], POLLIN, 0}, {err_p[0], POLLIN, 0}, {in_fd, POLLOUT, 0}};
  int open_fds = 2;
  char buf[8192];
  while (open_fds > 0) {
    if (poll(fds, 3, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[2].fd >= 0 && (fds[2].revents & (POLLOUT | POLLERR | POLLHUP))) {
      const ssize_t n = write(fds[2].fd, stdin_data.data() + written, stdin_data.size() - written);
      if (n > 0) written += static_cast<size_t>(n);
      if ((n < 0 && errno != EAGAIN && errno != EINTR) || written == stdin_data.size()) {
        close(fds[2].fd);
        fds[2].fd = -1;
      }
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP))) continue;
      const ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n <= 0) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      } else {
        (i == 0 ? r.out : r.err).append(buf, static_cast<size_t>(n));
      }
    }
  }
  for (const pollfd& p : fds)
    if (p.fd >= 0) close(p.fd);
  const timespec zero{};
  while (sigtimedwait(&pipe_set, nullptr, &zero) == SIGPIPE) {
  }
  pthread_sigmask(SIG_SETMASK, &old_set, nullptr);
  int status = 0;
  if (pid > 0) waitpid(pid, &status, 0);
  r.exit_code = pid > 0 ? ExitCode(status) : -1;
  return r;
}

int WaitForChild(pid_t pid, std::chrono::milliseconds limit) {
  int status = 0;
  if (WaitUntil([&] { return waitpid(pid, &status, WNOHANG) == pid; }, limit)) return ExitCode(status);
  kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
  return -1;
}

Status ChildProcess::Start(const std::vector<std::string>& argv, Options options) {
  if (pid_ > 0) return Error::FailedPrecondition("ChildProcess::Start: already running");
  if (argv.empty()) return Error::InvalidArgument("ChildProcess::Start: no program");
  int out_p[2] = {-1, -1}, err_p[2] = {-1, -1};
  int file = -1;
  if (!options.output_file.empty()) {
    file = open(options.output_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (file < 0) return Error::FromErrno(errno, "open " + options.output_file);
  } else if (pipe2(out_p, O_CLOEXEC) != 0 || pipe2(err_p, O_CLOEXEC) != 0) {
    return Error::FromErrno(errno, "pipe");
  }
  // Closed in the child by its exec (or its exit): Start returns only then, so whatever the
  // caller does next sees the program, never the fork's copy of the caller (an RssSampler's first
  // sample of a child not yet exec'd counted the whole test binary's RSS).
  int exec_p[2];
  if (pipe2(exec_p, O_CLOEXEC) != 0) {
    const int error = errno;
    for (int fd : {file, out_p[0], out_p[1], err_p[0], err_p[1]}) {
      if (fd >= 0) close(fd);
    }
    return Error::FromErrno(error, "pipe");
  }
  const pid_t parent = getpid();
  const ExecPlan plan = Plan(argv, options.env);
  const pid_t pid = fork();
  if (pid < 0) {
    close(exec_p[0]);
    close(exec_p[1]);
    return Error::FromErrno(errno, "fork");
  }
  if (pid == 0) {
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);  // the parent is already gone
    Exec(plan, -1, file >= 0 ? file : out_p[1], file >= 0 ? file : err_p[1], exec_p[1]);
  }
  close(exec_p[1]);
  char byte;
  while (read(exec_p[0], &byte, 1) < 0 && errno == EINTR) {
  }
  close(exec_p[0]);
  setpgid(pid, pid);  // also here, so Signal() cannot race the child's own setpgid
  pid_ = pid;
  exit_code_ = -1;
  reaped_status_.reset();
  out_.clear();
  err_.clear();
  if (file >= 0) {
    close(file);
  } else {
    close(out_p[1]);
    close(err_p[1]);
    out_fd_ = out_p[0];
    err_fd_ = err_p[0];
    fcntl(out_fd_, F_SETFL, O_NONBLOCK);
    fcntl(err_fd_, F_SETFL, O_NONBLOCK);
  }
  return OkStatus();
}

void ChildProcess::Drain() {
  ReadAvailable(out_fd_, out_);
  ReadAvailable(err_fd_, err_);
}

std::string ChildProcess::ReadLine(std::chrono::milliseconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  size_t nl;
  while ((nl = out_.find('\n')) == std::string::npos) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
    if (out_fd_ < 0 || left.count() <= 0) return "";
    pollfd p{out_fd_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left.count())) > 0) ReadAvailable(out_fd_, out_);
    ReadAvailable(err_fd_, err_);  // a child blocked on a full stderr pipe writes no line
  }
  std::string line = out_.substr(0, nl);
  out_.erase(0, nl + 1);
  return line;
}

void ChildProcess::Signal(int signal) {
  if (pid_ > 0) kill(-pid_, signal);
}

bool ChildProcess::running() {
  if (pid_ <= 0 || reaped_status_) return false;
  int status = 0;
  if (waitpid(pid_, &status, WNOHANG) != pid_) return true;
  reaped_status_ = status;
  return false;
}

int ChildProcess::Wait(std::chrono::milliseconds limit) {
  if (pid_ <= 0) return exit_code_;
  int status = reaped_status_.value_or(0);
  const bool exited = reaped_status_ || WaitUntil(
      [&] {
        Drain();  // a child writing into a full pipe would never exit
        return waitpid(pid_, &status, WNOHANG) == pid_;
      },
      limit);
  reaped_status_.reset();
  if (!exited) {
    kill(-pid_, SIGKILL);
    waitpid(pid_, &status, 0);
  }
  Drain();  // what is left (a grandchild still holding a pipe leaves it open: not waited for)
  for (int* fd : {&out_fd_, &err_fd_}) {
    if (*fd >= 0) close(*fd);
    *fd = -1;
  }
  pid_ = -1;
  exit_code_ = exited ? ExitCode(status) : -1;
  return exit_code_;
}

void ChildProcess::Stop(std::chrono::milliseconds grace) {
  if (pid_ <= 0) return;
  Signal(SIGTERM);  // the group: what it started may outlive it
  Wait(grace);
}

}  // namespace esper::testing
