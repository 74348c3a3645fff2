// `esper http …` end to end: the built binary against the loopback test server.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "testing/http_server.h"
#include "testing/process.h"
#include "testing/wait.h"

namespace esper::http {
namespace {

using namespace std::chrono_literals;
using testing::EsperBinary;
using testing::HttpTestServer;
using testing::Reply;
using testing::RunProcess;
using testing::ServerRequest;

Reply Echo(const ServerRequest& r) {
  std::string body = r.method + " " + r.target + "\n";
  for (const auto& [k, v] : r.headers) {
    if (k == "X-Custom" || k == "Content-Type") body += k + ": " + v + "\n";
  }
  return Reply{.headers = {{"X-Server", "test"}}, .body = body + r.body};
}

TEST(HttpCli, GetPrintsTheBodyToStdout) {
  HttpTestServer server(Echo);
  ASSERT_TRUE(server.Start());
  auto r = RunProcess({EsperBinary(), "http", "get", server.Url("/a?b=c"), "-H", "X-Custom: yes"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "GET /a?b=c\nX-Custom: yes\n");
  EXPECT_EQ(r.err, "");
}

TEST(HttpCli, PostPutDeleteWithData) {
  HttpTestServer server(Echo);
  ASSERT_TRUE(server.Start());
  auto post = RunProcess({EsperBinary(), "http", "post", server.Url("/p"), "--data", "hello",
                          "-H", "Content-Type: text/plain"});
  EXPECT_EQ(post.exit_code, 0) << post.err;
  EXPECT_EQ(post.out, "POST /p\nContent-Type: text/plain\nhello");

  char tmpl[] = "/tmp/esper_http_cli_XXXXXX";
  int fd = mkstemp(tmpl);
  ASSERT_GE(fd, 0);
  close(fd);
  std::ofstream(tmpl) << "from a file";
  auto put = RunProcess({EsperBinary(), "http", "put", server.Url("/f"), "--data", std::string("@") + tmpl});
  EXPECT_EQ(put.exit_code, 0) << put.err;
  EXPECT_EQ(put.out, "PUT /f\nfrom a file");
  std::filesystem::remove(tmpl);

  auto stdin_put = RunProcess({EsperBinary(), "http", "put", server.Url("/s"), "--data", "@-"}, {}, "piped");
  EXPECT_EQ(stdin_put.exit_code, 0) << stdin_put.err;
  EXPECT_EQ(stdin_put.out, "PUT /s\npiped");

  auto del = RunProcess({EsperBinary(), "http", "delete", server.Url("/d")});
  EXPECT_EQ(del.exit_code, 0) << del.err;
  EXPECT_EQ(del.out, "DELETE /d\n");
}

TEST(HttpCli, VerboseShowsStatusTimingRetriesAndRedactsAuthorization) {
  std::atomic<int> seen{0};
  HttpTestServer server([&](const ServerRequest& r) {
    if (seen.fetch_add(1) == 0) return Reply{.status = 503};
    return Echo(r);
  });
  ASSERT_TRUE(server.Start());
  auto r = RunProcess({EsperBinary(), "http", "head", server.Url("/h"), "-v", "-H",
                       "Authorization: Bearer sekrit-token"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("> HEAD " + server.Url("/h")), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("> Authorization: ***"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("< X-Server: test"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("< HTTP/1.1 200 in "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("2 attempts (1 retry)"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("sekrit"), std::string::npos) << r.err;
}

TEST(HttpCli, FailuresExitOneWithTheReason) {
  HttpTestServer server([](const ServerRequest& r) {
    if (r.path == "/silent") return Reply{.action = Reply::Action::kSilent};
    return Reply{.status = 404, .body = "no such thing"};
  });
  ASSERT_TRUE(server.Start());
  auto nf = RunProcess({EsperBinary(), "http", "get", server.Url("/missing")});
  EXPECT_EQ(nf.exit_code, 1);
  EXPECT_EQ(nf.out, "");
  EXPECT_NE(nf.err.find("NotFound"), std::string::npos) << nf.err;
  EXPECT_NE(nf.err.find("HTTP 404"), std::string::npos) << nf.err;
  EXPECT_NE(nf.err.find("no such thing"), std::string::npos) << nf.err;

  auto slow = RunProcess({EsperBinary(), "http", "get", server.Url("/silent"), "--timeout", "0.5", "--retries", "0"});
  EXPECT_EQ(slow.exit_code, 1);
  EXPECT_NE(slow.err.find("DeadlineExceeded"), std::string::npos) << slow.err;

  int port;
  {
    HttpTestServer gone(Echo);
    ASSERT_TRUE(gone.Start());
    port = gone.port();
  }
  auto refused = RunProcess({EsperBinary(), "http", "get", "http://127.0.0.1:" + std::to_string(port) + "/",
                             "--retries", "1"});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("connect to 127.0.0.1 port " + std::to_string(port) + " failed"), std::string::npos)
      << refused.err;
  EXPECT_NE(refused.err.find("2 attempts"), std::string::npos) << refused.err;
}

TEST(HttpCli, RetriesFlagControlsAttempts) {
  std::atomic<int> seen{0};
  HttpTestServer server([&](const ServerRequest&) {
    seen.fetch_add(1);
    return Reply{.status = 503};
  });
  ASSERT_TRUE(server.Start());
  auto r = RunProcess({EsperBinary(), "http", "get", server.Url("/x"), "--retries", "3"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(seen.load(), 4);
  EXPECT_NE(r.err.find("HTTP 503"), std::string::npos) << r.err;
}

TEST(HttpCli, Http2PriorKnowledgeFlagSpeaksHttp2) {
  // The test server speaks HTTP/1.1 only: with the flag the connection opens with the HTTP/2
  // preface ("PRI * HTTP/2.0"), which this server takes for a request line of method PRI and
  // cannot answer in HTTP/2, so the call fails with the reason. (Success over h2c is tested
  // against nginx in tls_http2_test.cpp.)
  std::mutex mu;
  std::vector<std::string> methods;
  HttpTestServer server([&](const ServerRequest& r) {
    std::lock_guard lock(mu);
    methods.push_back(r.method);
    return Reply{.body = "h1"};
  });
  ASSERT_TRUE(server.Start());
  auto plain = RunProcess({EsperBinary(), "http", "get", server.Url("/x")});
  EXPECT_EQ(plain.exit_code, 0) << plain.err;
  auto h2 = RunProcess({EsperBinary(), "http", "get", server.Url("/x"), "--http2-prior-knowledge",
                        "--retries", "0", "--timeout", "5"});
  EXPECT_EQ(h2.exit_code, 1) << h2.out;
  EXPECT_NE(h2.err.find("GET " + server.Url("/x")), std::string::npos) << h2.err;
  EXPECT_EQ(h2.out, "");
  std::lock_guard lock(mu);
  EXPECT_EQ(methods, (std::vector<std::string>{"GET", "PRI"}));
}

TEST(HttpCli, UsageErrorsExitTwo) {
  EXPECT_EQ(RunProcess({EsperBinary(), "http"}).exit_code, 2);
  EXPECT_EQ(RunProcess({EsperBinary(), "http", "get"}).exit_code, 2);
  EXPECT_EQ(RunProcess({EsperBinary(), "http", "fetch", "http://x/"}).exit_code, 2);
  auto bad_header = RunProcess({EsperBinary(), "http", "get", "http://127.0.0.1:1/", "-H", "NoColon"});
  EXPECT_EQ(bad_header.exit_code, 2);
  EXPECT_NE(bad_header.err.find("Name: value"), std::string::npos) << bad_header.err;
  EXPECT_EQ(RunProcess({EsperBinary(), "http", "get", "http://127.0.0.1:1/", "--timeout", "-1"}).exit_code, 2);
  auto bad_url = RunProcess({EsperBinary(), "http", "get", "notaurl"});
  EXPECT_EQ(bad_url.exit_code, 1);
  EXPECT_NE(bad_url.err.find("InvalidArgument"), std::string::npos) << bad_url.err;
}

// Runs `command` (a shell command line; "$ESPER" is the binary) with /bin/sh: for redirections
// RunProcess cannot make (>/dev/full, < /dev/zero, process substitution).
testing::ProcessResult Shell(const std::string& command) {
  return RunProcess({"/bin/bash", "-c", command}, {"ESPER=" + EsperBinary()});
}

TEST(HttpCliOutput, AnUnwritableStdoutOrStderrExitsOneWithTheReason) {
  const std::string big(256 * 1024, 'b');  // more than stdio buffers: the write fails mid-body
  HttpTestServer server([&](const ServerRequest& r) { return Reply{.body = r.path == "/big" ? big : "small"}; });
  ASSERT_TRUE(server.Start());
  for (const char* path : {"/small", "/big"}) {
    auto r = Shell(fmt::format("\"$ESPER\" http get {} >/dev/full", server.Url(path)));
    EXPECT_EQ(r.exit_code, 1) << path << ": " << r.err;  // was 0, with nothing written
    EXPECT_NE(r.err.find("write to stdout: No space left on device"), std::string::npos) << r.err;
  }
  // -v writes to stderr; with nowhere to say why, the exit code says it (was std::terminate, 134).
  auto verbose = Shell(fmt::format("\"$ESPER\" http get -v {} 2>/dev/full", server.Url("/small")));
  EXPECT_EQ(verbose.exit_code, 1);
  EXPECT_EQ(verbose.out, "small");
}

TEST(HttpCliData, NonRegularFilesAreStreamedNotSentEmpty) {
  HttpTestServer server([](const ServerRequest& r) {
    return Reply{.body = fmt::format("{} [{}]", r.Header("Transfer-Encoding"), r.body)};
  });
  ASSERT_TRUE(server.Start());
  auto substitution = Shell(fmt::format("\"$ESPER\" http post {} --data @<(printf 'from a pipe')", server.Url("/")));
  EXPECT_EQ(substitution.exit_code, 0) << substitution.err;
  EXPECT_EQ(substitution.out, "chunked [from a pipe]");  // was " []": an empty body, exit 0

  auto dev_stdin = RunProcess({EsperBinary(), "http", "put", server.Url("/"), "--data", "@/dev/stdin"}, {},
                              "through /dev/stdin");
  EXPECT_EQ(dev_stdin.exit_code, 0) << dev_stdin.err;
  EXPECT_EQ(dev_stdin.out, "chunked [through /dev/stdin]");

  std::ifstream version_file("/proc/version");  // a "regular" file whose size reads 0
  std::string version((std::istreambuf_iterator<char>(version_file)), std::istreambuf_iterator<char>());
  ASSERT_FALSE(version.empty());
  auto proc = RunProcess({EsperBinary(), "http", "post", server.Url("/"), "--data", "@/proc/version"});
  EXPECT_EQ(proc.exit_code, 0) << proc.err;
  EXPECT_EQ(proc.out, "chunked [" + version + "]");

  auto dir = RunProcess({EsperBinary(), "http", "post", server.Url("/"), "--data", "@/tmp"});
  EXPECT_EQ(dir.exit_code, 1);
  EXPECT_NE(dir.err.find("--data @/tmp: is a directory"), std::string::npos) << dir.err;
}

TEST(HttpCliData, StdinIsStreamedNotReadIntoMemory) {
  // 3 MiB through a pipe arrive whole, chunked.
  HttpTestServer server([](const ServerRequest& r) {
    return Reply{.body = fmt::format("{} {}", r.Header("Transfer-Encoding"), r.body.size())};
  });
  ASSERT_TRUE(server.Start());
  auto piped = RunProcess({EsperBinary(), "http", "post", server.Url("/"), "--data", "@-"}, {},
                          std::string(3 << 20, 'z'));
  EXPECT_EQ(piped.exit_code, 0) << piped.err;
  EXPECT_EQ(piped.out, fmt::format("chunked {}", 3 << 20));

  // Endless stdin: streamed until the server (which takes 1 MiB at most) refuses it. Before,
  // esper read /dev/zero into memory first and died of bad_alloc (exit 134); the address-space
  // limit makes that quick (not under a sanitizer, whose shadow memory needs the address space).
  HttpTestServer small([](const ServerRequest&) { return Reply{.body = "ok"}; }, {.max_request_body = 1 << 20});
  ASSERT_TRUE(small.Start());
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  const std::string limit;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
  const std::string limit;
#else
  const std::string limit = "ulimit -v 1048576; ";
#endif
#else
  const std::string limit = "ulimit -v 1048576; ";
#endif
  auto endless = Shell(fmt::format("{}exec \"$ESPER\" http post {} --data @- --timeout 20 </dev/zero", limit,
                                   small.Url("/")));
  EXPECT_EQ(endless.exit_code, 1) << endless.err;
  EXPECT_EQ(endless.err.find("bad_alloc"), std::string::npos) << endless.err;
}

TEST(HttpCliUsage, TimeoutMustBeAFiniteNumberOfSecondsInRange) {
  for (const char* bad : {"inf", "nan", "1e300", "0.0001", "-1"}) {
    auto r = RunProcess({EsperBinary(), "http", "get", "http://127.0.0.1:1/", "--timeout", bad});
    EXPECT_EQ(r.exit_code, 2) << bad << ": " << r.err;  // was 1, "connect_timeout must be > 0"
    EXPECT_NE(r.err.find("--timeout must be a number of seconds from 0.001 to 1e9"), std::string::npos) << r.err;
  }
}

TEST(HttpCliServerFaults, OversizedResponseHeadersAreAServerFaultNotRetried) {
  std::atomic<int> seen{0};
  HttpTestServer server([&](const ServerRequest& r) {
    seen.fetch_add(1);
    Reply reply{.body = "ok"};
    if (r.path == "/one-long-line") {
      reply.headers = {{"X-Long", std::string(150 * 1024, 'l')}};  // past libcurl's 100 KiB a line
    } else {
      for (int i = 0; i < 300; ++i) reply.headers.emplace_back(fmt::format("X-H{}", i), std::string(1000, 'h'));
    }
    return reply;
  });
  ASSERT_TRUE(server.Start());
  for (const char* path : {"/one-long-line", "/many-lines"}) {
    seen = 0;
    auto r = RunProcess({EsperBinary(), "http", "get", server.Url(path)});
    EXPECT_EQ(r.exit_code, 1) << path;
    // Was "out of memory" / "connection reset", after 3 attempts.
    EXPECT_NE(r.err.find("a fault of the server, not retried"), std::string::npos) << path << ": " << r.err;
    EXPECT_EQ(r.err.find("out of memory"), std::string::npos) << r.err;
    EXPECT_EQ(seen.load(), 1) << path;
  }
}

TEST(HttpCliServerFaults, TerminalEscapesFromTheServerArePrintedEscaped) {
  HttpTestServer server([](const ServerRequest& r) {
    if (r.path == "/error") return Reply{.status = 404, .body = "gone\x1b[2J\x1b]0;pwned\x07"};
    return Reply{.headers = {{"X-Evil", "\x1b[31mred\x1b]0;title\x07"}}, .body = "ok"};
  });
  ASSERT_TRUE(server.Start());
  auto v = RunProcess({EsperBinary(), "http", "get", "-v", server.Url("/")});
  EXPECT_EQ(v.exit_code, 0) << v.err;
  EXPECT_NE(v.err.find("< X-Evil: \\x1b[31mred\\x1b]0;title\\x07"), std::string::npos) << v.err;
  EXPECT_EQ(v.err.find('\x1b'), std::string::npos);
  auto e = RunProcess({EsperBinary(), "http", "get", server.Url("/error")});
  EXPECT_EQ(e.exit_code, 1);
  EXPECT_NE(e.err.find("gone\\x1b[2J\\x1b]0;pwned\\x07"), std::string::npos) << e.err;
  EXPECT_EQ(e.err.find('\x1b'), std::string::npos);
}

// Ctrl-C and SIGTERM reach what is in flight: the request is cancelled and esper exits 130. The
// request alone would run for 31 years (--timeout 1e9); the 10 s watchdog of Wait() is the bound.
int InterruptWhileInFlight(const std::vector<std::string>& args, HttpTestServer& server, int signal,
                           std::string* err) {
  testing::ChildProcess esper;
  if (!esper.Start(args)) return -2;
  if (!testing::WaitUntil([&] { return server.requests() >= 1; })) return -3;  // in flight now
  std::this_thread::sleep_for(200ms);  // a 503 has been read by then: the backoff wait has begun
  esper.Signal(signal);
  const int rc = esper.Wait(10s);
  *err = esper.err();
  return rc;
}

TEST(HttpCliInterrupt, CtrlCEndsARequestToASilentServer) {
  HttpTestServer server([](const ServerRequest&) { return Reply{.action = Reply::Action::kSilent}; });
  ASSERT_TRUE(server.Start());
  std::string err;
  EXPECT_EQ(InterruptWhileInFlight({EsperBinary(), "http", "get", "--timeout", "1e9", server.Url("/x")}, server,
                                   SIGINT, &err),
            130)
      << err;
  EXPECT_EQ(err, "esper: interrupted\n");
}

TEST(HttpCliInterrupt, SigtermEndsARetryBackoff) {
  HttpTestServer server([](const ServerRequest&) {
    return Reply{.status = 503, .headers = {{"Retry-After", "25"}}};  // a 25 s wait before the retry
  });
  ASSERT_TRUE(server.Start());
  std::string err;
  EXPECT_EQ(InterruptWhileInFlight({EsperBinary(), "http", "get", "--timeout", "1e9", "-v", server.Url("/x")},
                                   server, SIGTERM, &err),
            130)
      << err;
  EXPECT_EQ(server.requests(), 1u);  // no retry was sent
  EXPECT_NE(err.find("esper: interrupted"), std::string::npos) << err;
}

}  // namespace
}  // namespace esper::http
