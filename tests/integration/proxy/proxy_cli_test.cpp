// `esper proxy` end to end: the built binary as a child process, a real upstream, a real client.
#include <gtest/gtest.h>

#include <signal.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "fixture.h"
#include "testing/process.h"
#include "testing/request_log.h"

namespace esper::testing {
namespace {

using namespace std::chrono_literals;

uint16_t PortFromLine(const std::string& line) {
  const std::string prefix = "listening on 127.0.0.1:";
  if (line.rfind(prefix, 0) != 0) return 0;
  return static_cast<uint16_t>(std::stoi(line.substr(prefix.size())));
}

TEST(ProxyCli, ForwardsUntilSigintThenExits130WithStatistics) {
  HttpTestServer upstream(BasicRoutes);
  ASSERT_TRUE(upstream.Start());
  ChildProcess child;
  ASSERT_TRUE(child.Start({EsperBinary(), "proxy", "--listen", "127.0.0.1:0", "--upstream", upstream.address(),
                           "--seed", "1"}));
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
  HttpTestServer upstream(BasicRoutes);
  ASSERT_TRUE(upstream.Start());
  ChildProcess child;
  ASSERT_TRUE(child.Start({EsperBinary(), "proxy", "--upstream", upstream.address(), "--error-rate", "1",
                           "--error-status", "SlowDown", "--retry-after", "3"}));
  uint16_t port = PortFromLine(child.ReadLine(30s));
  ASSERT_NE(port, 0);
  RawConnection c(port);
  ASSERT_TRUE(c.Send(Get("/b/k")));
  auto r = c.ReadResponse();
  ASSERT_TRUE(r.complete);
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.Header("Retry-After"), "3");
  EXPECT_NE(r.body.find("<Code>SlowDown</Code>"), std::string::npos);
  EXPECT_EQ(upstream.requests(), 0u);
  child.Signal(SIGTERM);
  EXPECT_EQ(child.Wait(), 130);
  EXPECT_NE(child.err().find("errors 1"), std::string::npos) << child.err();
}

TEST(ProxyCli, CorruptsBodiesAndWritesTheRequestLog) {
  HttpTestServer upstream(BasicRoutes);
  ASSERT_TRUE(upstream.Start());
  std::string log = LogPath("cli-requests");
  ChildProcess child;
  ASSERT_TRUE(child.Start({EsperBinary(), "proxy", "--upstream", upstream.address(), "--corrupt-rate",
                           "1", "--request-log", log, "--seed", "4"}));
  uint16_t port = PortFromLine(child.ReadLine(30s));
  ASSERT_NE(port, 0);
  RawConnection c(port);
  ASSERT_TRUE(c.Send(Get("/bytes?n=3000")));
  auto r = c.ReadResponse();
  ASSERT_TRUE(r.complete);
  ASSERT_EQ(r.body.size(), 3000u);
  EXPECT_NE(r.body, PatternBytes(3000));
  child.Signal(SIGINT);
  EXPECT_EQ(child.Wait(), 130);
  EXPECT_NE(child.err().find("corruptions 1"), std::string::npos) << child.err();
  auto lines = ReadRequestLog(log);
  ASSERT_EQ(lines.size(), 1u) << "one request, one line";
  EXPECT_EQ(lines[0]["method"], "GET");
  EXPECT_EQ(lines[0]["target"], "/bytes?n=3000");
  EXPECT_EQ(lines[0]["status"], "200");
  EXPECT_EQ(lines[0]["upstream"], "200");
  EXPECT_EQ(lines[0]["req_bytes"], "0");
  EXPECT_EQ(lines[0]["resp_bytes"], "3000");
  EXPECT_EQ(lines[0]["fault"], "corrupt");
  EXPECT_EQ(lines[0]["corrupted"].rfind("response:", 0), 0u) << lines[0]["corrupted"];
  std::filesystem::remove(log);
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

  // A negative or too large seed is refused (it wrapped to 2^64-1 and the proxy ran with it).
  for (const char* seed : {"-1", "18446744073709551616"}) {
    testing::ChildProcess child;
    ASSERT_TRUE(child.Start({EsperBinary(), "proxy", "--upstream", "127.0.0.1:1", "--seed", seed}));
    EXPECT_EQ(child.Wait(std::chrono::seconds(10)), 2) << seed << ": " << child.err();
    EXPECT_NE(child.err().find("--seed: must be a whole number"), std::string::npos) << child.err();
  }
}

TEST(ProxyCli, ASeedIsDecimalEvenWithALeadingZero) {
  // "010" is ten, as from_chars reads it (strtoull with base 0 took it for octal 8).
  ChildProcess child;
  ASSERT_TRUE(child.Start({EsperBinary(), "proxy", "--upstream", "127.0.0.1:1", "--seed", "010"}));
  uint16_t port = PortFromLine(child.ReadLine(30s));  // the banner is written before this line
  ASSERT_NE(port, 0) << child.err();
  child.Signal(SIGINT);
  EXPECT_EQ(child.Wait(), 130);
  EXPECT_NE(child.err().find(", seed 10\n"), std::string::npos) << child.err();
}

TEST(ProxyCli, UnbindableListenAddressFailsWithExit1) {
  HttpTestServer occupied(BasicRoutes);
  ASSERT_TRUE(occupied.Start());
  auto r = RunProcess({EsperBinary(), "proxy", "--listen", occupied.address(), "--upstream",
                       "127.0.0.1:1"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("bind"), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty());
}

}  // namespace
}  // namespace esper::testing
