// esper http get|head|post|put|patch|delete URL [-H 'K: V']... [--data TEXT|@FILE|@-]
//            [--timeout SECONDS] [--retries N] [--http2-prior-knowledge] [-v]
//
// The response body goes to stdout (streamed, binary-safe); with -v the request line, the
// request and response headers (Authorization and other credentials redacted), the status, the
// timing and the number of retries go to stderr. Exit 0 on a 2xx/3xx answer; exit 1 with the
// reason on stderr otherwise (HTTP status, DNS, connect, TLS, which timeout); exit 2 on a bad
// command line.
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "commands.h"
#include "esper/core/redact.h"
#include "esper/http/client.h"

namespace esper::cli {
namespace {

struct HttpFlags {
  std::string url;
  std::vector<std::string> headers;
  std::string data;
  bool has_data = false;
  double timeout_s = 30;
  int retries = 2;
  bool h2c = false;
  bool verbose = false;
};

// A request body read from a file descriptor as the request goes out: chunked, no retry once
// read. Reads block the client's loop thread, which serves this one request.
http::Body StreamFrom(int fd, std::string name) {
  auto file = std::shared_ptr<int>(new int(fd), [](int* p) {
    close(*p);
    delete p;
  });
  return http::Body::FromStream([file, name = std::move(name)](char* buf, size_t cap) -> Result<size_t> {
    for (;;) {
      const ssize_t n = read(*file, buf, cap);
      if (n >= 0) return static_cast<size_t>(n);
      if (errno != EINTR) return Error::FromErrno(errno, fmt::format("read --data {}", name));
    }
  });
}

// --data: TEXT, @FILE or @- (stdin). A regular file with a size is sent from the file
// (Content-Length, resent whole on a retry); stdin and every other file — a pipe (@<(cmd)),
// /dev/stdin, a FIFO, /proc files whose size reads 0 — are streamed as they are read, never held
// in memory whole.
Result<http::Body> DataBody(const std::string& data) {
  if (data.empty() || data[0] != '@') return http::Body::FromString(data);
  if (data == "@-") {
    const int fd = fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 0);
    if (fd < 0) return Error::FromErrno(errno, "--data @-: stdin");
    return StreamFrom(fd, "@-");
  }
  const std::string path = data.substr(1);
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return Error::FromErrno(errno, fmt::format("--data {}", data));
  if (S_ISDIR(st.st_mode)) return Error::InvalidArgument(fmt::format("--data {}: is a directory", data));
  if (S_ISREG(st.st_mode) && st.st_size > 0) return http::Body::FromFile(path);
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);  // a FIFO: waits for its writer
  if (fd < 0) return Error::FromErrno(errno, fmt::format("--data {}", data));
  return StreamFrom(fd, data);
}

