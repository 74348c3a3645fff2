// `esper proxy` end to end: the built binary as a child process, a real upstream, a real client.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <vector>

#include "testing/process.h"
#include "test_client.h"
#include "test_http_server.h"

namespace esper::testing {
namespace {

using namespace std::chrono_literals;

// A running child whose stdout/stderr we read while it runs.
class Child {
 public:
  explicit Child(const std::vector<std::string>& argv) {
    int out[2], err[2];
    if (pipe(out) != 0 || pipe(err) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      dup2(out[1], 1);
      dup2(err[1], 2);
      for (int fd : {out[0], out[1], err[0], err[1]}) close(fd);
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      execv(args[0], args.data());
      _exit(127);
    }
    close(out[1]);
    close(err[1]);
    out_ = out[0];
    err_ = err[0];
  }
  ~Child() {
    if (pid_ > 0 && !waited_) {
      kill(pid_, SIGKILL);
      Wait();
    }
    if (out_ >= 0) close(out_);
    if (err_ >= 0) close(err_);
  }

  /// Reads stdout until a full line arrives (or timeout); returns it without '\n'.
  std::string ReadLine(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (out_buf_.find('\n') == std::string::npos) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return "";
      pollfd p{out_, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char buf[4096];
      ssize_t n = read(out_, buf, sizeof buf);
      if (n <= 0) return "";
      out_buf_.append(buf, static_cast<size_t>(n));
    }
    size_t nl = out_buf_.find('\n');
    std::string line = out_buf_.substr(0, nl);
    out_buf_.erase(0, nl + 1);
    return line;
  }

  void Signal(int sig) { kill(pid_, sig); }

  /// Waits for exit; returns the exit code (128 + signal if killed). Collects stderr.
  int Wait() {
    char buf[4096];
    ssize_t n;
    while (err_ >= 0 && (n = read(err_, buf, sizeof buf)) > 0) err_text_.append(buf, static_cast<size_t>(n));
    int status = 0;
    waitpid(pid_, &status, 0);
    waited_ = true;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  const std::string& err() const { return err_text_; }
  bool started() const { return pid_ > 0; }

 private:
  pid_t pid_ = -1;
  int out_ = -1, err_ = -1;
  bool waited_ = false;
  std::string out_buf_, err_text_;
};

uint16_t PortFromLine(const std::string& line) {
  const std::string prefix = "listening on 127.0.0.1:";
  if (line.rfind(prefix, 0) != 0) return 0;
  return static_cast<uint16_t>(std::stoi(line.substr(prefix.size())));
}

TEST(ProxyCli, ForwardsUntilSigintThenExits130WithStatistics) {
  TestHttpServer upstream;
  Child child({EsperBinary(), "proxy", "--listen", "127.0.0.1:0", "--upstream", upstream.address(),
               "--seed", "1"});
  ASSERT_TRUE(child.started());
  std::string line = child.ReadLine(30s);
  uint16_t port = PortFromLine(line);
  ASSERT_NE(port, 0) << "stdout line: '" << line << "'";

  RawConnection c(port);
  ASSERT_TRUE(c.Send(Get("/bytes?n=5000")));
  auto r = c.ReadResponse();
  ASSERT_TRUE(r.complete);
  EXPECT_EQ(r.body, PatternBytes(5000));

  child.Signal(SIGINT);
  EXPECT_EQ(child.Wait(), 130);
  EXPECT_NE(child.err().find("requests 1: passed 1"), std::string::npos) << child.err();
}

TEST(ProxyCli, InjectsSlowDownAndReportsItOnSigterm) {
  TestHttpServer upstream;
  Child child({EsperBinary(), "proxy", "--upstream", upstream.address(), "--error-rate", "1",
               "--error-status", "SlowDown", "--retry-after", "3"});
  uint16_t port = PortFromLine(child.ReadLine(30s));
  ASSERT_NE(port, 0);
  RawConnection c(port);
  ASSERT_TRUE(c.Send(Get("/b/k")));
  auto r = c.ReadResponse();
  ASSERT_TRUE(r.complete);
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.Header("Retry-After"), "3");
  EXPECT_NE(r.body.find("<Code>SlowDown</Code>"), std::string::npos);
  EXPECT_EQ(upstream.requests(), 0);
  child.Signal(SIGTERM);
  EXPECT_EQ(child.Wait(), 130);
  EXPECT_NE(child.err().find("errors 1"), std::string::npos) << child.err();
}

TEST(ProxyCli, BadFlagsAreUsageErrors) {
  auto r = RunProcess({EsperBinary(), "proxy", "--listen", "127.0.0.1:0"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("upstream"), std::string::npos) << r.err;

  r = RunProcess({EsperBinary(), "proxy", "--upstream", "127.0.0.1:1", "--reset-rate", "1.5"});
  EXPECT_EQ(r.exit_code, 2) << r.err;

  r = RunProcess({EsperBinary(), "proxy", "--upstream", "127.0.0.1:1", "--reset-rate", "0.6",
                  "--truncate-rate", "0.6"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("add up"), std::string::npos) << r.err;

  r = RunProcess({EsperBinary(), "proxy", "--upstream", "127.0.0.1:1", "--error-status", "404"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("SlowDown"), std::string::npos) << r.err;

  r = RunProcess({EsperBinary(), "proxy", "--upstream", "nocolon"});
  EXPECT_EQ(r.exit_code, 2) << r.err;

  r = RunProcess({EsperBinary(), "proxy", "--upstream", "127.0.0.1:1", "--mode", "tcp",
                  "--error-rate", "0.1"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
}

TEST(ProxyCli, UnbindableListenAddressFailsWithExit1) {
  TestHttpServer occupied;
  auto r = RunProcess({EsperBinary(), "proxy", "--listen", occupied.address(), "--upstream",
                       "127.0.0.1:1"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("bind"), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty());
}

}  // namespace
}  // namespace esper::testing
