// Runs the built `esper config` binary: files on disk, variables in its environment, exit codes.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "testing/process.h"

namespace {

namespace fs = std::filesystem;
using esper::testing::EsperBinary;
using esper::testing::ProcessResult;
using esper::testing::RunProcess;

constexpr const char* kPw = "hunter2-TOPSECRET";

class ConfigCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("esper_config_cli_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string File(const std::string& name, const std::string& text) {
    std::string p = (dir_ / name).string();
    std::ofstream(p) << text;
    return p;
  }

  // The machine's own ESPER_/AWS_ variables must not leak into the test: empty means unset.
  ProcessResult Run(std::vector<std::string> args, std::vector<std::string> env = {}) {
    args.insert(args.begin(), EsperBinary());
    std::vector<std::string> e = {"ESPER_CONFIG=",      "AWS_REGION=",          "AWS_DEFAULT_REGION=",
                                  "AWS_ACCESS_KEY_ID=", "AWS_SECRET_ACCESS_KEY=", "AWS_SESSION_TOKEN=",
                                  "AWS_ENDPOINT_URL=",  "AWS_ENDPOINT_URL_S3=", "S3_ENDPOINT_URL=",
                                  "ESPER_LOG_LEVEL="};
    e.insert(e.end(), env.begin(), env.end());
    return RunProcess(args, e);
  }

  std::string Base() {
    return File("base.yaml", std::string("service:\n  name: tamiyo\ndatabase:\n  port: 5433\n  password: ") + kPw +
                                 "\nredis:\n  url: redis://:" + kPw + "@cache:6379/0\ntraining:\n  batch_size: 64\n"
                                 "  layers: [conv, relu]\n");
  }

  // explain's sources column: `label` padded to `width` (the widest label's, a file's "path:line:col").
  static std::string Padded(const std::string& label, std::size_t width) {
    return label + std::string(width - label.size(), ' ');
  }

  fs::path dir_;
};

