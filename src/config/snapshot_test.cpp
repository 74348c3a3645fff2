#include "esper/config/snapshot.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "esper/config/loader.h"

namespace esper::config {
namespace {

constexpr const char* kPw = "hunter2-TOPSECRET";

std::shared_ptr<const Snapshot> LoadOk(std::string yaml, std::map<std::string, std::string> env = {},
                                       std::vector<Override> ov = {}) {
  LoadOptions o;
  o.texts = {{"base.yaml", "service:\n  name: svc\n"}, {"test.yaml", std::move(yaml)}};
  o.environment = std::move(env);
  o.overrides = std::move(ov);
  auto s = Load(o);
  EXPECT_TRUE(s) << (s ? "" : s.error().ToString());
  return s ? *s : nullptr;
}

const char* kTraining =
    "training:\n"
    "  batch_size: 64\n"
    "  lr: 0.001\n"
    "  warmup: 90s\n"
    "  shuffle: true\n"
    "  name: \"0123\"\n"
    "  bad_int: abc\n"
    "  layers: [conv, relu, pool]\n"
    "  stages:\n"
    "    - name: a\n"
    "      epochs: 3\n"
    "  api_token: tok-SECRET-value\n"
    "  nested:\n"
    "    deeper:\n"
    "      x: 1\n";

TEST(SnapshotTest, TypedGettersOnFreeFormSections) {
  auto s = LoadOk(kTraining);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->Get<int>("training.batch_size").value(), 64);
  EXPECT_EQ(s->Get<std::int64_t>("training.batch_size").value(), 64);
  EXPECT_DOUBLE_EQ(s->Get<double>("training.lr").value(), 0.001);
  EXPECT_EQ(s->Get<milliseconds>("training.warmup").value(), milliseconds(90000));
  EXPECT_TRUE(s->Get<bool>("training.shuffle").value());
  EXPECT_EQ(s->Get<std::string>("training.name").value(), "0123");
  EXPECT_EQ(s->Get<std::vector<std::string>>("training.layers").value(),
            (std::vector<std::string>{"conv", "relu", "pool"}));
  EXPECT_EQ(s->Get<std::string>("training.layers[1]").value(), "relu");
  EXPECT_EQ(s->Get<int>("training.stages[0].epochs").value(), 3);
  EXPECT_EQ(s->Get<int>("training.nested.deeper.x").value(), 1);
  // Fallbacks only for absent keys.
  EXPECT_EQ(s->Get<int>("training.epochs", 10).value(), 10);
  EXPECT_EQ(s->Get<int>("training.batch_size", 10).value(), 64);
  // Typed keys read by path too.
  EXPECT_EQ(s->Get<int>("database.port").value(), 5432);
  EXPECT_EQ(s->Get<milliseconds>("s3.request_timeout").value(), milliseconds(30000));
}

TEST(SnapshotTest, GetErrorsNameTheSource) {
  auto s = LoadOk(kTraining);
  ASSERT_TRUE(s);
  auto bad = s->Get<int>("training.bad_int");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(bad.error().message(), "test.yaml:7:12: training.bad_int: expected an integer, got \"abc\"");
  EXPECT_FALSE(s->Get<int>("training.bad_int", 5));  // a bad value is an error even with a fallback
  EXPECT_EQ(s->Get<bool>("training.batch_size").error().message(),
            "test.yaml:2:15: training.batch_size: expected a boolean (true or false), got \"64\"");
  EXPECT_EQ(s->Get<int>("training.name").error().message(),
            "test.yaml:6:9: training.name: \"0123\" has a leading zero, which YAML 1.1 reads as octal 83 and "
            "YAML 1.2 as decimal 123; write 123 (decimal) or 0o123 (octal)");
  EXPECT_EQ(s->Get<int>("training.nested").error().message(),
            "test.yaml:14:5: training.nested: is a section (a mapping), not a single value");
  auto missing = s->Get<int>("training.batch_sise");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(missing.error().message(),
            "no configuration key \"training.batch_sise\" (did you mean \"training.batch_size\"?)");
  EXPECT_EQ(s->Get<int>("databse.port").error().message(),
            "no configuration key \"databse.port\" (did you mean \"database.port\"?)");
  EXPECT_FALSE(s->Has("training.layers[9]"));
  EXPECT_FALSE(s->Has("training..x"));
  EXPECT_FALSE(s->Has("training.layers[x]"));
  EXPECT_TRUE(s->Has("training.layers[2]"));
}

TEST(SnapshotTest, SecretsCanOnlyBeReadAsSecrets) {
  auto s = LoadOk(std::string("database:\n  password: ") + kPw + "\ntraining:\n  api_token: " + kPw + "\n");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->database().password.reveal(), kPw);
  EXPECT_EQ(s->Get<Secret>("database.password").value().reveal(), kPw);
  EXPECT_EQ(s->Get<Secret>("training.api_token").value().reveal(), kPw);
  auto leak = s->Get<std::string>("training.api_token");
  ASSERT_FALSE(leak);
  EXPECT_EQ(leak.error().message(), "test.yaml:4:14: training.api_token: is a secret; read it as esper::Secret");
  EXPECT_EQ(s->Get<int>("database.password").error().message(),
            "test.yaml:2:13: database.password: expected an integer, got (value redacted)");
}

