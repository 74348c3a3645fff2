#include "testing/http_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <unordered_map>

#include "esper/core/ascii.h"

namespace esper::testing {
namespace {

using SteadyClock = std::chrono::steady_clock;

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

const char* Reason(int status) {
  switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 413: return "Payload Too Large";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Status";
  }
}

struct Conn {
  int fd = -1;
  uint64_t id = 0;
  uint64_t served = 0;
  std::string in;
  std::string out;
  size_t out_off = 0;
  bool close_after_write = false;
  bool dead_end = false;        // silent / stalled: ignore input, never write again
  bool waiting = false;         // a delayed reply is pending
  bool sent_continue = false;
  Reply pending;
  ServerRequest pending_req;
  bool want_out = false;
  bool peer_done = false;       // the client half-closed: answer what it sent, then close
};

// Parses one request from c.in. Returns 1 = complete (req filled, consumed from c.in),
// 0 = need more, -1 = malformed.
int ParseRequest(Conn& c, ServerRequest& req, size_t max_body) {
  size_t hdr_end = c.in.find("\r\n\r\n");
  if (hdr_end == std::string::npos) return c.in.size() > 64 * 1024 ? -1 : 0;
  std::string_view head(c.in.data(), hdr_end);
  size_t line_end = head.find("\r\n");
  std::string_view line = head.substr(0, line_end);
  size_t sp1 = line.find(' ');
  size_t sp2 = line.rfind(' ');
  if (sp1 == std::string_view::npos || sp2 == sp1) return -1;
  req = ServerRequest{};
  req.method = std::string(line.substr(0, sp1));
  req.target = std::string(line.substr(sp1 + 1, sp2 - sp1 - 1));
  size_t q = req.target.find('?');
  req.path = req.target.substr(0, q);
  req.query = q == std::string::npos ? "" : req.target.substr(q + 1);
  std::string_view rest = line_end == std::string_view::npos ? "" : head.substr(line_end + 2);
  while (!rest.empty()) {
    size_t e = rest.find("\r\n");
    std::string_view h = rest.substr(0, e);
    size_t colon = h.find(':');
    if (colon != std::string_view::npos) {
      req.headers.emplace_back(std::string(Trim(h.substr(0, colon))), std::string(Trim(h.substr(colon + 1))));
    }
    if (e == std::string_view::npos) break;
    rest.remove_prefix(e + 2);
  }
  const size_t body_start = hdr_end + 4;
  std::string te = req.Header("Transfer-Encoding");
  std::string cl = req.Header("Content-Length");
  if (!te.empty() && te.find("chunked") != std::string::npos) {
    // Decode chunks; the request is complete at the zero chunk + final CRLF.
    size_t pos = body_start;
    std::string body;
    while (true) {
      size_t e = c.in.find("\r\n", pos);
      if (e == std::string::npos) return 0;
      size_t n = std::strtoull(c.in.c_str() + pos, nullptr, 16);
      if (n > max_body) return -1;
      pos = e + 2;
      if (n == 0) {
        // Trailers until an empty line.
        while (true) {
          size_t t = c.in.find("\r\n", pos);
          if (t == std::string::npos) return 0;
          bool empty = t == pos;
          pos = t + 2;
          if (empty) break;
        }
        break;
      }
      if (c.in.size() < pos + n + 2) return 0;
      body.append(c.in, pos, n);
      if (body.size() > max_body) return -1;
      pos += n + 2;
    }
    req.body = std::move(body);
    c.in.erase(0, pos);
    return 1;
  }
  size_t len = cl.empty() ? 0 : std::strtoull(cl.c_str(), nullptr, 10);
  if (len > max_body) return -1;
  if (c.in.size() < body_start + len) return 0;
  req.body = c.in.substr(body_start, len);
  c.in.erase(0, body_start + len);
  return 1;
}

// The response's bytes: the head, then (unless head_only) the first body_bytes_to_send of the body.
// `close`: the server closes after it (Connection: close in the head).
std::string Serialize(const Reply& r, bool head_only, size_t body_bytes_to_send, bool close) {
  std::string out = fmt::format("HTTP/1.1 {} {}\r\n", r.status, Reason(r.status));
  bool has_ct = false;
  for (const auto& [k, v] : r.headers) {
    out += fmt::format("{}: {}\r\n", k, v);
    if (EqualsIgnoreCase(k, "Content-Type")) has_ct = true;
  }
  if (!has_ct && !r.body.empty()) out += "Content-Type: text/plain\r\n";
  const bool bodyless = r.status < 200 || r.status == 204;
  if (bodyless || r.until_close) {
    // no framing header: none allowed, or the close ends the body
  } else if (r.chunked) {
    out += "Transfer-Encoding: chunked\r\n";
  } else {
    out += fmt::format("Content-Length: {}\r\n", r.body.size());
  }
  if (close) out += "Connection: close\r\n";
  out += "\r\n";
  if (head_only || bodyless) return out;
  std::string_view body(r.body.data(), std::min(body_bytes_to_send, r.body.size()));
  if (r.chunked && !r.until_close) {
    const size_t chunk = std::max<size_t>(1, r.chunk_bytes);
    for (size_t off = 0; off < body.size(); off += chunk) {
      auto part = body.substr(off, chunk);
      out += fmt::format("{:x}\r\n", part.size());
      out += part;
      out += "\r\n";
    }
    if (body_bytes_to_send >= r.body.size()) out += "0\r\n\r\n";
  } else {
    out += body;
  }
  return out;
}

}  // namespace

