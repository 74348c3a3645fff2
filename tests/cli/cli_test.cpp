#include <gtest/gtest.h>

#include "cli.h"
#include "testing/process.h"
#include "esper/core/version.h"

namespace esper::cli {
namespace {

using esper::testing::EsperBinary;
using esper::testing::RunProcess;

TEST(CliTest, VersionPrintsTheLibraryVersion) {
  auto r = RunProcess({EsperBinary(), "--version"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, fmt::format("esper {}\n", kVersion));
}

TEST(CliTest, HelpListsEveryCommand) {
  auto r = RunProcess({EsperBinary(), "help"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  for (const auto& c : Commands()) EXPECT_NE(r.out.find(c.name), std::string::npos) << c.name;
  auto bare = RunProcess({EsperBinary()});
  EXPECT_EQ(bare.exit_code, 0);
  EXPECT_EQ(bare.out, r.out);
}

TEST(CliTest, CommandHelpComesFromTheFlagDefinitions) {
  auto r = RunProcess({EsperBinary(), "bench", "--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("--quick"), std::string::npos);
  EXPECT_NE(r.out.find("--json"), std::string::npos);
  auto h = RunProcess({EsperBinary(), "help", "bench"});
  EXPECT_EQ(h.exit_code, 0);
  EXPECT_EQ(h.out, r.out);
}

TEST(CliTest, UnknownCommandExitsTwoAndSuggests) {
  auto r = RunProcess({EsperBinary(), "frobnicate"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(r.out.empty());
  EXPECT_NE(r.err.find("unknown command 'frobnicate'"), std::string::npos) << r.err;
  auto typo = RunProcess({EsperBinary(), "bnech"});
  EXPECT_EQ(typo.exit_code, 2);
  EXPECT_NE(typo.err.find("Did you mean 'bench'?"), std::string::npos) << typo.err;
}

TEST(CliTest, UnknownFlagIsAUsageError) {
  auto r = RunProcess({EsperBinary(), "bench", "--no-such-flag"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--no-such-flag"), std::string::npos) << r.err;
  auto bad = RunProcess({EsperBinary(), "bench", "nonsense-part"});
  EXPECT_EQ(bad.exit_code, 2);
}

TEST(CliTest, HelpOnAMistypedCommandSuggestsTheClosest) {
  auto near = RunProcess({EsperBinary(), "help", "conf"});
  EXPECT_EQ(near.exit_code, 2);
  EXPECT_NE(near.err.find("Did you mean 'config'?"), std::string::npos) << near.err;
  auto far = RunProcess({EsperBinary(), "help", "frobnicate"});
  EXPECT_EQ(far.exit_code, 2);
  EXPECT_EQ(far.err.find("Did you mean"), std::string::npos) << far.err;
}

// Issue 18 #1: a mistyped header is a usage error that does not echo what may be a credential.
TEST(CliTest, AMalformedHeaderIsNotEchoed) {
  for (const char* h : {"Authorization Bearer hunter2", "Authorization Bearer hunter2: x", "X-Api-Key=hunter2"}) {
    auto r = RunProcess({EsperBinary(), "http", "get", "http://127.0.0.1:1/", "-H", h, "--retries", "0"});
    EXPECT_NE(r.exit_code, 0) << h;
    EXPECT_NE(r.err.find("***"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("hunter2"), std::string::npos) << r.err;
  }
}

TEST(CliTest, UsageErrorsAreMarked) {
  EXPECT_TRUE(IsUsageError(UsageError("x")));
  EXPECT_FALSE(IsUsageError(Error::InvalidArgument("x")));
}

}  // namespace
}  // namespace esper::cli
