// A real HTTP/1.1 server on 127.0.0.1 (kernel-chosen port) for tests and benchmarks. Written
// independently of the library's own parsers (the proxy's, libcurl's), so it checks them rather
// than agreeing with them.
//
// One epoll thread serves any number of keep-alive connections (thousands are fine). Each
// request (Content-Length or chunked body, Expect: 100-continue honoured) is handed to the
// handler, which returns what to do: answer (optionally after a delay; Content-Length, chunked
// or until-close framing), stay silent, reset the connection, close without answering, send a
// truncated body, or stall in the middle of the body. The handler runs on the server thread and
// must not block: use Reply::delay instead of sleeping. BasicRoutes (below) is a ready handler
// with the usual routes (/hello, /bytes?n=, /chunked?n=, /echo, …).
//
// With Options::in_child_process the server runs in a forked child process (so a benchmark can
// measure its own memory without the server's); the handler then runs in the child and the
// statistics below stay zero in the parent.
//
//   esper::testing::HttpTestServer server([](const auto& req) {
//     return esper::testing::Reply{.status = 200, .body = "hello " + req.path};
//   });
//   ASSERT_TRUE(server.Start());
//   std::string url = server.Url("/x");    // "http://127.0.0.1:41234/x"
//
//   esper::testing::HttpTestServer upstream(esper::testing::BasicRoutes);
//
// Thread safety: Start/Stop from one thread; the counters may be read from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "esper/core/result.h"

namespace esper::testing {

/// Deterministic bytes for bodies: the first n bytes of one fixed stream (so a shorter body is a
/// prefix of a longer one with the same salt).
std::string PatternBytes(size_t n, uint32_t salt = 0);

struct ServerRequest {
  std::string method{};
  std::string target{};  // as sent: path + "?" + query
  std::string path{};    // before '?'
  std::string query{};   // after '?', still encoded
  std::vector<std::pair<std::string, std::string>> headers{};
  std::string body{};
  uint64_t connection_id = 0;   // which connection carried it (1, 2, …)
  uint64_t request_on_connection = 0;  // 1 for the first request on its connection

  /// First value of a header, case-insensitive; "" when absent.
  std::string Header(std::string_view name) const;
};

struct Reply {
  enum class Action {
    kRespond,         // send the response
    kSilent,          // read the request, never answer, keep the connection open
    kReset,           // close with RST (SO_LINGER 0) without answering
    kClose,           // close cleanly without answering
    kTruncate,        // send headers with the full Content-Length, half the body, then close
    kStallMidBody,    // send headers and half the body, then nothing (connection stays open)
  };
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers{};
  std::string body{};
  Action action = Action::kRespond;
  std::chrono::milliseconds delay{0};  // wait this long before acting
  bool chunked = false;                // Transfer-Encoding: chunked instead of Content-Length
  size_t chunk_bytes = 16 * 1024;      // with chunked: the body's bytes per chunk
  bool until_close = false;            // no Content-Length: the body ends where the server closes
  bool close = false;                  // Connection: close after the response
};
// Framing follows RFC 9112: a 1xx or 204 carries no Content-Length or Transfer-Encoding, a HEAD
// gets the Content-Length of the body it would have had, and a response after which the server
// closes (Reply::close, until_close, or the request's "Connection: close") says so in its head.

/// A handler with the usual routes, for tests of what sits between a client and a server:
///   GET|HEAD /hello            200, "hello"
///   GET|HEAD /bytes?n=N        200, PatternBytes(N)
///   GET /chunked?n=N           200, PatternBytes(N), chunked in pieces of 1000
///   GET /nocontent             204, no body
///   GET /die?n=N               200 promising 2N bytes, sends N, then closes (a broken upstream)
///   GET /close?n=N             200, PatternBytes(N), no Content-Length, then closes (until-close)
///   POST|PUT /echo             200, the request body echoed back
///   anything else              404, "not found"
Reply BasicRoutes(const ServerRequest& request);

class HttpTestServer {
 public:
  using Handler = std::function<Reply(const ServerRequest&)>;
  struct Options {
    bool in_child_process = false;
    size_t max_request_body = size_t{512} << 20;
  };

  explicit HttpTestServer(Handler handler) : HttpTestServer(std::move(handler), Options{}) {}
  HttpTestServer(Handler handler, Options options);
  ~HttpTestServer();
  HttpTestServer(const HttpTestServer&) = delete;
  HttpTestServer& operator=(const HttpTestServer&) = delete;

  /// Binds 127.0.0.1:0 and starts serving.
  Status Start();
  /// Closes every connection and joins the thread (or kills the child). Idempotent.
  void Stop();

  int port() const { return port_; }
  std::string Url(std::string_view path = "/") const;
  /// "127.0.0.1:<port>", as a proxy's upstream is given.
  std::string address() const;

  uint64_t requests() const { return requests_.load(); }
  uint64_t connections_accepted() const { return accepted_.load(); }
  int open_connections() const { return open_.load(); }
  int max_open_connections() const { return max_open_.load(); }
  /// Most requests held at once waiting for a delayed reply (Reply::delay > 0). Unlike open
  /// connections (a client's close reaches us a moment late), this is exact: a client limited
  /// to N connections can never have more than N requests waiting here.
  int max_pending_replies() const { return max_pending_.load(); }

 private:
  void Run();

  Handler handler_{};
  Options options_{};
  int listen_fd_ = -1;
  int wake_fd_ = -1;
  int port_ = 0;
  int child_pid_ = 0;
  std::thread thread_{};
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> requests_{0};
  std::atomic<uint64_t> accepted_{0};
  std::atomic<int> open_{0};
  std::atomic<int> max_open_{0};
  std::atomic<int> pending_{0};
  std::atomic<int> max_pending_{0};
};

}  // namespace esper::testing
