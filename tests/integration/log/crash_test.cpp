// The crash handler, end to end: a child process logs, then dies by a signal; the parent reads
// every line back from the file.
#include <signal.h>

#include <gtest/gtest.h>

#include <set>

#include "testing/process.h"
#include "log/test_util.h"

namespace esper::log {
namespace {

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif

// Planted in the child's environment and logged on every line as an esper::Secret.
constexpr const char* kSecret = "CRASHSECRET-m4trix-C9";

struct Outcome {
  int exit_code;
  std::vector<std::string> lines;
  std::string err;  // the child's stderr
};

Outcome RunChild(const std::string& name, int per, int threads, const std::string& mode, bool handler = true) {
  std::string dir = testing::TempDir("crash_" + name);
  std::string path = dir + "/child.log";
  std::vector<std::string> argv = {LOG_CRASH_CHILD, path, std::to_string(per), std::to_string(threads), mode};
  if (!handler) argv.push_back("nohandler");
  auto r = esper::testing::RunProcess(argv, {"ESPER_LOG_LEVEL=info", std::string("CRASH_CHILD_SECRET=") + kSecret});
  return {r.exit_code, testing::ReadLines(path), r.out + r.err};
}

void ExpectAllLines(const Outcome& o, int per, int threads) {
  ASSERT_EQ(o.lines.size(), size_t(1 + per * threads));
  std::set<std::pair<std::string, std::string>> seen;
  for (size_t i = 1; i < o.lines.size(); ++i) {
    auto obj = testing::ParseFlatJson(o.lines[i]);
    ASSERT_TRUE(obj) << o.lines[i];
    seen.insert({obj->values["t"], obj->values["i"]});
    EXPECT_EQ(obj->values["token"], "***") << o.lines[i];
  }
  for (const auto& line : o.lines) EXPECT_EQ(line.find(kSecret), std::string::npos) << line;
  EXPECT_EQ(o.err.find(kSecret), std::string::npos) << o.err;
  EXPECT_EQ(seen.size(), size_t(per * threads));
}

class CrashTest : public ::testing::TestWithParam<std::pair<std::string, int>> {};

TEST_P(CrashTest, LinesLoggedBeforeTheCrashAreOnDisk) {
  auto [mode, sig] = GetParam();
  if (kSanitized && mode == "fault")
    GTEST_SKIP() << "UBSan reports the null store itself and exits without a signal";
  const int per = 2000, threads = 3;
  Outcome o = RunChild(mode, per, threads, mode);
  ASSERT_NE(o.exit_code, 7) << "the child's backend never went to sleep after its Flush";
  ASSERT_NE(o.exit_code, 6) << "the backend wrote lines before the crash: the handler was not needed";
  if (kSanitized) {
    EXPECT_NE(o.exit_code, 0);  // the sanitizer's own handler may report and exit(1)
  } else {
    EXPECT_EQ(o.exit_code, 128 + sig) << "the signal is re-raised with the default action";
  }
  ExpectAllLines(o, per, threads);
}

INSTANTIATE_TEST_SUITE_P(Signals, CrashTest,
                         ::testing::Values(std::pair<std::string, int>{"segv", SIGSEGV},
                                           std::pair<std::string, int>{"abort", SIGABRT},
                                           std::pair<std::string, int>{"fpe", SIGFPE},
                                           std::pair<std::string, int>{"fault", SIGSEGV},
                                           std::pair<std::string, int>{"thread-segv", SIGSEGV},
                                           std::pair<std::string, int>{"term", SIGTERM},
                                           std::pair<std::string, int>{"int", SIGINT}),
                         [](const auto& param_info) {
                           std::string n = param_info.param.first;
                           for (auto& c : n) if (c == '-') c = '_';
                           return n;
                         });

TEST(CrashTest, WithoutTheHandlerTheQueuedLinesAreLost) {
  // The control for the tests above: the same child without the handlers loses what is queued
  // (the backend is parked), so those tests do prove the drain.
  const int per = 2000, threads = 3;
  for (const std::string mode : {"segv", "term"}) {
    Outcome o = RunChild("nohandler_" + mode, per, threads, mode, /*handler=*/false);
    ASSERT_NE(o.exit_code, 7) << mode << ": the child's backend never went to sleep after its Flush";
    ASSERT_NE(o.exit_code, 6) << mode << ": the backend wrote lines before the crash";
    EXPECT_NE(o.exit_code, 0) << mode;
    EXPECT_LT(o.lines.size(), size_t(1 + per * threads)) << mode;
  }
}

}  // namespace
}  // namespace esper::log
