// Test helper: a real HTTP/1.1 server on 127.0.0.1 (kernel-chosen port), one thread per
// connection (tests open a handful), keep-alive, Content-Length and chunked responses. Written
// independently of the proxy's own parser, so it checks the proxy rather than agreeing with it.
//
// Routes:
//   GET|HEAD /hello            200, "hello", Content-Length
//   GET|HEAD /bytes?n=N        200, N pattern bytes (PatternBytes), Content-Length
//   GET /chunked?n=N           200, N pattern bytes, chunked in pieces of 1000
//   GET /nocontent             204, no body
//   GET /die?n=N               200 promising 2N bytes, sends N, then closes (a broken upstream)
//   GET /close?n=N             200, N pattern bytes, no Content-Length, then close (until-close)
//   POST|PUT /echo             200, the request body (Content-Length or chunked) echoed back
//                              ("Expect: 100-continue" gets an interim 100 first)
//   anything else              404
// requests() counts complete requests received; connections() counts accepted connections.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <list>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace esper::testing {

/// Deterministic bytes for bodies: byte i of a body of any length.
inline std::string PatternBytes(size_t n, uint32_t salt = 0) {
  std::string s(n, '\0');
  uint32_t x = 2463534242u ^ salt;
  for (size_t i = 0; i < n; ++i) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    s[i] = static_cast<char>(x & 0xFF);
  }
  return s;
}

inline std::string Lower(std::string_view s) {
  std::string r(s);
  for (char& c : r) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return r;
}

/// The value of header `name` in `head` (case-insensitive), or "" if absent.
inline std::string HeaderValue(std::string_view head, std::string_view name) {
  std::string lower = Lower(head);
  std::string key = "\r\n" + Lower(name) + ":";
  size_t p = lower.find(key);
  if (p == std::string::npos) return "";
  p += key.size();
  size_t e = head.find("\r\n", p);
  std::string_view v = head.substr(p, e - p);
  while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
  while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
  return std::string(v);
}