TEST(SnapshotTest, SecretsAreAbsentFromEveryOutput) {
  auto s = LoadOk(std::string("database:\n  password: ") + kPw + "\nredis:\n  url: redis://:" + kPw +
                      "@cache:6379/0\ntraining:\n  api_token: " + kPw + "\n  creds:\n    secret_key: " + kPw +
                      "\n",
                  {{"AWS_SECRET_ACCESS_KEY", kPw}, {"AWS_SESSION_TOKEN", kPw}},
                  {{"database.password", std::string(kPw) + "2"}});
  ASSERT_TRUE(s);
  std::vector<std::string> outputs = {s->Dump(Snapshot::Format::kYaml), s->Dump(Snapshot::Format::kJson)};
  for (const char* k : {"database.password", "redis.url", "training.api_token", "training.creds.secret_key",
                        "s3.secret_access_key", "s3.session_token", "training", "redis", "database"}) {
    outputs.push_back(s->Explain(k).value());
    outputs.push_back(s->Render(k).value());
    auto chain = s->Provenance(k);
    ASSERT_TRUE(chain);
    for (const auto& o : *chain) outputs.push_back(o.value + o.ToString());
  }
  outputs.push_back(fmt::format("{}", s->database().password));
  outputs.push_back(s->redis().redacted_url);
  for (const auto& w : s->warnings()) outputs.push_back(w.ToString());
  for (const auto& o : outputs) EXPECT_EQ(o.find(kPw), std::string::npos) << o;
  EXPECT_EQ(s->Render("redis.url").value(), "redis://:***@cache:6379/0");
  EXPECT_EQ(s->Render("database.password").value(), "***");
  EXPECT_EQ(s->redis().url.reveal(), std::string("redis://:") + kPw + "@cache:6379/0");
}

TEST(SnapshotTest, ExplainShowsTheChainAndTheWinner) {
  auto s = LoadOk("database:\n  port: 5433\n", {{"ESPER_DATABASE__PORT", "6000"}}, {{"database.port", "7000"}});
  ASSERT_TRUE(s);
  EXPECT_EQ(s->Explain("database.port").value(),
            "database.port = 7000\n"
            "  type: int, range [1, 65535] — PostgreSQL port\n"
            "  sources, lowest precedence first:\n"
            "    1. default                   5432\n"
            "    2. test.yaml:2:9             5433\n"
            "    3. env ESPER_DATABASE__PORT  6000\n"
            "    4. --set                     7000   <- wins\n");
  auto only_default = s->Explain("logging.format").value();
  EXPECT_NE(only_default.find("1. default  json   <- wins"), std::string::npos) << only_default;
  EXPECT_FALSE(s->Explain("nope.key"));
}

TEST(SnapshotTest, YamlDumpReadsBackToTheSameConfiguration) {
  auto s = LoadOk(std::string(kTraining) + "s3:\n  region: NO\n  bucket: \"true\"\nfeatures:\n  x: true\n");
  ASSERT_TRUE(s);
  std::string yaml = s->Dump(Snapshot::Format::kYaml);
  LoadOptions o;
  o.texts = {{"dump.yaml", yaml}};
  o.environment = std::map<std::string, std::string>{};
  auto again = Load(o);
  ASSERT_TRUE(again) << again.error().ToString() << "\n" << yaml;
  EXPECT_EQ((*again)->Dump(Snapshot::Format::kYaml), yaml);
  EXPECT_EQ((*again)->s3().region, "NO");
  EXPECT_EQ((*again)->s3().bucket, "true");
  EXPECT_EQ((*again)->Get<std::string>("training.name").value(), "0123");
  EXPECT_EQ((*again)->Get<int>("training.stages[0].epochs").value(), 3);
}

TEST(SnapshotTest, JsonDumpIsTyped) {
  auto s = LoadOk("training:\n  n: 5\n  q: \"5\"\n  f: 1.5\n  b: true\n  z: ~\n  s: hello\n");
  ASSERT_TRUE(s);
  std::string json = s->Dump(Snapshot::Format::kJson);
  EXPECT_NE(json.find("\"port\": 5432"), std::string::npos);
  EXPECT_NE(json.find("\"verify_tls\": true"), std::string::npos);
  EXPECT_NE(json.find("\"request_timeout\": \"30s\""), std::string::npos);
  EXPECT_NE(json.find("\"n\": 5,"), std::string::npos);
  EXPECT_NE(json.find("\"q\": \"5\""), std::string::npos);
  EXPECT_NE(json.find("\"f\": 1.5"), std::string::npos);
  EXPECT_NE(json.find("\"b\": true"), std::string::npos);
  EXPECT_NE(json.find("\"z\": null"), std::string::npos);
  EXPECT_NE(json.find("\"s\": \"hello\""), std::string::npos);
}

