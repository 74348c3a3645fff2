// Test helper: a raw blocking HTTP/1.1 client over one real socket, with poll() timeouts, that
// reports exactly what the wire did — a reset (ECONNRESET), an early EOF, silence — instead of
// hiding it the way a full client library would.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "esper/core/ascii.h"

namespace esper::testing {

/// The value of header `name` in `head` (case-insensitive), or "" if absent.
inline std::string HeaderValue(std::string_view head, std::string_view name) {
  std::string lower = AsciiLowerCopy(head);
  std::string key = "\r\n" + AsciiLowerCopy(name) + ":";
  size_t p = lower.find(key);
  if (p == std::string::npos) return "";
  p += key.size();
  size_t e = head.find("\r\n", p);
  std::string_view v = head.substr(p, e - p);
  while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
  while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
  return std::string(v);
}

class RawConnection {
 public:
  explicit RawConnection(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~RawConnection() {
    if (fd_ >= 0) ::close(fd_);
  }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool ok() const { return fd_ >= 0; }
  int fd() const { return fd_; }

  bool Send(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) {
        last_errno_ = errno;
        return false;
      }
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  enum class ReadStatus { kData, kEof, kReset, kError, kTimeout };

  /// Reads once (waiting up to `timeout`) and appends to `out`.
  ReadStatus ReadSome(std::string& out, std::chrono::milliseconds timeout) {
    pollfd p{fd_, POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(timeout.count()));
    if (r == 0) return ReadStatus::kTimeout;
    char tmp[65536];
    ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
    if (n > 0) {
      out.append(tmp, static_cast<size_t>(n));
      return ReadStatus::kData;
    }
    if (n == 0) return ReadStatus::kEof;
    last_errno_ = errno;
    return errno == ECONNRESET ? ReadStatus::kReset : ReadStatus::kError;
  }

  /// Reads until EOF, reset, error or `timeout` of silence; returns how it ended.
  ReadStatus ReadToEnd(std::string& out, std::chrono::milliseconds timeout) {
    for (;;) {
      ReadStatus s = ReadSome(out, timeout);
      if (s != ReadStatus::kData) return s;
    }
  }

  struct Response {
    ReadStatus end = ReadStatus::kData;  // kData = a complete response was read
    bool complete = false;
    int status = 0;
    std::string head;  // status line + headers, ending "\r\n"
    std::string body;  // decoded (chunked framing removed)
    size_t wire_body_bytes = 0;
    std::string Header(std::string_view name) const { return HeaderValue(head, name); }
  };

  /// Reads one response (to a request with method `method`).
  Response ReadResponse(std::string_view method = "GET",
                        std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    Response r;
    size_t end;
    while ((end = buf_.find("\r\n\r\n")) == std::string::npos) {
      ReadStatus s = ReadSome(buf_, timeout);
      if (s != ReadStatus::kData) {
        r.end = s;
        return r;
      }
    }
    r.head = buf_.substr(0, end + 2);
    buf_.erase(0, end + 4);
    r.status = std::atoi(r.head.c_str() + 9);
    if (method == "HEAD" || r.status == 204 || r.status == 304 || r.status < 200) {
      r.complete = true;
      return r;
    }
    std::string te = AsciiLowerCopy(r.Header("Transfer-Encoding"));
    std::string cl = r.Header("Content-Length");
    if (te.find("chunked") != std::string::npos) {
      for (;;) {
        size_t eol;
        while ((eol = buf_.find("\r\n")) == std::string::npos) {
          if (ReadStatus s = Fill(timeout, r); s != ReadStatus::kData) return Fail(r, s);
        }
        size_t size = std::strtoul(buf_.substr(0, eol).c_str(), nullptr, 16);
        r.wire_body_bytes += eol + 2;
        buf_.erase(0, eol + 2);
        if (size == 0) {
          while (buf_.size() < 2) {
            if (ReadStatus s = Fill(timeout, r); s != ReadStatus::kData) return Fail(r, s);
          }
          buf_.erase(0, 2);
          r.wire_body_bytes += 2;
          r.complete = true;
          return r;
        }
        while (buf_.size() < size + 2) {
          if (ReadStatus s = Fill(timeout, r); s != ReadStatus::kData) {
            r.body += buf_;
            r.wire_body_bytes += buf_.size();
            buf_.clear();
            return Fail(r, s);
          }
        }
        r.body.append(buf_, 0, size);
        r.wire_body_bytes += size + 2;
        buf_.erase(0, size + 2);
      }
    }
    if (!cl.empty()) {
      size_t n = std::strtoull(cl.c_str(), nullptr, 10);
      while (buf_.size() < n) {
        if (ReadStatus s = Fill(timeout, r); s != ReadStatus::kData) {
          r.body = buf_;
          r.wire_body_bytes = buf_.size();
          buf_.clear();
          return Fail(r, s);
        }
      }
      r.body = buf_.substr(0, n);
      r.wire_body_bytes = n;
      buf_.erase(0, n);
      r.complete = true;
      return r;
    }
    // Until close.
    ReadStatus s = ReadToEnd(buf_, timeout);
    r.body = buf_;
    r.wire_body_bytes = buf_.size();
    buf_.clear();
    r.complete = s == ReadStatus::kEof;
    r.end = s;
    return r;
  }

  /// Bytes read but not yet consumed by ReadResponse.
  const std::string& pending() const { return buf_; }
  int last_errno() const { return last_errno_; }

 private:
  ReadStatus Fill(std::chrono::milliseconds timeout, Response&) { return ReadSome(buf_, timeout); }
  static Response Fail(Response& r, ReadStatus s) {
    r.end = s;
    r.complete = false;
    return r;
  }

  int fd_ = -1;
  int last_errno_ = 0;
  std::string buf_;
};

inline std::string Get(std::string_view path, bool close = false) {
  return std::string("GET ") + std::string(path) + " HTTP/1.1\r\nHost: test\r\n" +
         (close ? "Connection: close\r\n" : "") + "\r\n";
}

inline std::string Request(std::string_view method, std::string_view path, std::string_view body,
                           bool close = false) {
  return std::string(method) + " " + std::string(path) + " HTTP/1.1\r\nHost: test\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n" + (close ? "Connection: close\r\n" : "") + "\r\n" +
         std::string(body);
}

}  // namespace esper::testing
