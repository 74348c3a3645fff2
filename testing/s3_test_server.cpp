#include "testing/s3_test_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "testing/wait.h"

namespace esper::testing {
namespace {

namespace fs = std::filesystem;

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
  std::vector<std::string> argv = {"node"};
  if (options.kind == S3ServerKind::kFauxqs) {
    argv.insert(argv.end(), {scripts + "/fauxqs.mjs", package});
  } else {
    fs::create_directories(s->dir_ + "/data");
    // Without the legacy provider, ListObjectsV2 continuation tokens fail on Node >= 17.
    argv.insert(argv.end(), {"--openssl-legacy-provider", scripts + "/s3rver.js", package, s->dir_ + "/data"});
  }
  argv.insert(argv.end(), options.buckets.begin(), options.buckets.end());
  // The log file, not a pipe: nobody reads the server's output while the tests run.
  ESPER_RETURN_IF_ERROR(s->process_.Start(argv, {.output_file = s->dir_ + "/server.log"}));

  auto exited = [&] {  // a zombie: it is gone (ChildProcess reaps it when stopped)
    std::ifstream stat("/proc/" + std::to_string(s->process_.pid()) + "/stat");
    std::string pid, comm, state;
    stat >> pid >> comm >> state;
    return state == "Z" || state.empty();
  };
  bool gone = false;
  const bool up = WaitUntil(
      [&] {
        const std::string text = s->Log();
        if (const size_t at = text.find("listening "); at != std::string::npos && text.find('\n', at) != std::string::npos)
          s->port_ = std::atoi(text.c_str() + at + 10);
        if (s->port_ > 0 && Answers(s->port_)) return true;
        gone = exited();
        return gone;
      },
      std::chrono::milliseconds(options.start_timeout_ms));
  if (up && !gone) return s;
  const int code = s->process_.Wait(std::chrono::milliseconds(100));
  if (code == 127) return Error::NotFound("node is not on PATH: run scripts/setup");
  return Error::Unavailable(std::string(S3ServerName(options.kind)) +
                            (gone ? " exited before listening:\n" : " did not answer in time:\n") + Tail(s->Log(), 10));
}

S3TestServer::~S3TestServer() {
  process_.Stop();
  std::error_code ec;
  if (!dir_.empty()) fs::remove_all(dir_, ec);
}

}  // namespace esper::testing