// Values as hostile as a config can carry: every C0 control, DEL, C1 controls, YAML's line
// breaks, a BOM, noncharacters, a terminal escape, quotes, backslashes, "${" and "$$".
const std::vector<std::pair<std::string, std::string>>& HostileValues() {
  static const std::vector<std::pair<std::string, std::string>> v = [] {
    std::vector<std::pair<std::string, std::string>> c = {
        {"ctl", "a\x01b"},
        {"esc", "\x1b[31mred\x1b[0m"},
        {"del", "x\x7fy"},
        {"c1", "\xC2\x80\xC2\x85\xC2\x9F"},
        {"breaks", "a\xE2\x80\xA8" "b\xE2\x80\xA9" "c"},
        {"bom", "\xEF\xBB\xBFx\xEF\xBF\xBE\xEF\xBF\xBF"},
        {"quotes", "\"q\" \\ '\\n'"},
        {"ws", "tab\there\r\nnew line  "},
        {"dollar", "a${b} $$ c$ ${"},
        {"uni", "h\xC3\xA9llo \xF0\x9F\x8E\x89"},
        {"colon", "key: value # not a comment"},
        {"nul", std::string("a\0b", 3)},
    };
    std::string all;
    for (int ch = 1; ch < 0x20; ++ch) all += static_cast<char>(ch);
    c.emplace_back("c0", all);
    return c;
  }();
  return v;
}

std::shared_ptr<const Snapshot> LoadHostile() {
  std::vector<Override> ov;
  for (const auto& [k, v] : HostileValues()) ov.push_back({"training." + k, v});
  ov.push_back({"training.invalid_utf8", "bad \xFF \xC3"});
  ov.push_back({"training.neg", "-.5"});  // a plain number YAML must keep plain (found by the fuzz target)
  return LoadOk("training:\n  seq: [\"\\x01\", \"\\u2028\"]\n", {}, std::move(ov));
}

// Issue 17: the JSON dump reused YAML's quoting ("a\x01b"), which every JSON parser rejects.
TEST(SnapshotTest, JsonDumpOfHostileValuesIsValidJson) {
  auto s = LoadHostile();
  ASSERT_TRUE(s);
  const std::string json = s->Dump(Snapshot::Format::kJson);
  auto j = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  ASSERT_FALSE(j.is_discarded()) << json;
  for (const auto& [k, v] : HostileValues()) EXPECT_EQ(j["training"][k].get<std::string>(), v) << k;
  EXPECT_EQ(j["training"]["invalid_utf8"].get<std::string>(), "bad \xEF\xBF\xBD \xEF\xBF\xBD");
  EXPECT_EQ(j["training"]["seq"][1].get<std::string>(), "\xE2\x80\xA8");
  EXPECT_EQ(j["database"]["port"].get<int>(), 5432);
  EXPECT_EQ(j["training"]["neg"].get<double>(), -0.5);
}

// The YAML dump is a configuration file: loaded again it gives the same values.
TEST(SnapshotTest, YamlDumpOfHostileValuesReadsBackExactly) {
  auto s = LoadHostile();
  ASSERT_TRUE(s);
  const std::string yaml = s->Dump(Snapshot::Format::kYaml);
  LoadOptions o;
  o.texts = {{"dump.yaml", yaml}};
  o.environment = std::map<std::string, std::string>{};
  auto again = Load(o);
  ASSERT_TRUE(again) << again.error().ToString() << "\n" << yaml;
  for (const auto& [k, v] : HostileValues()) {
    EXPECT_EQ((*again)->Get<std::string>("training." + k).value(), v) << k << "\n" << yaml;
  }
  EXPECT_EQ((*again)->Get<std::string>("training.invalid_utf8").value(), "bad \xEF\xBF\xBD \xEF\xBF\xBD");
  EXPECT_EQ((*again)->Dump(Snapshot::Format::kYaml), yaml);
  EXPECT_EQ((*again)->Dump(Snapshot::Format::kJson), s->Dump(Snapshot::Format::kJson));
}

TEST(SnapshotTest, ServiceUrlsFeaturesAndKeys) {
  auto s = LoadOk("services:\n  urza: https://urza.internal\nfeatures:\n  fast_path: true\n  legacy: false\n");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->service_url("urza").value(), "https://urza.internal");
  EXPECT_EQ(s->service_url("tolaria").value(), "http://localhost:8002");
  auto bad = s->service_url("tamyio");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), ErrorCode::kNotFound);
  EXPECT_NE(bad.error().message().find("no service \"tamyio\" (did you mean \"tamiyo\"?)"), std::string::npos);
  EXPECT_TRUE(s->feature("fast_path"));
  EXPECT_FALSE(s->feature("legacy", true));
  EXPECT_TRUE(s->feature("unset", true));
  auto keys = s->Keys("database");
  EXPECT_EQ(keys.front(), "database.host");
  EXPECT_EQ(keys.size(), 8u);
  EXPECT_GT(s->size(), 50u);
}

}  // namespace
}  // namespace esper::config
