#include "testing/net.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "testing/wait.h"

namespace esper::testing {
namespace {

sockaddr_in Loopback(int port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  return a;
}

}  // namespace

std::vector<int> FreePorts(size_t n) {
  // All bound at once, so the kernel cannot give one port twice; closed once all are known.
  std::vector<int> fds, ports;
  for (size_t i = 0; i < n; ++i) {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) break;
    fds.push_back(fd);
    sockaddr_in a = Loopback(0);
    socklen_t len = sizeof a;
    if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      break;
    }
    ports.push_back(ntohs(a.sin_port));
  }
  for (int fd : fds) close(fd);
  if (ports.size() != n) ports.clear();
  return ports;
}

int FreePort() {
  const std::vector<int> one = FreePorts(1);
  return one.empty() ? 0 : one[0];
}

bool WaitForPort(int port, std::chrono::milliseconds timeout) {
  return WaitUntil(
      [port] {
        const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) return false;
        const sockaddr_in a = Loopback(port);
        const bool ok = connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) == 0;
        close(fd);
        return ok;
      },
      timeout);
}

std::string Exchange(int port, const std::string& request, bool half_close) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return "";
  const sockaddr_in a = Loopback(port);
  std::string got;
  if (connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) == 0 &&
      send(fd, request.data(), request.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(request.size())) {
    if (half_close) shutdown(fd, SHUT_WR);
    char buf[65536];
    pollfd p{fd, POLLIN, 0};
    while (poll(&p, 1, 10000) > 0) {
      const ssize_t n = recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      got.append(buf, static_cast<size_t>(n));
    }
  }
  close(fd);
  return got;
}

}  // namespace esper::testing
