#include "esper/config/loader.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

namespace esper::config {
namespace {

using Env = std::map<std::string, std::string>;

struct Loaded {
  Result<std::shared_ptr<const Snapshot>> snap;
  std::vector<Diagnostic> diags;
  std::vector<std::string> Errors() const {
    std::vector<std::string> out;
    for (const auto& d : diags) {
      if (d.is_error()) out.push_back(d.ToString());
    }
    return out;
  }
  std::vector<std::string> Warnings() const {
    std::vector<std::string> out;
    for (const auto& d : diags) {
      if (!d.is_error()) out.push_back(d.ToString());
    }
    return out;
  }
};

// Loads "base.yaml" (naming the service) then "test.yaml" with an injected environment.
Loaded LoadYaml(std::string yaml, Env env = {}, std::vector<Override> overrides = {}) {
  LoadOptions o;
  o.texts = {{"base.yaml", "service:\n  name: svc\n"}, {"test.yaml", std::move(yaml)}};
  o.environment = std::move(env);
  o.overrides = std::move(overrides);
  Loaded l;
  l.snap = Load(o, &l.diags);
  return l;
}

TEST(LoaderTest, DefaultsFillEveryTypedSection) {
  auto l = LoadYaml("");
  ASSERT_TRUE(l.snap) << l.snap.error().ToString();
  const Snapshot& s = **l.snap;
  EXPECT_EQ(s.service().name, "svc");
  EXPECT_EQ(s.service().environment, "development");
  EXPECT_EQ(s.logging().level, "info");
  EXPECT_EQ(s.logging().format, "json");
  EXPECT_EQ(s.database().port, 5432);
  EXPECT_EQ(s.s3().region, "us-east-1");
  EXPECT_EQ(s.s3().request_timeout, std::chrono::seconds(30));
  EXPECT_EQ(s.s3().max_connections, 100);
  EXPECT_TRUE(s.tls().verify);
  EXPECT_FALSE(s.debug());
  EXPECT_EQ(s.redis().redacted_url, "redis://localhost:6379/0");
  EXPECT_EQ(s.service_url("tamiyo").value(), "http://localhost:8001");
  EXPECT_TRUE(l.diags.empty());
}

TEST(LoaderTest, MissingRequiredKeyIsAnError) {
  LoadOptions o;
  o.environment = Env{};
  std::vector<Diagnostic> d;
  auto snap = Load(o, &d);
  ASSERT_FALSE(snap);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].ToString(),
            "error: service.name: required key is missing: set it in a config file, as "
            "ESPER_SERVICE__NAME, or with --set service.name=…");
  EXPECT_EQ(snap.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(snap.error().message(), "configuration has 1 error:\n" + d[0].ToString() + "\n");
}

TEST(LoaderTest, PrecedenceIsDefaultThenFilesThenEnvThenSet) {
  LoadOptions o;
  o.texts = {{"a.yaml", "service:\n  name: svc\ndatabase:\n  port: 5433\n  host: a-host\n"},
             {"b.yaml", "database:\n  port: 5434\n"}};
  o.environment = Env{{"ESPER_DATABASE__PORT", "6000"}};
  o.overrides = {{"database.port", "7000"}};
  auto snap = Load(o);
  ASSERT_TRUE(snap) << snap.error().ToString();
  EXPECT_EQ((*snap)->database().port, 7000);
  EXPECT_EQ((*snap)->database().host, "a-host");
  auto chain = (*snap)->Provenance("database.port");
  ASSERT_TRUE(chain);
  ASSERT_EQ(chain->size(), 5u);
  EXPECT_EQ((*chain)[0].ToString(), "default");
  EXPECT_EQ((*chain)[0].value, "5432");
  EXPECT_EQ((*chain)[1].ToString(), "a.yaml:4:9");
  EXPECT_EQ((*chain)[1].value, "5433");
  EXPECT_EQ((*chain)[2].ToString(), "b.yaml:2:9");
  EXPECT_EQ((*chain)[3].ToString(), "env ESPER_DATABASE__PORT");
  EXPECT_EQ((*chain)[3].value, "6000");
  EXPECT_EQ((*chain)[4].ToString(), "--set");
  EXPECT_EQ((*chain)[4].value, "7000");

  // Each layer alone wins over the ones below it.
  o.overrides.clear();
  EXPECT_EQ(Load(o).value()->database().port, 6000);
  o.environment = Env{};
  EXPECT_EQ(Load(o).value()->database().port, 5434);
  o.texts.pop_back();
  EXPECT_EQ(Load(o).value()->database().port, 5433);
}

TEST(LoaderTest, EnvironmentMapsDoubleUnderscoreToLevels) {
  auto l = LoadYaml("", Env{{"ESPER_S3__ENDPOINT_URL", "http://127.0.0.1:9000"},
                            {"ESPER_S3__ADDRESSING_STYLE", "virtual"},
                            {"ESPER_TRAINING__BATCH_SIZE", "64"},
                            {"ESPER_FEATURES__FAST_PATH", "true"},
                            {"ESPER_DEBUG", "true"}});
  ASSERT_TRUE(l.snap) << l.snap.error().ToString();
  const Snapshot& s = **l.snap;
  EXPECT_EQ(s.s3().endpoint_url, "http://127.0.0.1:9000");
  EXPECT_EQ(s.s3().addressing_style, "virtual");
  EXPECT_EQ(s.Get<int>("training.batch_size").value(), 64);
  EXPECT_TRUE(s.feature("fast_path"));
  EXPECT_TRUE(s.debug());
}

TEST(LoaderTest, StandardVariablesAndTheirOrder) {
  auto l = LoadYaml("", Env{{"AWS_ACCESS_KEY_ID", "AKID"},
                            {"AWS_SECRET_ACCESS_KEY", "sk"},
                            {"AWS_SESSION_TOKEN", "tok"},
                            {"AWS_DEFAULT_REGION", "eu-west-1"},
                            {"AWS_REGION", "eu-central-1"},
                            {"S3_ENDPOINT_URL", "http://seed:9000"},
                            {"AWS_ENDPOINT_URL", "http://generic:9000"},
                            {"ESPER_LOG_LEVEL", "warn"}});
  ASSERT_TRUE(l.snap) << l.snap.error().ToString();
  const Snapshot& s = **l.snap;
  EXPECT_EQ(s.s3().access_key_id, "AKID");
  EXPECT_EQ(s.s3().secret_access_key.reveal(), "sk");
  EXPECT_EQ(s.s3().session_token.reveal(), "tok");
  EXPECT_EQ(s.s3().region, "eu-central-1");  // AWS_REGION beats AWS_DEFAULT_REGION
  EXPECT_EQ(s.s3().endpoint_url, "http://generic:9000");
  EXPECT_EQ(s.logging().level, "warn");

  auto l2 = LoadYaml("", Env{{"AWS_ENDPOINT_URL", "http://generic:9000"},
                             {"AWS_ENDPOINT_URL_S3", "http://s3only:9000"},
                             {"AWS_REGION", "eu-central-1"},
                             {"ESPER_S3__REGION", "ap-south-1"},
                             {"ESPER_LOG_LEVEL", "warn"},
                             {"ESPER_LOGGING__LEVEL", "error"}});
  ASSERT_TRUE(l2.snap) << l2.snap.error().ToString();
  EXPECT_EQ((*l2.snap)->s3().endpoint_url, "http://s3only:9000");
  EXPECT_EQ((*l2.snap)->s3().region, "ap-south-1");  // ESPER_ beats the standard variable
  EXPECT_EQ((*l2.snap)->logging().level, "error");
  // An empty variable counts as unset.
  auto l3 = LoadYaml("", Env{{"AWS_REGION", ""}});
  EXPECT_EQ((*l3.snap)->s3().region, "us-east-1");
}

TEST(LoaderTest, SeedStyleVariablesAreIgnoredWithAHint) {
  auto l = LoadYaml("", Env{{"ESPER_SERVICE_NAME", "x"}, {"ESPER_NOTHING", "1"}});
  ASSERT_TRUE(l.snap) << l.snap.error().ToString();
  EXPECT_EQ((*l.snap)->service().name, "svc");
  ASSERT_EQ(l.Warnings().size(), 2u);
  EXPECT_EQ(l.Warnings()[0],
            "env ESPER_NOTHING: warning: not a configuration variable (ESPER_<SECTION>__<KEY>, levels "
            "separated by \"__\"); ignored");
  EXPECT_EQ(l.Warnings()[1],
            "env ESPER_SERVICE_NAME: warning: not a configuration variable (ESPER_<SECTION>__<KEY>, "
            "levels separated by \"__\") (did you mean ESPER_SERVICE__NAME?); ignored");
  EXPECT_EQ((*l.snap)->warnings().size(), 2u);
}

TEST(LoaderTest, InterpolatesVariablesInFileValues) {
  auto l = LoadYaml(
      "database:\n  host: ${DB_HOST}\n  user: ${DB_USER:-esper_ro}\n  name: db_${ENV_NAME}_x\n"
      "training:\n  note: cost $$5 and $HOME stays\n  empty_default: ${UNSET_VAR:-}\n",
      Env{{"DB_HOST", "db.internal"}, {"ENV_NAME", "prod"}});
  ASSERT_TRUE(l.snap) << l.snap.error().ToString();
  const Snapshot& s = **l.snap;
  EXPECT_EQ(s.database().host, "db.internal");
  EXPECT_EQ(s.database().user, "esper_ro");
  EXPECT_EQ(s.database().name, "db_prod_x");
  EXPECT_EQ(s.Get<std::string>("training.note").value(), "cost $5 and $HOME stays");
  EXPECT_EQ(s.Get<std::string>("training.empty_default").value(), "");
}

TEST(LoaderTest, InterpolationErrors) {
  auto l = LoadYaml("database:\n  host: ${DB_HOST}\n  user: ${not valid}\n  name: ${OPEN\n");
  ASSERT_FALSE(l.snap);
  ASSERT_EQ(l.Errors().size(), 3u);
  EXPECT_EQ(l.Errors()[0],
            "test.yaml:2:9: error: database.host: ${DB_HOST} is not set (write ${DB_HOST:-default} to give a "
            "fallback)\n  2 |   host: ${DB_HOST}\n    |         ^");
  EXPECT_EQ(l.Errors()[1].substr(0, l.Errors()[1].find('\n')),
            "test.yaml:3:9: error: database.user: ${not valid} is not a variable reference (${NAME} or "
            "${NAME:-default})");
  EXPECT_EQ(l.Errors()[2].substr(0, l.Errors()[2].find('\n')),
            "test.yaml:4:9: error: database.name: unterminated \"${\" (write \"$${\" for a literal \"${\")");
}

TEST(LoaderTest, UnknownKeysSuggestTheNearestName) {
  auto l = LoadYaml("database:\n  prot: 5433\ndatabse:\n  port: 1\nlogging:\n  levle: info\n");
  ASSERT_FALSE(l.snap);
  ASSERT_EQ(l.Errors().size(), 3u);
  EXPECT_EQ(l.Errors()[0],
            "test.yaml:2:3: error: database.prot: unknown key (did you mean \"port\"?)\n"
            "  2 |   prot: 5433\n"
            "    |   ^");
  EXPECT_EQ(l.Errors()[1],
            "test.yaml:3:1: error: databse: unknown key (did you mean \"database\"?)\n"
            "  3 | databse:\n"
            "    | ^");
  EXPECT_EQ(l.Errors()[2].substr(0, l.Errors()[2].find('\n')),
            "test.yaml:6:3: error: logging.levle: unknown key (did you mean \"level\"?)");
  auto u = LoadYaml("zzzz:\n  a: 1\n");
  ASSERT_FALSE(u.snap);
  EXPECT_EQ(u.Errors()[0].substr(0, u.Errors()[0].find('\n')),
            "test.yaml:1:1: error: zzzz: unknown section (the sections are service, logging, http, s3, storage, "
            "database, redis, services, performance, tls, features, debug, training)");
}

TEST(LoaderTest, UnknownKeysFromEnvAndSetNameTheirSource) {
  auto l = LoadYaml("", Env{{"ESPER_DATABASE__HOTS", "x"}}, {{"s3.regoin", "x"}});
  ASSERT_FALSE(l.snap);
  ASSERT_EQ(l.Errors().size(), 2u);
  EXPECT_EQ(l.Errors()[0], "env ESPER_DATABASE__HOTS: error: database.hots: unknown key (did you mean \"host\"?)");
  EXPECT_EQ(l.Errors()[1], "--set: error: s3.regoin: unknown key (did you mean \"region\"?)");
}

TEST(LoaderTest, EveryTypeErrorIsReportedTogether) {
  auto l = LoadYaml(
      "database:\n  port: 70000\n  pool_size: abc\n"
      "s3:\n  verify_tls: yes\n  connect_timeout: 30\n  max_attempts: 0123\n  endpoint_url: localhost:9000\n"
      "logging:\n  level: loud\n  format: jsonn\n"
      "service:\n  environment: prod\n"
      "features:\n  fast: 1\n"
      "tls: true\n");
  ASSERT_FALSE(l.snap);
  std::vector<std::string> first_lines;
  for (const auto& e : l.Errors()) first_lines.push_back(e.substr(0, e.find('\n')));
  std::vector<std::string> want = {
      "test.yaml:2:9: error: database.port: 70000 is out of range [1, 65535]",
      "test.yaml:3:14: error: database.pool_size: expected an integer, got \"abc\"",
      "test.yaml:5:15: error: s3.verify_tls: expected a boolean (true or false), got \"yes\"",
      "test.yaml:6:20: error: s3.connect_timeout: expected a duration with a unit (e.g. 250ms, 30s, 5m, 1h, "
      "1m30s), got \"30\"",
      "test.yaml:7:17: error: s3.max_attempts: \"0123\" has a leading zero, which YAML 1.1 reads as octal 83 and "
      "YAML 1.2 as decimal 123; write 123 (decimal) or 0o123 (octal)",
      "test.yaml:8:17: error: s3.endpoint_url: expected a URL like http://host:port, got \"localhost:9000\"",
      "test.yaml:10:10: error: logging.level: \"loud\" is not one of trace, debug, info, warn, error, critical, off",
      "test.yaml:11:11: error: logging.format: \"jsonn\" is not one of json, logfmt, text (did you mean \"json\"?)",
      "test.yaml:13:16: error: service.environment: \"prod\" is not one of development, staging, production "
      "(did you mean \"production\"?)",
      "test.yaml:15:9: error: features.fast: expected a boolean (true or false), got \"1\"",
      "test.yaml:16:6: error: tls: expected a section (a mapping of keys), got a single value",
  };
  EXPECT_EQ(first_lines, want);
  EXPECT_NE(l.snap.error().message().find("configuration has 11 errors:"), std::string::npos);
}

TEST(LoaderTest, TypesComeFromTheSchemaNotFromQuoting) {
  auto l = LoadYaml("database:\n  port: \"5433\"\n  name: 0123\n  user: true\ns3:\n  region: NO\n");
  ASSERT_TRUE(l.snap) << l.snap.error().ToString();
  EXPECT_EQ((*l.snap)->database().port, 5433);
  EXPECT_EQ((*l.snap)->database().name, "0123");  // a string key keeps the text
  EXPECT_EQ((*l.snap)->database().user, "true");
  EXPECT_EQ((*l.snap)->s3().region, "NO");  // no Norway problem
}

TEST(LoaderTest, EnvAndSetValuesAreConvertedAndCheckedToo) {
  auto l = LoadYaml("", Env{{"ESPER_DATABASE__PORT", "abc"}}, {{"s3.max_connections", "0"}});
  ASSERT_FALSE(l.snap);
  ASSERT_EQ(l.Errors().size(), 2u);
  EXPECT_EQ(l.Errors()[0], "env ESPER_DATABASE__PORT: error: database.port: expected an integer, got \"abc\"");
  EXPECT_EQ(l.Errors()[1], "--set: error: s3.max_connections: 0 is out of range [1, 10000]");
}

TEST(LoaderTest, SyntaxErrorsNameFileLineColumnAndOtherFilesStillLoad) {
  LoadOptions o;
  o.texts = {{"bad.yaml", "service:\n  name: [unclosed\n"}, {"other.yaml", "database:\n  port: 0\n"}};
  o.environment = Env{};
  std::vector<Diagnostic> d;
  auto snap = Load(o, &d);
  ASSERT_FALSE(snap);
  ASSERT_GE(d.size(), 2u);
  EXPECT_EQ(d[0].origin.file, "bad.yaml");
  EXPECT_EQ(d[0].origin.line, 3);
  EXPECT_EQ(d[0].message.rfind("YAML syntax error: ", 0), 0u);
  bool port_reported = false;
  for (const auto& x : d) port_reported |= x.key == "database.port";
  EXPECT_TRUE(port_reported);
}

TEST(LoaderTest, DuplicateKeysAndAliasesAreErrors) {
  auto l = LoadYaml("database:\n  port: 1\n  port: 2\nbase: &b {x: 1}\n");
  ASSERT_FALSE(l.snap);
  EXPECT_EQ(l.Errors()[0],
            "test.yaml:3:3: error: duplicate key \"port\" (first defined at line 2)\n  3 |   port: 2\n    |   ^");
  auto a = LoadYaml("training:\n  a: &x 1\n  b: *x\n");
  ASSERT_FALSE(a.snap);
  EXPECT_EQ(a.Errors()[0].substr(0, a.Errors()[0].find('\n')),
            "test.yaml:3:6: error: aliases (*x) are not supported; repeat the value instead");
}

TEST(LoaderTest, EmptySectionKeepsDefaultsAndNullIsEmptyForStrings) {
  auto l = LoadYaml("database:\ns3:\n  bucket:\n");
  ASSERT_TRUE(l.snap) << l.snap.error().ToString();
  EXPECT_EQ((*l.snap)->database().port, 5432);
  EXPECT_EQ((*l.snap)->s3().bucket, "");
  auto bad = LoadYaml("database:\n  port:\n");
  ASSERT_FALSE(bad.snap);
  EXPECT_EQ(bad.Errors()[0].substr(0, bad.Errors()[0].find('\n')),
            "test.yaml:2:8: error: database.port: expected an integer, got an empty value");
}

TEST(LoaderTest, ProductionChecksWarnWithoutFailing) {
  auto l = LoadYaml(
      "service:\n  environment: production\ndebug: true\ntls:\n  verify: false\n"
      "s3:\n  access_key_id: AKIAIOSFODNN7EXAMPLE\n  secret_access_key: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n"
      "database:\n  password: postgres\nlogging:\n  level: debug\n");
  ASSERT_TRUE(l.snap) << l.snap.error().ToString();
  std::vector<std::string> first;
  for (const auto& w : l.Warnings()) first.push_back(w.substr(0, w.find('\n')));
  std::vector<std::string> want = {
      "test.yaml:3:8: warning: debug: debug is on in production",
      "test.yaml:5:11: warning: tls.verify: TLS verification is off in production",
      "test.yaml:7:18: warning: s3.access_key_id: an example credential (AKIAIOSFODNN7EXAMPLE, from the AWS "
      "documentation) in production",
      "test.yaml:8:22: warning: s3.secret_access_key: an example credential (the AWS documentation's example "
      "secret key) in production",
      "test.yaml:10:13: warning: database.password: a well-known default password in production",
      "test.yaml:12:10: warning: logging.level: debug logging in production (slow, and it may log sensitive data)",
  };
  EXPECT_EQ(first, want);
  for (const auto& w : l.Warnings()) {
    EXPECT_EQ(w.find("wJalrXUtnFEMI"), std::string::npos) << w;
    EXPECT_EQ(w.find("postgres"), std::string::npos) << w;
  }
  EXPECT_EQ((*l.snap)->warnings().size(), want.size());
  // The same values outside production: no warnings.
  auto dev = LoadYaml("debug: true\ns3:\n  access_key_id: minioadmin\n  secret_access_key: minioadmin\n");
  ASSERT_TRUE(dev.snap);
  EXPECT_TRUE(dev.Warnings().empty());
}

TEST(LoaderTest, SecretsNeverAppearInDiagnostics) {
  const std::string pw = "hunter2-TOPSECRET";
  auto l = LoadYaml("redis:\n  url: \"redis//:" + pw + "@cache\"\ndatabase:\n  pasword: " + pw +
                        "\ntraining:\n  api_token: " + pw + "\n",
                    Env{{"ESPER_REDIS__URL", "not-a-url-" + pw}});
  ASSERT_FALSE(l.snap);
  EXPECT_EQ(l.snap.error().message().find(pw), std::string::npos) << l.snap.error().message();
  for (const auto& d : l.diags) EXPECT_EQ(d.ToString().find(pw), std::string::npos) << d.ToString();
  ASSERT_EQ(l.Errors().size(), 2u);
  EXPECT_EQ(l.Errors()[0],
            "test.yaml:4:3: error: database.pasword: unknown key (did you mean \"password\"?)\n"
            "  4 |   pasword: ***\n"
            "    |   ^");
  EXPECT_EQ(l.Errors()[1],
            "env ESPER_REDIS__URL: error: redis.url: expected a URL like redis://host:port, got (value redacted)");
}

TEST(LoaderTest, FilesFromDiskAndFromEsperConfig) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("esper_config_loader_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "a.yaml") << "service:\n  name: from-a\ndatabase:\n  port: 1111\n";
  std::ofstream(dir / "b.yaml") << "database:\n  port: 2222\n";
  LoadOptions o;
  o.environment = Env{{"ESPER_CONFIG", (dir / "a.yaml").string() + ":" + (dir / "b.yaml").string()}};
  auto snap = Load(o);
  ASSERT_TRUE(snap) << snap.error().ToString();
  EXPECT_EQ((*snap)->service().name, "from-a");
  EXPECT_EQ((*snap)->database().port, 2222);
  EXPECT_EQ((*snap)->sources().size(), 2u);
  // Explicit files replace ESPER_CONFIG.
  o.files = {(dir / "a.yaml").string()};
  EXPECT_EQ(Load(o).value()->database().port, 1111);
  // A missing file is an error naming it; other errors are still reported, but not its keys as
  // "missing" (service.name may well be in it).
  o.files = {(dir / "missing.yaml").string()};
  o.overrides = {{"database.port", "0"}};
  std::vector<Diagnostic> d;
  auto bad = Load(o, &d);
  ASSERT_FALSE(bad);
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[0].ToString(), (dir / "missing.yaml").string() + ": error: cannot open the file: No such file or directory");
  EXPECT_EQ(d[1].key, "database.port");
  o.overrides.clear();
  // Too large.
  o.files = {(dir / "a.yaml").string()};
  o.max_file_bytes = 10;
  auto big = Load(o, &d);
  ASSERT_FALSE(big);
  EXPECT_EQ(d[0].message, "the file is larger than 10 bytes");
  fs::remove_all(dir);
}

