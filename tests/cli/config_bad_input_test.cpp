// The config rows of docs/bad-input.md: each runs the real `esper config validate` on a real file
// (or variable) a hostile but fair user made, and checks what the user gets.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "testing/process.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define ESPER_UNDER_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define ESPER_UNDER_SANITIZER 1
#endif
#endif

namespace esper::cli {
namespace {

namespace fs = std::filesystem;
using esper::testing::EsperBinary;
using esper::testing::ProcessResult;
using esper::testing::RunProcess;

class ConfigBadInput : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / fmt::format("esper_config_bad_{}_{}", ::getpid(),
                                                   ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string File(const std::string& name, const std::string& text) {
    const std::string p = (dir_ / name).string();
    std::ofstream(p, std::ios::binary) << text;
    return p;
  }
  // The machine's ESPER_ and AWS_ variables stay out (empty means unset).
  static ProcessResult Validate(const std::string& path, std::vector<std::string> env = {}) {
    env.insert(env.begin(), {"ESPER_CONFIG=", "ESPER_LOG_LEVEL=", "AWS_REGION=", "AWS_ENDPOINT_URL="});
    return RunProcess({EsperBinary(), "config", "validate", "-c", path}, env);
  }

  fs::path dir_;
};

// Was: 500,000 errors listed, 15 s, 2.2 GB of memory and 454 MB of stderr.
TEST_F(ConfigBadInput, HalfAMillionAliasesListAHundredErrorsAndCountTheRest) {
  std::string text = "service:\n  name: x\ntraining:\n";
  for (int i = 0; i < 500000; ++i) text += fmt::format("  k{}: *x\n", i);
  const std::string f = File("aliases.yaml", text);
  auto r = Validate(f);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err.rfind(f + ":4:7: error: aliases (*x) are not supported; repeat the value instead\n", 0), 0u)
      << r.err.substr(0, 300);
  EXPECT_NE(r.err.find("\nerror: and 499900 more errors, not listed (a load lists the first 100)\n"
                       "esper: error: InvalidArgument: the configuration is invalid (500000 errors)\n"),
            std::string::npos)
      << r.err.substr(r.err.size() > 300 ? r.err.size() - 300 : 0);
  EXPECT_LT(r.err.size(), 64u * 1024) << "a hundred errors, not half a million";
  // Memory follows the 5.8 MB input, not the errors: the largest child this test ran (27 MB in a
  // release build). A sanitizer's shadow memory scales it by an unknown factor: checked without.
#if !defined(ESPER_UNDER_SANITIZER)
  rusage ru{};
  ASSERT_EQ(::getrusage(RUSAGE_CHILDREN, &ru), 0);
  EXPECT_LT(ru.ru_maxrss, 400L * 1024) << "KiB; was 2.2 GB";
#endif
}

TEST_F(ConfigBadInput, TenThousandLevelsOfNestingAreRefusedAtTheSixtyFifth) {
  const std::string f = File("deep.yaml", "service: {name: x}\ntraining: " + std::string(10000, '[') +
                                              std::string(10000, ']') + "\n");
  auto r = Validate(f);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err.rfind(f + ":2:74: error: nesting deeper than 64 levels\n", 0), 0u) << r.err.substr(0, 300);
  EXPECT_NE(r.err.find("the configuration is invalid (1 error)"), std::string::npos) << r.err.substr(0, 300);
}

// Was: dropped in silence ("configuration is valid") while a file of that depth was refused.
TEST_F(ConfigBadInput, AVariableDeeperThanSixtyFourLevelsIsRefusedLikeAFile) {
  const std::string f = File("ok.yaml", "service: {name: x}\n");
  std::string var = "ESPER_TRAINING";
  for (int i = 0; i < 64; ++i) var += "__K";  // 65 levels
  auto r = Validate(f, {var + "=1"});
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_EQ(r.err, "env " + var + ": error: nesting deeper than 64 levels\n"
                   "esper: error: InvalidArgument: the configuration is invalid (1 error)\n");
  var.resize(var.size() - 3);  // 64 levels: fine
  auto ok = Validate(f, {var + "=1"});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
}

// Was: every bad byte reported at 1:1, with "service.name: required key is missing" added.
TEST_F(ConfigBadInput, BadBytesAreReportedOnTheirOwnLineAndNothingIsCalledMissing) {
  std::string head = "service:\n  name: x\n";
  for (int i = 0; i < 51; ++i) head += "# padding\n";
  struct Case {
    const char* name;
    std::string line;
    std::string want;
  };
  for (const Case& c :
       {Case{"utf8", "bar: caf\xC3\xA9 \xFF\n", ":54:11: error: YAML syntax error: invalid leading UTF-8 octet (byte 0xFF)\n"
                                                "  54 | bar: café \\xFF\n"
                                                "     |           ^\n"},
        Case{"nul", std::string("bar: a\0b\n", 9),
             ":54:7: error: YAML syntax error: control characters are not allowed (byte 0x00)\n"
             "  54 | bar: a\\x00b\n"
             "     |       ^\n"},
        Case{"escape", "bar: \"\x1b]0;pwned\x07\"\n",
             ":54:7: error: YAML syntax error: control characters are not allowed (byte 0x1B)\n"
             "  54 | bar: \"\\x1B]0;pwned\\x07\"\n"
             "     |       ^\n"}}) {
    const std::string f = File(std::string(c.name) + ".yaml", head + c.line);
    auto r = Validate(f);
    EXPECT_EQ(r.exit_code, 1) << c.name;
    EXPECT_EQ(r.err, f + c.want + "esper: error: InvalidArgument: the configuration is invalid (1 error)\n") << c.name;
  }
}

TEST_F(ConfigBadInput, HugeFilesDevZeroAndDirectoriesAreOneClearError) {
  const std::string big = (dir_ / "big.yaml").string();
  { std::ofstream(big) << "service: {name: x}\n"; }
  fs::resize_file(big, std::uintmax_t{200} << 20);  // sparse: 200 MB without writing them
  for (const std::string& path : {big, std::string("/dev/zero")}) {
    auto r = Validate(path);
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_EQ(r.err, path + ": error: the file is larger than 67108864 bytes\n"
                            "esper: error: InvalidArgument: the configuration is invalid (1 error)\n");
  }
  auto dir = Validate(dir_.string());
  EXPECT_EQ(dir.exit_code, 1);
  EXPECT_EQ(dir.err, dir_.string() + ": error: cannot read the file: Is a directory\n"
                                     "esper: error: InvalidArgument: the configuration is invalid (1 error)\n");
  auto missing = Validate((dir_ / "nope.yaml").string());
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_EQ(missing.err, (dir_ / "nope.yaml").string() + ": error: cannot open the file: No such file or directory\n"
                         "esper: error: InvalidArgument: the configuration is invalid (1 error)\n");
}

TEST_F(ConfigBadInput, AnUnreadableFileIsOneClearError) {
  if (::geteuid() == 0) GTEST_SKIP() << "root reads a mode-000 file: this row needs an unprivileged user";
  const std::string f = File("locked.yaml", "service: {name: x}\n");
  fs::permissions(f, fs::perms::none);
  auto r = Validate(f);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, f + ": error: cannot open the file: Permission denied\n"
                       "esper: error: InvalidArgument: the configuration is invalid (1 error)\n");
}

}  // namespace
}  // namespace esper::cli
