// nginx on 127.0.0.1 for tests and the bench: one worker, no access log, in the foreground, from
// a temporary prefix of its own (configuration, logs, document root), on free ports; stopped and
// its prefix removed with the object. A peer to measure beside (`esper bench http`), and a real
// TLS / HTTP/2 server for the http client's tests.
//
//   esper::testing::Nginx nginx;
//   std::ofstream(nginx.root() + "/file.txt") << "hello";
//   ASSERT_TRUE(nginx.Start({.listen = {"", "http2"}}));    // HTTP/1.1 and h2c
//   client->Get(nginx.Url("/file.txt"));                     // the first listen
//   client->Get(nginx.Url("/file.txt", 1));                  // the second
//
// nginx started as root serves as 'nobody': the prefix is world-readable. Not thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "esper/core/result.h"
#include "testing/process.h"

namespace esper::testing {

class Nginx {
 public:
  struct Options {
    std::string binary{};  // empty: /usr/sbin/nginx, else nginx on PATH
    /// One free port each, in this order; the text follows "listen 127.0.0.1:PORT" ("" for
    /// HTTP/1.1, "http2" for h2c, "ssl http2" for TLS — which needs self_signed_tls).
    std::vector<std::string> listen{""};
    /// A key and a certificate for 127.0.0.1 made with openssl into the prefix (ca_file()).
    bool self_signed_tls = false;
    int worker_connections = 1024;
    std::string http_directives{};    // added inside http { }, e.g. "keepalive_requests 1000;"
    std::string server_directives{};  // added inside server { }, e.g. a location
  };

  /// Makes the prefix (root() exists at once, to put files in before Start).
  Nginx();
  ~Nginx();
  Nginx(const Nginx&) = delete;
  Nginx& operator=(const Nginx&) = delete;

  /// The first of /usr/sbin/nginx and nginx on PATH that exists, or "" when nginx is not installed.
  static std::string FindBinary();

  /// Writes the configuration, starts nginx and waits until every port accepts connections.
  /// An error says why (with the start of nginx's error log).
  Status Start(Options options);
  Status Start() { return Start(Options{}); }
  /// Stops nginx (SIGTERM, then SIGKILL). Idempotent; the destructor calls it.
  void Stop();

  const std::string& prefix() const { return dir_; }
  /// The document root, prefix() + "/www".
  std::string root() const { return dir_ + "/www"; }
  /// The certificate to trust (self_signed_tls), prefix() + "/cert.pem".
  std::string ca_file() const { return dir_ + "/cert.pem"; }
  /// The port of listen[i].
  int port(size_t i = 0) const { return i < ports_.size() ? ports_[i] : 0; }
  /// "http://127.0.0.1:PORT/path" for listen[i] ("https://" when it is an ssl listen).
  std::string Url(std::string_view path, size_t i = 0) const;
  /// nginx's master process (its worker is its child), for CPU and memory of the peer.
  pid_t pid() const { return process_.pid(); }

 private:
  std::string dir_;
  std::vector<std::string> listen_;
  std::vector<int> ports_;
  ChildProcess process_;
};

}  // namespace esper::testing