TEST(LoaderTest, ParseOverride) {
  auto o = ParseOverride("a.b=c=d");
  ASSERT_TRUE(o);
  EXPECT_EQ(o->key, "a.b");
  EXPECT_EQ(o->value, "c=d");
  EXPECT_EQ(o->label, "--set");
  EXPECT_EQ(ParseOverride("novalue").error().message(), "--set \"novalue\": expected key=value");
  EXPECT_EQ(ParseOverride("=x").error().message(), "--set \"=***\": the key is empty");  // the value may be a secret
  EXPECT_EQ(ParseOverride("database.password:pw").error().message(),
            "--set \"database.password:***\": expected key=value");
  auto l = LoadYaml("", {}, {{"database..port", "1"}});
  ASSERT_FALSE(l.snap);
  EXPECT_EQ(l.Errors()[0], "--set: error: database..port: malformed key (expected dotted names like section.key)");
}

TEST(LoaderTest, ExtraFreeFormSections) {
  LoadOptions o;
  o.texts = {{"x.yaml", "service: {name: s}\nmodels:\n  resnet:\n    depth: 50\n"}};
  o.environment = Env{};
  EXPECT_FALSE(Load(o));
  o.free_form_sections.push_back("models");
  auto snap = Load(o);
  ASSERT_TRUE(snap) << snap.error().ToString();
  EXPECT_EQ((*snap)->Get<int>("models.resnet.depth").value(), 50);
}

}  // namespace
}  // namespace esper::config

