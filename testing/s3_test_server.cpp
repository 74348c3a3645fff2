#include "testing/s3_test_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace esper::testing {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Tail(const std::string& text, size_t lines) {
  size_t pos = text.size();
  for (size_t n = 0; n <= lines && pos != std::string::npos && pos > 0; ++n) pos = text.rfind('\n', pos - 1);
  return pos == std::string::npos ? text : text.substr(pos + 1);
}

// Sends a bare HTTP request and waits for a status line: the server answers.
bool Answers(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  timeval tv{2, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = false;
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
    const std::string req = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    if (write(fd, req.data(), req.size()) == static_cast<ssize_t>(req.size())) {
      char buf[16] = {};
      ok = read(fd, buf, sizeof buf - 1) >= 8 && std::string(buf).starts_with("HTTP/1.");
    }
  }
  close(fd);
  return ok;
}

}  // namespace

const char* S3ServerName(S3ServerKind kind) {
  switch (kind) {
    case S3ServerKind::kS3rver4: return "s3rver 4.0.4";
    case S3ServerKind::kS3rver3: return "s3rver 3.7.1";
    case S3ServerKind::kFauxqs: return "fauxqs 1.9.2";
  }
  return "?";
}

std::string S3TestServer::ToolsDir() {
  if (const char* d = std::getenv("ESPER_TOOLS_DIR"); d && *d) return d;
  return std::string(ESPER_SOURCE_DIR) + "/build/tools";
}

std::string S3TestServer::endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }

std::string S3TestServer::Log() const { return ReadAll(dir_ + "/server.log"); }

Result<std::unique_ptr<S3TestServer>> S3TestServer::Start(Options options) {
  const std::string tools = ToolsDir() + "/node_modules";
  const std::string scripts = std::string(ESPER_SOURCE_DIR) + "/testing/s3_servers";
  // node's path is found here, before fork(): the child only calls async-signal-safe functions
  // (an allocation in a fork child can hang under ASan; docs/log.md).
  std::string node;
  for (std::string_view path = std::getenv("PATH") ? std::getenv("PATH") : "/usr/bin"; node.empty();) {
    const size_t colon = std::min(path.find(':'), path.size());
    const std::string candidate = std::string(path.substr(0, colon)) + "/node";
    if (!path.substr(0, colon).empty() && access(candidate.c_str(), X_OK) == 0) node = candidate;
    if (colon == path.size()) break;
    path.remove_prefix(colon + 1);
  }
  if (node.empty()) return Error::NotFound("node is not on PATH: run scripts/setup");
  std::vector<std::string> argv = {node};
  std::string package;
  switch (options.kind) {
    case S3ServerKind::kS3rver4: package = tools + "/@20minutes/s3rver"; break;
    case S3ServerKind::kS3rver3: package = tools + "/s3rver"; break;
    case S3ServerKind::kFauxqs: package = tools + "/fauxqs"; break;
  }
  if (!fs::exists(package + "/package.json"))
    return Error::NotFound(std::string(S3ServerName(options.kind)) + " is not installed in " + tools +
                           ": run scripts/setup");

  std::unique_ptr<S3TestServer> s(new S3TestServer());
  s->kind_ = options.kind;
  char tmpl[] = "/tmp/esper-s3server-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) return Error::FromErrno(errno, "mkdtemp");
  s->dir_ = tmpl;
  if (options.kind == S3ServerKind::kFauxqs) {
    argv.insert(argv.end(), {scripts + "/fauxqs.mjs", package});
  } else {
    fs::create_directories(s->dir_ + "/data");
    // Without the legacy provider, ListObjectsV2 continuation tokens fail on Node >= 17.
    argv.insert(argv.end(), {"--openssl-legacy-provider", scripts + "/s3rver.js", package, s->dir_ + "/data"});
  }
  argv.insert(argv.end(), options.buckets.begin(), options.buckets.end());

  const std::string log = s->dir_ + "/server.log";
  const int log_fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (log_fd < 0) return Error::FromErrno(errno, "open " + log);
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) {
    close(log_fd);
    return Error::FromErrno(errno, "fork");
  }
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(1);
    dup2(log_fd, STDOUT_FILENO);
    dup2(log_fd, STDERR_FILENO);
    const int null_fd = open("/dev/null", O_RDONLY);
    dup2(null_fd, STDIN_FILENO);
    execv(args[0], args.data());
    _exit(127);
  }
  close(log_fd);
  s->pid_ = pid;

  const auto deadline = Clock::now() + std::chrono::milliseconds(options.start_timeout_ms);
  while (Clock::now() < deadline) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      s->pid_ = -1;
      return Error::Unavailable(std::string(S3ServerName(options.kind)) + " exited before listening:\n" +
                                Tail(s->Log(), 10));
    }
    const std::string text = s->Log();
    if (const size_t at = text.find("listening "); at != std::string::npos && text.find('\n', at) != std::string::npos) {
      s->port_ = std::atoi(text.c_str() + at + 10);
      if (s->port_ > 0 && Answers(s->port_)) return s;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return Error::Unavailable(std::string(S3ServerName(options.kind)) + " did not answer within " +
                            std::to_string(options.start_timeout_ms) + " ms:\n" + Tail(s->Log(), 10));
}

S3TestServer::~S3TestServer() {
  if (pid_ > 0) {
    kill(pid_, SIGTERM);
    const auto deadline = Clock::now() + std::chrono::seconds(5);
    int status = 0;
    while (waitpid(pid_, &status, WNOHANG) == 0) {
      if (Clock::now() > deadline) {
        kill(pid_, SIGKILL);
        waitpid(pid_, &status, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  std::error_code ec;
  if (!dir_.empty()) fs::remove_all(dir_, ec);
}

}  // namespace esper::testing