TEST_F(ConfigCliTest, ShowPrintsTheEffectiveConfigWithSecretsRedacted) {
  std::string base = Base();
  auto r = Run({"config", "show", "--config", base, "--set", "logging.level=warn"},
               {std::string("AWS_SECRET_ACCESS_KEY=") + kPw});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("service:\n  environment: development\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("  port: 5433\n"), std::string::npos);
  EXPECT_NE(r.out.find("  level: warn\n"), std::string::npos);
  EXPECT_NE(r.out.find("  password: \"***\"\n"), std::string::npos);
  EXPECT_NE(r.out.find("  secret_access_key: \"***\"\n"), std::string::npos);
  EXPECT_NE(r.out.find("  url: \"redis://:***@cache:6379/0\"\n"), std::string::npos);
  EXPECT_EQ(r.out.find(kPw), std::string::npos);
  EXPECT_EQ(r.err.find(kPw), std::string::npos);

  auto j = Run({"config", "show", "-c", base, "--format", "json"});
  ASSERT_EQ(j.exit_code, 0) << j.err;
  EXPECT_EQ(j.out.front(), '{');
  EXPECT_NE(j.out.find("\"port\": 5433"), std::string::npos);
  EXPECT_NE(j.out.find("\"batch_size\": 64"), std::string::npos);
  EXPECT_NE(j.out.find("\"password\": \"***\""), std::string::npos);
  EXPECT_EQ(j.out.find(kPw), std::string::npos);
}

TEST_F(ConfigCliTest, ValidateExitsOneListingEveryError) {
  std::string bad = File("bad.yaml",
                         "service:\n  name: x\ndatabase:\n  port: 70000\n  hots: db\n  password: " + std::string(kPw) +
                             "\nlogging:\n  level: loud\n");
  auto r = Run({"config", "validate", "--config", bad}, {"ESPER_S3__MAX_CONNECTIONS=abc"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  std::string want =
      bad + ":4:9: error: database.port: 70000 is out of range [1, 65535]\n"
            "  4 |   port: 70000\n"
            "    |         ^\n" +
      bad + ":5:3: error: database.hots: unknown key (did you mean \"host\"?)\n"
            "  5 |   hots: db\n"
            "    |   ^\n" +
      bad + ":8:10: error: logging.level: \"loud\" is not one of trace, debug, info, warn, error, critical, off\n"
            "  8 |   level: loud\n"
            "    |          ^\n"
            "env ESPER_S3__MAX_CONNECTIONS: error: s3.max_connections: expected an integer, got \"abc\"\n"
            "esper: error: InvalidArgument: the configuration is invalid (4 errors)\n";
  EXPECT_EQ(r.err, want);
  EXPECT_EQ(r.err.find(kPw), std::string::npos);

  auto ok = Run({"config", "validate", "--config", Base()});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_NE(ok.out.find("configuration is valid: "), std::string::npos) << ok.out;
}

TEST_F(ConfigCliTest, BrokenYamlNamesFileLineColumn) {
  std::string bad = File("broken.yaml", "service:\n  name: x\n  bad: [1, 2\n");
  auto r = Run({"config", "validate", "-c", bad});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err.rfind(bad + ":4:1: error: YAML syntax error: ", 0), 0u) << r.err;
}

TEST_F(ConfigCliTest, FilesMergeInOrderAndEsperConfigIsTheDefault) {
  std::string base = Base();
  std::string prod = File("prod.yaml", "service:\n  environment: production\ndatabase:\n  port: 6543\n");
  auto r = Run({"config", "get", "database.port", "-c", base, "-c", prod});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "6543\n");
  auto viaenv = Run({"config", "get", "database.port"}, {"ESPER_CONFIG=" + base + ":" + prod});
  EXPECT_EQ(viaenv.out, "6543\n");
  auto section = Run({"config", "get", "training", "-c", base});
  EXPECT_EQ(section.out, "batch_size: 64\nlayers:\n  - conv\n  - relu\n");
  auto elem = Run({"config", "get", "training.layers[1]", "-c", base});
  EXPECT_EQ(elem.out, "relu\n");
  auto secret = Run({"config", "get", "database.password", "-c", base});
  EXPECT_EQ(secret.out, "***\n");
  auto missing = Run({"config", "get", "databse.port", "-c", base});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_EQ(missing.err,
            "esper: error: NotFound: no configuration key \"databse.port\" (did you mean \"database.port\"?)\n");
}

TEST_F(ConfigCliTest, ExplainShowsDefaultFileEnvAndSet) {
  std::string base = Base();
  auto r = Run({"config", "explain", "database.port", "-c", base, "--set", "database.port=7000"},
               {"ESPER_DATABASE__PORT=6000"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  const std::string at = base + ":4:9";
  EXPECT_EQ(r.out,
            "database.port = 7000\n"
            "  type: int, range [1, 65535] — PostgreSQL port\n"
            "  sources, lowest precedence first:\n"
            "    1. " + Padded("default", at.size()) + "  5432\n"
            "    2. " + at + "  5433\n"
            "    3. " + Padded("env ESPER_DATABASE__PORT", at.size()) + "  6000\n"
            "    4. " + Padded("--set", at.size()) + "  7000   <- wins\n");
  auto pw = Run({"config", "explain", "database.password", "-c", base}, {std::string("ESPER_DATABASE__PASSWORD=") + kPw});
  EXPECT_EQ(pw.exit_code, 0);
  EXPECT_EQ(pw.out.find(kPw), std::string::npos) << pw.out;
  EXPECT_NE(pw.out.find("env ESPER_DATABASE__PASSWORD"), std::string::npos);
}

// A value's control bytes (ESC, CR, BEL) reach explain's reader as \xNN, never raw, so a
// configuration cannot recolour, retitle or overwrite what a person reads (issue 18 #9).
TEST_F(ConfigCliTest, ExplainEscapesControlBytesInValues) {
  std::string f = File("esc.yaml", "service:\n  name: \"x\\e[31mred\\rhidden\\a\"\n");
  auto r = Run({"config", "explain", "service.name", "-c", f});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.find('\x1b'), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find('\r'), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find('\a'), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("service.name = x\\x1b[31mred\\x0dhidden\\x07\n"), std::string::npos) << r.out;
}

// The sections each part reads (logging, http, s3) have the parts' names and units; explain says
// where each value came from, an old name of the same meaning is read with a warning, and one
// whose unit changed is refused with the new spelling.
TEST_F(ConfigCliTest, ExplainShowsWhereThePartsSettingsCameFrom) {
  std::string f = File("svc.yaml",
                       "service:\n  name: tamiyo\nhttp:\n  request_timeout: 5s\n  max_attempts: 2\n"
                       "logging:\n  queue_bytes: 65536\ns3:\n  max_attempts: 4\n");
  auto r = Run({"config", "explain", "http.max_attempts", "-c", f}, {"ESPER_HTTP__MAX_ATTEMPTS=1"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  const std::string at = f + ":5:17";
  EXPECT_EQ(r.out,
            "http.max_attempts = 1\n"
            "  type: int, range [1, 100] — attempts per request, the first included (1: no retries)\n"
            "  sources, lowest precedence first:\n"
            "    1. " + Padded("default", at.size()) + "  3\n"
            "    2. " + at + "  2\n"
            "    3. " + Padded("env ESPER_HTTP__MAX_ATTEMPTS", at.size()) + "  1   <- wins\n");
  for (const char* key : {"http.request_timeout", "logging.queue_bytes", "s3.max_attempts"}) {
    auto e = Run({"config", "explain", key, "-c", f});
    EXPECT_EQ(e.exit_code, 0) << e.err;
    EXPECT_NE(e.out.find(f + ":"), std::string::npos) << key << "\n" << e.out;
    EXPECT_NE(e.out.find("<- wins"), std::string::npos) << e.out;
  }

  auto renamed = Run({"config", "explain", "http.connect_timeout", "-c", f}, {"ESPER_PERFORMANCE__CONNECT_TIMEOUT=3s"});
  EXPECT_EQ(renamed.exit_code, 0) << renamed.err;
  EXPECT_NE(renamed.err.find("env ESPER_PERFORMANCE__CONNECT_TIMEOUT: warning: performance.connect_timeout: "
                             "deprecated: renamed http.connect_timeout"),
            std::string::npos)
      << renamed.err;
  EXPECT_NE(renamed.out.find("env ESPER_PERFORMANCE__CONNECT_TIMEOUT  3s   <- wins"), std::string::npos) << renamed.out;

  std::string old = File("old.yaml", "service:\n  name: tamiyo\nlogging:\n  queue_capacity: 65536\n");
  auto refused = Run({"config", "validate", "-c", old});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find(old + ":4:3: error: logging.queue_capacity: replaced by logging.queue_bytes: "),
            std::string::npos)
      << refused.err;
}

TEST_F(ConfigCliTest, ProductionWarningsGoToStderrWithoutFailing) {
  std::string f = File("p.yaml",
                       "service:\n  name: x\n  environment: production\ndebug: true\ns3:\n  access_key_id: minioadmin\n"
                       "  secret_access_key: minioadmin\n");
  auto r = Run({"config", "validate", "-c", f});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find(f + ":4:8: warning: debug: debug is on in production"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("s3.secret_access_key: an example credential (MinIO's default) in production"),
            std::string::npos);
  EXPECT_NE(r.out.find("(3 warnings)"), std::string::npos) << r.out;
}

TEST_F(ConfigCliTest, UsageErrorsExitTwo) {
  auto r = Run({"config", "show", "--set", "noequals"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "esper: --set \"noequals\": expected key=value\n");
  auto f = Run({"config", "show", "--format", "xml"});
  EXPECT_EQ(f.exit_code, 2);
  auto none = Run({"config"});
  EXPECT_EQ(none.exit_code, 2);
}

// Issue 17: `config show --format json` wrote YAML's escapes ("a\x01b"), which no JSON parser
// reads. Both dumps of hostile values — control bytes, a terminal escape, DEL, C1, YAML's line
// breaks, invalid UTF-8 from --set — must read back through real parsers (Python's strict json
// module, PyYAML) to the same values.
TEST_F(ConfigCliTest, ShowDumpsReadBackThroughRealJsonAndYamlParsers) {
  std::string f = File("hostile.yaml",
                       "service:\n  name: tamiyo\ntraining:\n  ctl: \"a\\x01b\"\n  esc: \"\\e[31mred\"\n"
                       "  del: \"x\\x7fy\"\n  nel: \"a\\Nb\\Lc\"\n  c1: \"\\x9b\"\n  quotes: \"\\\"q\\\" \\\\\"\n");
  const std::string raw = "training.raw=raw\x02\x1b\xff";  // control bytes and an invalid UTF-8 byte
  auto j = Run({"config", "show", "-c", f, "--set", raw, "--format", "json"});
  auto y = Run({"config", "show", "-c", f, "--set", raw});
  ASSERT_EQ(j.exit_code, 0) << j.err;
  ASSERT_EQ(y.exit_code, 0) << y.err;
  std::string json_path = File("dump.json", j.out), yaml_path = File("dump.yaml", y.out);
  const char* kRead =
      "import json, sys, yaml\n"
      "raw = lambda p: open(p, 'rb').read().decode('utf-8')\n"  // strict: invalid UTF-8 fails
      "j = json.loads(raw(sys.argv[1]))\n"                       // strict: raw control characters fail
      "y = yaml.safe_load(raw(sys.argv[2]))\n"
      "assert j == y, (j, y)\n"
      "print(json.dumps(j['training'], sort_keys=True))\n";
  auto p = RunProcess({"python3", "-c", kRead, json_path, yaml_path});
  ASSERT_EQ(p.exit_code, 0) << p.err << "\n" << j.out << "\n" << y.out;
  EXPECT_EQ(p.out,
            "{\"c1\": \"\\u009b\", \"ctl\": \"a\\u0001b\", \"del\": \"x\\u007fy\", \"esc\": \"\\u001b[31mred\", "
            "\"nel\": \"a\\u0085b\\u2028c\", \"quotes\": \"\\\"q\\\" \\\\\", \"raw\": \"raw\\u0002\\u001b\\ufffd\"}\n");
}

// ---- Issue 18 #1: no secret value reaches the terminal, whatever the error ----------------------

constexpr const char* kSecret = "hunter2";

// Every byte the command wrote, checked for the secret.
#define EXPECT_NO_SECRET(r)                                                                   \
  do {                                                                                        \
    EXPECT_EQ((r).out.find(kSecret), std::string::npos) << "stdout:\n" << (r).out;           \
    EXPECT_EQ((r).err.find(kSecret), std::string::npos) << "stderr:\n" << (r).err;           \
  } while (0)

// The reproduction: the error is on `port`, the password sits earlier on the same line.
TEST_F(ConfigCliTest, ALineWithASecretIsMaskedUnderAnErrorElsewhereOnIt) {
  std::string f = File("l.yaml", "service: {name: x}\ndatabase: {password: hunter2, port: abc}\n");
  auto r = Run({"config", "validate", "-c", f});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NO_SECRET(r);
  EXPECT_NE(r.err.find(":2:37: error: database.port: expected an integer, got \"abc\"\n"
                       "  2 | database: {password: ***, port: abc}\n"
                       "    |                                 ^\n"),
            std::string::npos)
      << r.err;
}

TEST_F(ConfigCliTest, ASyntaxErrorOnASecretsLineDoesNotShowIt) {
  for (const char* text : {"service: {name: x}\ndatabase:\n  password: hunter2: oops\n",
                           "service: {name: x}\ndatabase:\n  password: \"hunter2",  // unterminated at the end
                           "service: {name: x}\ndatabase: {password: hunter2, port: [}\n",
                           "service: {name: x}\nx: @oops {password: hunter2}\n",
                           "service: {name: x}\ndatabase:\n  password: first\n    hunter2: x\n"}) {  // a folded value
    auto r = Run({"config", "validate", "-c", File("s.yaml", text)});
    EXPECT_EQ(r.exit_code, 1) << text;
    EXPECT_NE(r.err.find("YAML syntax error"), std::string::npos) << r.err;
    EXPECT_NO_SECRET(r);
  }
}

TEST_F(ConfigCliTest, ADuplicateSecretKeyDoesNotShowEitherValue) {
  auto r = Run({"config", "validate", "-c",
                File("d.yaml", "service: {name: x}\ndatabase:\n  password: hunter2\n  password: hunter2b\n")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("duplicate key \"password\""), std::string::npos) << r.err;
  EXPECT_NO_SECRET(r);
}

TEST_F(ConfigCliTest, ATaggedSecretDoesNotShowItsValue) {
  auto r = Run({"config", "validate", "-c", File("t.yaml", "service: {name: x}\ndatabase:\n  password: !!str hunter2\n")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("explicit tags (tag:yaml.org,2002:str) are not supported"), std::string::npos) << r.err;
  EXPECT_NO_SECRET(r);
}

TEST_F(ConfigCliTest, AMalformedReferenceInASecretDoesNotShowIt) {
  auto r = Run({"config", "validate", "-c", File("i.yaml", "service: {name: x}\ndatabase:\n  password: \"a${hunter2 x}\"\n")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("database.password: "), std::string::npos) << r.err;
  EXPECT_NO_SECRET(r);
}

TEST_F(ConfigCliTest, CredentialsInUrlsAreMaskedOnTheLineUnderAnError) {
  for (const char* text : {"service: {name: x}\ns3: {endpoint_url: \"http://ak:hunter2@minio:9000\", max_connections: abc}\n",
                           "service: {name: x}\nredis: {url: \"redis://cache:6379/0?password=hunter2\", pool_size: x}\n",
                           "service: {name: x}\nservices: {urza: \"https://u:hunter2@urza\", nope: 1}\n"}) {
    auto r = Run({"config", "validate", "-c", File("u.yaml", text)});
    EXPECT_EQ(r.exit_code, 1) << text;
    EXPECT_NO_SECRET(r);
  }
}

TEST_F(ConfigCliTest, MalformedSetIsNotEchoedWhole) {
  for (const char* arg : {"database.password:hunter2", "=hunter2", "database.password hunter2"}) {
    auto r = Run({"config", "show", "--set", arg});
    EXPECT_EQ(r.exit_code, 2) << arg;
    EXPECT_NO_SECRET(r);
  }
  auto r = Run({"config", "show", "--set", "database.password:hunter2"});
  EXPECT_EQ(r.err, "esper: --set \"database.password:***\": expected key=value\n");
}

TEST_F(ConfigCliTest, DashedAndPrefixedKeyNamesAreSecretsToo) {
  std::string f = File("k.yaml",
                       "service: {name: x}\ntraining:\n  private-key: hunter2\n  x-api-key: hunter2\n"
                       "  privateKey: hunter2\n  apiKey: hunter2\n  tokenizer_path: /models/tok\n"
                       "  api:\n    key: hunter2\n");
  for (std::vector<std::string> cmd :
       {std::vector<std::string>{"config", "show", "-c", f}, {"config", "show", "-c", f, "--format", "json"},
        {"config", "get", "training", "-c", f}, {"config", "get", "training.private-key", "-c", f},
        {"config", "get", "training.x-api-key", "-c", f}, {"config", "explain", "training.private-key", "-c", f},
        {"config", "explain", "training.x-api-key", "-c", f}, {"config", "get", "training.api.key", "-c", f}}) {
    auto r = Run(cmd);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NO_SECRET(r);
  }
  auto tok = Run({"config", "get", "training.tokenizer_path", "-c", f});  // a word rule, not a substring
  EXPECT_EQ(tok.out, "/models/tok\n");
}

TEST_F(ConfigCliTest, UrlCredentialsAreRedactedInEveryOutput) {
  std::string f = File("url.yaml",
                       "service: {name: x}\ns3:\n  endpoint_url: http://ak:hunter2@minio:9000\nservices:\n"
                       "  urza: https://svc:hunter2@urza.internal\nredis:\n  url: redis://cache:6379/0?password=hunter2\n");
  for (std::vector<std::string> cmd :
       {std::vector<std::string>{"config", "show", "-c", f}, {"config", "show", "-c", f, "--format", "json"},
        {"config", "get", "s3.endpoint_url", "-c", f}, {"config", "get", "services.urza", "-c", f},
        {"config", "get", "redis.url", "-c", f}, {"config", "get", "services", "-c", f},
        {"config", "explain", "s3.endpoint_url", "-c", f}, {"config", "explain", "services.urza", "-c", f},
        {"config", "explain", "redis.url", "-c", f}}) {
    auto r = Run(cmd);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NO_SECRET(r);
  }
  auto get = Run({"config", "get", "s3.endpoint_url", "-c", f});
  EXPECT_EQ(get.out, "http://ak:***@minio:9000\n");
  // Errors about such a URL redact it too.
  auto bad = Run({"config", "validate", "--set", "service.name=x", "--set", "s3.endpoint_url=ftp://ak:hunter2@h"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("ftp://ak:***@h"), std::string::npos) << bad.err;
  EXPECT_NO_SECRET(bad);
}

// The name may well be in the file that could not be opened: the file's error is the one said.
TEST_F(ConfigCliTest, AMissingFileIsReportedNotTheKeysItMightHold) {
  auto r = Run({"config", "validate", "-c", (dir_ / "nope.yaml").string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find((dir_ / "nope.yaml").string() + ": error: cannot open the file: No such file or directory\n"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(r.err.find("required key is missing"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("(1 error)"), std::string::npos);
  // Without a file at all, a missing name is still missing.
  auto none = Run({"config", "validate"});
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_NE(none.err.find("error: service.name: required key is missing"), std::string::npos) << none.err;
}

}  // namespace