namespace esper::config {
namespace {

TEST(LoaderTest, LargeMappingsMergeKeyByKey) {
  std::string a = "service: {name: s}\ntraining:\n  big:\n", b = "training:\n  big:\n";
  for (int i = 0; i < 300; ++i) a += fmt::format("    k{}: a{}\n", i, i);
  for (int i = 200; i < 500; ++i) b += fmt::format("    k{}: b{}\n", i, i);
  LoadOptions o;
  o.texts = {{"a.yaml", a}, {"b.yaml", b}};
  o.environment = Env{{"ESPER_TRAINING__BIG__K499", "env"}};
  auto snap = Load(o);
  ASSERT_TRUE(snap) << snap.error().ToString();
  EXPECT_EQ((*snap)->Keys("training.big").size(), 500u);
  EXPECT_EQ((*snap)->Get<std::string>("training.big.k0").value(), "a0");
  EXPECT_EQ((*snap)->Get<std::string>("training.big.k250").value(), "b250");
  EXPECT_EQ((*snap)->Get<std::string>("training.big.k499").value(), "env");
  EXPECT_EQ((*snap)->Provenance("training.big.k250")->size(), 2u);
}

// Keys of earlier versions: one of the same meaning is read as its new name, with a warning, and
// takes its place in the new key's precedence (a file's old name loses to the environment's new
// one, the environment's old name beats a file's new one); provenance shows both.
TEST(LoaderTest, ARenamedKeyOfTheSameMeaningIsReadAsItsNewNameWithAWarning) {
  auto l = LoadYaml("performance:\n  request_timeout: 7s\ns3:\n  max_connections: 5\n",
                    Env{{"ESPER_S3__POOL_SIZE", "9"}});
  ASSERT_TRUE(l.snap) << l.snap.error().ToString();
  const Snapshot& s = **l.snap;
  EXPECT_EQ(s.http().request_timeout, std::chrono::seconds(7));
  EXPECT_EQ(s.s3().max_connections, 9) << "the environment's old name beats the file's new one";
  EXPECT_FALSE(s.Has("performance.request_timeout")) << "dumps show the new name only";
  EXPECT_FALSE(s.Has("s3.pool_size"));
  std::vector<std::string> want = {
      "test.yaml:2:3: warning: performance.request_timeout: deprecated: renamed http.request_timeout (same "
      "meaning), read as http.request_timeout",
      "env ESPER_S3__POOL_SIZE: warning: s3.pool_size: deprecated: renamed s3.max_connections (same meaning), "
      "read as s3.max_connections",
  };
  std::vector<std::string> got;
  for (const auto& w : l.Warnings()) got.push_back(w.substr(0, w.find('\n')));
  EXPECT_EQ(got, want);
  auto chain = s.Provenance("s3.max_connections");
  ASSERT_TRUE(chain);
  ASSERT_EQ(chain->size(), 3u);
  EXPECT_EQ((*chain)[0].ToString(), "default");
  EXPECT_EQ((*chain)[1].ToString(), "test.yaml:4:20");
  EXPECT_EQ((*chain)[2].ToString(), "env ESPER_S3__POOL_SIZE");
  auto timeout = s.Provenance("http.request_timeout");
  ASSERT_TRUE(timeout);
  EXPECT_EQ(timeout->back().ToString(), "test.yaml:2:20");

  auto newer = LoadYaml("http:\n  connect_timeout: 3s\n", Env{}, {{"performance.connect_timeout", "4s"}});
  ASSERT_TRUE(newer.snap) << newer.snap.error().ToString();
  EXPECT_EQ((*newer.snap)->http().connect_timeout, std::chrono::seconds(4)) << "--set beats a file";
  auto same_file = LoadYaml("performance:\n  http_pool_size: 3\nhttp:\n  max_connections: 4\n");
  ASSERT_TRUE(same_file.snap) << same_file.snap.error().ToString();
  EXPECT_EQ((*same_file.snap)->http().max_connections, 4) << "in one file the new name wins";
}

// A key whose unit or count changed is not read silently in the new unit: the error says how.
TEST(LoaderTest, ARenamedKeyInAnotherUnitIsAnErrorThatSaysHowToWriteTheNewOne) {
  auto l = LoadYaml("logging:\n  queue_capacity: 65536\ns3:\n  max_retries: 2\n");
  ASSERT_FALSE(l.snap);
  ASSERT_EQ(l.Errors().size(), 2u) << l.snap.error();
  EXPECT_EQ(l.Errors()[0].substr(0, l.Errors()[0].find('\n')),
            "test.yaml:2:3: error: logging.queue_capacity: replaced by logging.queue_bytes: "
            "logging.queue_capacity counted records; logging.queue_bytes is the bytes of each producer "
            "thread's queue (a record takes 32 bytes and up)");
  EXPECT_EQ(l.Errors()[1].substr(0, l.Errors()[1].find('\n')),
            "test.yaml:4:3: error: s3.max_retries: replaced by s3.max_attempts: s3.max_retries counted retries; "
            "s3.max_attempts counts attempts, the first included: max_attempts = max_retries + 1");
}

// Issue 18 #8: a bad byte is reported where it is (libyaml's reader gives an offset, not a mark),
// shown escaped, and a file that did not parse reports no "missing" keys.
TEST(LoaderTest, BadBytesAreReportedAtTheirLineAndColumnAndNothingIsCalledMissing) {
  std::string head = "service:\n  name: x\n";
  for (int i = 0; i < 51; ++i) head += "# comment\n";  // the bad byte is on line 54
  struct Case {
    std::string line;
    std::string want;
  };
  for (const Case& c : {Case{std::string("bar: \xFF\xFE\n"),
                             "test.yaml:54:6: error: YAML syntax error: invalid leading UTF-8 octet (byte 0xFF)\n"
                             "  54 | bar: \\xFF\\xFE\n     |      ^"},
                        Case{std::string("bar: a\0b\n", 9),
                             "test.yaml:54:7: error: YAML syntax error: control characters are not allowed (byte 0x00)\n"
                             "  54 | bar: a\\x00b\n     |       ^"},
                        Case{std::string("bar: \"\x1b[2Jx\"\n"),
                             "test.yaml:54:7: error: YAML syntax error: control characters are not allowed (byte 0x1B)\n"
                             "  54 | bar: \"\\x1B[2Jx\"\n     |       ^"}}) {
    LoadOptions o;
    o.texts = {{"test.yaml", head + c.line}};
    o.environment = Env{};
    std::vector<Diagnostic> d;
    auto snap = Load(o, &d);
    ASSERT_FALSE(snap);
    ASSERT_EQ(d.size(), 1u) << snap.error();
    EXPECT_EQ(d[0].ToString(), c.want);
  }
}

// Issue 18 #7: a variable or --set deeper than 64 levels is refused as a file of that depth is;
// 64 levels are fine everywhere.
TEST(LoaderTest, VariablesAndOverridesDeeperThanSixtyFourLevelsAreRejectedLikeFiles) {
  auto var = [](int levels) {
    std::string name = "ESPER_TRAINING";
    for (int i = 1; i < levels; ++i) name += "__K";
    return name;
  };
  auto path = [](int levels) {
    std::string p = "training";
    for (int i = 1; i < levels; ++i) p += ".k";
    return p;
  };
  auto deep = LoadYaml("", Env{{var(65), "1"}}, {{path(65), "1"}});
  ASSERT_FALSE(deep.snap);
  ASSERT_EQ(deep.Errors().size(), 2u);
  EXPECT_EQ(deep.Errors()[0], "env " + var(65) + ": error: nesting deeper than 64 levels");
  EXPECT_EQ(deep.Errors()[1], "--set: error: nesting deeper than 64 levels");
  auto ok = LoadYaml("", Env{{var(64), "1"}}, {{path(64), "2"}});
  ASSERT_TRUE(ok.snap) << ok.snap.error();
  EXPECT_EQ((*ok.snap)->Get<int>(path(64)).value(), 2);
}

// Issue 18 #6: past max_errors, problems are counted, not listed; the count stays exact.
TEST(LoaderTest, ErrorsPastTheCapAreCountedInOneSummary) {
  std::string yaml = "training:\n";
  for (int i = 0; i < 5000; ++i) yaml += "  k" + std::to_string(i) + ": *x\n";
  LoadOptions o;
  o.texts = {{"base.yaml", "service:\n  name: svc\n"}, {"test.yaml", yaml}};
  o.environment = Env{};
  o.max_errors = 10;
  std::vector<Diagnostic> d;
  auto snap = Load(o, &d);
  ASSERT_FALSE(snap);
  ASSERT_EQ(d.size(), 11u);
  EXPECT_EQ(d[0].ToString().substr(0, d[0].ToString().find('\n')),
            "test.yaml:2:7: error: aliases (*x) are not supported; repeat the value instead");
  EXPECT_EQ(d[10].omitted, 4990u);
  EXPECT_EQ(d[10].ToString(), "error: and 4990 more errors, not listed (a load lists the first 10)");
  EXPECT_EQ(snap.error().message().rfind("configuration has 5000 errors:\n", 0), 0u);
}

// Found by the fuzzer: a section replaced by a scalar, then made a mapping again by a variable.
TEST(LoaderTest, SectionReplacedThenRebuiltGetsItsDefaultsBack) {
  auto l = LoadYaml("s3:\n  oops\n", Env{{"ESPER_S3__REGION", "x"}});
  ASSERT_TRUE(l.snap) << l.snap.error().ToString();
  EXPECT_EQ((*l.snap)->s3().region, "x");
  EXPECT_EQ((*l.snap)->s3().max_connections, 100);
  EXPECT_TRUE((*l.snap)->s3().verify_tls);
  auto bad = LoadYaml("s3:\n  oops\n");
  ASSERT_FALSE(bad.snap);
  EXPECT_EQ(bad.Errors()[0].substr(0, bad.Errors()[0].find('\n')),
            "test.yaml:2:3: error: s3: expected a section (a mapping of keys), got a single value");
}

}  // namespace
}  // namespace esper::config
