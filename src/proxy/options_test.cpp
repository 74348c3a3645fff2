#include <gtest/gtest.h>

#include <cmath>

#include "esper/proxy/fault_proxy.h"

namespace esper::proxy {
namespace {

Error CreateError(Options o) {
  auto p = FaultProxy::Create(std::move(o));
  EXPECT_FALSE(p);
  return p ? Error::Internal("created") : p.error();
}

TEST(FaultProxyOptions, ValidOptionsCreate) {
  auto p = FaultProxy::Create({.upstream = "127.0.0.1:9000", .reset_rate = 0.25, .stall_rate = 0.25,
                               .error_rate = 0.25, .truncate_rate = 0.25});
  ASSERT_TRUE(p) << p.error().ToString();
  EXPECT_EQ((*p)->port(), 0);  // not started
  EXPECT_EQ((*p)->statistics().connections, 0u);
  EXPECT_TRUE((*p)->FaultLog().empty());
  (*p)->Stop();  // stopping a proxy that never started is fine
  auto st = (*p)->Start();
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code(), ErrorCode::kFailedPrecondition);
}

TEST(FaultProxyOptions, BadOptionsAreInvalidArgument) {
  std::vector<std::pair<Options, std::string>> cases = {
      {{}, "upstream is required"},
      {{.upstream = "127.0.0.1"}, "HOST:PORT"},
      {{.upstream = "127.0.0.1:0"}, "must not be 0"},
      {{.upstream = "127.0.0.1:70000"}, "port"},
      {{.upstream = ":80"}, "no host"},
      {{.listen = "nowhere", .upstream = "h:1"}, "listen"},
      {{.upstream = "h:1", .reset_rate = -0.1}, "reset_rate"},
      {{.upstream = "h:1", .stall_rate = 1.5}, "stall_rate"},
      {{.upstream = "h:1", .error_rate = std::nan("")}, "error_rate"},
      {{.upstream = "h:1", .truncate_rate = 2}, "truncate_rate"},
      {{.upstream = "h:1", .reset_rate = 0.6, .truncate_rate = 0.6}, "add up"},
      {{.upstream = "h:1", .mode = Mode::kTcp, .error_rate = 0.1}, "tcp"},
      {{.upstream = "h:1", .latency = std::chrono::milliseconds(-1)}, "latency"},
      {{.upstream = "h:1", .retry_after = std::chrono::seconds(-5)}, "retry_after"},
      {{.upstream = "h:1", .max_connections = 0}, "max_connections"},
  };
  for (auto& [o, want] : cases) {
    Error e = CreateError(o);
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument) << want;
    EXPECT_NE(e.message().find(want), std::string::npos) << e.message() << " / want " << want;
  }
}

TEST(FaultProxyOptions, ParseEndpoint) {
  auto e = ParseEndpoint("localhost:8080");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->host, "localhost");
  EXPECT_EQ(e->port, 8080);
  e = ParseEndpoint("[::1]:0");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->host, "::1");
  EXPECT_EQ(e->port, 0);
  for (const char* bad : {"", "host", "host:", "host:x", "host:-1", "[::1]", "[::1]x", ":1",
                          "h:65536", "h:1 "}) {
    EXPECT_FALSE(ParseEndpoint(bad)) << bad;
  }
}

TEST(FaultProxyOptions, ParseErrorStatusAndMode) {
  EXPECT_EQ(*ParseErrorStatus("500"), ErrorStatus::k500);
  EXPECT_EQ(*ParseErrorStatus("503"), ErrorStatus::k503);
  EXPECT_EQ(*ParseErrorStatus("slowdown"), ErrorStatus::kSlowDown);
  EXPECT_FALSE(ParseErrorStatus("404"));
  EXPECT_EQ(*ParseMode("TCP"), Mode::kTcp);
  EXPECT_EQ(*ParseMode("http"), Mode::kHttp);
  EXPECT_FALSE(ParseMode("udp"));
  EXPECT_EQ(FaultKindName(FaultKind::kResetAfterUpstream), "reset-after-upstream");
}

TEST(FaultProxyOptions, UnresolvableUpstreamFailsAtStart) {
  auto p = FaultProxy::Create({.upstream = "no-such-host.invalid:80"});
  ASSERT_TRUE(p);
  auto st = (*p)->Start();
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code(), ErrorCode::kNotFound);
}

}  // namespace
}  // namespace esper::proxy