class TestHttpServer {
 public:
  TestHttpServer() {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::listen(listen_fd_, 128) != 0) {
      std::abort();
    }
    socklen_t len = sizeof a;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    acceptor_ = std::thread([this] { AcceptLoop(); });
  }
  ~TestHttpServer() { Stop(); }
  TestHttpServer(const TestHttpServer&) = delete;
  TestHttpServer& operator=(const TestHttpServer&) = delete;

  uint16_t port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  int requests() const { return requests_.load(); }
  int connections() const { return connections_.load(); }

  void Stop() {
    if (stopping_.exchange(true)) return;
    if (acceptor_.joinable()) acceptor_.join();
    {
      std::lock_guard lock(mu_);
      for (int fd : fds_) ::shutdown(fd, SHUT_RDWR);
    }
    for (auto& t : workers_) t.join();
    ::close(listen_fd_);
  }

 private:
  void AcceptLoop() {
    while (!stopping_.load()) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      connections_.fetch_add(1);
      std::lock_guard lock(mu_);
      fds_.push_back(fd);
      workers_.emplace_back([this, fd] { Serve(fd); });
    }
  }

  // Reads more bytes into buf; false on EOF/error/stop.
  bool Fill(int fd, std::string& buf) {
    char tmp[65536];
    for (;;) {
      if (stopping_.load()) return false;
      pollfd p{fd, POLLIN, 0};
      int r = ::poll(&p, 1, 50);
      if (r == 0) continue;
      ssize_t n = ::recv(fd, tmp, sizeof tmp, 0);
      if (n <= 0) return false;
      buf.append(tmp, static_cast<size_t>(n));
      return true;
    }
  }

  static bool SendAll(int fd, std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  // Reads a chunked body from buf (filling as needed) into out; false on error.
  bool ReadChunked(int fd, std::string& buf, std::string& out) {
    for (;;) {
      size_t eol;
      while ((eol = buf.find("\r\n")) == std::string::npos) {
        if (!Fill(fd, buf)) return false;
      }
      size_t size = std::strtoul(buf.substr(0, eol).c_str(), nullptr, 16);
      buf.erase(0, eol + 2);
      if (size == 0) {
        while ((eol = buf.find("\r\n")) != 0) {  // trailers until the empty line
          if (eol == std::string::npos) {
            if (!Fill(fd, buf)) return false;
          } else {
            buf.erase(0, eol + 2);
          }
        }
        buf.erase(0, 2);
        return true;
      }
      while (buf.size() < size + 2) {
        if (!Fill(fd, buf)) return false;
      }
      out.append(buf, 0, size);
      buf.erase(0, size + 2);
    }
  }

  void Serve(int fd) {
    std::string buf;
    for (;;) {
      size_t end;
      while ((end = buf.find("\r\n\r\n")) == std::string::npos) {
        if (!Fill(fd, buf)) return Done(fd);
      }
      std::string head = buf.substr(0, end + 2);
      buf.erase(0, end + 4);
      std::string line = head.substr(0, head.find("\r\n"));
      std::string method = line.substr(0, line.find(' '));
      std::string target = line.substr(method.size() + 1);
      target = target.substr(0, target.find(' '));
      std::string body;
      if (Lower(HeaderValue(head, "Expect")) == "100-continue") {
        if (!SendAll(fd, "HTTP/1.1 100 Continue\r\n\r\n")) return Done(fd);
      }
      std::string te = Lower(HeaderValue(head, "Transfer-Encoding"));
      if (te.find("chunked") != std::string::npos) {
        if (!ReadChunked(fd, buf, body)) return Done(fd);
      } else if (std::string cl = HeaderValue(head, "Content-Length"); !cl.empty()) {
        size_t n = std::strtoull(cl.c_str(), nullptr, 10);
        while (buf.size() < n) {
          if (!Fill(fd, buf)) return Done(fd);
        }
        body = buf.substr(0, n);
        buf.erase(0, n);
      }
      requests_.fetch_add(1);
      bool close = Lower(HeaderValue(head, "Connection")) == "close";
      std::string path = target.substr(0, target.find('?'));
      size_t n = 0;
      if (size_t q = target.find("n="); q != std::string::npos) {
        n = std::strtoull(target.c_str() + q + 2, nullptr, 10);
      }
      std::string conn_hdr = close ? "Connection: close\r\n" : "";
      std::string out;
      if (path == "/hello" || path == "/bytes") {
        std::string b = path == "/hello" ? "hello" : PatternBytes(n);
        out = "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(b.size()) + "\r\n" +
              conn_hdr + "\r\n" + (method == "HEAD" ? "" : b);
      } else if (path == "/chunked") {
        std::string b = PatternBytes(n);
        out = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n" + conn_hdr + "\r\n";
        for (size_t i = 0; i < b.size(); i += 1000) {
          size_t len = std::min<size_t>(1000, b.size() - i);
          char hex[32];
          std::snprintf(hex, sizeof hex, "%zx\r\n", len);
          out += hex;
          out.append(b, i, len);
          out += "\r\n";
        }
        out += "0\r\n\r\n";
      } else if (path == "/die") {  // promises 2n bytes, sends n, closes
        out = "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(2 * n) + "\r\n\r\n" + PatternBytes(n);
        SendAll(fd, out);
        return Done(fd);
      } else if (path == "/nocontent") {
        out = "HTTP/1.1 204 No Content\r\n" + conn_hdr + "\r\n";
      } else if (path == "/close") {
        out = "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + PatternBytes(n);
        SendAll(fd, out);
        return Done(fd);
      } else if (path == "/echo" && (method == "POST" || method == "PUT")) {
        out = "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" +
              conn_hdr + "\r\n" + body;
      } else {
        out = "HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n" + conn_hdr + "\r\nnot found";
      }
      if (!SendAll(fd, out) || close) return Done(fd);
    }
  }

  void Done(int fd) {
    std::lock_guard lock(mu_);
    fds_.erase(std::find(fds_.begin(), fds_.end(), fd));
    ::close(fd);
  }

  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> requests_{0};
  std::atomic<int> connections_{0};
  std::thread acceptor_;
  std::mutex mu_;
  std::vector<int> fds_;
  std::list<std::thread> workers_;
};

}  // namespace esper::testing