Status RunHttp(http::Method method, const HttpFlags& f) {
  using std::chrono::milliseconds;
  // Finite, at least a millisecond, and small enough that every deadline stays representable.
  if (!std::isfinite(f.timeout_s) || f.timeout_s < 0.001 || f.timeout_s > 1e9) {
    return UsageError(fmt::format("--timeout must be a number of seconds from 0.001 to 1e9, not {}", f.timeout_s));
  }
  if (f.retries < 0 || f.retries > 99) return UsageError("--retries must be 0..99");
  http::Request req{.method = method, .url = f.url};
  for (const auto& h : f.headers) {
    size_t colon = h.find(':');
    if (colon == std::string::npos || colon == 0) {
      return UsageError(fmt::format("header '{}' is not 'Name: value'", RedactAfterKey(h)));  // may hold a secret
    }
    std::string name = h.substr(0, colon);
    std::string value = h.substr(colon + 1);
    size_t start = value.find_first_not_of(" \t");
    value = start == std::string::npos ? "" : value.substr(start);
    req.headers.emplace_back(std::move(name), std::move(value));
  }
  if (f.has_data) {
    if (method == http::Method::kHead || method == http::Method::kGet) {
      return UsageError(fmt::format("--data is not allowed with {}", http::MethodName(method)));
    }
    ESPER_ASSIGN_OR_RETURN(req.body, DataBody(f.data));
  }
  const auto timeout = milliseconds(static_cast<int64_t>(f.timeout_s * 1000));
  req.options.timeout = timeout;
  req.options.overall_timeout = timeout;
  req.options.max_attempts = f.retries + 1;
  req.options.cancel = InterruptToken();  // Ctrl-C ends the request (and a backoff wait) at once

  http::ClientOptions opts;
  opts.request_timeout = timeout;
  opts.connect_timeout = std::min(timeout, milliseconds(10000));
  opts.breaker_per_host = false;  // one request: nothing to protect
  opts.http2_cleartext = f.h2c;
  if (f.verbose) {
    opts.debug_log = [](std::string_view line) {
      // Connection chatter only; the request/response summary is printed below.
      if (line.rfind("* ", 0) == 0) PrintErr("{}\n", TerminalSafe(line));
    };
  }
  ESPER_ASSIGN_OR_RETURN(auto client, http::Client::Create(std::move(opts)));

  req.sink = http::Sink::ToStream([](std::string_view chunk) -> Status {
    if (!Write(chunk)) return FlushOutput();  // the reason: "write to stdout: …"
    return OkStatus();
  });
  if (f.verbose) {
    PrintErr("> {} {}\n", http::MethodName(method), http::RedactUrl(f.url));
    for (const auto& [k, v] : req.headers) {
      PrintErr("> {}: {}\n", k, RedactHeaderValue(k, v));
    }
  }
  auto start = std::chrono::steady_clock::now();
  auto resp = client->Send(std::move(req));
  if (!resp) {
    if (f.verbose) {
      auto ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
      PrintErr("< failed after {:.1f} ms\n", ms);
    }
    return resp.error();
  }
  ESPER_RETURN_IF_ERROR(FlushOutput());  // the body reached stdout, or the reason it did not
  if (f.verbose) {
    for (const auto& [k, v] : resp->headers) {  // the server's bytes: escaped
      PrintErr("< {}: {}\n", TerminalSafe(k), TerminalSafe(RedactHeaderValue(k, v)));
    }
    const double ms = std::chrono::duration<double, std::milli>(resp->elapsed).count();
    PrintErr("< HTTP/{} {} in {:.1f} ms, {} attempt{} ({} retr{}), {} bytes\n",
             resp->http_version, resp->status, ms, resp->attempts, resp->attempts == 1 ? "" : "s",
             resp->attempts - 1, resp->attempts == 2 ? "y" : "ies", resp->bytes_received);
  }
  return OkStatus();
}

}  // namespace

Runner SetupHttp(CLI::App& cmd) {
  cmd.require_subcommand(1);
  auto selected = std::make_shared<std::pair<http::Method, std::shared_ptr<HttpFlags>>>();
  struct Verb {
    const char* name;
    http::Method method;
    const char* help;
  };
  static const Verb kVerbs[] = {
      {"get", http::Method::kGet, "GET a URL; the body goes to stdout"},
      {"head", http::Method::kHead, "HEAD a URL (use -v to see the headers)"},
      {"post", http::Method::kPost, "POST --data to a URL"},
      {"put", http::Method::kPut, "PUT --data to a URL"},
      {"patch", http::Method::kPatch, "PATCH a URL with --data"},
      {"delete", http::Method::kDelete, "DELETE a URL"},
  };
  for (const Verb& v : kVerbs) {
    auto flags = std::make_shared<HttpFlags>();
    CLI::App* sub = cmd.add_subcommand(v.name, v.help);
    sub->add_option("url", flags->url, "http:// or https:// URL")->required();
    sub->add_option("-H,--header", flags->headers, "Request header 'Name: value' (repeatable)");
    sub->add_option("--data,-d", flags->data, "Request body: TEXT, @FILE, or @- for stdin")
        ->each([flags](const std::string&) { flags->has_data = true; });
    sub->add_option("--timeout", flags->timeout_s, "Overall time limit in seconds (also per attempt)")
        ->default_val(30);
    sub->add_option("--retries", flags->retries,
                    "Retries on connection failures, resets, 429/502/503/504 (idempotent methods)")
        ->default_val(2);
    sub->add_flag("--http2-prior-knowledge", flags->h2c,
                  "Speak HTTP/2 to an http:// URL without an Upgrade (h2c; the server must accept it)");
    sub->add_flag("-v,--verbose", flags->verbose, "Status, headers, timing and retries to stderr");
    http::Method m = v.method;
    sub->callback([selected, m, flags] { *selected = {m, flags}; });
  }
  return [selected]() -> Status {
    if (!selected->second) return UsageError("esper http: choose a method: get, head, post, put, patch, delete");
    return RunHttp(selected->first, *selected->second);
  };
}

}  // namespace esper::cli