std::string PatternBytes(size_t n, uint32_t salt) {
  std::string s(n, '\0');
  uint32_t x = 2463534242u ^ salt;  // xorshift32
  for (size_t i = 0; i < n; ++i) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    s[i] = static_cast<char>(x & 0xFF);
  }
  return s;
}

Reply BasicRoutes(const ServerRequest& req) {
  const size_t n = [&]() -> size_t {
    const size_t q = req.query.find("n=");
    return q == std::string::npos ? 0 : std::strtoull(req.query.c_str() + q + 2, nullptr, 10);
  }();
  const bool get = req.method == "GET" || req.method == "HEAD";
  if (get && req.path == "/hello") return Reply{.body = "hello"};
  if (get && req.path == "/bytes") return Reply{.body = PatternBytes(n)};
  if (get && req.path == "/chunked") return Reply{.body = PatternBytes(n), .chunked = true, .chunk_bytes = 1000};
  if (get && req.path == "/nocontent") return Reply{.status = 204};
  if (get && req.path == "/die") return Reply{.body = PatternBytes(2 * n), .action = Reply::Action::kTruncate};
  if (get && req.path == "/close") return Reply{.body = PatternBytes(n), .until_close = true};
  if ((req.method == "POST" || req.method == "PUT") && req.path == "/echo") return Reply{.body = req.body};
  return Reply{.status = 404, .body = "not found"};
}

std::string ServerRequest::Header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (EqualsIgnoreCase(k, name)) return v;
  }
  return "";
}

HttpTestServer::HttpTestServer(Handler handler, Options options)
    : handler_(std::move(handler)), options_(options) {}

HttpTestServer::~HttpTestServer() { Stop(); }

std::string HttpTestServer::Url(std::string_view path) const {
  return fmt::format("http://127.0.0.1:{}{}", port_, path);
}

std::string HttpTestServer::address() const { return fmt::format("127.0.0.1:{}", port_); }

Status HttpTestServer::Start() {
  listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) return Error::FromErrno(errno, "socket");
  int one = 1;
  setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    return Error::FromErrno(errno, "bind 127.0.0.1:0");
  }
  if (listen(listen_fd_, 4096) != 0) return Error::FromErrno(errno, "listen");
  socklen_t len = sizeof addr;
  getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (options_.in_child_process) {
    pid_t pid = fork();
    if (pid < 0) return Error::FromErrno(errno, "fork");
    if (pid == 0) {
      signal(SIGTERM, SIG_DFL);
      Run();
      _exit(0);
    }
    child_pid_ = pid;
    close(listen_fd_);
    listen_fd_ = -1;
    return OkStatus();
  }
  thread_ = std::thread([this] { Run(); });
  return OkStatus();
}

void HttpTestServer::Stop() {
  if (child_pid_ > 0) {
    kill(child_pid_, SIGKILL);
    int st = 0;
    waitpid(child_pid_, &st, 0);
    child_pid_ = 0;
  }
  if (thread_.joinable()) {
    stop_.store(true);
    uint64_t one = 1;
    ssize_t w = write(wake_fd_, &one, sizeof one);
    (void)w;
    thread_.join();
  }
  if (listen_fd_ >= 0) close(listen_fd_);
  if (wake_fd_ >= 0) close(wake_fd_);
  listen_fd_ = wake_fd_ = -1;
}

