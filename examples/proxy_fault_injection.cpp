// Example: put a FaultProxy in front of a server and watch a client meet injected faults.
//
// Usage: example_proxy_fault_injection [UPSTREAM_HOST:PORT]
// Without an argument it starts its own tiny HTTP server on 127.0.0.1 (kernel-chosen port).
// It then sends 20 requests through the proxy (30 % SlowDown, 10 % resets, 10 % truncations,
// seed 42 — run it twice and you get the same faults) and prints what the client saw and what
// the proxy says it injected.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "esper/proxy/fault_proxy.h"

namespace {

int ConnectTo(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// A one-request-per-connection HTTP server answering "hello from upstream".
class TinyServer {
 public:
  TinyServer() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(fd_, 64);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] {
      while (!stop_) {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, 50) <= 0) continue;
        int c = ::accept(fd_, nullptr, nullptr);
        if (c < 0) continue;
        std::string req;
        char buf[4096];
        ssize_t n;
        while (req.find("\r\n\r\n") == std::string::npos && (n = ::recv(c, buf, sizeof buf, 0)) > 0) {
          req.append(buf, static_cast<size_t>(n));
        }
        std::string body = "hello from upstream\n";
        std::string resp = fmt::format(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}", body.size(), body);
        (void)!::send(c, resp.data(), resp.size(), MSG_NOSIGNAL);
        ::close(c);
      }
    });
  }
  ~TinyServer() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  uint16_t port() const { return port_; }

 private:
  int fd_;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace

int main(int argc, char** argv) {
  std::unique_ptr<TinyServer> own;
  std::string upstream;
  if (argc > 1) {
    upstream = argv[1];
  } else {
    own = std::make_unique<TinyServer>();
    upstream = fmt::format("127.0.0.1:{}", own->port());
  }

  auto proxy = esper::proxy::FaultProxy::Create({
      .upstream = upstream,
      .reset_rate = 0.1,
      .error_rate = 0.3,
      .error_status = esper::proxy::ErrorStatus::kSlowDown,
      .retry_after = std::chrono::seconds(1),
      .truncate_rate = 0.1,
      .seed = 42,
  });
  if (!proxy) {
    fmt::print(stderr, "bad options: {}\n", proxy.error());
    return 2;
  }
  if (auto st = (*proxy)->Start(); !st) {
    fmt::print(stderr, "cannot start: {}\n", st.error());
    return 1;
  }
  fmt::print("proxy {} -> {}\n", (*proxy)->address(), upstream);

  for (int i = 0; i < 20; ++i) {
    int fd = ConnectTo((*proxy)->port());
    std::string req = "GET /bucket/key HTTP/1.1\r\nHost: example\r\nConnection: close\r\n\r\n";
    (void)!::send(fd, req.data(), req.size(), MSG_NOSIGNAL);
    std::string got;
    char buf[4096];
    ssize_t n;
    while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) got.append(buf, static_cast<size_t>(n));
    bool reset = n < 0 && errno == ECONNRESET;
    ::close(fd);
    std::string first_line = got.substr(0, got.find("\r\n"));
    fmt::print("request {:2}: {}\n", i,
               reset ? "connection reset"
               : got.find("hello from upstream\n") != std::string::npos ? first_line
               : got.find("SlowDown") != std::string::npos ? first_line + " (SlowDown)"
                                                           : fmt::format("{} bytes then EOF (truncated)", got.size()));
  }

  auto s = (*proxy)->statistics();
  fmt::print("injected: {} resets, {} errors, {} truncations; {} passed through\n", s.resets,
             s.errors, s.truncations, s.passed);
  (*proxy)->Stop();
  return 0;
}