void HttpTestServer::Run() {
  int ep = epoll_create1(EPOLL_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = 0;  // listener
  epoll_ctl(ep, EPOLL_CTL_ADD, listen_fd_, &ev);
  ev.data.u64 = 1;  // wake
  epoll_ctl(ep, EPOLL_CTL_ADD, wake_fd_, &ev);

  std::unordered_map<uint64_t, std::unique_ptr<Conn>> conns;  // key: id (>= 2)
  std::multimap<SteadyClock::time_point, uint64_t> timers;
  uint64_t next_id = 2;

  auto close_conn = [&](Conn& c, bool reset) {
    if (reset) {
      linger lg{1, 0};
      setsockopt(c.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    }
    epoll_ctl(ep, EPOLL_CTL_DEL, c.fd, nullptr);
    close(c.fd);
    open_.fetch_sub(1);
    conns.erase(c.id);  // destroys c
  };
  auto set_interest = [&](Conn& c) {
    c.want_out = c.out_off < c.out.size();
    epoll_event e{};
    // After the client's EOF, reading is over (a level-triggered EOF would wake us for ever).
    e.events = (c.peer_done ? 0u : EPOLLIN | EPOLLRDHUP) | (c.want_out ? EPOLLOUT : 0u);
    e.data.u64 = c.id;
    epoll_ctl(ep, EPOLL_CTL_MOD, c.fd, &e);
  };
  auto update_interest = [&](Conn& c) {
    if ((c.out_off < c.out.size()) != c.want_out) set_interest(c);
  };
  // Returns false if the connection was closed.
  auto flush = [&](Conn& c) -> bool {
    while (c.out_off < c.out.size()) {
      ssize_t n = send(c.fd, c.out.data() + c.out_off, c.out.size() - c.out_off, MSG_NOSIGNAL);
      if (n > 0) {
        c.out_off += static_cast<size_t>(n);
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      close_conn(c, false);
      return false;
    }
    if (c.out_off == c.out.size()) {
      c.out.clear();
      c.out_off = 0;
      if (c.close_after_write) {
        close_conn(c, false);
        return false;
      }
    }
    update_interest(c);
    return true;
  };
  // Once a half-closed client's requests are answered (none waiting), close after the writes.
  auto finish_peer_done = [&](Conn& c) {
    if (!c.peer_done || c.waiting || c.dead_end) return;
    if (c.out_off < c.out.size()) {
      c.close_after_write = true;
    } else {
      close_conn(c, false);
    }
  };
  std::function<bool(Conn&)> process;  // parse + dispatch; false if closed
  // Performs the reply's action. Returns false if the connection was closed.
  auto act = [&](Conn& c) -> bool {
    Reply& r = c.pending;
    const bool head = c.pending_req.method == "HEAD";
    c.waiting = false;
    switch (r.action) {
      case Reply::Action::kSilent:
        c.dead_end = true;
        return true;
      case Reply::Action::kReset:
        close_conn(c, true);
        return false;
      case Reply::Action::kClose:
        close_conn(c, false);
        return false;
      case Reply::Action::kTruncate:
        c.out += Serialize(r, head, r.body.size() / 2, /*close=*/false);
        c.close_after_write = true;
        return flush(c);
      case Reply::Action::kStallMidBody:
        c.out += Serialize(r, head, r.body.size() / 2, /*close=*/false);
        c.dead_end = true;
        return flush(c);
      case Reply::Action::kRespond:
        break;
    }
    const bool close = r.close || r.until_close || EqualsIgnoreCase(c.pending_req.Header("Connection"), "close");
    c.out += Serialize(r, head, r.body.size(), close);
    if (close) c.close_after_write = true;
    if (!flush(c)) return false;
    return process(c);  // pipelined requests already buffered
  };
  process = [&](Conn& c) -> bool {
    while (!c.waiting && !c.dead_end && !c.close_after_write) {
      ServerRequest req;
      int rc = ParseRequest(c, req, options_.max_request_body);
      if (rc < 0) {
        c.out += "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        c.close_after_write = true;
        return flush(c);
      }
      if (rc == 0) {
        // Expect: 100-continue with the body still to come.
        if (!c.sent_continue && c.in.find("\r\n\r\n") != std::string::npos) {
          std::string_view head(c.in.data(), c.in.find("\r\n\r\n"));
          std::string lower = AsciiLowerCopy(head);
          if (lower.find("expect: 100-continue") != std::string::npos) {
            c.sent_continue = true;
            c.out += "HTTP/1.1 100 Continue\r\n\r\n";
            return flush(c);
          }
        }
        return true;
      }
      c.sent_continue = false;
      req.connection_id = c.id - 1;
      req.request_on_connection = ++c.served;
      requests_.fetch_add(1);
      c.pending = handler_(req);
      c.pending_req = std::move(req);
      if (c.pending.delay.count() > 0) {
        c.waiting = true;
        int now_pending = pending_.fetch_add(1) + 1;
        int prev = max_pending_.load();
        while (now_pending > prev && !max_pending_.compare_exchange_weak(prev, now_pending)) {
        }
        timers.emplace(SteadyClock::now() + c.pending.delay, c.id);
        return true;
      }
      c.waiting = true;
      if (!act(c)) return false;
      return true;  // act() already processed the rest
    }
    return true;
  };

  std::vector<epoll_event> events(256);
  char buf[64 * 1024];
  while (!stop_.load()) {
    int timeout_ms = -1;
    if (!timers.empty()) {
      auto d = std::chrono::duration_cast<std::chrono::milliseconds>(timers.begin()->first - SteadyClock::now());
      timeout_ms = static_cast<int>(std::max<int64_t>(0, d.count() + 1));
    }
    int n = epoll_wait(ep, events.data(), static_cast<int>(events.size()), timeout_ms);
    if (n < 0 && errno != EINTR) break;
    for (int i = 0; i < n; ++i) {
      uint64_t key = events[static_cast<size_t>(i)].data.u64;
      uint32_t evs = events[static_cast<size_t>(i)].events;
      if (key == 1) continue;  // wake: loop condition checks stop_
      if (key == 0) {
        while (true) {
          int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
          if (fd < 0) break;
          int one = 1;
          setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          auto c = std::make_unique<Conn>();
          c->fd = fd;
          c->id = next_id++;
          epoll_event e{};
          e.events = EPOLLIN | EPOLLRDHUP;
          e.data.u64 = c->id;
          epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
          conns.emplace(c->id, std::move(c));
          accepted_.fetch_add(1);
          int open_now = open_.fetch_add(1) + 1;
          int prev = max_open_.load();
          while (open_now > prev && !max_open_.compare_exchange_weak(prev, open_now)) {
          }
        }
        continue;
      }
      auto it = conns.find(key);
      if (it == conns.end()) continue;
      Conn& c = *it->second;
      if (evs & EPOLLOUT) {
        if (!flush(c)) continue;
      }
      if (evs & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
        bool closed = false;
        while (true) {
          ssize_t r = recv(c.fd, buf, sizeof buf, 0);
          if (r > 0) {
            if (!c.dead_end) c.in.append(buf, static_cast<size_t>(r));
            continue;
          }
          if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) closed = true;
          break;
        }
        if (closed) {
          // A client that half-closes after its requests (shutdown(SHUT_WR)) still gets the
          // answers; one that leaves while a delayed reply is pending does not.
          if (c.in.empty() || c.waiting || c.dead_end) {
            close_conn(c, false);
            continue;
          }
          c.peer_done = true;
          set_interest(c);
          if (process(c)) finish_peer_done(c);
          continue;
        }
        process(c);
      }
    }
    // Due timers.
    auto now = SteadyClock::now();
    while (!timers.empty() && timers.begin()->first <= now) {
      uint64_t id = timers.begin()->second;
      timers.erase(timers.begin());
      pending_.fetch_sub(1);
      auto it = conns.find(id);
      if (it == conns.end() || !it->second->waiting) continue;
      if (act(*it->second)) finish_peer_done(*it->second);
    }
  }
  for (auto& [id, c] : conns) {
    close(c->fd);
    open_.fetch_sub(1);
  }
  conns.clear();
  close(ep);
}

}  // namespace esper::testing
